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

namespace {

/// The items of a comma-separated list, without surrounding spaces (and without trailing `strip` characters).
std::vector<std::string> split_list(const std::string& text, const char* strip) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos <= text.size();) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!item.empty() && item.front() == ' ')
      item.erase(0, 1);
    while (!item.empty() && (item.back() == ' ' || std::string_view{strip}.find(item.back()) != std::string_view::npos))
      item.pop_back();
    if (!item.empty())
      out.push_back(item);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

} // namespace

server_settings server_settings::from(const runtime::config& cfg) {
  server_settings s;
  s.node_name = cfg.str("node.name");
  if (s.node_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    s.node_name = host;
  }
  s.address = cfg.str("http.address");
  s.port = static_cast<std::uint16_t>(cfg.integer("http.port"));
  s.threads = static_cast<int>(cfg.integer("http.threads"));
  s.static_dir = cfg.str("http.static_dir");
  s.max_body = static_cast<std::size_t>(cfg.integer("http.max_body"));
  s.backlog = static_cast<int>(cfg.integer("http.backlog"));
  s.reserve_connections = static_cast<std::size_t>(cfg.integer("http.reserve_connections"));
  auto max_connections = cfg.integer("http.max_connections");
  s.max_connections = max_connections > 0 ? static_cast<std::size_t>(max_connections)
                                          : automatic_max_connections(descriptor_limit(), s.reserve_connections);
  s.drone_max_frame = static_cast<std::size_t>(cfg.integer("drone.max_frame"));
  s.drone_max_rate = static_cast<double>(cfg.integer("drone.max_rate"));
  s.drone_burst = static_cast<double>(cfg.integer("drone.burst"));
  s.drone_hello_timeout_ms = cfg.integer("drone.hello_timeout_ms");
  s.drone_pending_frames = static_cast<std::size_t>(cfg.integer("drone.pending_frames"));
  s.operator_max_frame = static_cast<std::size_t>(cfg.integer("operator.max_frame"));
  s.operator_max_rate = static_cast<double>(cfg.integer("operator.max_rate"));
  s.operator_max_events = static_cast<std::size_t>(cfg.integer("operator.max_events"));
  s.shutdown_grace_ms = cfg.integer("shutdown.grace_ms");
  s.allowed_origins = split_list(cfg.str("http.allowed_origins"), "/");
  s.trusted_proxies = split_list(cfg.str("http.trusted_proxies"), "");
  s.ticket_ttl_s = cfg.integer("auth.ticket_ttl_s");
  s.metrics_public = cfg.boolean("http.metrics_public");
  s.default_group = cfg.str("fleet.default_group");
  return s;
}

namespace {

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

/// Answers a connection the node cannot take with a 503 (without reading its request: the answer fits in an
/// empty socket buffer) and shuts it down; the caller closes it.
void refuse_connection(int fd) {
  static const std::string answer = [] {
    auto body = runtime::error_body("too_many_connections",
                                    "the node has no room for another connection, try again later");
    return "HTTP/1.1 503 Service Unavailable\r\nServer: dccs\r\nContent-Type: application/json\r\n"
           "Cache-Control: no-store\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: "
           + std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  [[maybe_unused]] auto sent = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  // Read what the client already sent: closing a socket with unread data resets the connection, and the reset
  // can overtake the answer.
  char scratch[4096];
  for (int i = 0; i < 4 && ::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0; ++i) {
  }
}

} // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(caf::actor_system& sys, actors::directory_actor directory, actors::hub_actor hub, server_settings settings,
       runtime::metrics& m, actors::actor_metrics am, server_services services)
    : sys(sys), directory(std::move(directory)), hub(std::move(hub)), settings(std::move(settings)),
      services(std::move(services)),
      ioc_holder(std::make_unique<net::io_context>(this->settings.threads)), ioc(*ioc_holder),
      acceptor(std::in_place, net::make_strand(ioc)),
      frames_accepted(m.make_counter("dccs_frames_accepted_total", "drone frames accepted")),
      frames_rejected(m.make_counter("dccs_frames_rejected_total", "drone frames refused with an error frame")),
      drones_closed_rate(m.make_counter("dccs_drone_rate_limited_total", "drone connections closed for flooding")),
      drones_closed_size(m.make_counter("dccs_drone_oversize_total", "drone connections closed for an oversized frame")),
      drones_replaced(m.make_counter("dccs_drone_replaced_total", "drone connections replaced by a newer one")),
      drones_backlogged(m.make_counter("dccs_drone_backlog_closed_total",
                                       "acknowledged drone connections closed (1013) because the telemetry buffer was full")),
      http_requests(m.make_counter("dccs_http_requests_total", "HTTP requests served")),
      tokens_refused(m.make_counter("dccs_auth_tokens_refused_total", "access tokens refused (invalid, expired, revoked)")),
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
  net::io_context& ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
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
  runtime::counter& drones_backlogged;
  runtime::counter& http_requests;
  runtime::counter& tokens_refused;
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

  /// Checks an access token (on an I/O thread: one Ed25519 verification and a lookup in the revocations, no
  /// blocking). A refused token is audited (client `address`). Nothing when it is not valid (`why` says which).
  std::optional<auth::principal> verify_token(std::string_view token, const std::string& address, const char*& why) {
    if (!services.keys) {
      why = "this node verifies no tokens";
      return std::nullopt;
    }
    auth::verify_options opts;
    opts.iss = services.issuer;
    opts.aud = services.audience;
    auto v = auth::verify(*services.keys, token, opts);
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

  // -- single-use operator WebSocket tickets (POST /api/v1/auth/ticket) --

  struct ticket {
    auth::principal who;
    std::int64_t expires_ms;
  };
  static constexpr std::size_t max_tickets = 100000;
  static constexpr int max_tickets_per_user = 16;
  std::mutex tickets_mtx;
  std::unordered_map<std::string, ticket> tickets; ///< by SHA-256 of the ticket text: never the ticket itself
  std::unordered_map<std::string, int> tickets_of;  ///< outstanding tickets per user

  void forget_ticket(std::unordered_map<std::string, ticket>::iterator i) {
    auto u = tickets_of.find(i->second.who.name);
    if (u != tickets_of.end() && --u->second <= 0)
      tickets_of.erase(u);
    tickets.erase(i);
  }

  /// A new ticket for `who`, or empty when too many are outstanding (for the node, or for this user: one user
  /// cannot take the table from everyone else).
  std::string issue_ticket(const auth::principal& who) {
    auto text = runtime::random_token(32);
    auto now = runtime::mono_ms();
    std::lock_guard<std::mutex> guard{tickets_mtx};
    auto outstanding = tickets_of.find(who.name);
    if (tickets.size() >= max_tickets / 2 || (outstanding != tickets_of.end() && outstanding->second >= max_tickets_per_user))
      for (auto i = tickets.begin(); i != tickets.end();) {
        auto next = std::next(i);
        if (i->second.expires_ms <= now)
          forget_ticket(i);
        i = next;
      }
    outstanding = tickets_of.find(who.name);
    if (tickets.size() >= max_tickets || (outstanding != tickets_of.end() && outstanding->second >= max_tickets_per_user))
      return {};
    tickets[runtime::sha256(text)] = ticket{who, now + settings.ticket_ttl_s * 1000};
    ++tickets_of[who.name];
    return text;
  }

  /// The principal of a ticket, which is spent by this call; nothing for an unknown, spent or expired one.
  std::optional<auth::principal> redeem_ticket(std::string_view text) {
    if (text.empty() || text.size() > 128)
      return std::nullopt;
    auto key = runtime::sha256(text);
    std::lock_guard<std::mutex> guard{tickets_mtx};
    auto i = tickets.find(key);
    if (i == tickets.end())
      return std::nullopt;
    auto t = i->second; // copied: forget_ticket reads the user's name
    forget_ticket(i);
    if (t.expires_ms <= runtime::mono_ms() || t.who.exp <= static_cast<std::int64_t>(runtime::wall_ms() / 1000))
      return std::nullopt; // the ticket, or the token it was issued for, has expired
    return std::move(t.who);
  }

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

namespace {

using impl_ptr = std::shared_ptr<server::impl>;

std::string json_error(std::string_view code, std::string_view message) {
  return runtime::error_body(code, message);
}

// -- WebSocket connections ------------------------------------------------------------------------------

void close_socket(tcp::socket& s) {
  beast::error_code ec;
  s.close(ec);
}

void close_socket(beast::tcp_stream& s) {
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

// -- drone WebSocket ------------------------------------------------------------------------------------

/// One drone connection. Reads frames, parses each once, and sends them to the drone's actor; writes
/// welcome and error frames. All state is touched only on the connection's strand.
class drone_session;
class operator_session;

/// Frames a drone connection may have waiting for the socket before it is closed (1008): what it is told that
/// cannot be merged (refusals; acks are merged into one).
constexpr std::size_t max_unread_frames = 1024;

/// The link actor of one drone socket: the socket's only face to the actor system. The drone actor serving the
/// socket (wherever it runs) tells it `attached` and `hangup`; it monitors that actor, and stops when the socket
/// closes (`detach`), which is how the drone actor, monitoring it, learns that the connection ended.
actors::drone_link_actor::behavior_type drone_link_impl(actors::drone_link_actor::pointer self,
                                                       std::weak_ptr<drone_session> socket);

/// The link actor of one operator socket: writes what its session actor delivers; stops when the socket closes.
actors::operator_link_actor::behavior_type operator_link_impl(actors::operator_link_actor::pointer self,
                                                             std::weak_ptr<operator_session> socket);

class drone_session : public ws_connection<drone_session, tcp::socket>, // a plain socket: the WebSocket's
                      public actors::ack_sink,                         // own idle timeout is enough
                      public std::enable_shared_from_this<drone_session> {
  friend class ws_connection<drone_session, tcp::socket>;

public:
  /// `secret`: the credential from the upgrade's Authorization header (empty when none was sent).
  drone_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, std::string secret)
    : ws_connection(std::move(srv), std::move(socket), std::move(slot)),
      link_id_{srv_->sys.node(), srv_->next_link_id++},
      limiter_(srv_->settings.drone_max_rate, srv_->settings.drone_burst), secret_(std::move(secret)) {
  }

  void run(http::request<http::string_body> req) {
    ws_.auto_fragment(false);
    accept(std::move(req), srv_->settings.drone_max_frame);
  }

  // -- from the link actor (called from actor threads) --

  void attached(actors::drone_actor drone, bool first) {
    net::post(ws_.get_executor(), [self = shared_from_this(), drone = std::move(drone), first]() mutable {
      self->on_attached(std::move(drone), first);
    });
  }

  void hangup(std::uint16_t code, std::string reason) {
    if (code == 4000)
      srv_->drones_replaced.inc();
    post_close(code, std::move(reason));
  }

  // -- ack_sink (called from the telemetry writer's thread) --

  void committed(std::uint64_t seq) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), seq] {
      std::string frame = "{\"type\":\"ack\",\"seq\":";
      frame += std::to_string(seq);
      frame += '}';
      self->write_superseded(std::move(frame)); // acks are cumulative: a waiting one is replaced by the next
    });
  }

  void refused(std::uint64_t seq) override {
    // Written like an ack (never dropped): the drone must learn of it before any ack that passes this seq.
    net::post(ws_.get_executor(), [self = shared_from_this(), seq] {
      std::string frame = "{\"type\":\"error\",\"code\":\"storage_refused\",\"seq\":";
      frame += std::to_string(seq);
      frame += ",\"message\":\"the database refused this frame; it is not stored and acks do not cover it\"}";
      if (self->queued() >= max_unread_frames) {
        // It does not read what it is told: it reconnects and resends from its last ack instead.
        self->start_close(websocket::close_code::policy_error, "too many unread frames");
        return;
      }
      self->write(std::move(frame));
    });
  }

