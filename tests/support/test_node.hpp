#pragma once

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "bridges/node.hpp"
#include "tests/support/scratch_db.hpp"

namespace dccs::test {

/// A node started in-process on a free port of 127.0.0.1, with the given option overrides. Unless the options
/// name a database (db.url) or switch storage off (db.enabled), the node gets a scratch database of its own,
/// dropped with it, so that tests running at the same time never see each other's drones.
class test_node {
public:
  explicit test_node(std::initializer_list<std::pair<std::string, std::string>> options = {});
  ~test_node();

  std::uint16_t port() const { return node_->port(); }
  bridges::node& node() { return *node_; }

  /// The node's data folder (its development signing key is under keys/).
  const std::filesystem::path& data_dir() const { return data_dir_; }

  /// The connection string of the node's database ("" when the options named none and storage is off).
  const std::string& db_url() const { return db_url_; }

  /// The value of a counter or gauge from /metrics (over HTTP, as an operator would read it).
  long long metric(const std::string& name) const;

private:
  std::filesystem::path data_dir_;
  std::unique_ptr<scratch_database> db_;
  std::string db_url_;
  std::unique_ptr<bridges::node> node_;
};

} // namespace dccs::test
