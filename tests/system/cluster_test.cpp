// A cluster of real node processes on 127.0.0.1 (the `dccs` binary), a simulated fleet spread over them (the
// `dccs-sim` binary with several --url), operators on every node, and one shared PostgreSQL database.

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/child.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/system/cluster_nodes.hpp"

using namespace dccs::test;
using nlohmann::json;

namespace {

long long drone_actors(const cluster& c, const std::vector<std::size_t>& nodes) {
  long long sum = 0;
  for (auto i : nodes)
    sum += c.metric(i, "dccs_drone_actors");
  return sum;
}

} // namespace

TEST_CASE("a cluster serves one fleet: every operator on three nodes sees it all, a fourth node takes about a quarter, "
          "a killed node's drones live again elsewhere, acknowledged frames are stored once") {
  scratch_database db;
  cluster c{db.url()};
  for (std::size_t i = 0; i < 3; ++i)
    c.start(i);
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));

  constexpr std::size_t n = 300;
  char report_path[] = "/tmp/dccs-cluster-acks-XXXXXX";
  int fd = mkstemp(report_path);
  REQUIRE(fd >= 0);
  close(fd);
  child sim{{DCCS_SIM_BIN, "--url", c.url(0) + "," + c.url(1) + "," + c.url(2), "--drones", std::to_string(n),
             "--rate", "5", "--duration", "40", "--ack", "--stop-when-acked", "--drain-timeout", "60",
             "--ack-report", report_path, "--prefix", "cl-", "--json", "--report-interval", "60"}};

  // Every operator, whichever node it is on, sees all 300 drones connected and moving; REST agrees everywhere;
  // every drone has exactly one actor in the cluster.
  std::vector<std::unique_ptr<watcher>> ops;
  for (std::size_t i = 0; i < 3; ++i)
    ops.push_back(std::make_unique<watcher>(c.http(i), c.admin()));
  for (auto& w : ops)
    REQUIRE(w->fresh(n, {}));
  auto before = ops[0]->seqs();
  for (auto& w : ops)
    CHECK(w->fresh(n, before));
  for (std::size_t i = 0; i < 3; ++i) {
    auto f = c.fleet(i);
    CHECK(f.size() == n);
    std::size_t connected = 0;
    for (auto& [id, d] : f)
      connected += d.value("connected", false) ? 1 : 0;
    CHECK(connected == n);
  }
  CHECK(eventually([&] { return drone_actors(c, {0, 1, 2}) == static_cast<long long>(n); }, std::chrono::seconds(10)));
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(c.metric(i, "dccs_drone_actors") > 0); // spread: every node owns some
  // What crossed the cluster links, as each member counts it: every member received the others' drone states;
  // drones whose socket is not on their owner had their connection routed there and their frames forwarded.
  long long routed = 0, forwarded = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(c.metric(i, "dccs_cluster_replica_batches_sent_total") > 0);
    CHECK(c.metric(i, "dccs_cluster_replica_batches_received_total") > 0);
    CHECK(c.metric(i, "dccs_cluster_replica_states_received_total") > 0);
    routed += c.metric(i, "dccs_cluster_connections_forwarded_total");
    forwarded += c.metric(i, "dccs_drone_frames_forwarded_total");
  }
  CHECK(routed > 0);
  CHECK(forwarded > 0);
  // `dccs cluster status`, as a cluster operator runs it on a node's machine.
  auto status = run_node_command({"cluster", "status", "--http.port", std::to_string(c.http(1)), "--auth.keys_dir",
                                  c.keys_dir()});
  CHECK(status.find("cluster of 3 members") != std::string::npos);
  CHECK(status.find("127.0.0.1:" + std::to_string(c.http(0))) != std::string::npos);
  CHECK(status.find("(this node)") != std::string::npos);
  // Each member's drones, as the members tell each other: they add up to the fleet on every node's answer.
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(eventually([&] {
      auto members = http_get(c.http(i), "/api/v1/cluster", c.admin()).json()["members"];
      long long sum = 0;
      for (auto& m : members)
        sum += m.value("drones", -1000LL);
      return sum == static_cast<long long>(n);
    }));

  // A fourth node: about a quarter of the drones move to it, by handoff (their sockets stay where they are).
  auto rerouted = [&](std::vector<std::size_t> nodes) {
    long long sum = 0;
    for (auto i : nodes)
      sum += c.metric(i, "dccs_drone_rerouted_total");
    return sum;
  };
  auto before_join = rerouted({0, 1, 2});
  c.start(3);
  REQUIRE(eventually([&] { return c.members(0) == 4 && c.members(1) == 4 && c.members(2) == 4 && c.members(3) == 4; },
                     std::chrono::seconds(20)));
  CHECK(eventually([&] { return drone_actors(c, {0, 1, 2, 3}) == static_cast<long long>(n)
                                && c.metric(3, "dccs_drone_actors") > 0; },
                   std::chrono::seconds(10)));
  auto moved = rerouted({0, 1, 2}) - before_join;
  CHECK(moved > 0);
  CHECK(moved <= static_cast<long long>(n) / 4 + static_cast<long long>(n) / 20); // a quarter (+5 % of the fleet)
  auto handed_off = c.metric(0, "dccs_drones_handed_off_total") + c.metric(1, "dccs_drones_handed_off_total")
                    + c.metric(2, "dccs_drones_handed_off_total");
  CHECK(handed_off > 0);
  CHECK(handed_off <= static_cast<long long>(n) / 4 + static_cast<long long>(n) / 20);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(c.metric(i, "dccs_cluster_members") == 4);
  ops.push_back(std::make_unique<watcher>(c.http(3), c.admin()));
  auto at_join = ops[0]->seqs();
  for (auto& w : ops)
    CHECK(w->fresh(n, at_join));

  // kill -9 one node: the others see it gone, and every drone is live again on the survivors' operators (the
  // drones it carried reconnect to another node; those it owned are served by their new owners), each with one
  // actor in the cluster.
  auto at_kill = ops[0]->seqs();
  kill(c.process(2).pid, SIGKILL);
  CHECK(c.process(2).wait_exit() == 128 + SIGKILL);
  c.forget(2);
  ops.erase(ops.begin() + 2);
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(3) == 3; },
                     std::chrono::seconds(10)));
  for (std::size_t i : {0, 1, 3})
    CHECK(c.metric(i, "dccs_cluster_members_lost_total") >= 1);
  for (auto& w : ops)
    CHECK(w->fresh(n, at_kill));
  CHECK(eventually([&] { return drone_actors(c, {0, 1, 3}) == static_cast<long long>(n); }, std::chrono::seconds(10)));

  // The simulator resends what was not acknowledged; everything acknowledged is stored exactly once.
  REQUIRE(sim.wait_exit() == 0);
  std::ifstream in{report_path};
  std::string drone;
  long long acked = 0;
  long long sent = 0;
  std::size_t drones = 0;
  pqxx::connection conn{db.url()};
  while (in >> drone >> acked >> sent) {
    INFO(drone);
    ++drones;
    CHECK(acked == sent);
    pqxx::work tx{conn};
    auto r = tx.exec_params1("SELECT count(*), count(DISTINCT seq), count(*) FILTER (WHERE seq <= $2)"
                             " FROM telemetry.samples WHERE drone_id = $1",
                             drone, acked);
    CHECK(r[2].as<long long>() == acked + 1);
    CHECK(r[0].as<long long>() == r[1].as<long long>());
  }
  CHECK(drones == n);
  std::remove(report_path);
}