private:
  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    srv_->add(shared_from_this());
    srv_->drones_connected.add(1);
    registered_ = true;
    if (srv_->stopping) {
      start_close(websocket::close_code::going_away, "node shutting down");
      return;
    }
    hello_timer_.emplace(ws_.get_executor());
    hello_timer_->expires_after(std::chrono::milliseconds(srv_->settings.drone_hello_timeout_ms));
    hello_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->said_hello_)
        self->start_close(websocket::close_code::policy_error, "no hello in time");
    });
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&drone_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::message_too_big)
        srv_->drones_closed_size.inc();
      finish();
      return;
    }
    if (closing_)
      return;
    if (!limiter_.allow(runtime::mono_ms())) {
      srv_->drones_closed_rate.inc();
      runtime::log::warn("drone", "rate limit exceeded, closing",
                         {{"drone_id", drone_id_}, {"link", link_id_.n}});
      start_close(websocket::close_code::policy_error, "rate limit exceeded");
      return;
    }
    auto data = buffer_.cdata();
    std::string_view text{static_cast<const char*>(data.data()), data.size()};
    if (!ws_.got_text())
      reject("malformed", "frames must be JSON text frames");
    else
      on_frame(text);
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > 4096)
      buffer_.shrink_to_fit(); // a large frame must not pin memory for the life of the connection
    if (!closing_)
      do_read();
  }

  void on_frame(std::string_view text) {
    auto recv = runtime::wall_ms();
    parse_drone_frame(text, frame_);
    switch (frame_.kind) {
      case drone_frame::invalid:
        reject(frame_.error_code, frame_.error_message);
        return;
      case drone_frame::hello:
        if (said_hello_) {
          reject("duplicate_hello", "hello was already received on this connection");
          return;
        }
        said_hello_ = true;
        hello_timer_.reset();
        drone_id_ = frame_.info.id;
        if (frame_.ack) {
          if (srv_->services.telemetry)
            ack_ = shared_from_this();
          else
            reject("ack_unavailable", "this node does not store telemetry: no acknowledgements will be sent");
        }
        srv_->frames_accepted.inc();
        if (secret_.empty())
          secret_ = std::move(frame_.secret);
        link_ = srv_->sys.spawn(drone_link_impl, std::weak_ptr<drone_session>{shared_from_this()});
        if (srv_->services.fleet) {
          admit(std::move(frame_.info), std::move(secret_));
        } else {
          // No registry, so no credentials: every drone is in the default group.
          frame_.info.group = srv_->settings.default_group;
          caf::anon_send(srv_->directory, actors::connect_atom::value, std::move(frame_.info), link_, link_id_);
        }
        secret_.clear();
        return;
      case drone_frame::telemetry:
      case drone_frame::heartbeat:
        if (!said_hello_) {
          reject("hello_required", "the first frame must be hello");
          return;
        }
        srv_->frames_accepted.inc();
        if (!drone_) {
          if (pending_.size() >= srv_->settings.drone_pending_frames) {
            reject("busy", "frame dropped: the drone is still being attached");
            return;
          }
          pending_.push_back({frame_.kind == drone_frame::telemetry, std::move(frame_.t), recv});
          return;
        }
        forward(frame_.kind == drone_frame::telemetry, std::move(frame_.t), recv);
        return;
    }
  }

  /// Hands a telemetry frame to the writer. False when the frame was refused (acknowledged drone, buffer
  /// full): the connection then closes with 1013 and the drone resends after reconnecting.
  bool store(const actors::telemetry& t, double recv) {
    actors::telemetry_row row;
    row.drone_id = drone_id_;
    row.t = t;
    row.received = recv;
    row.received_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count();
    row.ack = ack_;
    if (srv_->services.telemetry->push(std::move(row)))
      return true;
    srv_->drones_backlogged.inc();
    runtime::log::warn("drone", "telemetry buffer full, closing acknowledged connection",
                       {{"drone_id", drone_id_}, {"link", link_id_.n}});
    start_close(websocket::close_code::try_again_later, "telemetry storage is behind, resend later");
    return false;
  }

  /// Asks the registry whether this drone may connect (hello: its id and secret), then connects it, in the
  /// group the registry names, or closes.
  void admit(actors::drone_info info, std::string secret) {
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<drone_session> self, caf::actor fleet,
                       actors::directory_actor directory, actors::drone_info info, std::string secret) {
      a->request(fleet, std::chrono::seconds(10), actors::admit_atom::value, info, std::move(secret))
        .then(
          [self, directory, info](std::uint16_t code, std::string& group) mutable {
            if (code == actors::admit_ok) {
              info.group = std::move(group);
              caf::anon_send(directory, actors::connect_atom::value, std::move(info), self->link_, self->link_id_);
              return;
            }
            self->post_close(code, code == actors::admit_refused ? "drone authentication failed"
                                                                  : "registry unavailable, try again later");
          },
          [self](caf::error&) { self->post_close(websocket::close_code::try_again_later, "registry unavailable, try again later"); });
    }, shared_from_this(), srv_->services.fleet, srv_->directory, std::move(info), std::move(secret));
  }

  void forward(bool is_telemetry, actors::telemetry&& t, double recv) {
    if (is_telemetry && srv_->services.telemetry && !store(t, recv))
      return;
    if (is_telemetry)
      caf::anon_send(drone_, actors::telemetry_atom::value, std::move(t), recv, link_id_);
    else
      caf::anon_send(drone_, actors::alive_atom::value, link_id_);
  }

  void on_attached(actors::drone_actor drone, bool first) {
    drone_ = std::move(drone);
    if (finished_)
      return; // the socket closed while the actor was being attached (its link actor is gone: the actor knows)
    if (first && !closing_) {
      std::string welcome = "{\"type\":\"welcome\",\"server_time\":";
      actors::append_json_number(welcome, runtime::wall_ms());
      welcome += ",\"drone_id\":";
      actors::append_json_string(welcome, drone_id_);
      welcome += '}';
      write(std::move(welcome));
    }
    for (auto& p : pending_)
      if (!closing_)
        forward(p.telemetry, std::move(p.t), p.recv);
    pending_.clear();
    pending_.shrink_to_fit();
  }

  void reject(const std::string& code, const std::string& message) {
    srv_->frames_rejected.inc();
    if (queued() >= 16)
      return; // the client does not read its errors: do not buffer without bound
    std::string frame = "{\"type\":\"error\",\"code\":";
    actors::append_json_string(frame, code);
    frame += ",\"message\":";
    actors::append_json_string(frame, message);
    frame += '}';
    write(std::move(frame));
  }

  void on_closing() { hello_timer_.reset(); }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    hello_timer_.reset();
    if (link_ != nullptr)
      caf::anon_send(link_, actors::detach_atom::value); // the drone actor monitors it: this is the detach
    if (registered_) {
      srv_->drones_connected.add(-1);
      srv_->remove(this);
    }
  }

  struct pending_frame {
    bool telemetry;
    actors::telemetry t;
    double recv;
  };

  actors::link_id link_id_;
  actors::drone_link_actor link_; ///< this socket's face to the actor system (from the hello on)
  runtime::rate_limiter limiter_;
  beast::flat_buffer buffer_;
  drone_frame frame_;
  std::optional<net::steady_timer> hello_timer_;
  std::vector<pending_frame> pending_;
  std::string drone_id_;
  actors::drone_actor drone_;
  std::weak_ptr<actors::ack_sink> ack_; ///< set when the drone asked for acknowledgements
  std::string secret_;                  ///< until the hello: the credential from the upgrade request
  bool said_hello_ = false;
};

