// dccs-bench-commands: the command load of bench/commands.sh.
//
// Issues `--count` commands over REST (POST /api/v1/drones/{id}/commands) at `--rate` per second to the drones
// PREFIX00000 .. PREFIX<N-1>, round robin, over `--connections` keep-alive HTTP connections, and watches them on
// one operator WebSocket subscribed to those drones. The load is open: command i is due at start + i / rate
// whatever happened before, and every latency counts from that due time, so a node (or a connection) that falls
// behind shows as latency instead of slowing the load down. Each command is `set_speed` with a speed that changes
// at every round: a simulated autopilot executes it at once, on the ground or in the air.
//
// Writes one line per command (--out) and a JSON summary on stdout; bench/commands.sh joins the lines with the
// simulator's --command-log (when each frame reached its drone) on command_id. Times are the wall clock
// (CLOCK_REALTIME) in µs, the simulator's clock on the same machine.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using boost::system::error_code;

/// A keep-alive connection idle this long is replaced before use: the node closes one idle for 30 s, and a request
/// written as it does so would be lost.
constexpr auto stale_after = std::chrono::seconds(20);

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string token;
  std::string prefix = "cmd-";
  std::size_t drones = 1000;
  double rate = 200;
  std::size_t count = 10000;
  std::size_t connections = 32;
  bool subscribe_all = false;
  double drain = 10;
  std::string out;
};

const char* usage_text =
    R"(dccs-bench-commands: command latency of a DCCS node (bench/commands.sh).

usage: dccs-bench-commands --port P --token-file F [options]

  --host H            the node's address (default 127.0.0.1)
  --port P            the node's HTTP port
  --token-file F      an access token allowed to command the drones (role admin or operator)
  --prefix P          drone ids are P + 5-digit index, as dccs-sim names them (default cmd-)
  --drones N          command the drones P00000 .. P<N-1>, round robin (default 1000)
  --rate R            commands per second, open loop: command i is due at start + i/R (default 200)
  --count N           commands to issue (default 10000)
  --connections C     keep-alive HTTP connections, one request in flight on each (default 32)
  --subscribe WHAT    the operator socket subscribes to the commanded drones (targets, default) or
                      to every drone (all)
  --drain S           seconds to wait, after the last answer, for the final states (default 10)
  --out FILE          one tab-separated line per command: index, drone, due, sent, answered (µs,
                      wall clock), HTTP status, error code, command id, final state's arrival on
                      the operator socket (µs, 0: none), final state, arrival of its "queued"
                      and of its "sent" state on the operator socket (µs, 0: none)

Every command is {"kind":"set_speed","params":{"speed":S}}, S changing at every round. Latencies
count from the due time. The JSON summary (stdout) gives the counts (202, 409 command_in_flight,
other answers, transport errors, final states seen) and p50/p99/max in ms of the answer (due ->
202) and of the round trip (due -> final state on the operator socket), a command without a
final state counting as infinitely late (null when that reaches the percentile), and the lag of
the sends behind their due times, and the CPU time the tool used (cpu_s).
)";

std::optional<options> parse(int argc, char** argv, std::string& error) {
  options o;
  std::string token_file, subscribe = "targets";
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        std::fputs(usage_text, stdout);
        std::exit(0);
      }
      if (i + 1 >= argc)
        throw std::invalid_argument(a + " needs a value");
      std::string v = argv[++i];
      auto number = [&](double lo, double hi) {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d >= lo && d <= hi))
          throw std::invalid_argument(a + ": expected a number from " + std::to_string(lo) + " to " + std::to_string(hi));
        return d;
      };
      if (a == "--host")
        o.host = v;
      else if (a == "--port")
        o.port = v;
      else if (a == "--token-file")
        token_file = v;
      else if (a == "--prefix")
        o.prefix = v;
      else if (a == "--drones")
        o.drones = static_cast<std::size_t>(number(1, 99999));
      else if (a == "--rate")
        o.rate = number(0.1, 1e6);
      else if (a == "--count")
        o.count = static_cast<std::size_t>(number(1, 1e9));
      else if (a == "--connections")
        o.connections = static_cast<std::size_t>(number(1, 10000));
      else if (a == "--subscribe")
        subscribe = v;
      else if (a == "--drain")
        o.drain = number(0, 3600);
      else if (a == "--out")
        o.out = v;
      else
        throw std::invalid_argument("unknown option " + a);
    }
    if (o.port.empty() || token_file.empty())
      throw std::invalid_argument("--port and --token-file are required");
    if (subscribe != "targets" && subscribe != "all")
      throw std::invalid_argument("--subscribe: targets or all");
    o.subscribe_all = subscribe == "all";
    std::ifstream in(token_file);
    if (!in || !std::getline(in, o.token) || o.token.empty())
      throw std::invalid_argument("--token-file: cannot read a token from " + token_file);
    while (!o.token.empty() && (o.token.back() == '\r' || o.token.back() == ' '))
      o.token.pop_back();
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
  return o;
}

