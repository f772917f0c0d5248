// The `dccs` and `dccs-sim` binaries as a user runs them: flags, a simulated fleet, SIGTERM.

#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/child.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs::test;

namespace {

// The first admin's password for the nodes these tests start (their first start creates the admin with it).
constexpr const char* admin_password = "binaries-test admin password";
const bool admin_password_set = setenv("DCCS_ADMIN_PASSWORD", admin_password, 1) == 0;

/// Logs in as the first admin (retrying while the node's auth service connects); the Authorization headers.
headers admin_login(std::uint16_t port) {
  for (int i = 0; i < 400; ++i) {
    try {
      auto r = http_request(port, "POST", "/api/v1/auth/login",
                            nlohmann::json{{"name", "admin"}, {"password", admin_password}}.dump());
      if (r.status == 200)
        return {{"Authorization", "Bearer " + r.json()["access_token"].get<std::string>()}};
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // polling interval
  }
  throw std::runtime_error("cannot log in as admin");
}

} // namespace

TEST_CASE("dccs --help lists the options, a bad flag is refused with exit code 2") {
  {
    child help{{DCCS_NODE_BIN, "--help"}};
    CHECK(help.wait_exit() == 0);
    CHECK(help.err.find("--http.port") != std::string::npos);
    CHECK(help.err.find("DCCS_HTTP_PORT") != std::string::npos);
  }
  {
    child bad{{DCCS_NODE_BIN, "--http.port", "eighty"}};
    CHECK(bad.wait_exit() == 2);
    CHECK(bad.err.find("http.port") != std::string::npos);
  }
}

TEST_CASE("a node with a simulated fleet: every drone is seen, then SIGTERM stops it cleanly") {
  scratch_database db;
  child node{{DCCS_NODE_BIN, "--http.port", "0", "--http.static_dir", "web/dist", "--db.url", db.url()}};
  REQUIRE(node.read_until(" port="));
  REQUIRE(node.read_until("\n"));
  auto at = node.err.find(" port=") + 6;
  auto port = static_cast<std::uint16_t>(std::stoi(node.err.substr(at)));
  REQUIRE(port > 0);
  REQUIRE(admin_password_set);
  auto admin = admin_login(port);
  setenv("DCCS_TOKEN", admin.front().second.substr(7).c_str(), 1); // the observer's token, as a user would pass it
  child sim{{DCCS_SIM_BIN, "--url", "ws://127.0.0.1:" + std::to_string(port), "--drones", "100", "--rate", "5",
             "--duration", "3", "--observe", "--json", "--report-interval", "60"}};
  unsetenv("DCCS_TOKEN");
  CHECK(sim.wait_exit() == 0);
  auto json_at = sim.err.rfind("\n{");
  REQUIRE(json_at != std::string::npos);
  auto report = nlohmann::json::parse(sim.err.substr(json_at + 1, sim.err.find('\n', json_at + 1) - json_at - 1));
  CHECK(report["errors"] == 0);
  CHECK(report["frames_sent"].get<long>() >= 100);
  CHECK(report["drones_seen"] == 100);
  auto list = http_get(port, "/api/v1/drones", admin).json()["drones"];
  CHECK(list.size() == 100);
  for (auto& d : list) {
    CHECK(d["id"].get<std::string>().rfind("sim-", 0) == 0);
    CHECK(d["lat"].is_number());
  }
  CHECK(http_get(port, "/").body.find("<html") != std::string::npos);
  kill(node.pid, SIGTERM);
  CHECK(node.wait_exit() == 0);
  CHECK(node.err.find("stopped") != std::string::npos);
}

namespace {

/// Polls `GET /api/v1/drones` until it lists `n` connected drones, for at most 20 s.
bool wait_for_connected(std::uint16_t port, std::size_t n) {
  auto admin = admin_login(port);
  for (int i = 0; i < 400; ++i) {
    try {
      auto list = http_get(port, "/api/v1/drones", admin).json()["drones"];
      std::size_t connected = 0;
      for (auto& d : list)
        connected += d["connected"] == true ? 1 : 0;
      if (connected == n)
        return true;
    } catch (const std::exception&) {
      // not listening yet
    }
    usleep(50 * 1000);
  }
  return false;
}

std::uint16_t listening_port(child& node) {
  REQUIRE(node.read_until(" port="));
  REQUIRE(node.read_until("\n"));
  auto at = node.err.find(" port=") + 6;
  return static_cast<std::uint16_t>(std::stoi(node.err.substr(at)));
}

} // namespace

TEST_CASE("simulated drones reconnect with backoff when their node restarts") {
  std::uint16_t port = 0;
  scratch_database db;
  auto first =
    std::make_unique<child>(std::vector<std::string>{DCCS_NODE_BIN, "--http.port", "0", "--db.url", db.url()});
  port = listening_port(*first);
  child sim{{DCCS_SIM_BIN, "--url", "ws://127.0.0.1:" + std::to_string(port), "--drones", "20", "--rate", "5",
             "--duration", "8", "--json", "--report-interval", "60"}};
  REQUIRE(wait_for_connected(port, 20));
  kill(first->pid, SIGTERM);
  CHECK(first->wait_exit() == 0);
  first.reset();
  child second{{DCCS_NODE_BIN, "--http.port", std::to_string(port), "--db.url", db.url()}};
  listening_port(second);
  CHECK(wait_for_connected(port, 20));
  CHECK(sim.wait_exit() == 0);
  auto json_at = sim.err.rfind("\n{");
  REQUIRE(json_at != std::string::npos);
  auto report = nlohmann::json::parse(sim.err.substr(json_at + 1, sim.err.find('\n', json_at + 1) - json_at - 1));
  CHECK(report["reconnects"].get<int>() >= 20);
  CHECK(report["close_1001"].get<int>() == 20); // told why: the node was shutting down
  CHECK(report["connected_at_end"] == 20);
  CHECK(report["errors"] == 0);
}

namespace {

/// Rows stored for one drone: (count, distinct seqs, seqs <= max_seq).
struct stored {
  long long rows = 0;
  long long distinct = 0;
  long long upto = 0;
};

stored stored_rows(const std::string& url, const std::string& drone, long long max_seq) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  auto r = tx.exec_params1("SELECT count(*), count(DISTINCT seq), count(*) FILTER (WHERE seq <= $2)"
                           " FROM telemetry.samples WHERE drone_id = $1",
                           drone, max_seq);
  return {r[0].as<long long>(), r[1].as<long long>(), r[2].as<long long>()};
}

long long stored_total(const std::string& url) {
  try {
    pqxx::connection conn{url};
    pqxx::work tx{conn};
    return tx.exec1("SELECT count(*) FROM telemetry.samples")[0].as<long long>();
  } catch (const std::exception&) {
    return 0; // the schema does not exist yet
  }
}

} // namespace

