#pragma once

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/keys.hpp"
#include "bridges/node.hpp"
#include "tests/support/client.hpp"
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

  /// The value of a counter or gauge from /metrics (over HTTP with an admin token, as an operator would read it).
  long long metric(const std::string& name) const;

  /// An access token signed with the node's own key ring (as its login would issue one) for a user `name` with
  /// `role` and drone `groups`. The user need not exist: the node checks tokens, not users, on each request.
  std::string token(const std::string& role = "admin", std::vector<std::string> groups = {},
                    const std::string& name = "", std::int64_t ttl_s = 900) const;

  /// {"Authorization": "Bearer <admin token>"}: the headers of a request made as an admin.
  const headers& admin() const { return admin_; }

  /// The headers of a request made with `token`.
  static headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

private:
  std::shared_ptr<const auth::key_ring> keys_;
  std::string issuer_, audience_;
  headers admin_;
  std::filesystem::path data_dir_;
  std::unique_ptr<scratch_database> db_;
  std::string db_url_;
  std::unique_ptr<bridges::node> node_;
};

} // namespace dccs::test