/// What the operator socket told of one command: when its frames arrived (µs, wall clock; 0: not (yet)).
struct news {
  std::int64_t queued = 0, sent = 0, final_at = 0; ///< the first frame in state queued, sent, and a final one
  std::string final_state;
};

/// What happened to one command.
struct record {
  std::int64_t due = 0, sent = 0, answered = 0; ///< µs, wall clock; 0: not (yet)
  unsigned status = 0;                          ///< HTTP status; 0: no answer (transport error)
  std::string code;                             ///< error code of a refusal
  std::string id;                               ///< command id (202)
  news seen;                                    ///< on the operator socket
};

class load {
public:
  load(net::io_context& ioc, options o)
      : ioc_(ioc), opts_(std::move(o)), timer_(ioc), drain_timer_(ioc), ws_(ioc), records_(opts_.count) {
    for (std::size_t i = 0; i < opts_.drones; ++i) {
      char id[80];
      std::snprintf(id, sizeof id, "%s%05zu", opts_.prefix.c_str(), i);
      drones_.emplace_back(id);
    }
    for (std::size_t i = 0; i < opts_.connections; ++i)
      conns_.push_back(std::make_unique<conn>(ioc));
  }

  void start() {
    endpoints_ = tcp::resolver(ioc_).resolve(opts_.host, opts_.port);
    connect_operator();
    drain_timer_.expires_after(std::chrono::seconds(15)); // for the snapshot that answers the subscription
    drain_timer_.async_wait([this](const error_code& ec) {
      if (!ec && !subscribed_) {
        std::fprintf(stderr, "dccs-bench-commands: no snapshot 15 s after subscribing\n");
        ioc_.stop();
      }
    });
    for (std::size_t i = 0; i < conns_.size(); ++i)
      connect(i);
  }