// -- operator WebSocket ---------------------------------------------------------------------------------

/// One operator connection: forwards subscriptions to its session actor and writes what the actor
/// delivers, one frame at a time.
class operator_session : public ws_connection<operator_session, beast::tcp_stream>,
                         public std::enable_shared_from_this<operator_session> {
  friend class ws_connection<operator_session, beast::tcp_stream>;

public:
  operator_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, auth::principal who)
    : ws_connection(std::move(srv), std::move(socket), std::move(slot)),
      limiter_(srv_->settings.operator_max_rate, srv_->settings.operator_max_rate * 2), who_(std::move(who)),
      scope_(auth::read_scope(who_)) {
  }

  /// The token this socket was opened with expired or was revoked (logout, user disabled or changed): close
  /// with 4001 — the client gets a new token and ticket and reconnects, with what its user may now see.
  void revalidate(std::int64_t now_s) override {
    const char* why = nullptr;
    std::string name;
    {
      std::lock_guard<std::mutex> guard{who_mtx_};
      name = who_.name;
      if (who_.exp <= now_s)
        why = "access token expired";
      else if (srv_->services.revocations && srv_->services.revocations->revoked(who_))
        why = "access revoked";
    }
    if (why != nullptr && !revoked_.exchange(true)) {
      runtime::log::info("operator", "closing a socket whose access ended", {{"user", name}, {"reason", why}});
      post_close(4001, why);
    }
  }

  void run(http::request<http::string_body> req) { accept(std::move(req), srv_->settings.operator_max_frame); }

  // -- from the link actor (called from actor threads) --

  void deliver(std::string frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
      self->write(std::move(frame), true);
    });
  }

  void hangup(std::uint16_t code, std::string reason) { post_close(code, std::move(reason)); }