TEST_CASE("acknowledged telemetry survives SIGKILL: after the restart every acknowledged seq is stored once") {
  scratch_database db;
  // Batches every 400 ms: when the node is killed, frames sent since the last commit are not acknowledged.
  std::vector<std::string> node_args{DCCS_NODE_BIN, "--http.port", "0", "--db.url", db.url(),
                                     "--telemetry.flush_ms", "400"};
  auto first = std::make_unique<child>(node_args);
  auto port = listening_port(*first);
  char report_path[] = "/tmp/dccs-ack-report-XXXXXX";
  int fd = mkstemp(report_path);
  REQUIRE(fd >= 0);
  close(fd);
  child sim{{DCCS_SIM_BIN, "--url", "ws://127.0.0.1:" + std::to_string(port), "--drones", "10", "--rate", "20",
             "--duration", "4", "--ack", "--stop-when-acked", "--drain-timeout", "60", "--ack-report", report_path,
             "--prefix", "ack-", "--json", "--report-interval", "60"}};
  // Kill the node once rows are being committed, in the middle of the stream.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (stored_total(db.url()) < 100 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(stored_total(db.url()) >= 100);
  kill(first->pid, SIGKILL);
  CHECK(first->wait_exit() == 128 + SIGKILL);
  first.reset();
  node_args[2] = std::to_string(port);
  child second{node_args};
  listening_port(second);
  // The simulator resends what was not acknowledged and exits 0 once everything is acknowledged.
  REQUIRE(sim.wait_exit() == 0);
  auto json_at = sim.err.rfind("\n{");
  REQUIRE(json_at != std::string::npos);
  auto report = nlohmann::json::parse(sim.err.substr(json_at + 1, sim.err.find('\n', json_at + 1) - json_at - 1));
  CHECK(report["frames_resent"].get<long long>() > 0); // frames were in flight when the node died
  CHECK(report["frames_unacked"] == 0);
  std::ifstream in{report_path};
  std::string drone;
  long long acked = 0;
  long long sent = 0;
  int drones = 0;
  while (in >> drone >> acked >> sent) {
    INFO(drone);
    ++drones;
    CHECK(acked == sent); // --stop-when-acked: everything sent was acknowledged
    auto s = stored_rows(db.url(), drone, acked);
    CHECK(s.upto == acked + 1); // seq 0..acked, every one of them ...
    CHECK(s.rows == s.distinct); // ... exactly once
  }
  CHECK(drones == 10);
  std::remove(report_path);
}

