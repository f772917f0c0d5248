#pragma once

// A private PostgreSQL 15 server for tests that stop and restart it (the shared throwaway server of the test
// command must stay up for the other tests): initdb into a temporary folder, listening on a free port of
// 127.0.0.1 only, trust authentication for the local user `dccs` (no password exists). As root, the cluster
// belongs to and runs as the `postgres` system user (initdb and postgres refuse root).

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dccs::test {

class pg_server {
public:
  pg_server() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dccs-pg-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
      throw std::runtime_error(std::string{"pg_server: mkdtemp failed: "} + std::strerror(errno));
    dir_ = tmpl;
    port_ = free_port();
    if (geteuid() == 0) {
      as_ = "runuser -u postgres -- ";
      run("chown postgres: " + dir_.string());
    }
    run(as_ + bin + "initdb -D " + data() + " -U dccs -A trust -E UTF8 --no-locale > " + dir_.string()
        + "/initdb.log 2>&1");
    start();
  }

  ~pg_server() {
    std::system((as_ + bin + "pg_ctl -D " + data() + " -m immediate -w stop > /dev/null 2>&1").c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  /// Starts the server (again, on the same port) and returns once it accepts connections.
  void start() {
    run(as_ + bin + "pg_ctl -D " + data() + " -l " + dir_.string() + "/server.log -w -t 60 -o \"-c listen_addresses=127.0.0.1 -c port="
        + std::to_string(port_) + " -c unix_socket_directories=''\" start > /dev/null");
  }

  /// Stops the server (fast shutdown: open connections are terminated) and returns once it is down.
  void stop() { run(as_ + bin + "pg_ctl -D " + data() + " -m fast -w stop > /dev/null"); }

  /// libpq connection string of database `dbname`.
  std::string url(const std::string& dbname = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + dbname + " user=dccs connect_timeout=2";
  }

private:
  static constexpr const char* bin = "/usr/lib/postgresql/15/bin/";

  std::string data() const { return dir_.string() + "/data"; }

  static void run(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("pg_server: command failed: " + cmd);
  }

  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0)
        close(fd);
      throw std::runtime_error("pg_server: no free port");
    }
    close(fd);
    return ntohs(addr.sin_port);
  }

  std::filesystem::path dir_;
  int port_ = 0;
  std::string as_;
};

} // namespace dccs::test
