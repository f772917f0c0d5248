#pragma once
/// What the system tests read back from a node's PostgreSQL, and how they connect an acknowledged drone.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"

namespace dccs::test {

/// The single number `sql` returns (a count).
inline long long count_rows(const std::string& conn_url, const std::string& sql) {
  pqxx::connection conn{conn_url};
  pqxx::read_transaction tx{conn};
  return tx.exec1(sql)[0].as<long long>();
}

/// The seqs stored for `drone` in telemetry.samples, in order (duplicates kept, so they would show).
inline std::vector<long long> stored_seqs(const std::string& conn_url, const std::string& drone) {
  pqxx::connection conn{conn_url};
  pqxx::read_transaction tx{conn};
  std::vector<long long> out;
  for (const auto& row : tx.exec_params("SELECT seq FROM telemetry.samples WHERE drone_id = $1 ORDER BY seq", drone))
    out.push_back(row[0].as<long long>());
  return out;
}

/// Waits until the node's partition maintenance has made its first pass (today's partitions exist), so that
/// a test's telemetry does not race it.
inline bool partitions_ready(const std::string& conn_url) {
  return eventually([&] {
    try {
      return count_rows(conn_url, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                                  " WHERE n.nspname = 'telemetry' AND c.relname ~ '^samples_[0-9]{8}$'")
             >= 5; // yesterday, today and telemetry.partitions_ahead (3) days
    } catch (const std::exception&) {
      return false; // schema not there yet
    }
  });
}

/// A drone that asked for acknowledgements (hello with "ack":true, plus `extra` fields such as its secret)
/// and got its welcome.
inline std::unique_ptr<ws_client> connect_acked(std::uint16_t port, const std::string& id,
                                                nlohmann::json extra = nlohmann::json::object()) {
  auto c = std::make_unique<ws_client>(port, "/ws/drone");
  auto hello = nlohmann::json{{"type", "hello"}, {"drone_id", id}, {"ack", true}};
  hello.update(extra);
  c->send(hello);
  auto welcome = c->read_json();
  if (welcome.value("type", "") != "welcome")
    throw std::runtime_error("expected welcome, got " + welcome.dump());
  return c;
}

} // namespace dccs::test