private:
  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    srv_->add(shared_from_this());
    srv_->operators_connected.add(1);
    registered_ = true;
    link_ = srv_->sys.spawn(operator_link_impl, std::weak_ptr<operator_session>{shared_from_this()});
    session_ = srv_->sys.spawn(actors::session_impl, link_, srv_->hub, srv_->settings.operator_max_events,
                               srv_->actor_metrics_);
    if (srv_->stopping) {
      start_close(websocket::close_code::going_away, "node shutting down");
      return;
    }
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&operator_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      finish();
      return;
    }
    if (closing_)
      return;
    if (!limiter_.allow(runtime::mono_ms())) {
      start_close(websocket::close_code::policy_error, "rate limit exceeded");
      return;
    }
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    handle(text);
    do_read();
  }

  void error(const char* code, std::string message) {
    caf::anon_send(session_, actors::error_atom::value, std::string{code}, std::move(message));
  }

  void handle(const std::string& text) {
    auto frame = parse_operator_frame(text);
    if (frame.kind == operator_frame::invalid)
      return error(frame.error_code.c_str(), std::move(frame.error_message));
    if (frame.kind == operator_frame::auth)
      return renew(frame.token);
    frame.sub.scope = scope_; // what this user may see: auth/access.hpp decides, the hub applies it
    caf::anon_send(session_, actors::subscribe_atom::value, std::move(frame.sub));
  }

  /// {"type":"auth","token":"<access token>"}: the same user's newer token (after a refresh) carries the socket
  /// on past the old token's expiry, without a new snapshot. A token of another user, role or groups closes the
  /// socket (4001: reconnect with what the new token allows); an invalid one is an error frame.
  void renew(const std::string& token) {
    beast::error_code ec;
    auto remote = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    const char* why = "";
    auto next = srv_->verify_token(token, ec ? std::string{} : remote.address().to_string(), why);
    if (!next)
      return error("invalid_token", why);
    {
      std::lock_guard<std::mutex> guard{who_mtx_};
      if (next->name != who_.name || next->role != who_.role || next->groups != who_.groups) {
        if (!revoked_.exchange(true))
          start_close(4001, "a token of another user, role or groups: reconnect");
        return;
      }
      who_ = std::move(*next);
    }
    std::string frame = "{\"type\":\"authenticated\",\"expires_at\":";
    frame += std::to_string(who_.exp);
    frame += '}';
    caf::anon_send(session_, actors::notice_atom::value, std::move(frame));
  }

  /// A frame the session actor delivered was written: it may send the next.
  void on_written() { caf::anon_send(session_, actors::ready_atom::value); }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    if (session_)
      caf::anon_send_exit(session_, caf::exit_reason::user_shutdown);
    session_ = nullptr;
    if (link_)
      caf::anon_send(link_, actors::detach_atom::value);
    link_ = nullptr;
    if (registered_) {
      srv_->operators_connected.add(-1);
      srv_->remove(this);
    }
  }

  runtime::rate_limiter limiter_;
  beast::flat_buffer buffer_;
  actors::operator_link_actor link_;
  actors::session_actor session_;
  std::mutex who_mtx_;   ///< who_ is read by the revalidation sweep, from another thread
  auth::principal who_;
  const auth::scope scope_;
  std::atomic<bool> revoked_{false};
};

actors::drone_link_actor::behavior_type drone_link_impl(actors::drone_link_actor::pointer self,
                                                       std::weak_ptr<drone_session> socket) {
  auto drone = std::make_shared<caf::actor_addr>(); // the drone actor serving the socket, monitored
  self->set_down_handler([socket, drone](caf::down_msg& dm) {
    if (dm.source != *drone)
      return;
    *drone = caf::actor_addr{};
    if (dm.reason == caf::exit_reason::unhandled_exception)
      return; // its supervisor restarts it (and it attaches again) or gives up (and hangs up with 1011)
    if (auto s = socket.lock())
      s->hangup(websocket::close_code::going_away, "the drone actor stopped: reconnect");
  });
  return {
    [self, socket, drone](actors::attached_atom, bool first) {
      auto sender = caf::actor_cast<actors::drone_actor>(self->current_sender());
      if (sender == nullptr)
        return;
      if (*drone != sender.address()) {
        if (*drone)
          self->demonitor(*drone);
        *drone = sender.address();
        self->monitor(sender);
      }
      if (auto s = socket.lock())
        s->attached(std::move(sender), first);
    },
    [socket](actors::hangup_atom, std::uint16_t code, std::string& reason) {
      if (auto s = socket.lock())
        s->hangup(code, std::move(reason));
    },
    [self](actors::detach_atom) { self->quit(); },
  };
}

actors::operator_link_actor::behavior_type operator_link_impl(actors::operator_link_actor::pointer self,
                                                             std::weak_ptr<operator_session> socket) {
  return {
    [socket](actors::deliver_atom, std::string& frame) {
      if (auto s = socket.lock())
        s->deliver(std::move(frame));
    },
    [socket](actors::hangup_atom, std::uint16_t code, std::string& reason) {
      if (auto s = socket.lock())
        s->hangup(code, std::move(reason));
    },
    [self](actors::detach_atom) { self->quit(); },
  };
}

// -- HTTP -----------------------------------------------------------------------------------------------

/// One HTTP connection: reads requests, answers REST and static files, and hands WebSocket upgrades to
/// the drone or operator session classes. Answers that need an actor are produced asynchronously: a
/// short-lived actor makes the request and posts the response back onto this connection's strand.
class http_session : public std::enable_shared_from_this<http_session>, public reserve_waiter {
public:
  /// `reserve`: a connection past http.max_connections, which serves one request of the kinds the reserve is
  /// for (allowed_in_reserve) and closes.
  http_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, bool reserve)
    : srv_(std::move(srv)), slot_(std::move(slot)), stream_(std::move(socket)), reserve_(reserve) {
  }

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&http_session::do_read, shared_from_this()));
  }

  void evict() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] { close_socket(self->stream_); });
  }

