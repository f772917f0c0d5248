// dccs-bench-bare: a bare Boost.Beast WebSocket server, the ceiling the node is measured against.
//
// It accepts WebSocket upgrades on any path, answers a `hello` with a `welcome`, parses every other
// frame with simdjson (on-demand) into a struct of the telemetry fields, validates it like
// docs/protocol.md and drops it, counting frames. Plain HTTP: `GET /metrics` (Prometheus text with
// `dccs_frames_accepted_total`), `GET /readyz` and `GET /healthz` (200). One io_context per thread,
// connections spread round-robin: no locks and no strands on the frame path.
//
// With `--hub-rate HZ` (off by default) it also serves `/ws/operator` like a minimal node: after
// `subscribe` an operator gets a `snapshot`, then an `update` per tick with the drones whose
// telemetry changed (id, status, seq, ts, recv and the telemetry fields). That gives a reference
// for the drone-to-operator latency and a peer for `dccs-sim --observe`; it adds a mutex per frame.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <simdjson.h>

#include <sys/resource.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace od = simdjson::ondemand;
using tcp = net::ip::tcp;
using boost::system::error_code;

/// The telemetry fields of docs/protocol.md (optional ones default to "absent").
struct telemetry {
  std::uint64_t seq = 0;
  double ts = 0, lat = 0, lon = 0, alt = 0, heading = 0, speed = 0, vspeed = 0, battery = 0;
  bool armed = false;
  std::string_view mode;
  double roll = 0, pitch = 0, yaw = 0, voltage = 0;
  std::int64_t sats = -1, fix = -1;
};

/// Bits of the required fields, to check that each one was present.
enum required : unsigned {
  f_seq = 1u << 0, f_ts = 1u << 1, f_lat = 1u << 2, f_lon = 1u << 3, f_alt = 1u << 4, f_heading = 1u << 5,
  f_speed = 1u << 6, f_vspeed = 1u << 7, f_battery = 1u << 8, f_armed = 1u << 9, f_mode = 1u << 10,
  f_all = (1u << 11) - 1
};

/// Latest telemetry of one drone, for the optional hub.
struct hub_entry {
  telemetry t;
  std::string mode; ///< owns what t.mode points to
  double recv = 0;  ///< node receive time, ms
  bool armed = false;
};

/// Per-thread state: its io_context, its parser and its counters (written by that thread only).
struct worker {
  alignas(64) std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> hellos{0};
  std::atomic<std::uint64_t> other{0};
  std::atomic<std::int64_t> connections{0};
  od::parser parser;
  std::mutex hub_mu;                                      ///< guards hub_pending (hub only)
  std::unordered_map<std::string, hub_entry> hub_pending; ///< drones changed since the last hub tick
  net::io_context ioc{1}; ///< last: destroyed first, with the sessions its handlers still own

  static void bump(std::atomic<std::uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
};

std::vector<std::unique_ptr<worker>> workers;
double hub_rate = 0; ///< --hub-rate: 0 = no operator side

std::uint64_t sum(std::atomic<std::uint64_t> worker::*m) {
  std::uint64_t s = 0;
  for (auto& w : workers)
    s += ((*w).*m).load(std::memory_order_relaxed);
  return s;
}

double now_ms() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) / 1000.0;
}

/// The key of a field, without unescaping (keys with escapes are not telemetry keys anyway).
std::string_view key_of(od::field& f) {
  const char* raw = f.key().raw();
  const char* end = static_cast<const char*>(std::memchr(raw, '"', 64));
  if (!end)
    return {};
  std::string_view k(raw, static_cast<std::size_t>(end - raw));
  return k.find('\\') == std::string_view::npos ? k : std::string_view{};
}

bool in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

/// Reads one number field into `out` and checks its range.
bool number(od::field& f, double& out, double lo, double hi) { return !f.value().get_double().get(out) && in(out, lo, hi); }

/// Parses and validates a telemetry object whose "type" was already consumed or is still to come.
enum class frame_kind { hello, telemetry, other, malformed };

struct parsed {
  frame_kind kind = frame_kind::malformed;
  std::string_view drone_id;
};

