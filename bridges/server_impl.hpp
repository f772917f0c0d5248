#pragma once
/// The inside of the HTTP/WebSocket front (bridges/server.*), shared by its parts: the server's state
/// (`server::impl`), what a connection is to it (`closable`, `reserve_waiter`), the WebSocket write queue and
/// close handshake every WebSocket connection shares (`ws_connection`), and how the accept loop and the HTTP
/// connection start the others. Not for use outside bridges/.

#include "bridges/server.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <optional>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/actors.hpp"
#include "auth/verified_tokens.hpp"
#include "actors/drone_json.hpp"
#include "actors/fleet_store.hpp"
#include "actors/list_page.hpp"
#include "actors/telemetry_store.hpp"
#include "auth/jwt.hpp"
#include "bridges/close_code_filter.hpp"
#include "bridges/connection_gate.hpp"
#include "bridges/drone_frame.hpp"
#include "bridges/http_request.hpp"
#include "bridges/operator_frame.hpp"
#include "bridges/static_files.hpp"
#include "runtime/clock.hpp"
#include "runtime/http_error.hpp"
#include "runtime/log.hpp"
#include "runtime/rate_limiter.hpp"
#include "runtime/secret.hpp"
#include "runtime/text.hpp"

namespace dccs::bridges {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using runtime::split_list;

/// Something the server closes on shutdown.
class closable {
public:
  virtual ~closable() = default;
  virtual void shutdown() = 0;
  /// Called after the I/O threads ended, for a connection whose close handshake did not finish in time:
  /// releases its actors.
  virtual void abandon() = 0;
  /// Called every second from any thread: an authenticated connection whose token expired or was revoked
  /// closes itself.
  virtual void revalidate(std::int64_t now_s) {}
};

/// A connection in the reserve (past http.max_connections) that has not sent its request yet: when the reserve
/// is full, the oldest of them is closed to make room for a new connection (an idle client cannot keep health
/// checks and operators out).
class reserve_waiter {
public:
  virtual ~reserve_waiter() = default;
  /// Ends the wait: true for the first caller only (the connection itself when its request arrived, or the
  /// server that evicts it).
  bool claim() { return waiting_.exchange(false); }
  /// Closes the connection (from any thread; after a successful claim()).
  virtual void evict() = 0;

private:
  std::atomic<bool> waiting_{true};
};

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(caf::actor_system& sys, actors::directory_actor directory, actors::hub_actor hub, server_settings settings,
       runtime::metrics& m, actors::actor_metrics am, server_services services)
    : sys(sys), directory(std::move(directory)), hub(std::move(hub)), settings(std::move(settings)),
      services(std::move(services)),
      ioc_holder(std::make_unique<net::io_context>(this->settings.control_threads)), ioc(*ioc_holder),
      drone_ioc_holder(std::make_unique<net::io_context>(this->settings.threads)), drone_ioc(*drone_ioc_holder),
      acceptor(std::in_place, net::make_strand(ioc)),
      frames_accepted(m.make_counter("dccs_frames_accepted_total", "drone frames accepted")),
      frames_rejected(m.make_counter("dccs_frames_rejected_total", "drone frames refused with an error frame")),
      drones_closed_rate(m.make_counter("dccs_drone_rate_limited_total", "drone connections closed for flooding")),
      drones_closed_size(m.make_counter("dccs_drone_oversize_total", "drone connections closed for an oversized frame")),
      drones_replaced(m.make_counter("dccs_drone_replaced_total", "drone connections replaced by a newer one")),
      drones_rerouted(m.make_counter("dccs_drone_rerouted_total",
                                     "drone connections sent to the drone's new owner (handoff, a member lost)")),
      frames_forwarded(m.make_counter("dccs_drone_frames_forwarded_total",
                                      "drone frames sent from a socket here to the drone's actor on another cluster member")),
      drones_backlogged(m.make_counter("dccs_drone_backlog_closed_total",
                                       "acknowledged drone connections closed (1013) because the telemetry buffer was full")),
      http_requests(m.make_counter("dccs_http_requests_total", "HTTP requests served")),
      tokens_refused(m.make_counter("dccs_auth_tokens_refused_total", "access tokens refused (invalid, expired, revoked)")),
      tokens_remembered(m.make_counter("dccs_auth_tokens_remembered_total",
                                       "requests whose access token was found among those verified before (no signature check)")),
      tokens_refused_unaudited(m.make_counter("dccs_auth_tokens_refused_unaudited_total",
                                              "refused access tokens not written to the audit log (over 20/s)")),
      drones_connected(m.make_gauge("dccs_drone_connections", "open drone WebSockets")),
      operators_connected(m.make_gauge("dccs_operator_connections", "open operator WebSockets")),
      connections_refused(m.make_counter("dccs_http_connections_refused_total",
                                         "connections answered 503 too_many_connections and closed: past "
                                         "http.max_connections and its reserve, or while out of file descriptors")),
      reserve_refused(m.make_counter("dccs_http_reserve_refused_total",
                                     "requests on a reserve connection that the reserve does not serve (503)")),
      reserve_evicted(m.make_counter("dccs_http_reserve_evicted_total",
                                     "reserve connections closed before their request to make room for a new one")),
      accept_errors(m.make_counter("dccs_http_accept_errors_total",
                                   "failed accepts (EMFILE, ENFILE, ...); out of descriptors, accepting pauses 50 ms")),
      gate(this->settings.max_connections, this->settings.reserve_connections,
           &m.make_gauge("dccs_http_connections", "open connections of the HTTP port (HTTP and WebSocket)")),
      static_dir(this->settings.static_dir), actor_metrics_(am), metrics(m) {
  }

