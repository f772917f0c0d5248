#include "tests/support/test_node.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <unistd.h>
#include <stdexcept>

#include "auth/jwt.hpp"
#include "auth/keys_cli.hpp"
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
  // Its own data folder (a development node generates its signing key there), removed with it.
  data_dir_ = std::filesystem::temp_directory_path() / ("dccs-node-" + std::to_string(::getpid()) + "-"
                                                       + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  must("node.data_dir", data_dir_.string());
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
  if (cfg.str("node.mode") == "production" && cfg.str("auth.keys_dir").empty()) {
    // A production node never makes its own signing key: provision one, as `dccs keys generate` would.
    std::string kid;
    auth::generate_key_file(auth::keys_dir(cfg), kid);
  }
  node_ = std::make_unique<bridges::node>(cfg);
  if (!node_->start(error))
    throw std::runtime_error("node did not start: " + error);
  keys_ = std::make_shared<const auth::key_ring>(auth::load_node_keys(cfg)); // what the node loaded (or made)
  issuer_ = cfg.str("auth.issuer");
  audience_ = cfg.str("auth.audience");
  admin_ = bearer(token("admin", {}, "test-admin"));
}

std::string test_node::token(const std::string& role, std::vector<std::string> groups, const std::string& name,
                             std::int64_t ttl_s) const {
  auth::claims c;
  c.iss = issuer_;
  c.aud = audience_;
  c.sub = name.empty() ? "test-" + role : name;
  c.role = role;
  c.groups = std::move(groups);
  c.iat = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  c.nbf = c.iat;
  c.exp = c.iat + ttl_s;
  return auth::sign(*keys_, c);
}

test_node::~test_node() {
  node_->stop();
  node_.reset(); // before the database goes
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

long long test_node::metric(const std::string& name) const {
  auto res = http_get(port(), "/metrics", admin_);
  std::istringstream in{res.body};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0)
      return std::stoll(line.substr(name.size() + 1));
  }
  throw std::runtime_error("no metric " + name);
}

} // namespace dccs::test