parsed parse_frame(od::parser& parser, const char* data, std::size_t size, telemetry& t) {
  parsed p;
  od::document doc;
  od::object obj;
  if (parser.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc) ||
      doc.get_object().get(obj))
    return p;
  std::string_view type;
  unsigned seen = 0;
  bool bad = false;
  for (auto result : obj) {
    od::field f;
    if (std::move(result).get(f))
      return p;
    const std::string_view k = key_of(f);
    if (k.empty())
      continue;
    switch (k[0]) {
    case 't':
      if (k == "type")
        bad |= !!f.value().get_string().get(type);
      else if (k == "ts")
        bad |= !number(f, t.ts, 0, 1e300), seen |= f_ts;
      break;
    case 's':
      if (k == "seq") {
        bad |= !!f.value().get_uint64().get(t.seq) || t.seq > (std::uint64_t(1) << 63) - 1;
        seen |= f_seq;
      } else if (k == "speed")
        bad |= !number(f, t.speed, 0, 1000), seen |= f_speed;
      else if (k == "sats")
        bad |= !!f.value().get_int64().get(t.sats) || t.sats < 0 || t.sats > 255;
      break;
    case 'l':
      if (k == "lat")
        bad |= !number(f, t.lat, -90, 90), seen |= f_lat;
      else if (k == "lon")
        bad |= !number(f, t.lon, -180, 180), seen |= f_lon;
      break;
    case 'a':
      if (k == "alt")
        bad |= !number(f, t.alt, -1000, 100000), seen |= f_alt;
      else if (k == "armed")
        bad |= !!f.value().get_bool().get(t.armed), seen |= f_armed;
      break;
    case 'h':
      if (k == "heading")
        bad |= !number(f, t.heading, 0, 360), seen |= f_heading;
      break;
    case 'v':
      if (k == "vspeed")
        bad |= !number(f, t.vspeed, -1000, 1000), seen |= f_vspeed;
      else if (k == "voltage")
        bad |= !number(f, t.voltage, 0, 1000);
      break;
    case 'b':
      if (k == "battery")
        bad |= !number(f, t.battery, 0, 100), seen |= f_battery;
      break;
    case 'm':
      if (k == "mode")
        bad |= !!f.value().get_string().get(t.mode) || t.mode.empty() || t.mode.size() > 32, seen |= f_mode;
      break;
    case 'r':
      if (k == "roll")
        bad |= !number(f, t.roll, -180, 360);
      break;
    case 'p':
      if (k == "pitch")
        bad |= !number(f, t.pitch, -180, 360);
      break;
    case 'y':
      if (k == "yaw")
        bad |= !number(f, t.yaw, -180, 360);
      break;
    case 'f':
      if (k == "fix")
        bad |= !!f.value().get_int64().get(t.fix) || t.fix < 0 || t.fix > 10;
      break;
    case 'd':
      if (k == "drone_id")
        bad |= !!f.value().get_string().get(p.drone_id);
      break;
    default:
      break; // unknown fields are ignored
    }
  }
  if (type == "telemetry")
    p.kind = !bad && seen == f_all ? frame_kind::telemetry : frame_kind::malformed;
  else if (type == "hello")
    p.kind = !p.drone_id.empty() && p.drone_id.size() <= 64 ? frame_kind::hello : frame_kind::malformed;
  else
    p.kind = type.empty() ? frame_kind::malformed : frame_kind::other;
  return p;
}

bool valid_id(std::string_view id) {
  for (const char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  return !id.empty() && id.size() <= 64;
}

class ws_session;

/// The optional hub: one timer on the first worker collecting every worker's changed drones.
class hub {
public:
  explicit hub(net::io_context& ioc) : timer_(ioc) {}
  void start();
  void stop() { timer_.cancel(); }
  /// An operator subscribed (any thread): it gets a snapshot on the next tick.
  void subscribe(const std::shared_ptr<ws_session>& s) {
    std::lock_guard<std::mutex> lock(mu_);
    fresh_.push_back(s);
  }

private:
  void tick();

  net::steady_timer timer_;
  std::chrono::steady_clock::time_point next_{};
  std::mutex mu_;
  std::vector<std::weak_ptr<ws_session>> fresh_; ///< guarded by mu_
  std::vector<std::weak_ptr<ws_session>> operators_;
  std::unordered_map<std::string, hub_entry> latest_;
};

std::unique_ptr<hub> the_hub;

/// One WebSocket connection: a drone, or an operator when the hub is on and the path is /ws/operator.
class ws_session : public std::enable_shared_from_this<ws_session> {
public:
  ws_session(tcp::socket sock, worker& w, bool is_operator) : ws_(std::move(sock)), w_(w), operator_(is_operator) {
    if (!operator_)
      w_.connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~ws_session() {
    if (!operator_)
      w_.connections.fetch_sub(1, std::memory_order_relaxed);
  }

  /// Queues a frame for this operator (any thread).
  void send(std::shared_ptr<const std::string> frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)] {
      self->queue_.push_back(frame);
      if (!self->writing_)
        self->write_next();
    });
  }

  void run(http::request<http::string_body> req) {
    ws_.read_message_max(operator_ ? 1024 * 1024 : 16 * 1024);
    ws_.write_buffer_bytes(256); // only small welcome frames are written: keep the per-connection footprint low
    ws_.auto_fragment(false);
    websocket::stream_base::timeout to = websocket::stream_base::timeout::suggested(beast::role_type::server);
    to.idle_timeout = websocket::stream_base::none(); // drones at low rates must not be pinged away
    ws_.set_option(to);
    ws_.async_accept(req, [self = shared_from_this()](const error_code& ec) {
      if (!ec)
        self->read();
    });
  }