  ~impl() {
    if (spare_fd >= 0)
      ::close(spare_fd);
  }

  caf::actor_system& sys;
  actors::directory_actor directory;
  actors::hub_actor hub;
  server_settings settings;
  server_services services;
  /// Owned apart so that the server can destroy it (and the handlers it holds, which hold connections,
  /// which hold this impl) while the impl itself stays alive.
  std::unique_ptr<net::io_context> ioc_holder;
  net::io_context& ioc; ///< accepts, HTTP requests, operator sockets (http.control_threads)
  /// The drone sockets (http.threads): a connection moves here once its upgrade to /ws/drone is read, so that the
  /// fleet's frames never stand in line before a REST request or an operator's frame on the same thread.
  std::unique_ptr<net::io_context> drone_ioc_holder;
  net::io_context& drone_ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> drone_work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads; ///< both contexts' I/O threads

  /// The executor a new drone connection runs on: a strand of the drones' context when it has several threads.
  net::any_io_executor drone_executor() {
    return settings.threads > 1 ? net::any_io_executor{net::make_strand(drone_ioc)}
                                : net::any_io_executor{drone_ioc.get_executor()};
  }
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_link_id{1};
  std::mutex registry_mtx;
  std::condition_variable registry_empty;
  std::unordered_map<closable*, std::weak_ptr<closable>> registry;
  runtime::counter& frames_accepted;
  runtime::counter& frames_rejected;
  runtime::counter& drones_closed_rate;
  runtime::counter& drones_closed_size;
  runtime::counter& drones_replaced;
  runtime::counter& drones_rerouted;
  runtime::counter& frames_forwarded;
  runtime::counter& drones_backlogged;
  runtime::counter& http_requests;
  runtime::counter& tokens_refused;
  runtime::counter& tokens_remembered;
  runtime::counter& tokens_refused_unaudited;
  runtime::gauge& drones_connected;
  runtime::gauge& operators_connected;
  runtime::counter& connections_refused;
  runtime::counter& reserve_refused;
  runtime::counter& reserve_evicted;
  runtime::counter& accept_errors;
  connection_gate gate;
  const static_files static_dir;
  actors::actor_metrics actor_metrics_;
  runtime::metrics& metrics;

  void add(const std::shared_ptr<closable>& c) {
    std::lock_guard<std::mutex> guard{registry_mtx};
    registry.emplace(c.get(), c);
  }
  void remove(closable* c) {
    std::lock_guard<std::mutex> guard{registry_mtx};
    registry.erase(c);
    if (registry.empty())
      registry_empty.notify_all();
  }

  // -- the accept loop: the connection cap, the reserve, and running out of file descriptors --

  void do_accept();
  /// A new connection: regular, in the reserve, or refused.
  void admit(tcp::socket socket);
  /// An accept failed: counts and logs it (at most once per 10 s), and when the process is out of file
  /// descriptors answers the clients waiting in the backlog with a 503 (with the spare descriptor) and pauses
  /// accepting for 50 ms. True when paused (the pause timer accepts again).
  bool accept_failed(const beast::error_code& ec);
  /// Accepts and refuses (503) up to `max` connections waiting in the backlog, each through the spare
  /// descriptor; the number refused.
  std::size_t shed_backlog(std::size_t max);

