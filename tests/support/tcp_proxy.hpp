#pragma once

// A TCP proxy for tests: listens on 127.0.0.1 (a free port, kept for its whole life) and forwards every
// connection to a target host:port, on a thread of its own (Boost.Asio). `down()` closes every proxied
// connection at once (both sides) and stops listening, so new connections are refused; `up()` listens on the
// same port again and forwards new connections. A test puts it between a node and PostgreSQL to cut the
// database away and bring it back for real: nothing is mocked, the node sees lost connections and refused
// reconnects.

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <fcntl.h>

#include <boost/asio.hpp>

namespace dccs::test {

class tcp_proxy {
public:
  tcp_proxy(std::string target_host, std::uint16_t target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
    namespace net = boost::asio;
    net::ip::tcp::resolver resolver{ioc_};
    auto results = resolver.resolve(target_host_, std::to_string(target_port_));
    for (auto& r : results) {
      // Prefer IPv4: pg_virtualenv's server listens on 127.0.0.1.
      if (r.endpoint().address().is_v4()) {
        target_ = r.endpoint();
        break;
      }
    }
    if (target_.port() == 0) {
      if (results.empty())
        throw std::runtime_error("tcp_proxy: cannot resolve " + target_host_);
      target_ = results.begin()->endpoint();
    }
    listen(0);
    port_ = acceptor_->local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  /// A proxy in front of the PostgreSQL server that the PG* environment variables name (PGHOST, PGPORT; a
  /// unix socket directory or no PGHOST means localhost, where pg_virtualenv's server also listens on TCP).
  static std::unique_ptr<tcp_proxy> to_postgres() {
    std::string host = "127.0.0.1";
    if (const char* h = std::getenv("PGHOST"); h && *h && h[0] != '/') {
      host = h;
      if (host == "localhost")
        host = "127.0.0.1";
    }
    std::uint16_t port = 5432;
    if (const char* p = std::getenv("PGPORT"); p && *p)
      port = static_cast<std::uint16_t>(std::stoi(p));
    return std::make_unique<tcp_proxy>(host, port);
  }

  /// The libpq connection string of database `dbname` through this proxy (user and password from PGUSER
  /// and PGPASSWORD when set).
  std::string pg_url(const std::string& dbname, int connect_timeout_s = 2) const {
    std::string url = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + dbname;
    if (const char* u = std::getenv("PGUSER"); u && *u)
      url += std::string{" user="} + u;
    if (const char* p = std::getenv("PGPASSWORD"); p && *p)
      url += std::string{" password="} + p;
    url += " connect_timeout=" + std::to_string(connect_timeout_s);
    return url;
  }

  ~tcp_proxy() {
    run_sync([this] {
      stopped_ = true;
      close_all();
      if (acceptor_) {
        boost::system::error_code ec;
        acceptor_->close(ec);
      }
    });
    work_.reset();
    ioc_.stop();
    if (thread_.joinable())
      thread_.join();
  }

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  std::uint16_t port() const { return port_; }

  /// Closes every proxied connection (both ends) and stops listening: connection attempts are refused.
  /// Returns once done.
  void down() {
    run_sync([this] {
      is_up_ = false;
      if (acceptor_) {
        boost::system::error_code ec;
        acceptor_->close(ec);
        acceptor_.reset();
      }
      close_all();
    });
  }

  /// Listens on the same port again and forwards new connections. Returns once listening. Throws when the
  /// port cannot be bound again.
  void up() {
    std::string error;
    run_sync([this, &error] {
      if (is_up_)
        return;
      try {
        listen(port_);
        is_up_ = true;
        do_accept();
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
    if (!error.empty())
      throw std::runtime_error("tcp_proxy: cannot listen on port " + std::to_string(port_) + " again: " + error);
  }

  /// Connections forwarded so far.
  std::uint64_t accepted() const { return accepted_.load(); }

private:
  using tcp = boost::asio::ip::tcp;

  /// One proxied connection: bytes copied both ways until either side closes, then both are closed.
  struct pipe : std::enable_shared_from_this<pipe> {
    pipe(tcp::socket&& c, boost::asio::io_context& ioc) : client(std::move(c)), server(ioc) {}
    tcp::socket client;
    tcp::socket server;
    std::array<char, 16384> up_buf{};   // client -> server
    std::array<char, 16384> down_buf{}; // server -> client
    bool closed = false;

    void close() {
      if (closed)
        return;
      closed = true;
      boost::system::error_code ec;
      client.shutdown(tcp::socket::shutdown_both, ec);
      server.shutdown(tcp::socket::shutdown_both, ec);
      client.close(ec);
      server.close(ec);
    }
  };

  /// Not inherited by the processes a test starts (a node): a child holding a copy of the listening socket or of
  /// a proxied connection would keep the port bound after down() and the connection open after a cut.
  static void no_inherit(int fd) {
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }

  void listen(std::uint16_t port) {
    auto acc = std::make_unique<tcp::acceptor>(ioc_);
    tcp::endpoint ep{boost::asio::ip::make_address("127.0.0.1"), port};
    acc->open(ep.protocol());
    no_inherit(acc->native_handle());
    acc->set_option(tcp::acceptor::reuse_address(true));
    acc->bind(ep);
    acc->listen();
    acceptor_ = std::move(acc);
  }

  void do_accept() {
    auto* acc = acceptor_.get();
    acc->async_accept([this, acc](boost::system::error_code ec, tcp::socket sock) {
      if (ec || stopped_ || acc != acceptor_.get() || !is_up_)
        return; // closed by down(), or a stale acceptor
      ++accepted_;
      no_inherit(sock.native_handle());
      auto p = std::make_shared<pipe>(std::move(sock), ioc_);
      pipes_.insert(p);
      boost::system::error_code open_ec;
      p->server.open(target_.protocol(), open_ec);
      if (!open_ec)
        no_inherit(p->server.native_handle());
      p->server.async_connect(target_, [this, p](boost::system::error_code ec) {
        if (ec || p->closed) {
          finish(p);
          return;
        }
        boost::system::error_code ignored;
        p->client.set_option(tcp::no_delay(true), ignored);
        p->server.set_option(tcp::no_delay(true), ignored);
        relay(p, p->client, p->server, p->up_buf);
        relay(p, p->server, p->client, p->down_buf);
      });
      do_accept();
    });
  }

  void relay(const std::shared_ptr<pipe>& p, tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buf) {
    from.async_read_some(boost::asio::buffer(buf), [this, p, &from, &to, &buf](boost::system::error_code ec,
                                                                               std::size_t n) {
      if (ec || p->closed) {
        finish(p);
        return;
      }
      boost::asio::async_write(to, boost::asio::buffer(buf.data(), n),
                               [this, p, &from, &to, &buf](boost::system::error_code ec, std::size_t) {
                                 if (ec || p->closed) {
                                   finish(p);
                                   return;
                                 }
                                 relay(p, from, to, buf);
                               });
    });
  }

  void finish(const std::shared_ptr<pipe>& p) {
    p->close();
    pipes_.erase(p);
  }

  void close_all() {
    for (auto& p : pipes_)
      p->close();
    pipes_.clear();
  }

  /// Runs `f` on the proxy's thread (or inline before it started) and waits for it.
  template <class F>
  void run_sync(F f) {
    if (!thread_.joinable() || ioc_.stopped()) {
      f();
      return;
    }
    std::promise<void> done;
    boost::asio::post(ioc_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::string target_host_;
  std::uint16_t target_port_;
  boost::asio::io_context ioc_;
  /// Keeps the thread running while nothing is listening (after down()).
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{ioc_.get_executor()};
  tcp::endpoint target_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::set<std::shared_ptr<pipe>> pipes_;
  std::uint16_t port_ = 0;
  bool is_up_ = true;
  bool stopped_ = false;
  std::atomic<std::uint64_t> accepted_{0};
  std::thread thread_;
};

} // namespace dccs::test