private:
  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](const error_code& ec, std::size_t) {
      if (ec)
        return; // closed or failed: the session ends with its last handler
      self->on_message();
      self->buf_.consume(self->buf_.size());
      self->read();
    });
  }

  void write_next() {
    if (queue_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()), [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->queue_.pop_front();
      if (ec) {
        self->queue_.clear();
        self->writing_ = false;
        return;
      }
      self->write_next();
    });
  }

  void on_message() {
    const std::size_t size = buf_.size();
    buf_.prepare(simdjson::SIMDJSON_PADDING);
    const char* data = static_cast<const char*>(buf_.data().data());
    if (operator_) { // the only operator frame is subscribe; any subscribe means "everything" here
      if (std::string_view(data, size).find("\"subscribe\"") != std::string_view::npos)
        the_hub->subscribe(shared_from_this());
      return;
    }
    telemetry t;
    const parsed p = parse_frame(w_.parser, data, size, t);
    switch (p.kind) {
    case frame_kind::telemetry:
      worker::bump(w_.accepted);
      if (the_hub && !id_.empty()) {
        std::lock_guard<std::mutex> lock(w_.hub_mu);
        hub_entry& e = w_.hub_pending[id_];
        e.t = t;
        e.mode.assign(t.mode);
        e.t.mode = {};
        e.armed = t.armed;
        e.recv = now_ms();
      }
      break;
    case frame_kind::hello:
      worker::bump(w_.hellos);
      if (!welcomed_ && !writing_ && valid_id(p.drone_id)) {
        welcomed_ = true;
        id_.assign(p.drone_id);
        char buf[160];
        const int n = std::snprintf(buf, sizeof buf, R"({"type":"welcome","server_time":%.3f,"drone_id":"%.*s"})", now_ms(),
                                    static_cast<int>(p.drone_id.size()), p.drone_id.data());
        out_.assign(buf, static_cast<std::size_t>(n));
        writing_ = true;
        ws_.text(true);
        ws_.async_write(net::buffer(out_), [self = shared_from_this()](const error_code&, std::size_t) { self->writing_ = false; });
      }
      break;
    case frame_kind::other:
      worker::bump(w_.other);
      break;
    case frame_kind::malformed:
      worker::bump(w_.rejected);
      break;
    }
  }

  websocket::stream<tcp::socket> ws_;
  worker& w_;
  bool operator_;
  beast::flat_buffer buf_;
  std::string out_;
  std::string id_;
  std::deque<std::shared_ptr<const std::string>> queue_; ///< operator frames to write
  bool writing_ = false;
  bool welcomed_ = false;
};