private:
  using response = http::response<http::string_body>;

  /// Reads the next request's head; the body follows once the head passed its checks.
  void do_read() {
    parser_.emplace();
    parser_->body_limit(srv_->settings.max_body);
    parser_->header_limit(max_request_head);
    head_ = false;
    buffer_.max_size(std::max(buffer_.size(), max_request_buffer));
    // A reserve connection has a few seconds to send its request: it holds a scarce place.
    stream_.expires_after(reserve_ ? std::chrono::seconds(5) : std::chrono::seconds(30));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_failure(ec);
    if (reserve_ && !claim())
      return; // evicted meanwhile: the socket is being closed
    auto& req = parser_->get();
    version_ = req.version() == 10 ? 10 : 11;
    keep_alive_ = req.keep_alive() && !reserve_;
    head_ = req.method() == http::verb::head;
    if (auto bad = check_request(req))
      return refuse(*bad);
    auto target = std::string_view{req.target().data(), req.target().size()};
    if (auto origin = origin_form(target); origin && origin->data() != target.data())
      req.target(std::string{*origin}); // absolute-form: routed by its path
    if (reserve_) {
      target = std::string_view{req.target().data(), req.target().size()};
      auto kind = classify_path(target.substr(0, target.find('?')));
      bool credentials = !bearer_text(req).empty() || (kind == route_kind::ws_operator && has_ticket(target));
      if (!allowed_in_reserve(kind, credentials)) {
        srv_->reserve_refused.inc();
        return refuse({503, "too_many_connections",
                       "the node is at http.max_connections: only health checks, metrics, logins and "
                       "authenticated operators are served now, try again later"});
      }
    }
    if (parser_->is_done())
      return on_read({}, 0);
    // Not below what is buffered already: a dynamic buffer must never hold more than its maximum.
    buffer_.max_size(std::max(buffer_.size(), max_body_buffer));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  /// A request that could not be read: answered when the parser refused it (400, 413, 414, 431), closed
  /// otherwise (the client left, a timeout).
  void on_failure(beast::error_code ec) {
    if (ec == http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto data = buffer_.cdata();
    bool line_read = parser_ && !parser_->get().target().empty();
    if (auto bad = parse_failure(ec, line_read, {static_cast<const char*>(data.data()), data.size()}))
      return refuse(*bad);
  }

  /// Answers with an error and closes the connection (what follows the request cannot be trusted).
  void refuse(const request_error& e) {
    keep_alive_ = false;
    auto res = make(static_cast<http::status>(e.status), json_error(e.code, e.message));
    if (e.status == 503)
      res.set(http::field::retry_after, "5");
    send(std::move(res));
  }

  static bool has_ticket(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos)
      return false;
    auto query = target.substr(q + 1);
    return query.substr(0, 7) == "ticket=" || query.find("&ticket=") != std::string_view::npos;
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return on_failure(ec);
    auto req = parser_->release();
    srv_->http_requests.inc();
    if (websocket::is_upgrade(req)) {
      auto path = std::string_view{req.target().data(), req.target().size()};
      path = path.substr(0, path.find('?'));
      if (path == "/ws/drone") {
        // The drone's secret may come here or in its hello; the registry checks it at the hello.
        auto secret = bearer_text(req);
        stream_.expires_never();
        std::make_shared<drone_session>(stream_.release_socket(), srv_, std::move(slot_), std::string{secret})
          ->run(std::move(req));
        return;
      }
      if (path == "/ws/operator") {
        if (!origin_allowed(req))
          return send(make(http::status::forbidden,
                           json_error("forbidden_origin", "this origin may not open an operator WebSocket")));
        auto who = operator_credentials(req);
        if (!who)
          return;
        stream_.expires_never();
        std::make_shared<operator_session>(stream_.release_socket(), srv_, std::move(slot_), std::move(*who))
          ->run(std::move(req));
        return;
      }
      return send(make(http::status::not_found, json_error("not_found", "no WebSocket endpoint at this path")));
    }
    route(req);
  }

  /// A response to the request being served. The answer to a HEAD request has the headers of the GET answer
  /// (its Content-Length too) and no body.
  response make(http::status status, std::string body, const char* type = "application/json") {
    response res{status, version_};
    res.set(http::field::server, "dccs");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    if (head_)
      res.body().clear();
    return res;
  }

  void send(response res) { write(std::make_shared<response>(std::move(res))); }

  /// Writes a response (string or file body), then reads the next request or ends the connection.
  template <class Body>
  void write(std::shared_ptr<http::response<Body>> res) {
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      if (!res->keep_alive())
        return self->linger();
      self->do_read();
    });
  }

  /// After the last answer: no more writes, and what the client still sends is read and dropped (for at most 2 s
  /// and 64 KiB) before the socket closes. Closing with unread data would reset the connection, and the reset can
  /// destroy the answer before the client read it.
  void linger(std::size_t drained = 0) {
    if (drained == 0) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.expires_after(std::chrono::seconds(2));
      buffer_.consume(buffer_.size());
    }
    if (drained > 64 * 1024)
      return;
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this(), drained](beast::error_code ec, std::size_t n) {
      if (ec)
        return;
      self->linger(drained + n + 1);
    });
  }

  /// Posts a response produced on another thread back onto this connection's strand.
  void send_later(http::status status, std::string body) {
    net::post(stream_.get_executor(), [self = shared_from_this(), status, body = std::move(body)]() mutable {
      self->send(self->make(status, std::move(body)));
    });
  }

  void route(http::request<http::string_body>& req) {
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto path = target.substr(0, target.find('?'));
    auto method = req.method();
    bool read_only = method == http::verb::get || method == http::verb::head;
    auto not_allowed = [&](const char* allow) {
      auto res = make(http::status::method_not_allowed,
                      json_error("method_not_allowed", "method not allowed on this path"));
      res.set(http::field::allow, allow);
      send(std::move(res));
    };
    if (path == "/healthz") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      std::string body = "{\"status\":\"ok\",\"node\":";
      actors::append_json_string(body, srv_->settings.node_name);
      body += '}';
      return send(make(http::status::ok, std::move(body)));
    }
    if (path == "/readyz") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (srv_->ready && !srv_->stopping) {
        // Ready while the node serves the live view; a dependency that is down makes it "degraded" (still
        // 200: drones and operators are served, rows wait in the buffer) and is named.
        auto* health = srv_->services.health;
        if (health == nullptr)
          return send(make(http::status::ok, "{\"status\":\"ready\"}"));
        // Until every dependency has been reached (or has refused) once, the node is still starting: 503.
        bool starting = health->starting();
        std::string body = "{\"status\":\"";
        body += starting ? "starting" : health->degraded() ? "degraded" : "ready";
        body += "\",\"dependencies\":";
        body += health->json();
        if (srv_->services.telemetry) {
          body += ",\"telemetry_buffer\":{\"rows\":";
          body += std::to_string(srv_->services.telemetry->rows());
          body += ",\"writing\":";
          body += std::to_string(srv_->services.telemetry->writing());
          body += ",\"bytes\":";
          body += std::to_string(srv_->services.telemetry->bytes());
          body += ",\"max_bytes\":";
          body += std::to_string(srv_->services.telemetry->max_bytes());
          body += '}';
        }
        body += '}';
        return send(make(starting ? http::status::service_unavailable : http::status::ok, std::move(body)));
      }
      return send(make(http::status::service_unavailable,
                       srv_->stopping ? "{\"status\":\"stopping\"}" : "{\"status\":\"starting\"}"));
    }
    if (path == "/.well-known/jwks.json") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (!srv_->services.keys)
        return send(make(http::status::not_found, json_error("not_found", "this node issues no tokens")));
      auto res = make(http::status::ok, srv_->services.keys->jwks_json(), "application/jwk-set+json");
      res.set(http::field::cache_control, "public, max-age=300");
      return send(std::move(res));
    }
    auto client_address = [&] { return this->client_address(req); };
    if (path == "/api/v1/auth/login" || path == "/api/v1/auth/refresh") {
      if (method != http::verb::post)
        return not_allowed("POST");
      if (!srv_->services.auth)
        return storage_disabled();
      actors::http_query q;
      q.method = "POST";
      q.body = std::move(req.body());
      q.address = client_address(); // for the audit trail and the failed-login limits
      if (path == "/api/v1/auth/login")
        return ask(srv_->services.auth, actors::login_atom::value, std::move(q));
      return ask(srv_->services.auth, actors::refresh_atom::value, std::move(q));
    }
    if (path == "/metrics") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (!srv_->settings.metrics_public) {
        auto who = authenticate(req);
        if (!who || !permit(*who, auth::permission::manage_keys, "the metrics are for admins"))
          return;
      }
      return send(make(http::status::ok, srv_->metrics.render(), "text/plain; version=0.0.4"));
    }
    if (path.substr(0, 5) != "/api/" && path != "/api") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      return serve_static(path, method == http::verb::head);
    }
    // -- everything below needs an access token --
    auto who = authenticate(req);
    if (!who)
      return;
    static constexpr std::string_view drones_prefix = "/api/v1/drones";
    auto query = target.find('?') == std::string_view::npos ? std::string_view{} : target.substr(target.find('?') + 1);
    auto make_query = [&](std::string id, std::string kind) {
      actors::http_query q;
      q.method = std::string{req.method_string()};
      q.id = std::move(id);
      q.kind = std::move(kind);
      q.query = std::string{query};
      q.body = std::move(req.body());
      auto accept = req[http::field::accept];
      q.accept = std::string{accept.data(), accept.size()};
      q.who = *who;
      q.address = client_address();
      return q;
    };
    if (path == "/api/v1/auth/me") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      nlohmann::json me{{"name", who->name}, {"role", who->role}, {"groups", who->groups}, {"expires_at", who->exp}};
      return send(make(http::status::ok, me.dump()));
    }
    if (path == "/api/v1/auth/ticket") {
      if (method != http::verb::post)
        return not_allowed("POST");
      auto ticket = srv_->issue_ticket(*who);
      if (ticket.empty())
        return send(make(http::status::too_many_requests,
                         json_error("too_many_tickets", "too many tickets outstanding: use or let expire the ones issued")));
      nlohmann::json body{{"ticket", ticket}, {"expires_in", srv_->settings.ticket_ttl_s}};
      return send(make(http::status::ok, body.dump()));
    }
    if (path == "/api/v1/auth/logout") {
      if (method != http::verb::post)
        return not_allowed("POST");
      // The access token stops working here at once, and on every node once the watcher has shared it.
      srv_->services.revocations->deny(who->jti, who->exp);
      if (srv_->services.guard)
        caf::anon_send(srv_->services.guard, actors::deny_atom::value, who->jti, who->exp);
      if (!srv_->services.auth)
        return send(make(http::status::no_content, ""));
      return ask(srv_->services.auth, actors::logout_atom::value, make_query("", ""));
    }
    if (path == "/api/v1/audit") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (!permit(*who, auth::permission::read_audit, "the audit log is for admins"))
        return;
      if (!srv_->services.auth)
        return storage_disabled();
      return ask(srv_->services.auth, actors::audit_atom::value, make_query("", ""));
    }
    static constexpr std::string_view users_prefix = "/api/v1/users";
    if (path == users_prefix || path == "/api/v1/users/"
        || (path.size() > users_prefix.size() + 1 && path.substr(0, users_prefix.size() + 1) == "/api/v1/users/")) {
      std::string name = path.size() > users_prefix.size() + 1 ? std::string{path.substr(users_prefix.size() + 1)} : "";
      if (name.find('/') != std::string::npos)
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (name.empty() ? !(read_only || method == http::verb::post) : !(read_only || method == http::verb::patch))
        return not_allowed(name.empty() ? "GET, HEAD, POST" : "GET, HEAD, PATCH");
      if (!permit(*who, auth::permission::manage_users, "users are managed by admins"))
        return;
      if (!srv_->services.auth)
        return storage_disabled();
      return ask(srv_->services.auth, actors::users_atom::value, make_query(std::move(name), ""));
    }
    auto& fleet = srv_->services.fleet;
    if (path == drones_prefix || path == "/api/v1/drones/") {
      if (read_only)
        return fleet ? ask(fleet, actors::list_atom::value, make_query("", "")) : list_drones(*who, query);
      if (method == http::verb::post)
        return fleet ? ask(fleet, actors::create_atom::value, make_query("", "")) : storage_disabled();
      return not_allowed("GET, HEAD, POST");
    }
    if (path.size() > drones_prefix.size() + 1 && path.substr(0, drones_prefix.size() + 1) == "/api/v1/drones/") {
      auto rest = path.substr(drones_prefix.size() + 1);
      auto slash = rest.find('/');
      auto id = rest.substr(0, slash);
      auto sub = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      if (!valid_drone_id(id))
        return send(make(http::status::bad_request,
                         json_error("invalid_drone_id", "drone id must be 1-64 characters of A-Z a-z 0-9 _ . -")));
      if (sub == "telemetry" || sub == "track") {
        if (!read_only)
          return not_allowed("GET, HEAD");
        auto& history = srv_->services.history;
        if (!history || !fleet)
          return storage_disabled();
        // The registry decides whether the caller sees this drone, then the history answers.
        return ask_then(fleet, actors::authorize_atom::value, history, actors::history_atom::value,
                        make_query(std::string{id}, std::string{sub}));
      }
      if (sub == "secret") {
        if (!fleet)
          return storage_disabled();
        if (method == http::verb::post)
          return ask(fleet, actors::rotate_atom::value, make_query(std::string{id}, ""));
        if (method == http::verb::delete_)
          return ask(fleet, actors::revoke_atom::value, make_query(std::string{id}, ""));
        return not_allowed("POST, DELETE");
      }
      if (slash != std::string_view::npos)
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (read_only)
        return fleet ? ask(fleet, actors::get_atom::value, make_query(std::string{id}, ""))
                     : get_drone(std::string{id}, *who);
      if (method == http::verb::patch)
        return fleet ? ask(fleet, actors::patch_atom::value, make_query(std::string{id}, "")) : storage_disabled();
      if (method == http::verb::delete_)
        return fleet ? ask(fleet, actors::delete_atom::value, make_query(std::string{id}, "")) : storage_disabled();
      return not_allowed("GET, HEAD, PATCH, DELETE");
    }
    return send(make(http::status::not_found, json_error("not_found", "no such API route")));
  }

  /// The text after "Bearer " in the Authorization header (empty when there is none).
  static std::string_view bearer_text(const http::request<http::string_body>& req) {
    auto header = req[http::field::authorization];
    std::string_view value{header.data(), header.size()};
    constexpr std::string_view scheme = "Bearer ";
    if (value.size() <= scheme.size() || !runtime::iequals_ascii(value.substr(0, scheme.size()), scheme))
      return {};
    return value.substr(scheme.size());
  }

  void unauthorized(const char* message) {
    auto res = make(http::status::unauthorized, json_error("unauthorized", message));
    res.set(http::field::www_authenticate, "Bearer realm=\"dccs\"");
    send(std::move(res));
  }

  /// The client's address: the peer's, or, when the peer is a trusted reverse proxy (http.trusted_proxies), the
  /// nearest address in X-Forwarded-For that is not one of those proxies.
  std::string client_address(const http::request<http::string_body>& req) {
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (ec)
      return {};
    auto peer = remote.address().to_string();
    auto& trusted = srv_->settings.trusted_proxies;
    auto is_trusted = [&](const std::string& a) { return std::find(trusted.begin(), trusted.end(), a) != trusted.end(); };
    if (trusted.empty() || !is_trusted(peer))
      return peer;
    // Every X-Forwarded-For line, in order (a proxy may add its own line instead of extending the client's).
    std::string joined;
    auto lines = req.equal_range("X-Forwarded-For");
    for (auto l = lines.first; l != lines.second; ++l) {
      if (!joined.empty())
        joined += ',';
      joined.append(l->value().data(), l->value().size());
    }
    auto hops = split_list(joined, "");
    for (auto i = hops.rbegin(); i != hops.rend(); ++i) {
      net::ip::make_address(*i, ec);
      if (ec)
        return peer; // a malformed hop: believe nothing past our proxy
      if (!is_trusted(*i))
        return *i;
    }
    return peer;
  }

  /// Checks an access token (see server::impl::verify_token), for this connection's client.
  std::optional<auth::principal> verify_token(std::string_view token, const char*& why,
                                              const http::request<http::string_body>& req) {
    return srv_->verify_token(token, client_address(req), why);
  }

  /// The caller of a REST request (Authorization: Bearer <access token>). Without a valid token, answers 401
  /// (with WWW-Authenticate) and returns nothing.
  std::optional<auth::principal> authenticate(const http::request<http::string_body>& req) {
    auto token = bearer_text(req);
    if (token.empty()) {
      unauthorized("an access token is required (Authorization: Bearer <token>)");
      return std::nullopt;
    }
    const char* why = "";
    auto who = verify_token(token, why, req);
    if (!who)
      unauthorized(why);
    return who;
  }

  /// A permission without a drone (auth/access.hpp decides); answers 403 and returns false when refused.
  bool permit(const auth::principal& who, auth::permission p, const char* message) {
    if (auth::allows(who, p))
      return true;
    send(make(http::status::forbidden, json_error("forbidden", message)));
    return false;
  }

  /// Browsers send Origin with every WebSocket upgrade; a page of another origin must not open an operator
  /// socket with the user's credentials (cross-site WebSocket hijacking). Allowed: no Origin (not a browser),
  /// the node's own origin (scheme://Host), or an origin of http.allowed_origins.
  bool origin_allowed(const http::request<http::string_body>& req) const {
    auto header = req[http::field::origin];
    if (header.empty())
      return true;
    std::string origin{header.data(), header.size()};
    while (!origin.empty() && origin.back() == '/')
      origin.pop_back();
    auto host_header = req[http::field::host];
    std::string host{host_header.data(), host_header.size()};
    if (!host.empty() && (runtime::iequals_ascii(origin, "http://" + host) || runtime::iequals_ascii(origin, "https://" + host)))
      return true;
    for (auto& allowed : srv_->settings.allowed_origins)
      if (runtime::iequals_ascii(origin, allowed))
        return true;
    return false;
  }

  /// The operator of a WebSocket upgrade: a single-use ticket (?ticket=..., from POST /api/v1/auth/ticket: what
  /// browsers use, as they cannot set headers on a WebSocket) or an Authorization header. 401 otherwise.
  std::optional<auth::principal> operator_credentials(const http::request<http::string_body>& req) {
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto q = target.find('?');
    if (q != std::string_view::npos) {
      auto query = target.substr(q + 1);
      for (std::size_t pos = 0; pos <= query.size();) {
        auto amp = query.find('&', pos);
        auto part = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
        if (part.substr(0, 7) == "ticket=") {
          auto who = srv_->redeem_ticket(part.substr(7));
          const char* why = nullptr;
          if (who && srv_->services.revocations && srv_->services.revocations->revoked(*who))
            why = "the access token behind this ticket has been revoked";
          if (who && !why)
            return who;
          unauthorized(why ? why : "the ticket is not valid (unknown, used or expired)");
          return std::nullopt;
        }
        if (amp == std::string_view::npos)
          break;
        pos = amp + 1;
      }
    }
    if (bearer_text(req).empty()) {
      unauthorized("a ticket (POST /api/v1/auth/ticket, then ?ticket=...) or an access token is required");
      return std::nullopt;
    }
    return authenticate(req);
  }

  void storage_disabled() {
    send(make(http::status::service_unavailable,
              json_error("storage_disabled", "this node keeps no registry or history (db.enabled = false)")));
  }

  /// Asks an actor that answers with a complete http_answer (registry, history) and writes it.
  template <class Atom>
  void ask(const caf::actor& target, Atom atom, actors::http_query q) {
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, caf::actor target, Atom atom,
                       actors::http_query q) {
      a->request(target, std::chrono::seconds(30), atom, std::move(q))
        .then([self](actors::http_answer& ans) { self->send_answer(std::move(ans)); },
              [self](caf::error& err) {
                self->send_later(http::status::service_unavailable,
                                 json_error("unavailable", "the request could not be answered in time: " + caf::to_string(err)));
              });
    }, shared_from_this(), target, atom, std::move(q));
  }

  /// Asks `first` (which answers 200 when the request may go on), then `second` for the answer.
  template <class Atom1, class Atom2>
  void ask_then(const caf::actor& first, Atom1 atom1, const caf::actor& second, Atom2 atom2, actors::http_query q) {
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, caf::actor first, Atom1 atom1,
                       caf::actor second, Atom2 atom2, actors::http_query q) {
      auto failed = [self](caf::error& err) {
        self->send_later(http::status::service_unavailable,
                         json_error("unavailable", "the request could not be answered in time: " + caf::to_string(err)));
      };
      a->request(first, std::chrono::seconds(30), atom1, q)
        .then(
          [a, self, second, atom2, q, failed](actors::http_answer& ans) mutable {
            if (ans.status != 200)
              return self->send_answer(std::move(ans));
            a->request(second, std::chrono::seconds(30), atom2, std::move(q))
              .then([self](actors::http_answer& ans) { self->send_answer(std::move(ans)); }, failed);
          },
          failed);
    }, shared_from_this(), first, atom1, second, atom2, std::move(q));
  }

  void send_answer(actors::http_answer ans) {
    net::post(stream_.get_executor(), [self = shared_from_this(), ans = std::move(ans)]() mutable {
      auto res = self->make(static_cast<http::status>(ans.status), std::move(ans.body), ans.content_type.c_str());
      for (std::size_t i = 0; i + 1 < ans.headers.size(); i += 2)
        res.set(ans.headers[i], ans.headers[i + 1]);
      self->send(std::move(res));
    });
  }

  // The request actors take their inputs as spawn arguments, not captures: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without arguments (UBSan reports it).
  // Without a registry (db.enabled = false) the hub answers, within the caller's groups.
  void list_drones(const auth::principal& who, std::string_view query) {
    actors::list_page page;
    if (auto bad = actors::parse_list_page(query, page))
      return send(make(http::status::bad_request, json_error("invalid_parameter", bad->second)));
    actors::subscription scope;
    scope.scope = auth::read_scope(who);
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::hub_actor hub,
                       actors::subscription scope, std::uint64_t limit, std::string after) {
      a->request(hub, std::chrono::seconds(5), actors::list_atom::value, scope, limit, std::move(after))
        .then([self](std::string& body) { self->send_later(http::status::ok, std::move(body)); },
              [self](caf::error& err) {
                self->send_later(http::status::service_unavailable,
                                 json_error("unavailable", "fleet state unavailable: " + caf::to_string(err)));
              });
    }, shared_from_this(), srv_->hub, std::move(scope), std::uint64_t{page.limit}, std::move(page.after));
  }

  void get_drone(std::string id, const auth::principal& who) {
    actors::subscription scope;
    scope.scope = auth::read_scope(who);
    auto fn = [](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::directory_actor dir,
                 actors::hub_actor hub, std::string id, actors::subscription scope) {
      auto not_found = [self, id] {
        self->send_later(http::status::not_found, json_error("not_found", "no drone with id '" + id + "'"));
      };
      auto from_hub = [a, self, hub, id, not_found, scope] {
        // The drone has no active actor: answer from the last state the hub saw.
        a->request(hub, std::chrono::seconds(5), actors::get_atom::value, id, scope)
          .then([self](std::string& body) { self->send_later(http::status::ok, std::move(body)); },
                [not_found](caf::error&) { not_found(); });
      };
      a->request(dir, std::chrono::seconds(5), actors::get_atom::value, id)
        .then(
          [a, self, from_hub, scope, not_found](actors::drone_actor& drone) {
            a->request(drone, std::chrono::seconds(5), actors::get_atom::value)
              .then(
                [self, scope, not_found](actors::drone_state& st) {
                  if (!scope.scope.covers(st.info.group))
                    return not_found();
                  std::string body;
                  actors::append_drone_json(body, st);
                  self->send_later(http::status::ok, std::move(body));
                },
                [from_hub](caf::error&) { from_hub(); });
          },
          [from_hub](caf::error&) { from_hub(); });
    };
    srv_->sys.spawn(fn, shared_from_this(), srv_->directory, srv_->hub, std::move(id), std::move(scope));
  }

  /// What the dashboard's files are sent with: revalidated on every load (a new version is picked up at once), no
  /// script, frame or connection from elsewhere, no MIME sniffing, no referrer.
  template <class Res>
  static void set_static_headers(Res& res) {
    res.set(http::field::cache_control, "no-cache");
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
  }

  void serve_static(std::string_view path, bool head) {
    auto found = srv_->static_dir.open(path);
    if (found.what == static_files::outcome::unavailable)
      return send(make(http::status::service_unavailable,
                       json_error("unavailable", "the node is out of file descriptors, try again later")));
    beast::error_code ec;
    http::file_body::value_type body;
    if (found.what == static_files::outcome::found)
      body.reset(std::move(found.file), ec);
    if (found.what != static_files::outcome::found || ec)
      return send(make(http::status::not_found, json_error("not_found", "no such file")));
    auto size = body.size();
    if (head) {
      auto res = make(http::status::ok, "", found.mime);
      set_static_headers(res);
      res.content_length(size);
      return send(std::move(res));
    }
    auto res = std::make_shared<http::response<http::file_body>>(
      std::piecewise_construct, std::make_tuple(std::move(body)), std::make_tuple(http::status::ok, version_));
    res->set(http::field::server, "dccs");
    res->set(http::field::content_type, found.mime);
    set_static_headers(*res);
    res->content_length(size);
    res->keep_alive(keep_alive_);
    write(std::move(res));
  }

  impl_ptr srv_; // before stream_: see ws_connection
  connection_slot slot_; // handed to the WebSocket session on an upgrade
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{max_request_buffer};
  std::optional<http::request_parser<http::string_body>> parser_;
  const bool reserve_;
  bool keep_alive_ = true;
  bool head_ = false; ///< the request being answered is a HEAD
  unsigned version_ = 11;
};

} // namespace

