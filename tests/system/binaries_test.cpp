// The `dccs` and `dccs-sim` binaries as a user runs them: flags, a simulated fleet, SIGTERM.

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/client.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs::test;

namespace {

/// A child process with its stderr (and optionally stdout) captured through a pipe.
struct child {
  pid_t pid = -1;
  int err_fd = -1;
  std::string err;

  explicit child(std::vector<std::string> argv) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], 2);
      dup2(fds[1], 1);
      close(fds[0]);
      std::vector<char*> args;
      for (auto& a : argv)
        args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    err_fd = fds[0];
  }

  ~child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (err_fd >= 0)
      close(err_fd);
  }

  /// Reads output until `needle` appears (true) or the output ends or 20 s pass (false).
  bool read_until(const std::string& needle) {
    while (err.find(needle) == std::string::npos) {
      pollfd p{err_fd, POLLIN, 0};
      if (poll(&p, 1, 20000) <= 0)
        return false;
      char buf[4096];
      auto n = read(err_fd, buf, sizeof(buf));
      if (n <= 0)
        return false;
      err.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  int wait_exit() {
    read_until("\x01never"); // drain until the pipe closes
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

} // namespace

TEST_CASE("dccs --help lists the options; a bad flag is refused with exit code 2") {
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
  child node{{DCCS_NODE_BIN, "--http.port", "0", "--http.static_dir", "web", "--db.url", db.url()}};
  REQUIRE(node.read_until(" port="));
  REQUIRE(node.read_until("\n"));
  auto at = node.err.find(" port=") + 6;
  auto port = static_cast<std::uint16_t>(std::stoi(node.err.substr(at)));
  REQUIRE(port > 0);
  child sim{{DCCS_SIM_BIN, "--url", "ws://127.0.0.1:" + std::to_string(port), "--drones", "100", "--rate", "5",
             "--duration", "3", "--observe", "--json", "--report-interval", "60"}};
  CHECK(sim.wait_exit() == 0);
  auto json_at = sim.err.rfind("\n{");
  REQUIRE(json_at != std::string::npos);
  auto report = nlohmann::json::parse(sim.err.substr(json_at + 1, sim.err.find('\n', json_at + 1) - json_at - 1));
  CHECK(report["errors"] == 0);
  CHECK(report["frames_sent"].get<long>() >= 100);
  CHECK(report["drones_seen"] == 100);
  auto list = http_get(port, "/api/v1/drones").json()["drones"];
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
  for (int i = 0; i < 400; ++i) {
    try {
      auto list = http_get(port, "/api/v1/drones").json()["drones"];
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