  int finish() {
    std::size_t accepted = 0, in_flight = 0, refused = 0, transport = 0, finals = 0, succeeded = 0;
    std::map<std::string, std::size_t> codes;
    std::vector<double> answer, rtt, lag;
    const double inf = std::numeric_limits<double>::infinity();
    for (auto& r : records_) {
      if (r.sent > 0)
        lag.push_back((r.sent - r.due) / 1000.0);
      if (r.status == 0) {
        ++transport;
        continue;
      }
      answer.push_back((r.answered - r.due) / 1000.0);
      if (r.status == 202) {
        ++accepted;
        if (r.seen.final_at > 0) {
          ++finals;
          succeeded += r.seen.final_state == "succeeded";
          rtt.push_back((r.seen.final_at - r.due) / 1000.0);
        } else {
          rtt.push_back(inf);
        }
      } else if (r.status == 409 && r.code == "command_in_flight") {
        ++in_flight;
      } else {
        ++refused;
        ++codes[std::to_string(r.status) + " " + r.code];
      }
    }
    if (!opts_.out.empty()) {
      std::FILE* f = std::fopen(opts_.out.c_str(), "w");
      if (f == nullptr) {
        std::fprintf(stderr, "dccs-bench-commands: cannot write %s\n", opts_.out.c_str());
      } else {
        for (std::size_t i = 0; i < records_.size(); ++i) {
          const auto& r = records_[i];
          std::fprintf(f, "%zu\t%s\t%lld\t%lld\t%lld\t%u\t%s\t%s\t%lld\t%s\t%lld\t%lld\n", i,
                       drones_[i % drones_.size()].c_str(), static_cast<long long>(r.due), static_cast<long long>(r.sent),
                       static_cast<long long>(r.answered), r.status, r.code.empty() ? "-" : r.code.c_str(),
                       r.id.empty() ? "-" : r.id.c_str(), static_cast<long long>(r.seen.final_at),
                       r.seen.final_state.empty() ? "-" : r.seen.final_state.c_str(),
                       static_cast<long long>(r.seen.queued), static_cast<long long>(r.seen.sent));
        }
        std::fclose(f);
      }
    }
    const double issued_s = std::chrono::duration<double>(last_sent_ - started_).count();
    nlohmann::json j{{"rate", opts_.rate},
                     {"count", opts_.count},
                     {"drones", opts_.drones},
                     {"connections", opts_.connections},
                     {"issued_in_s", issued_s},
                     {"achieved_rate", issued_s > 0 ? static_cast<double>(opts_.count - 1) / issued_s : 0.0},
                     {"accepted", accepted},
                     {"in_flight_409", in_flight},
                     {"other_answers", refused},
                     {"transport_errors", transport},
                     {"reconnects", reconnects_},
                     {"finals", finals},
                     {"succeeded", succeeded},
                     {"missing_final", accepted - finals},
                     {"operator_closed", operator_closed_}};
    auto pct = [](std::vector<double> v, double q) -> nlohmann::json {
      if (v.empty())
        return nullptr;
      std::sort(v.begin(), v.end());
      const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
      const double x = v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
      return std::isfinite(x) ? nlohmann::json(std::round(x * 1000) / 1000) : nlohmann::json(nullptr);
    };
    for (auto& [name, v] : {std::pair<const char*, std::vector<double>*>{"answer", &answer}, {"rtt", &rtt}, {"send_lag", &lag}}) {
      j[std::string(name) + "_p50_ms"] = pct(*v, 0.50);
      j[std::string(name) + "_p99_ms"] = pct(*v, 0.99);
      j[std::string(name) + "_max_ms"] = pct(*v, 1.0);
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    j["cpu_s"] = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    nlohmann::json other = nlohmann::json::object();
    for (auto& [k, n] : codes)
      other[k] = n;
    j["other_answer_codes"] = other;
    std::printf("%s\n", j.dump().c_str());
    return subscribed_ ? 0 : 1;
  }

private:
  struct conn {
    explicit conn(net::io_context& ioc) : stream(ioc) {}
    beast::tcp_stream stream;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    std::optional<http::response_parser<http::string_body>> parser;
    bool ready = false; ///< connected and idle
    std::size_t cmd = 0;
    steady::time_point used; ///< connected or last answered
  };

  void fail(const char* what, const error_code& ec) {
    std::fprintf(stderr, "dccs-bench-commands: %s: %s\n", what, ec.message().c_str());
  }

  // ---- the operator socket ---------------------------------------------------------------------------------------

  void connect_operator() {
    beast::get_lowest_layer(ws_).async_connect(endpoints_, [this](const error_code& ec, const tcp::endpoint&) {
      if (ec) {
        fail("operator connect", ec);
        return ioc_.stop();
      }
      beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
      ws_.set_option(websocket::stream_base::decorator([token = opts_.token](websocket::request_type& r) {
        r.set(http::field::authorization, "Bearer " + token);
      }));
      ws_.async_handshake(opts_.host + ":" + opts_.port, "/ws/operator", [this](const error_code& ec) {
        if (ec) {
          fail("operator handshake", ec);
          return ioc_.stop();
        }
        nlohmann::json sub{{"type", "subscribe"}};
        if (opts_.subscribe_all)
          sub["drones"] = "*";
        else
          sub["drones"] = drones_;
        subscribe_text_ = sub.dump();
        if (subscribe_text_.size() > 60000) {
          std::fprintf(stderr, "dccs-bench-commands: %zu drones make a subscribe frame over the node's 64 KiB limit: "
                               "use --subscribe all\n", drones_.size());
          return ioc_.stop();
        }
        ws_.text(true);
        ws_.async_write(net::buffer(subscribe_text_), [this](const error_code& ec, std::size_t) {
          if (ec) {
            fail("subscribe", ec);
            return ioc_.stop();
          }
          read_operator();
        });
      });
    });
  }

  void read_operator() {
    ws_.async_read(ws_buf_, [this](const error_code& ec, std::size_t) {
      if (ec) {
        if (!stopping_) {
          operator_closed_ = true;
          fail("operator socket", ec);
          ioc_.stop();
        }
        return;
      }
      const auto now = wall_us();
      const std::string_view text(static_cast<const char*>(ws_buf_.data().data()), ws_buf_.size());
      on_operator_frame(text, now);
      ws_buf_.consume(ws_buf_.size());
      read_operator();
    });
  }

  void on_operator_frame(std::string_view text, std::int64_t now) {
    // Live-view frames are most of the traffic and are written type first: skip them unparsed.
    constexpr std::string_view update = R"({"type":"update")", status = R"({"type":"status")";
    constexpr std::string_view snapshot = R"({"type":"snapshot")";
    if (text.substr(0, update.size()) == update || text.substr(0, status.size()) == status)
      return;
    if (text.substr(0, snapshot.size()) == snapshot) {
      if (!subscribed_) {
        subscribed_ = true;
        begin();
      }
      return;
    }
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("type", "") != "command")
      return;
    const auto& c = j["command"];
    if (!c.is_object())
      return;
    const std::string id = c.value("id", "");
    const std::string state = c.value("state", "");
    const bool final = c.value("final", false);
    const auto it = by_id_.find(id);
    news& n = it != by_id_.end() ? records_[it->second].seen : early_[id]; // early: before its 202 was read
    if (state == "queued" && n.queued == 0)
      n.queued = now;
    else if (state == "sent" && n.sent == 0)
      n.sent = now;
    if (final && n.final_at == 0) {
      n.final_at = now;
      n.final_state = state;
      if (it != by_id_.end())
        ++finals_;
    }
    if (final)
      maybe_done();
  }