TEST_CASE("a cluster found through the Redis board keeps serving without Redis, a node that leaves (SIGTERM) stops "
          "cleanly and its drones are served by the others") {
  scratch_database db;
  redis_server redis;
  cluster c{db.url(), redis.url()};
  c.start(0);
  c.start(1);
  c.start(2);
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));
  constexpr std::size_t n = 60;
  child sim{{DCCS_SIM_BIN, "--url", c.url(0) + "," + c.url(1) + "," + c.url(2), "--drones", std::to_string(n),
             "--rate", "5", "--duration", "30", "--prefix", "leave-", "--json", "--report-interval", "60"}};
  std::vector<std::unique_ptr<watcher>> ops;
  for (std::size_t i = 0; i < 3; ++i)
    ops.push_back(std::make_unique<watcher>(c.http(i), c.admin()));
  for (auto& w : ops)
    REQUIRE(w->fresh(n, {}));

  // Redis goes away: the members stay members (their own heartbeats, not the board, keep them) and every
  // operator still sees every drone move.
  redis.kill();
  auto at_stop = ops[0]->seqs();
  for (auto& w : ops)
    CHECK(w->fresh(n, at_stop));
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(c.members(i) == 3);

  // SIGTERM: the node stops cleanly (exit 0); the drones it carried reconnect to the next node, those it owned
  // are served by their new owners, and the others see two members.
  kill(c.process(2).pid, SIGTERM);
  CHECK(c.process(2).wait_exit() == 0);
  c.forget(2);
  ops.pop_back();
  REQUIRE(eventually([&] { return c.members(0) == 2 && c.members(1) == 2; }, std::chrono::seconds(10)));
  auto at_leave = ops[0]->seqs();
  for (auto& w : ops)
    CHECK(w->fresh(n, at_leave));
  CHECK(eventually([&] { return drone_actors(c, {0, 1}) == static_cast<long long>(n); }, std::chrono::seconds(10)));
  sim.read_until("\n{", 60000); // its report, at the end of the run
  REQUIRE(sim.wait_exit() == 0);
  auto json_at = sim.err.rfind("\n{");
  REQUIRE(json_at != std::string::npos);
  auto report = nlohmann::json::parse(sim.err.substr(json_at + 1, sim.err.find('\n', json_at + 1) - json_at - 1));
  CHECK(report["errors"] == 0);
  CHECK(report["close_1001"].get<int>() > 0); // the leaving node told its drones why
  CHECK(report["failovers"].get<int>() > 0);  // and they went to another node
}

