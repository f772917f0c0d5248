#pragma once

// A throwaway redis-server for tests: on a free port of 127.0.0.1, data and log in a temporary folder, no
// persistence (--save '' --appendonly no). Started by the constructor, killed and cleaned up by the
// destructor; kill() and start() let a test take it down and bring it back on the same port.

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dccs::test {

class redis_server {
public:
  /// Starts a server on `port` (0: a free one); with a non-empty `password` it requires it (--requirepass).
  /// Throws std::runtime_error (with the end of the server's log) when it does not answer within
  /// `ready_timeout`.
  explicit redis_server(std::string password = {}, int port = 0,
                        std::chrono::milliseconds ready_timeout = std::chrono::seconds{10})
    : password_(std::move(password)), ready_timeout_(ready_timeout) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dccs-redis-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
      throw std::runtime_error(std::string{"redis_server: mkdtemp failed: "} + std::strerror(errno));
    dir_ = tmpl;
    port_ = port ? port : free_port();
    start();
  }

  ~redis_server() {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  /// redis://127.0.0.1:PORT (without the password).
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  /// Starts the server (again) on the same port and waits until it answers PING (an error reply such as
  /// NOAUTH counts as an answer).
  void start() {
    if (pid_ > 0)
      return;
    std::vector<std::string> args{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                  "--dir", dir_.string(), "--save", "", "--appendonly", "no",
                                  "--daemonize", "no", "--logfile", (dir_ / "redis.log").string()};
    if (!password_.empty()) {
      args.push_back("--requirepass");
      args.push_back(password_);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0)
      throw std::runtime_error(std::string{"redis_server: fork failed: "} + std::strerror(errno));
    if (pid == 0) {
      execvp("redis-server", argv.data());
      _exit(127);
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + ready_timeout_;
    while (!answers_ping()) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis_server: redis-server exited at start (status " + std::to_string(status)
                                 + ", 127: not installed?)" + log_tail());
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill();
        throw std::runtime_error("redis_server: no answer on port " + std::to_string(port_) + log_tail());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }

  /// SIGKILL, and waits for the process to be gone.
  void kill() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  /// A port that was free a moment ago on 127.0.0.1 (bind port 0, read it back, close).
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      throw std::runtime_error("redis_server: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(fd);
      throw std::runtime_error("redis_server: cannot find a free port");
    }
    close(fd);
    return ntohs(addr.sin_port);
  }

private:
  /// One connection attempt: connect, send PING, read the first byte of the reply.
  bool answers_ping() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      return false;
    timeval tv{0, 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
        && send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
      char c = 0;
      ok = recv(fd, &c, 1, 0) == 1 && (c == '+' || c == '-');
    }
    close(fd);
    return ok;
  }

  std::string log_tail() const {
    std::ifstream in{dir_ / "redis.log"};
    std::stringstream ss;
    ss << in.rdbuf();
    auto text = ss.str();
    if (text.size() > 2000)
      text = text.substr(text.size() - 2000);
    return text.empty() ? std::string{} : "; its log ends with:\n" + text;
  }

  std::string password_;
  std::chrono::milliseconds ready_timeout_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

} // namespace dccs::test