  std::optional<net::steady_timer> accept_timer; ///< the pause after running out of descriptors
  int spare_fd = -1;                              ///< /dev/null, given up to accept a connection to refuse
  log_throttle accept_log{10000};
  std::uint64_t shed_since_log = 0;

  std::mutex waiting_mtx;
  std::deque<std::weak_ptr<reserve_waiter>> waiting; ///< reserve connections, oldest first

  void wait_in_reserve(const std::shared_ptr<reserve_waiter>& w) {
    std::lock_guard<std::mutex> guard{waiting_mtx};
    while (!waiting.empty() && waiting.front().expired())
      waiting.pop_front();
    waiting.push_back(w);
  }

  /// Closes the oldest reserve connection still waiting for its request; false when there is none.
  bool evict_waiting() {
    std::lock_guard<std::mutex> guard{waiting_mtx};
    while (!waiting.empty()) {
      auto w = waiting.front().lock();
      waiting.pop_front();
      if (w && w->claim()) {
        w->evict();
        reserve_evicted.inc();
        return true;
      }
    }
    return false;
  }

  auth::verified_tokens verified; ///< tokens verified before: a client's token is verified once, not per request

  /// Checks an access token (on an I/O thread: one Ed25519 verification, or none for a token verified before,
  /// and a lookup in the revocations, no blocking). A refused token is audited (client `address`). Nothing when it is not valid (`why` says which).
  std::optional<auth::principal> verify_token(std::string_view token, const std::string& address, const char*& why) {
    if (!services.keys) {
      why = "this node verifies no tokens";
      return std::nullopt;
    }
    auth::verify_options opts;
    opts.iss = services.issuer;
    opts.aud = services.audience;
    bool remembered = false;
    auto v = verified.verify(*services.keys, token, opts, &remembered);
    if (remembered)
      tokens_remembered.inc();
    std::string refusal;
    if (!v.ok())
      refusal = auth::to_string(v.error);
    auth::principal who;
    if (v.ok()) {
      who.name = std::move(v.value.sub);
      who.role = std::move(v.value.role);
      who.groups = std::move(v.value.groups);
      who.jti = std::move(v.value.jti);
      who.iat = v.value.iat;
      who.exp = v.value.exp;
      if (services.revocations && services.revocations->revoked(who))
        refusal = "revoked";
    }
    if (refusal.empty())
      return who;
    tokens_refused.inc();
    // Audited, but at a bounded rate: anyone can send junk tokens, and each row is a database write in the
    // actor that also answers logins. What is over the bound is counted only.
    bool audit_it = false;
    {
      std::lock_guard<std::mutex> guard{refusal_audit_mtx};
      audit_it = refusal_audit.allow(runtime::mono_ms());
    }
    if (!audit_it)
      tokens_refused_unaudited.inc();
    else if (services.auth)
      caf::anon_send(services.auth, actors::denied_atom::value, refusal, address);
    why = refusal == "revoked" ? "the access token has been revoked" : "the access token is not valid";
    return std::nullopt;
  }

  std::mutex refusal_audit_mtx;
  runtime::rate_limiter refusal_audit{20, 200}; ///< refused tokens audited: 20/s, bursts of 200

  // -- revalidation of open sockets --

  std::optional<net::steady_timer> sweep_timer;

  void sweep() {
    sweep_timer->expires_after(std::chrono::seconds(1));
    sweep_timer->async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopping)
        return;
      std::vector<std::shared_ptr<closable>> open;
      {
        std::lock_guard<std::mutex> guard{self->registry_mtx};
        open.reserve(self->registry.size());
        for (auto& [ptr, weak_c] : self->registry)
          if (auto c = weak_c.lock())
            open.push_back(std::move(c));
      }
      auto now_s = static_cast<std::int64_t>(runtime::wall_ms() / 1000);
      for (auto& c : open)
        c->revalidate(now_s);
      self->sweep();
    });
  }
};

using impl_ptr = std::shared_ptr<server::impl>;

inline std::string json_error(std::string_view code, std::string_view message) {
  return runtime::error_body(code, message);
}

// -- WebSocket connections ------------------------------------------------------------------------------

inline void close_socket(tcp::socket& s) {
  beast::error_code ec;
  s.close(ec);
}

inline void close_socket(beast::tcp_stream& s) {
  beast::error_code ec;
  s.socket().close(ec);
}

/// What drone and operator connections share: the stream, a write queue with one write in flight, and a
/// close handshake that starts once what is queued is written. `Derived` derives from
/// enable_shared_from_this and provides `on_accept(ec)` and `finish()` (the connection ended); it may hide
/// `on_closing()` and `on_written()` (a frame queued with `notify` was written).
template <class Derived, class NextLayer>
class ws_connection : public closable {
public:
  void shutdown() override { post_close(websocket::close_code::going_away, "node shutting down"); }