TEST_CASE("a node refuses a cluster seed that is not host:port, naming it") {
  child node{{DCCS_NODE_BIN, "--http.port", "0", "--db.enabled", "false", "--cluster.port",
              std::to_string(redis_server::free_port()), "--cluster.seeds", "127.0.0.1:7400, node-b"}};
  REQUIRE(node.read_until("cluster.seeds: 'node-b' is not host:port"));
  CHECK(node.wait_exit() != 0);
}

namespace {

/// Each drone's ownership as the fleet database records it: drone id -> (node id, epoch).
std::map<std::string, std::pair<std::string, long long>> owners(const std::string& db_url) {
  std::map<std::string, std::pair<std::string, long long>> out;
  pqxx::connection conn{db_url};
  pqxx::work tx{conn};
  for (auto r : tx.exec("SELECT drone_id, node_id, epoch FROM fleet.drone_owners"))
    out[r[0].as<std::string>()] = {r[1].as<std::string>(), r[2].as<long long>()};
  return out;
}

/// Whether node `i`'s REST shows each of `n` drones connected, owned by the member and under the epoch the database
/// records.
bool owned_as_recorded(const cluster& c, std::size_t i, std::size_t n, const std::string& db_url) {
  auto recorded = owners(db_url);
  auto f = c.fleet(i);
  if (f.size() != n)
    return false;
  for (auto& [id, d] : f) {
    auto o = recorded.find(id);
    if (o == recorded.end() || !d.value("connected", false) || d.value("owner_epoch", 0LL) != o->second.second
        || d.value("node", "") != o->second.first)
      return false;
  }
  return true;
}

} // namespace

