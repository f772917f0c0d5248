#pragma once
/// Node processes of one cluster on 127.0.0.1 (the `dccs` binary, DCCS_NODE_BIN) sharing a signing-key folder and a
/// database, as tests/system/cluster_test.cpp runs them (its helper, shared here for the cluster-wide state tests).
/// Heartbeats every 200 ms, a member silent for 2 s is gone (a killed process is seen at once: its connections close).

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child.hpp"
#include "tests/support/client.hpp"
#include "tests/support/redis_server.hpp"

namespace dccs::test {

/// Runs a `dccs` subcommand to its end and returns its output.
inline std::string run_node_command(std::vector<std::string> args) {
  args.insert(args.begin(), DCCS_NODE_BIN);
  child c{args};
  REQUIRE(c.wait_exit() == 0);
  return c.err;
}

class node_cluster {
public:
  /// `extra`: options every node starts with (name, value, name, value, ...).
  explicit node_cluster(std::string db_url, std::string redis_url = {}, std::vector<std::string> extra = {})
    : db_url_(std::move(db_url)), redis_url_(std::move(redis_url)), extra_(std::move(extra)) {
    namespace fs = std::filesystem;
    dir_ = fs::temp_directory_path() / ("dccs-nodes-" + std::to_string(getpid()) + "-" + std::to_string(++runs_));
    fs::create_directories(dir_ / "keys");
    run_node_command({"keys", "generate", "--auth.keys_dir", (dir_ / "keys").string()});
    admin_token_ = token("cluster-test", "admin");
  }

  ~node_cluster() {
    nodes_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
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

  /// Starts node `i` (its ports chosen now and kept for a restart), seeded with every node started before
  /// (with a Redis URL instead: no seeds, the nodes find each other on the membership board).
  void start(std::size_t i) {
    if (ports_.size() <= i)
      ports_.resize(i + 1, {0, 0});
    if (ports_[i].first == 0)
      ports_[i] = {static_cast<std::uint16_t>(redis_server::free_port()),
                   static_cast<std::uint16_t>(redis_server::free_port())};
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
    if (!redis_url_.empty()) {
      args.push_back("--redis.url");
      args.push_back(redis_url_);
    } else if (!seeds.empty()) {
      args.push_back("--cluster.seeds");
      args.push_back(seeds);
    }
    for (std::size_t k = 0; k + 1 < extra_.size(); k += 2) {
      args.push_back("--" + extra_[k]);
      args.push_back(extra_[k + 1]);
    }
    nodes_[i] = std::make_unique<child>(args);
    REQUIRE(nodes_[i]->read_until(" port="));
  }

  std::uint16_t http(std::size_t i) const { return ports_.at(i).first; }
  std::string keys_dir() const { return (dir_ / "keys").string(); }
  std::string url(std::size_t i) const { return "ws://127.0.0.1:" + std::to_string(http(i)); }
  headers admin() const { return {{"Authorization", "Bearer " + admin_token_}}; }
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

  /// GET /api/v1/drones on node `i` with `h` (the admin's by default): drone id -> its entry.
  std::map<std::string, nlohmann::json> fleet(std::size_t i, const headers& h = {}) const {
    std::map<std::string, nlohmann::json> out;
    auto list = http_get(http(i), "/api/v1/drones?limit=1000", h.empty() ? admin() : h).json()["drones"];
    for (auto& d : list)
      out[d["id"].get<std::string>()] = d;
    return out;
  }

private:
  static inline int runs_ = 0;
  std::string db_url_;
  std::string redis_url_;
  std::vector<std::string> extra_;
  std::filesystem::path dir_;
  std::string admin_token_;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> ports_; ///< (HTTP, cluster) per node
  std::vector<std::unique_ptr<child>> nodes_;
};

} // namespace dccs::test