  void abandon() override {
    registered_ = false;
    derived().finish();
    close_socket(beast::get_lowest_layer(ws_));
  }

protected:
  ws_connection(impl_ptr srv, tcp::socket&& socket, connection_slot slot)
    : srv_(std::move(srv)), slot_(std::move(slot)), ws_(std::move(socket)) {
  }

  Derived& derived() { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> shared() { return derived().shared_from_this(); }

  void accept(http::request<http::string_body> req, std::size_t max_frame) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "dccs"); }));
    ws_.read_message_max(max_frame);
    // One WebSocket frame per message. Beast's default (auto_fragment with a 4 KiB write buffer) cut a 2.4 MB
    // update for an operator of 5,000 drones into ~600 frames, each write's completion queued behind every drone
    // socket's reads on a busy node: 0.9 such updates a second reached the operator (bench/web-report.md).
    ws_.auto_fragment(false);
    ws_.async_accept(req, [self = shared()](beast::error_code ec) { self->on_accept(ec); });
  }

  /// From any thread: close on the connection's strand.
  void post_close(std::uint16_t code, std::string reason) {
    net::post(ws_.get_executor(), [self = shared(), code, reason = std::move(reason)]() mutable {
      self->start_close(code, std::move(reason));
    });
  }

  void write(std::string frame, bool notify = false) {
    if (closing_ || finished_)
      return;
    queue_.push_back({std::move(frame), notify, false});
    if (!writing_)
      do_write();
  }

  /// Writes a frame that a later one of the same kind makes useless (a cumulative ack): while it waits, the next
  /// such frame replaces it, so a client that reads slowly costs one queued frame, not one per row.
  void write_superseded(std::string frame) {
    if (closing_ || finished_)
      return;
    bool in_flight_only = writing_ && queue_.size() == 1;
    if (!queue_.empty() && queue_.back().superseded && !in_flight_only) {
      queue_.back().frame = std::move(frame);
      return;
    }
    queue_.push_back({std::move(frame), false, true});
    if (!writing_)
      do_write();
  }

  std::size_t queued() const { return queue_.size(); }

  void start_close(std::uint16_t code, std::string reason) {
    if (closing_ || finished_)
      return;
    closing_ = true;
    close_reason_.code = code;
    close_reason_.reason = reason;
    derived().on_closing();
    if (queue_.empty())
      do_close();
    else
      close_pending_ = true;
  }

  void on_closing() {}
  void on_written() {}

  // srv_ first: members die in reverse order, and the stream must go before the io_context that srv_ may
  // be the last to keep alive (a connection can die on an actor thread after the server stopped).
  impl_ptr srv_;
  connection_slot slot_; ///< released once the stream (below) is gone
  /// The client's close codes pass a filter: Beast alone would echo a code of 5000 or more (close_code_filter.hpp).
  websocket::stream<close_code_filter<NextLayer>> ws_;
  bool registered_ = false;
  bool closing_ = false;
  bool finished_ = false;

private:
  struct out_frame {
    std::string frame;
    bool notify;
    bool superseded; ///< the next frame written with write_superseded replaces it while it waits
  };

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front().frame),
                    [self = shared()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (queue_.empty())
      return;
    bool notify = queue_.front().notify;
    queue_.pop_front();
    if (ec || finished_) {
      queue_.clear();
      return;
    }
    if (notify)
      derived().on_written();
    if (!queue_.empty())
      do_write();
    else if (close_pending_)
      do_close();
  }

  void do_close() {
    close_pending_ = false;
    ws_.async_close(close_reason_, [self = shared()](beast::error_code) { self->finish(); });
  }

  std::deque<out_frame> queue_;
  websocket::close_reason close_reason_;
  bool writing_ = false;
  bool close_pending_ = false;
};

/// Starts a drone WebSocket on an upgraded connection (`secret`: from the upgrade's Authorization header).
void start_drone_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, std::string secret,
                         http::request<http::string_body> req);

/// Starts an operator WebSocket for `who` (checked by the HTTP connection) on an upgraded connection.
void start_operator_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, auth::principal who,
                            http::request<http::string_body> req);

/// Starts serving an HTTP connection; for a reserve connection, returns it as the reserve's waiter.
std::shared_ptr<reserve_waiter> start_http_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot,
                                                   bool reserve);

} // namespace dccs::bridges
