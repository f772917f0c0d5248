#pragma once
/// A program the tests start as a user would (the `dccs` and `dccs-sim` binaries), with its output captured.

#include <catch2/catch.hpp>

#include <csignal>
#include <optional>
#include <string>
#include <vector>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dccs::test {

/// A child process with its stderr and stdout captured through one pipe; killed (SIGKILL) when destroyed.
struct child {
  pid_t pid = -1;
  int err_fd = -1;
  std::string err;

  /// `nofile`: the soft and hard limit of open file descriptors the child runs with (its own default otherwise).
  explicit child(std::vector<std::string> argv, std::optional<rlim_t> nofile = std::nullopt) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], 2);
      dup2(fds[1], 1);
      close(fds[0]);
      if (nofile) {
        rlimit rl{*nofile, *nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
          _exit(126);
      }
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

  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// Reads output until `needle` appears (true) or the output ends or `timeout_ms` pass without output (false).
  bool read_until(const std::string& needle, int timeout_ms = 20000) {
    while (err.find(needle) == std::string::npos) {
      pollfd p{err_fd, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0)
        return false;
      char buf[4096];
      auto n = read(err_fd, buf, sizeof(buf));
      if (n <= 0)
        return false;
      err.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads what the child has written so far, without waiting.
  void read_available() {
    for (;;) {
      pollfd p{err_fd, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0)
        return;
      char buf[65536];
      auto n = read(err_fd, buf, sizeof(buf));
      if (n <= 0)
        return;
      err.append(buf, static_cast<std::size_t>(n));
    }
  }

  int wait_exit() {
    read_until("\x01never"); // drain until the pipe closes
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

} // namespace dccs::test