TEST_CASE("a cut between two members: a drone is served on each side by one owner (fencing), the member that "
          "sees both shows each drone's newest owner, and the cluster converges when the link heals") {
  scratch_database db;
  cluster c{db.url()};
  // Nodes 0 and 1 reach each other only through these proxies (they advertise them as their cluster addresses);
  // node 2 reaches both directly. Cutting the proxies cuts the link 0-1 and nothing else.
  auto at = [](std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); };
  tcp_proxy to0{"127.0.0.1", c.cluster_port(0)};
  tcp_proxy to1{"127.0.0.1", c.cluster_port(1)};
  c.start(0, {"--cluster.advertise", at(to0.port()), "--cluster.seeds", at(c.cluster_port(2)) + "," + at(to1.port())});
  c.start(1, {"--cluster.advertise", at(to1.port()), "--cluster.seeds", at(c.cluster_port(2)) + "," + at(to0.port())});
  c.start(2, {"--cluster.seeds", at(c.cluster_port(0)) + "," + at(c.cluster_port(1))});
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));

  // Drone sockets on nodes 0 and 1 only: a drone connected to one side and owned by the other is re-homed by the
  // cut.
  constexpr std::size_t n = 90;
  child sim{{DCCS_SIM_BIN, "--url", c.url(0) + "," + c.url(1), "--drones", std::to_string(n), "--rate", "5",
             "--duration", "60", "--prefix", "cut-", "--json", "--report-interval", "120"}};
  watcher both{c.http(2), c.admin()};
  REQUIRE(both.fresh(n, {}));
  // Every drone claimed once, under the epoch every node shows.
  REQUIRE(eventually([&] { return owned_as_recorded(c, 2, n, db.url()); }, std::chrono::seconds(10)));
  CHECK(drone_actors(c, {0, 1, 2}) == static_cast<long long>(n));
  auto before = owners(db.url());

  to0.down();
  to1.down();
  // Detection: 0 and 1 lose each other, node 2 keeps both.
  REQUIRE(eventually([&] { return c.members(0) == 2 && c.members(1) == 2; }, std::chrono::seconds(10)));
  CHECK(c.members(2) == 3);
  // Every drone is live again (the drones whose owner was across the cut are served on their socket's side),
  // node 2's operator sees each one from its newest owner, and the older owners stopped: one actor per drone.
  auto at_cut = both.seqs();
  CHECK(both.fresh(n, at_cut));
  CHECK(eventually([&] { return owned_as_recorded(c, 2, n, db.url()) && drone_actors(c, {0, 1, 2}) == static_cast<long long>(n); },
                   std::chrono::seconds(15)));
  auto during = owners(db.url());
  std::size_t reclaimed = 0;
  for (auto& [id, o] : during)
    if (o.second != before[id].second)
      ++reclaimed;
  CHECK(reclaimed > 0); // the cut re-homed some drones
  CHECK(c.metric(0, "dccs_drones_fenced_total") + c.metric(1, "dccs_drones_fenced_total") > 0);
  // Each side's REST shows its own drones under their current epochs: no side shows a drone it serves as owned
  // by the older claim.
  for (std::size_t side : {0, 1})
    for (auto& [id, d] : c.fleet(side))
      if (d.value("connected", false))
        CHECK(d.value("owner_epoch", 0LL) == during[id].second);

  // The link heals: 0 and 1 meet again, every drone goes to its owner in the whole cluster's view, every node
  // shows it under the epoch the database records, one actor each.
  to0.up();
  to1.up();
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));
  auto at_heal = both.seqs();
  CHECK(both.fresh(n, at_heal));
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(eventually([&] { return owned_as_recorded(c, i, n, db.url()); }, std::chrono::seconds(15)));
  CHECK(eventually([&] { return drone_actors(c, {0, 1, 2}) == static_cast<long long>(n); }, std::chrono::seconds(10)));
  kill(sim.pid, SIGTERM);
  sim.wait_exit();
}

TEST_CASE("the whole cluster restarts: its members meet again, every drone comes back live on every node with one "
          "owner, under the epoch the database records") {
  scratch_database db;
  redis_server redis;
  cluster c{db.url(), redis.url()};
  for (std::size_t i = 0; i < 3; ++i)
    c.start(i);
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));
  constexpr std::size_t n = 60;
  child sim{{DCCS_SIM_BIN, "--url", c.url(0) + "," + c.url(1) + "," + c.url(2), "--drones", std::to_string(n),
             "--rate", "5", "--duration", "90", "--prefix", "restart-", "--json", "--report-interval", "120"}};
  std::map<std::string, long long> at_stop;
  {
    watcher w{c.http(0), c.admin()};
    REQUIRE(w.fresh(n, {}));
    at_stop = w.seqs();
  }
  REQUIRE(eventually([&] { return owned_as_recorded(c, 0, n, db.url()); }, std::chrono::seconds(10)));
  auto before = owners(db.url());

  // Every node stops (SIGTERM, one after the other), then every node starts again on the same ports: new node
  // ids, the same database and Redis.
  for (std::size_t i = 0; i < 3; ++i) {
    kill(c.process(i).pid, SIGTERM);
    CHECK(c.process(i).wait_exit() == 0);
    c.forget(i);
  }
  for (std::size_t i = 0; i < 3; ++i)
    c.start(i);
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));
  std::vector<std::unique_ptr<watcher>> ops;
  for (std::size_t i = 0; i < 3; ++i)
    ops.push_back(std::make_unique<watcher>(c.http(i), c.admin()));
  for (auto& w : ops)
    CHECK(w->fresh(n, at_stop)); // connected, with telemetry sent after the restart
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(eventually([&] { return owned_as_recorded(c, i, n, db.url()); }, std::chrono::seconds(15)));
  CHECK(eventually([&] { return drone_actors(c, {0, 1, 2}) == static_cast<long long>(n); }, std::chrono::seconds(10)));
  // Each drone was claimed again, by a member of the new cluster, under a higher epoch.
  auto after = owners(db.url());
  for (auto& [id, o] : after) {
    INFO(id);
    CHECK(o.second > before[id].second);
    CHECK(o.first != before[id].first);
  }
  kill(sim.pid, SIGTERM);
  sim.wait_exit();
}