/// Appends one drone entry of a snapshot/update.
void append_entry(std::string& out, const std::string& id, const hub_entry& e) {
  char buf[512];
  const telemetry& t = e.t;
  const int n = std::snprintf(buf, sizeof buf,
                              R"({"id":"%s","status":"online","last_seen":%.3f,"seq":%llu,"ts":%.3f,"recv":%.3f,"lat":%.7f,)"
                              R"("lon":%.7f,"alt":%.2f,"heading":%.2f,"speed":%.2f,"vspeed":%.2f,"battery":%.2f,"armed":%s,"mode":"%s"})",
                              id.c_str(), e.recv, static_cast<unsigned long long>(t.seq), t.ts, e.recv, t.lat, t.lon, t.alt,
                              t.heading, t.speed, t.vspeed, t.battery, e.armed ? "true" : "false", e.mode.c_str());
  if (n > 0)
    out.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

void hub::start() {
  next_ = std::chrono::steady_clock::now();
  tick();
}

void hub::tick() {
  // Collect what changed on every worker since the last tick.
  std::unordered_map<std::string, hub_entry> changed;
  for (auto& w : workers) {
    std::lock_guard<std::mutex> lock(w->hub_mu);
    if (changed.empty())
      changed.swap(w->hub_pending);
    else {
      for (auto& [id, e] : w->hub_pending)
        changed[id] = std::move(e);
      w->hub_pending.clear();
    }
  }
  std::vector<std::weak_ptr<ws_session>> fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fresh.swap(fresh_);
  }
  char head[96];
  if (!fresh.empty()) {
    std::snprintf(head, sizeof head, R"({"type":"snapshot","server_time":%.3f,"drones":[)", now_ms());
    auto snap = std::make_shared<std::string>(head);
    bool first = true;
    for (const auto& [id, e] : latest_) {
      if (!first)
        *snap += ',';
      first = false;
      append_entry(*snap, id, e);
    }
    *snap += "]}";
    for (auto& weak : fresh)
      if (auto op = weak.lock()) {
        op->send(snap);
        operators_.push_back(weak);
      }
  }
  // New subscribers got the state before this tick; the update below brings them the rest.
  for (auto& [id, e] : changed)
    latest_[id] = e;
  if (!changed.empty() && !operators_.empty()) {
    std::snprintf(head, sizeof head, R"({"type":"update","server_time":%.3f,"drones":[)", now_ms());
    auto update = std::make_shared<std::string>(head);
    update->reserve(changed.size() * 260);
    bool first = true;
    for (const auto& [id, e] : changed) {
      if (!first)
        *update += ',';
      first = false;
      append_entry(*update, id, e);
    }
    *update += "]}";
    std::vector<std::weak_ptr<ws_session>> alive;
    for (auto& weak : operators_)
      if (auto op = weak.lock()) {
        op->send(update);
        alive.push_back(weak);
      }
    operators_.swap(alive);
  }
  next_ += std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / hub_rate));
  const auto now = std::chrono::steady_clock::now();
  if (next_ < now)
    next_ = now;
  timer_.expires_at(next_);
  timer_.async_wait([this](const error_code& ec) {
    if (!ec)
      tick();
  });
}

/// One plain HTTP connection; becomes a ws_session on an upgrade request.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket sock, worker& w) : sock_(std::move(sock)), w_(w) {}

  void run() {
    req_ = {};
    http::async_read(sock_, buf_, req_, [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
  }

private:
  void on_read(const error_code& ec) {
    if (ec)
      return;
    if (websocket::is_upgrade(req_)) {
      error_code ignored;
      sock_.set_option(tcp::no_delay(true), ignored);
      const bool is_operator = the_hub && req_.target().find("/ws/operator") != std::string_view::npos;
      std::make_shared<ws_session>(std::move(sock_), w_, is_operator)->run(std::move(req_));
      return;
    }
    auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, req_.version());
    res->set(http::field::server, "dccs-bench-bare");
    res->set(http::field::content_type, "text/plain; version=0.0.4");
    res->keep_alive(req_.keep_alive());
    const auto target = req_.target();
    if (req_.method() == http::verb::get && target == "/metrics") {
      std::int64_t connections = 0;
      for (auto& w : workers)
        connections += w->connections.load(std::memory_order_relaxed);
      res->body() = "# HELP dccs_frames_accepted_total Telemetry frames parsed and accepted.\n"
                    "# TYPE dccs_frames_accepted_total counter\n"
                    "dccs_frames_accepted_total " + std::to_string(sum(&worker::accepted)) + "\n"
                    "# TYPE dccs_frames_rejected_total counter\n"
                    "dccs_frames_rejected_total " + std::to_string(sum(&worker::rejected)) + "\n"
                    "# TYPE dccs_hellos_total counter\n"
                    "dccs_hellos_total " + std::to_string(sum(&worker::hellos)) + "\n"
                    "# TYPE dccs_drone_connections gauge\n"
                    "dccs_drone_connections " + std::to_string(connections) + "\n";
    } else if (req_.method() == http::verb::get && (target == "/readyz" || target == "/healthz")) {
      res->body() = "ok\n";
    } else {
      res->result(http::status::not_found);
      res->body() = "not found\n";
    }
    res->prepare_payload();
    http::async_write(sock_, *res, [self = shared_from_this(), res](const error_code& ec, std::size_t) {
      if (ec)
        return;
      if (res->keep_alive())
        self->run();
      else {
        error_code ignored;
        self->sock_.shutdown(tcp::socket::shutdown_send, ignored);
      }
    });
  }

  tcp::socket sock_;
  worker& w_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
};