TEST_CASE("simulated autopilots fly commands end to end: arm, takeoff and land succeed, each executed once despite lost and doubled frames") {
  scratch_database db;
  child node{{DCCS_NODE_BIN, "--http.port", "0", "--db.url", db.url(), "--commands.retry_ms", "300"}};
  auto port = listening_port(node);
  REQUIRE(admin_password_set);
  auto admin = admin_login(port);
  // A fifth of the command frames and acks are lost and a fifth doubled: the node resends (same command_id) and
  // asks again for a lost final ack; the drones answer repeats from memory.
  child sim{{DCCS_SIM_BIN, "--url", "ws://127.0.0.1:" + std::to_string(port), "--drones", "3", "--rate", "5",
             "--autopilot", "--time-scale", "5", "--drop-rate", "0.2", "--dup-rate", "0.2", "--seed", "7", "--json",
             "--report-interval", "60"}};
  REQUIRE(wait_for_connected(port, 3));
  std::vector<std::string> ids;
  auto listed = http_get(port, "/api/v1/drones", admin).json();
  for (auto& d : listed["drones"])
    ids.push_back(d["id"].get<std::string>());
  REQUIRE(ids.size() == 3);
  auto state_of = [&](const std::string& id) {
    return http_get(port, "/api/v1/commands/" + id, admin).json()["state"].get<std::string>();
  };
  // Issues a command to every drone and waits until each is final; the final states.
  auto fly = [&](const nlohmann::json& body) {
    std::vector<std::string> issued;
    for (auto& d : ids) {
      auto r = http_request(port, "POST", "/api/v1/drones/" + d + "/commands", body.dump(), admin);
      INFO(r.body);
      REQUIRE(r.status == 202);
      issued.push_back(r.json()["id"].get<std::string>());
    }
    std::vector<std::string> final;
    for (auto& c : issued) {
      CHECK(eventually([&] {
        auto s = state_of(c);
        return s != "queued" && s != "sent" && s != "accepted" && s != "in_progress";
      }, std::chrono::seconds(30)));
      final.push_back(state_of(c));
    }
    return final;
  };
  std::vector<std::string> succeeded(3, "succeeded");
  CHECK(fly({{"kind", "arm"}}) == succeeded);
  CHECK(fly({{"kind", "takeoff"}, {"params", {{"alt", 10}}}}) == succeeded);
  for (auto& d : ids) {
    auto live = http_get(port, "/api/v1/drones/" + d, admin).json();
    CHECK(live["armed"] == true);
    CHECK(live["mode"] != "STANDBY");
  }
  CHECK(fly({{"kind", "land"}}) == succeeded);
  // Landed: disarmed on touchdown, as the autopilot reports in its telemetry.
  CHECK(eventually([&] {
    for (auto& d : ids)
      if (http_get(port, "/api/v1/drones/" + d, admin).json()["armed"] != false)
        return false;
    return true;
  }));
  kill(sim.pid, SIGINT);
  CHECK(sim.wait_exit() == 0);
  auto json_at = sim.err.rfind("\n{");
  REQUIRE(json_at != std::string::npos);
  auto report = nlohmann::json::parse(sim.err.substr(json_at + 1, sim.err.find('\n', json_at + 1) - json_at - 1));
  INFO(report.dump());
  CHECK(report["commands_executed"] == 9); // three commands to three drones, each carried out once
  CHECK(report["command_errors"] == 0);
  CHECK(report["commands_received"].get<long>() >= 9);
  kill(node.pid, SIGTERM);
  CHECK(node.wait_exit() == 0);
}