void server::impl::do_accept() {
  // One I/O thread is an implicit strand: per-connection strands only cost when there are several.
  auto executor = settings.threads > 1 ? net::any_io_executor{net::make_strand(ioc)} : net::any_io_executor{ioc.get_executor()};
  // A weak reference: a pending accept must not keep the server (and its io_context) alive.
  acceptor->async_accept(executor, [weak = weak_from_this()](beast::error_code ec, tcp::socket socket) {
    auto self = weak.lock();
    if (!self || self->stopping)
      return;
    if (!ec)
      self->admit(std::move(socket));
    else if (ec == net::error::operation_aborted)
      return;
    else if (self->accept_failed(ec))
      return;
    self->do_accept();
  });
}

void server::impl::admit(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (spare_fd < 0)
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC); // given up earlier, or lost to another thread
  auto tier = gate.admit();
  if (tier == connection_gate::tier::full) {
    if (!evict_waiting()) {
      connections_refused.inc();
      refuse_connection(socket.native_handle());
      return; // the socket closes here
    }
    gate.admit_anyway(); // in the place of the evicted connection, whose socket is closing
    tier = connection_gate::tier::reserve;
  }
  bool reserve = tier == connection_gate::tier::reserve;
  auto session = std::make_shared<http_session>(std::move(socket), shared_from_this(), connection_slot{&gate}, reserve);
  if (reserve)
    wait_in_reserve(session);
  session->run();
}