  // ---- the load --------------------------------------------------------------------------------------------------

  void begin() {
    started_ = steady::now();
    wall0_ = wall_us();
    std::fprintf(stderr, "dccs-bench-commands: subscribed; %zu commands at %g/s to %zu drones over %zu connections\n",
                 opts_.count, opts_.rate, opts_.drones, opts_.connections);
    tick();
  }

  steady::time_point due(std::size_t i) const {
    return started_ + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(i / opts_.rate));
  }

  void tick() {
    const auto now = steady::now();
    while (next_ < opts_.count && due(next_) <= now) {
      records_[next_].due = wall0_ + static_cast<std::int64_t>(std::llround(next_ * 1e6 / opts_.rate));
      pending_.push_back(next_++);
    }
    pump();
    if (next_ < opts_.count) {
      timer_.expires_at(due(next_));
      timer_.async_wait([this](const error_code& ec) {
        if (!ec)
          tick();
      });
    }
  }

  void pump() {
    const auto now = steady::now();
    for (std::size_t i = 0; i < conns_.size() && !pending_.empty(); ++i)
      if (conns_[i]->ready) {
        if (now - conns_[i]->used > stale_after) { // the node closes a connection idle for 30 s: a new one
          error_code ignored;
          conns_[i]->stream.socket().close(ignored);
          connect(i);
          continue;
        }
        const auto cmd = pending_.front();
        pending_.pop_front();
        issue(i, cmd);
      }
  }

  void connect(std::size_t i) {
    auto& c = *conns_[i];
    c.ready = false;
    c.stream.async_connect(endpoints_, [this, i](const error_code& ec, const tcp::endpoint&) {
      auto& c = *conns_[i];
      if (ec) {
        fail("http connect", ec);
        auto t = std::make_shared<net::steady_timer>(ioc_, std::chrono::milliseconds(100));
        return t->async_wait([this, i, t](const error_code&) { connect(i); });
      }
      c.stream.socket().set_option(tcp::no_delay(true));
      c.ready = true;
      c.used = steady::now();
      pump();
    });
  }

  void issue(std::size_t i, std::size_t cmd) {
    auto& c = *conns_[i];
    c.ready = false;
    c.cmd = cmd;
    const std::size_t round = cmd / drones_.size();
    const std::string& drone = drones_[cmd % drones_.size()];
    c.req = {};
    c.req.method(http::verb::post);
    c.req.target("/api/v1/drones/" + drone + "/commands");
    c.req.version(11);
    c.req.set(http::field::host, opts_.host + ":" + opts_.port);
    c.req.set(http::field::authorization, "Bearer " + opts_.token);
    c.req.set(http::field::content_type, "application/json");
    c.req.keep_alive(true);
    c.req.body() = R"({"kind":"set_speed","params":{"speed":)" + std::to_string(5 + round % 10) + "}}";
    c.req.prepare_payload();
    records_[cmd].sent = wall_us();
    last_sent_ = steady::now();
    http::async_write(c.stream, c.req, [this, i](const error_code& ec, std::size_t) {
      auto& c = *conns_[i];
      if (ec)
        return transport_error(i, "http write", ec);
      c.parser.emplace();
      c.parser->body_limit(1 << 20);
      http::async_read(c.stream, c.buf, *c.parser, [this, i](const error_code& ec, std::size_t) {
        if (ec)
          return transport_error(i, "http read", ec);
        on_answer(i);
      });
    });
  }

  void transport_error(std::size_t i, const char* what, const error_code& ec) {
    auto& c = *conns_[i];
    if (errors_shown_++ < 5)
      fail(what, ec);
    auto& r = records_[c.cmd];
    r.answered = wall_us();
    r.status = 0;
    ++answered_;
    ++reconnects_;
    error_code ignored;
    c.stream.socket().close(ignored);
    c.buf.consume(c.buf.size());
    connect(i);
    maybe_done();
  }

  void on_answer(std::size_t i) {
    auto& c = *conns_[i];
    auto res = c.parser->release();
    auto& r = records_[c.cmd];
    r.answered = wall_us();
    r.status = res.result_int();
    ++answered_;
    auto body = nlohmann::json::parse(res.body(), nullptr, false);
    if (r.status == 202) {
      if (body.is_object())
        r.id = body.value("id", "");
      by_id_.emplace(r.id, c.cmd);
      if (auto e = early_.find(r.id); e != early_.end()) {
        r.seen = std::move(e->second);
        finals_ += r.seen.final_at > 0;
        early_.erase(e);
      }
    } else {
      // {"error":{"code":..,"message":..}}
      r.code = "?";
      if (body.is_object() && body.contains("error") && body["error"].is_object())
        r.code = body["error"].value("code", "?");
      if (r.status != 409 && refusals_shown_++ < 5)
        std::fprintf(stderr, "dccs-bench-commands: answer %u: %s\n", r.status, res.body().substr(0, 200).c_str());
    }
    if (res.need_eof()) {
      error_code ignored;
      c.stream.socket().close(ignored);
      ++reconnects_;
      connect(i);
    } else {
      c.ready = true;
      c.used = steady::now();
      pump();
    }
    maybe_done();
  }

  void maybe_done() {
    if (answered_ < opts_.count || stopping_)
      return;
    std::size_t accepted = 0;
    for (auto& r : records_)
      accepted += r.status == 202;
    if (finals_ >= accepted)
      return stop();
    if (!draining_) {
      draining_ = true;
      drain_timer_.expires_after(std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(opts_.drain)));
      drain_timer_.async_wait([this](const error_code& ec) {
        if (!ec)
          stop();
      });
    }
  }

  void stop() {
    if (stopping_)
      return;
    stopping_ = true;
    timer_.cancel();
    drain_timer_.cancel();
    for (auto& c : conns_) {
      error_code ignored;
      c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      c->stream.socket().close(ignored);
    }
    ws_.async_close(websocket::close_code::normal, [this](const error_code&) {
      error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
    });
    // A node that does not answer the close handshake must not hold the report.
    drain_timer_.expires_after(std::chrono::seconds(2));
    drain_timer_.async_wait([this](const error_code& ec) {
      if (!ec)
        ioc_.stop();
    });
  }

  net::io_context& ioc_;
  options opts_;
  net::steady_timer timer_, drain_timer_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer ws_buf_;
  std::string subscribe_text_;
  tcp::resolver::results_type endpoints_;
  std::vector<std::string> drones_;
  std::vector<std::unique_ptr<conn>> conns_;
  std::vector<record> records_;
  std::unordered_map<std::string, std::size_t> by_id_;
  std::unordered_map<std::string, news> early_; ///< news of commands whose 202 was not read yet
  std::deque<std::size_t> pending_;
  steady::time_point started_, last_sent_;
  std::int64_t wall0_ = 0;
  std::size_t next_ = 0, answered_ = 0, finals_ = 0, reconnects_ = 0, errors_shown_ = 0, refusals_shown_ = 0;
  bool subscribed_ = false, draining_ = false, stopping_ = false, operator_closed_ = false;
};

} // namespace

int main(int argc, char** argv) {
  std::string error;
  auto o = parse(argc, argv, error);
  if (!o) {
    std::fprintf(stderr, "dccs-bench-commands: %s\n(see --help)\n", error.c_str());
    return 2;
  }
  try {
    net::io_context ioc(1);
    load l(ioc, std::move(*o));
    l.start();
    ioc.run();
    return l.finish();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dccs-bench-commands: %s\n", e.what());
    return 1;
  }
}