/// Accepts on the first worker's io_context and hands sockets out round-robin.
class listener {
public:
  listener(net::io_context& ioc, const tcp::endpoint& ep) : acceptor_(ioc) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void accept() {
    worker& w = *workers[next_];
    next_ = (next_ + 1) % workers.size();
    acceptor_.async_accept(w.ioc, [this, &w](const error_code& ec, tcp::socket sock) {
      if (ec == net::error::operation_aborted)
        return;
      if (!ec)
        std::make_shared<http_session>(std::move(sock), w)->run();
      else if (ec == net::error::no_descriptors)
        std::fprintf(stderr, "dccs-bench-bare: accept: %s\n", ec.message().c_str());
      accept();
    });
  }
  void close() {
    error_code ignored;
    acceptor_.close(ignored);
  }

private:
  tcp::acceptor acceptor_;
  std::size_t next_ = 0;
};

void usage() {
  std::puts("usage: dccs-bench-bare [--port N] [--address A] [--threads N] [--hub-rate HZ]\n"
            "  --port N      TCP port (default 8090; 0 = any free port, printed on stdout)\n"
            "  --address A   listen address (default 127.0.0.1)\n"
            "  --threads N   threads, one io_context each (default 2)\n"
            "  --hub-rate HZ also serve /ws/operator: snapshot after subscribe, then updates at HZ (default 0: off)\n"
            "WebSocket on any path: hello -> welcome, every other frame parsed with simdjson and dropped.\n"
            "HTTP: GET /metrics (dccs_frames_accepted_total), GET /readyz, GET /healthz.");
}

} // namespace

int main(int argc, char** argv) {
  unsigned short port = 8090;
  std::string address = "127.0.0.1";
  std::size_t threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dccs-bench-bare: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    auto to_num = [&](std::string_view v, auto& out) {
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc{} || p != v.data() + v.size()) {
        std::fprintf(stderr, "dccs-bench-bare: bad number: %.*s\n", static_cast<int>(v.size()), v.data());
        std::exit(2);
      }
    };
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--port")
      to_num(value(), port);
    else if (a == "--address")
      address = std::string(value());
    else if (a == "--threads")
      to_num(value(), threads);
    else if (a == "--hub-rate")
      to_num(value(), hub_rate);
    else {
      std::fprintf(stderr, "dccs-bench-bare: unknown argument %s\n", argv[i]);
      usage();
      return 2;
    }
  }
  threads = std::max<std::size_t>(1, std::min<std::size_t>(threads, 64));

  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  for (std::size_t i = 0; i < threads; ++i)
    workers.push_back(std::make_unique<worker>());
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& w : workers)
    guards.push_back(net::make_work_guard(w->ioc));

  std::unique_ptr<listener> lst;
  try {
    lst = std::make_unique<listener>(workers[0]->ioc, tcp::endpoint(net::ip::make_address(address), port));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dccs-bench-bare: cannot listen on %s:%u: %s\n", address.c_str(), port, e.what());
    return 1;
  }
  if (hub_rate > 0) {
    the_hub = std::make_unique<hub>(workers[0]->ioc);
    the_hub->start();
  }
  std::printf("dccs-bench-bare listening on %s:%u with %zu thread(s)%s\n", address.c_str(), lst->local_endpoint().port(), threads,
              hub_rate > 0 ? ", hub on /ws/operator" : "");
  std::fflush(stdout);
  lst->accept();

  net::signal_set signals(workers[0]->ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const error_code& ec, int) {
    if (ec)
      return;
    lst->close();
    if (the_hub)
      the_hub->stop();
    for (auto& w : workers)
      w->ioc.stop();
  });

  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < threads; ++i)
    pool.emplace_back([i] { workers[i]->ioc.run(); });
  workers[0]->ioc.run();
  for (auto& w : workers)
    w->ioc.stop();
  for (auto& t : pool)
    t.join();
  std::fprintf(stderr, "dccs-bench-bare: %llu frames accepted, %llu rejected, %llu hellos, %llu other\n",
               static_cast<unsigned long long>(sum(&worker::accepted)), static_cast<unsigned long long>(sum(&worker::rejected)),
               static_cast<unsigned long long>(sum(&worker::hellos)), static_cast<unsigned long long>(sum(&worker::other)));
  return 0;
}