std::size_t server::impl::shed_backlog(std::size_t max) {
  std::size_t refused = 0;
  while (refused < max && spare_fd >= 0) {
    ::close(spare_fd);
    int fd = ::accept4(acceptor->native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      refuse_connection(fd);
      ::close(fd);
      ++refused;
    }
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      break; // nothing waits (EAGAIN), or the descriptor went elsewhere meanwhile
  }
  connections_refused.inc(refused);
  return refused;
}

bool server::impl::accept_failed(const beast::error_code& ec) {
  accept_errors.inc();
  // Out of descriptors (or kernel memory), the waiting connection stays in the backlog and every new accept
  // fails at once: accepting again right away would spin (and log) without end.
  bool exhausted = ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system
                   || ec == net::error::no_buffer_space || ec == net::error::no_memory;
  if (exhausted)
    shed_since_log += shed_backlog(64);
  // A client that gave up while waiting in the backlog only costs that one accept; any other failure may
  // repeat at once: pause.
  bool pause = ec != net::error::connection_aborted;
  if (auto count = accept_log.hit(runtime::mono_ms())) {
    runtime::log::warn("http", pause ? "accept failed, pausing 50 ms" : "accept failed",
                       {{"error", ec.message()},
                        {"count", count},
                        {"refused", shed_since_log},
                        {"open_connections", gate.open()}});
    shed_since_log = 0;
  }
  if (!pause)
    return false;
  accept_timer->expires_after(std::chrono::milliseconds(50));
  accept_timer->async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (!ec && self && !self->stopping)
      self->do_accept();
  });
  return true;
}

