#include "tests/support/test_node.hpp"

#include <sstream>
#include <stdexcept>

#include "runtime/log.hpp"
#include "tests/support/client.hpp"

namespace dccs::test {

test_node::test_node(std::initializer_list<std::pair<std::string, std::string>> options) {
  runtime::log::configure(runtime::log::level::warn, runtime::log::format::text);
  runtime::config cfg;
  std::string error;
  auto must = [&](const std::string& k, const std::string& v) {
    if (!cfg.set(k, v, error))
      throw std::runtime_error(error);
  };
  must("http.port", "0");
  must("http.static_dir", "");
  must("scheduler.threads", "2");
  bool named_db = false;
  for (auto& [k, v] : options) {
    must(k, v);
    named_db = named_db || k == "db.url" || k == "db.enabled";
  }
  if (!named_db) {
    db_ = std::make_unique<scratch_database>();
    must("db.url", db_->url());
  }
  if (cfg.boolean("db.enabled"))
    db_url_ = cfg.str("db.url");
  node_ = std::make_unique<bridges::node>(cfg);
  if (!node_->start(error))
    throw std::runtime_error("node did not start: " + error);
}

test_node::~test_node() {
  node_->stop();
  node_.reset(); // before the database goes
}

long long test_node::metric(const std::string& name) const {
  auto res = http_get(port(), "/metrics");
  std::istringstream in{res.body};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0)
      return std::stoll(line.substr(name.size() + 1));
  }
  throw std::runtime_error("no metric " + name);
}

} // namespace dccs::test
