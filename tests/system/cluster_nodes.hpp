#pragma once
// Node processes of one cluster for the system tests (tests/system/cluster_test.cpp, cluster_tls_test.cpp): real
// `dccs` processes on 127.0.0.1 sharing a signing-key folder and a database, and operator sockets watching them.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/client.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/redis_server.hpp"

namespace dccs::test {

/// Runs a `dccs` subcommand to its end and returns its output.
inline std::string run_node_command(std::vector<std::string> args) {
  args.insert(args.begin(), DCCS_NODE_BIN);
  child c{args};
  REQUIRE(c.wait_exit() == 0);
  return c.err;
}

/// Node processes of one cluster sharing a signing-key folder and a database. Heartbeats every 200 ms, a member
/// silent for 2 s is gone (a killed process is seen at once: its connections close).
class cluster {
public:
  explicit cluster(std::string db_url, std::string redis_url = {})
    : db_url_(std::move(db_url)), redis_url_(std::move(redis_url)) {
    dir_ = std::filesystem::temp_directory_path() / ("dccs-cluster-" + std::to_string(getpid()) + "-" + std::to_string(++runs_));
    std::filesystem::create_directories(dir_ / "keys");
    run_node_command({"keys", "generate", "--auth.keys_dir", (dir_ / "keys").string()});
    token_ = token("cluster-test", "admin");
  }

  /// An access token signed with the cluster's keys (`dccs keys token`), for a user that need not exist.
  std::string token(const std::string& name, const std::string& role, const std::vector<std::string>& groups = {}) {
    std::vector<std::string> args{"keys", "token", name, role};
    args.insert(args.end(), groups.begin(), groups.end());
    args.push_back("--auth.keys_dir");
    args.push_back((dir_ / "keys").string());
    auto out = run_node_command(args);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }

  ~cluster() {
    nodes_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Starts node `i` (its ports chosen now and kept for a restart), seeded with every node started before
  /// (with a Redis URL instead: no seeds, the nodes find each other on the membership board). `extra` options
  /// are added to its command line; when they name --cluster.seeds, no seeds are added.
  void start(std::size_t i, const std::vector<std::string>& extra = {}) {
    reserve(i);
    std::string seeds;
    for (std::size_t k = 0; k < ports_.size(); ++k)
      if (k != i && ports_[k].second != 0)
        seeds += (seeds.empty() ? "" : ",") + std::string{"127.0.0.1:"} + std::to_string(ports_[k].second);
    if (nodes_.size() <= i)
      nodes_.resize(i + 1);
    auto data = dir_ / ("node" + std::to_string(i));
    std::filesystem::create_directories(data);
    std::vector<std::string> args{DCCS_NODE_BIN, "--http.port", std::to_string(ports_[i].first), "--cluster.port",
                                  std::to_string(ports_[i].second), "--cluster.heartbeat_ms", "200",
                                  "--cluster.timeout_ms", "2000", "--auth.keys_dir", (dir_ / "keys").string(),
                                  "--node.data_dir", data.string(), "--db.url", db_url_, "--telemetry.flush_ms", "200",
                                  "--log.level", "info"};
    bool seeded = std::find(extra.begin(), extra.end(), "--cluster.seeds") != extra.end();
    if (!redis_url_.empty()) {
      args.push_back("--redis.url");
      args.push_back(redis_url_);
    } else if (!seeds.empty() && !seeded) {
      args.push_back("--cluster.seeds");
      args.push_back(seeds);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_[i] = std::make_unique<child>(args);
    REQUIRE(nodes_[i]->read_until(" port="));
  }

  std::uint16_t http(std::size_t i) const { return ports_.at(i).first; }
  /// The cluster port of node `i`, chosen now if it was not started yet.
  std::uint16_t cluster_port(std::size_t i) {
    reserve(i);
    return ports_[i].second;
  }
  std::string keys_dir() const { return (dir_ / "keys").string(); }
  std::string url(std::size_t i) const { return "ws://127.0.0.1:" + std::to_string(http(i)); }
  headers admin() const { return {{"Authorization", "Bearer " + token_}}; }
  child& process(std::size_t i) { return *nodes_.at(i); }
  void forget(std::size_t i) { nodes_.at(i).reset(); }

  /// The members node `i` sees (GET /api/v1/cluster), or -1 when it does not answer.
  int members(std::size_t i) const {
    try {
      auto r = http_get(http(i), "/api/v1/cluster", admin());
      return r.status == 200 ? static_cast<int>(r.json()["members"].size()) : -1;
    } catch (const std::exception&) {
      return -1;
    }
  }

  /// A counter or gauge of node `i`'s /metrics.
  long long metric(std::size_t i, const std::string& name) const {
    auto body = http_get(http(i), "/metrics", admin()).body;
    auto at = body.find("\n" + name + " ");
    if (at == std::string::npos)
      return -1;
    return std::stoll(body.substr(at + name.size() + 2));
  }

  /// GET /api/v1/drones on node `i` with `h` (the admin's by default): drone id -> its entry.
  std::map<std::string, nlohmann::json> fleet(std::size_t i, const headers& h = {}) const {
    std::map<std::string, nlohmann::json> out;
    auto list = http_get(http(i), "/api/v1/drones?limit=1000", h.empty() ? admin() : h).json()["drones"];
    for (auto& d : list)
      out[d["id"].get<std::string>()] = d;
    return out;
  }

  /// Chooses the ports of node `i` (kept for its start and restarts) without starting it.
  void reserve(std::size_t i) {
    if (ports_.size() <= i)
      ports_.resize(i + 1, {0, 0});
    if (ports_[i].first == 0)
      ports_[i] = {static_cast<std::uint16_t>(redis_server::free_port()),
                   static_cast<std::uint16_t>(redis_server::free_port())};
  }

private:
  static inline int runs_ = 0;
  std::string db_url_;
  std::string redis_url_;
  std::filesystem::path dir_;
  std::string token_;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> ports_; ///< (HTTP, cluster) per node
  std::vector<std::unique_ptr<child>> nodes_;
};

/// An operator socket on one node subscribed to every drone.
struct watcher {
  watcher(std::uint16_t port, const headers& h) : op(port, "/ws/operator", h) {
    op.send(nlohmann::json{{"type", "subscribe"}, {"drones", "*"}});
  }
  ws_client op;
  operator_view view;

  /// Reads until every one of `n` drones is connected and has sent telemetry newer than `after` (seq per drone).
  bool fresh(std::size_t n, const std::map<std::string, long long>& after) {
    return view.read_until(op, [&] {
      if (view.drones.size() < n)
        return false;
      for (auto& [id, d] : view.drones) {
        if (d.value("connected", false) != true || !d.contains("seq"))
          return false;
        auto i = after.find(id);
        if (i != after.end() && d["seq"].get<long long>() <= i->second)
          return false;
      }
      return true;
    });
  }

  std::map<std::string, long long> seqs() const {
    std::map<std::string, long long> out;
    for (auto& [id, d] : view.drones)
      if (d.contains("seq"))
        out[id] = d["seq"].get<long long>();
    return out;
  }
};

} // namespace dccs::test