server::server(caf::actor_system& sys, actors::directory_actor directory, actors::hub_actor hub,
               server_settings settings,
               runtime::metrics& metrics, const actors::actor_metrics& am, server_services services)
  : impl_(std::make_shared<impl>(sys, std::move(directory), std::move(hub), std::move(settings), metrics, am,
                                 std::move(services))) {
}

server::~server() {
  stop();
  // Destroys the handlers still queued (and the connections they hold); the actors that held connections
  // are gone by now (node::stop waits for them).
  impl_->acceptor.reset();
  impl_->accept_timer.reset();
  impl_->sweep_timer.reset();
  impl_->ioc_holder.reset();
}

bool server::start(std::string& error) {
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->settings.address, ec);
  if (ec) {
    error = "invalid http.address '" + impl_->settings.address + "': " + ec.message();
    return false;
  }
  tcp::endpoint ep{addr, impl_->settings.port};
  auto& acc = *impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec)
    acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(ep, ec);
  if (!ec)
    acc.listen(impl_->settings.backlog, ec);
  if (!ec)
    acc.non_blocking(true, ec); // shed_backlog accepts directly and must never wait
  if (ec) {
    error = "cannot listen on " + impl_->settings.address + ":" + std::to_string(impl_->settings.port) + ": "
            + ec.message();
    return false;
  }
  // One descriptor kept spare: when the process runs out, it is given up to accept and refuse the waiting
  // clients (they get a 503 instead of silence).
  impl_->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  impl_->accept_timer.emplace(acc.get_executor());
  auto fds = descriptor_limit();
  auto& s = impl_->settings;
  runtime::log::info("http", "connection limits",
                     {{"max_connections", s.max_connections},
                      {"reserve_connections", s.reserve_connections},
                      {"fd_limit", fds}});
  if (s.max_connections + s.reserve_connections + reserved_descriptors(fds) > fds)
    runtime::log::warn("http", "http.max_connections and its reserve leave too few of the process's file "
                               "descriptors for the rest: past them, new clients are refused (503)",
                       {{"max_connections", s.max_connections}, {"fd_limit", fds}});
  impl_->do_accept();
  impl_->sweep_timer.emplace(net::make_strand(impl_->ioc));
  impl_->sweep();
  for (int i = 0; i < impl_->settings.threads; ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return true;
}

std::uint16_t server::port() const {
  beast::error_code ec;
  if (!impl_->acceptor)
    return 0;
  auto ep = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void server::set_ready(bool ready) {
  impl_->ready = ready;
}

void server::stop() {
  if (impl_->threads.empty())
    return;
  impl_->stopping = true;
  net::post(impl_->acceptor->get_executor(), [self = impl_] {
    beast::error_code ec;
    self->acceptor->close(ec);
    if (self->accept_timer)
      self->accept_timer->cancel();
  });
  if (impl_->sweep_timer)
    net::post(impl_->sweep_timer->get_executor(), [self = impl_] { self->sweep_timer->cancel(); });
  std::vector<std::shared_ptr<closable>> open;
  {
    std::lock_guard<std::mutex> guard{impl_->registry_mtx};
    for (auto& [ptr, weak] : impl_->registry)
      if (auto c = weak.lock())
        open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->shutdown();
  open.clear();
  // Wait for the close handshakes, up to the grace period, then stop the I/O threads.
  {
    std::unique_lock<std::mutex> guard{impl_->registry_mtx};
    impl_->registry_empty.wait_for(guard, std::chrono::milliseconds(impl_->settings.shutdown_grace_ms),
                                   [this] { return impl_->registry.empty(); });
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  // The I/O threads are gone: connections still open are released here, on this thread.
  std::vector<std::shared_ptr<closable>> left;
  {
    std::lock_guard<std::mutex> guard{impl_->registry_mtx};
    for (auto& [ptr, weak] : impl_->registry)
      if (auto c = weak.lock())
        left.push_back(std::move(c));
    impl_->registry.clear();
  }
  for (auto& c : left)
    c->abandon();
  if (!left.empty())
    runtime::log::warn("http", "connections did not finish closing in time", {{"count", left.size()}});
}

} // namespace dccs::bridges
