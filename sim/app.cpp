#include "sim/app.hpp"

#include "sim/command_log.hpp"
#include "sim/fleet.hpp"
#include "sim/observer.hpp"
#include "sim/stats.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dccs::sim {

namespace net = boost::asio;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto shutdown_grace = std::chrono::seconds(3); ///< for close handshakes before forcing
constexpr auto shutdown_limit = std::chrono::seconds(5); ///< then the io_context is stopped anyway
constexpr auto drain_poll = std::chrono::milliseconds(50); ///< --stop-when-acked: how often to look

double seconds(steady::duration d) { return std::chrono::duration<double>(d).count(); }

/// Raises the soft limit of open files to the hard limit; warns when it is too low for the fleet.
void raise_fd_limit(std::size_t needed) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed)
    std::fprintf(stderr, "[dccs-sim] warning: RLIMIT_NOFILE is %llu, %zu sockets are needed; raise the hard limit (ulimit -Hn)\n",
                 static_cast<unsigned long long>(rl.rlim_cur), needed);
}

/// A JSON object on one line; keys and string values are plain ASCII (no escaping needed).
class json_line {
public:
  json_line& add(const char* key, std::uint64_t v) { return raw(key, std::to_string(v)); }
  json_line& add(const char* key, std::int64_t v) { return raw(key, std::to_string(v)); }
  json_line& add(const char* key, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return raw(key, buf);
  }
  json_line& add(const char* key, bool v) { return raw(key, v ? "true" : "false"); }
  json_line& add(const char* key, const std::string& v) { return raw(key, "\"" + v + "\""); }
  json_line& add(const char* key, std::optional<double> v) { return v ? add(key, *v) : raw(key, "null"); }
  json_line& add(const char* key, const std::vector<std::int64_t>& v) {
    std::string a = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
      a += (i ? "," : "") + std::to_string(v[i]);
    return raw(key, a + "]");
  }
  std::string str() const { return "{" + body_ + "}"; }

private:
  json_line& raw(const char* key, const std::string& value) {
    if (!body_.empty())
      body_ += ',';
    body_ += '"';
    body_ += key;
    body_ += "\":";
    body_ += value;
    return *this;
  }
  std::string body_;
};

/// "20/20/20": drones connected per node, in --url order.
std::string per_node_text(const std::vector<std::int64_t>& per_node) {
  std::string out;
  for (const auto n : per_node) {
    if (!out.empty())
      out += '/';
    out += std::to_string(n);
  }
  return out;
}

class app {
public:
  explicit app(const options& o)
      : opts_(o), ioc_(o.threads == 1 ? 1 : static_cast<int>(o.threads)),
        ctl_(o.threads == 1 ? net::any_io_executor(ioc_.get_executor()) : net::any_io_executor(net::make_strand(ioc_))),
        signals_(ctl_, SIGINT, SIGTERM), usr1_(ctl_, SIGUSR1), report_timer_(ctl_), duration_timer_(ctl_),
        shutdown_timer_(ctl_), drain_timer_(ctl_) {}

  int run() {
    raise_fd_limit(opts_.drones + (opts_.observe ? 1 : 0) + 64);
    std::vector<node_target> nodes;
    std::string to;
    for (const node_url& u : opts_.nodes()) {
      net::ip::tcp::endpoint ep;
      try {
        net::ip::tcp::resolver resolver(ioc_);
        const auto results = resolver.resolve(u.host, u.port);
        auto best = results.begin();
        for (auto it = results.begin(); it != results.end(); ++it)
          if (it->endpoint().address().is_v4()) {
            best = it;
            break;
          }
        ep = best->endpoint();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "[dccs-sim] cannot resolve %s:%s (%s): %s\n", u.host.c_str(), u.port.c_str(), u.url.c_str(), e.what());
        return 1;
      }
      if (!to.empty())
        to += ", ";
      to += "ws://" + u.host_header() + u.drone_path() + " (" + ep.address().to_string() + ")";
      nodes.push_back(node_target{u.url, ep, u.host_header(), u.drone_path()});
    }
    std::string commands = opts_.autopilot ? ", autopilot (flying only when commanded)" : "";
    if (opts_.commands.empty())
      commands += ", no commands";
    else if (!(opts_.commands == kind_set::all()))
      commands += ", commands " + opts_.commands.json_array();
    if (opts_.drop_rate > 0 || opts_.dup_rate > 0) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ", command frames dropped %g / doubled %g", opts_.drop_rate, opts_.dup_rate);
      commands += buf;
    }
    std::fprintf(stderr,
                 "[dccs-sim] %zu drones at %g Hz %s %s, %zu thread(s), scheduler %s, seed %llu%s%s%s\n",
                 opts_.drones, opts_.rate, nodes.size() > 1 ? "spread over" : "to", to.c_str(), opts_.threads,
                 opts_.scheduler == scheduler_kind::wheel ? "wheel" : "timers",
                 static_cast<unsigned long long>(opts_.seed), opts_.observe ? ", observing /ws/operator" : "",
                 opts_.ack ? ", acknowledged telemetry" : "", commands.c_str());
    const net::ip::tcp::endpoint observer_ep = nodes.front().endpoint; // the first --url
    if (!opts_.command_log.empty()) {
      std::string why;
      if (!command_log::open(opts_.command_log, why)) {
        std::fprintf(stderr, "[dccs-sim] %s\n", why.c_str());
        return 2;
      }
    }

    fleet_.emplace(ioc_, opts_, std::move(nodes));
    if (opts_.observe)
      observer_.emplace(ctl_, opts_, observer_ep);

    start_ = window_start_ = last_report_ = steady::now();
    cpu_start_ = window_cpu_ = last_report_cpu_ = cpu_times::now();
    fleet_->start();
    if (observer_)
      net::post(ctl_, [this] { observer_->start(); });
    wait_signal();
    wait_usr1();
    arm_report();
    if (opts_.duration > 0) {
      duration_timer_.expires_after(std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(opts_.duration)));
      duration_timer_.async_wait([this](const error_code& ec) {
        if (ec)
          return;
        if (opts_.stop_when_acked)
          begin_drain();
        else
          shutdown("duration elapsed");
      });
    }

    std::vector<std::thread> extra;
    for (std::size_t i = 1; i < opts_.threads; ++i)
      extra.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : extra)
      t.join();
    command_log::close();

    final_report();
    bool report_ok = true;
    if (!opts_.ack_report.empty())
      report_ok = fleet_->write_ack_report(opts_.ack_report);
    const bool ok = opts_.drones > 0 ? fleet_->ever_connected() : (observer_ && observer_->ever_connected());
    if (!ok) {
      std::fprintf(stderr, "[dccs-sim] no connection ever succeeded\n");
      return 1;
    }
    if (opts_.stop_when_acked && end_totals_.frames_unacked() > 0) {
      std::fprintf(stderr, "[dccs-sim] %llu frames still unacknowledged at exit\n",
                   static_cast<unsigned long long>(end_totals_.frames_unacked()));
      return 3;
    }
    return report_ok ? 0 : 1;
  }

private:
  void wait_signal() {
    signals_.async_wait([this](const error_code& ec, int sig) {
      if (ec)
        return;
      if (shutting_down_) { // a second signal: stop at once
        std::fprintf(stderr, "[dccs-sim] second signal: stopping now\n");
        ioc_.stop();
        return;
      }
      shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
      wait_signal();
    });
  }

  /// --stop-when-acked: no new telemetry; stop once every kept frame is acknowledged or after --drain-timeout.
  void begin_drain() {
    fleet_->drain();
    drain_started_ = steady::now();
    std::fprintf(stderr, "[dccs-sim] duration elapsed: waiting up to %g s for %llu unacknowledged frames\n",
                 opts_.drain_timeout, static_cast<unsigned long long>(fleet_->totals().frames_unacked()));
    poll_drain();
  }

  void poll_drain() {
    if (shutting_down_)
      return;
    const auto unacked = fleet_->totals().frames_unacked();
    if (unacked == 0)
      return shutdown("every frame acknowledged");
    if (steady::now() - drain_started_ >= std::chrono::duration<double>(opts_.drain_timeout)) {
      std::fprintf(stderr, "[dccs-sim] drain timeout: %llu frames unacknowledged\n",
                   static_cast<unsigned long long>(unacked));
      return shutdown("drain timeout");
    }
    drain_timer_.expires_after(drain_poll);
    drain_timer_.async_wait([this](const error_code& ec) {
      if (!ec)
        poll_drain();
    });
  }

  void wait_usr1() {
    usr1_.async_wait([this](const error_code& ec, int) {
      if (ec)
        return;
      begin_window();
      wait_usr1();
    });
  }

  void begin_window() {
    window_started_ = true;
    window_start_ = steady::now();
    window_base_ = fleet_->totals();
    window_cpu_ = cpu_times::now();
    fleet_->take_lag_window_ms();
    if (observer_)
      observer_->begin_window();
    std::fprintf(stderr, "[dccs-sim] measurement window started (connected %lld/%zu)\n",
                 static_cast<long long>(fleet_->connected()), fleet_->size());
  }

  void arm_report() {
    report_timer_.expires_after(std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(opts_.report_interval)));
    report_timer_.async_wait([this](const error_code& ec) {
      if (ec || shutting_down_)
        return;
      report();
      arm_report();
    });
  }

  void report() {
    command_log::flush();
    const auto now = steady::now();
    const auto totals = fleet_->totals();
    const auto cpu = cpu_times::now();
    const double dt = std::max(1e-9, seconds(now - last_report_));
    const auto delta = totals - last_report_totals_;
    const double cpu_pct = 100.0 * (cpu.user + cpu.system - last_report_cpu_.user - last_report_cpu_.system) / dt;
    std::string line;
    char buf[512];
    std::snprintf(buf, sizeof buf, "[dccs-sim +%.1fs] connected %lld/%zu", seconds(now - start_),
                  static_cast<long long>(fleet_->connected()), fleet_->size());
    line = buf;
    if (fleet_->node_count() > 1)
      line += " | per node " + per_node_text(fleet_->connected_per_node());
    std::snprintf(buf, sizeof buf,
                  " | sent %llu (%.0f/s) | skipped %llu | errors %llu | reconnects %llu | ",
                  static_cast<unsigned long long>(totals.frames_sent), static_cast<double>(delta.frames_sent) / dt,
                  static_cast<unsigned long long>(totals.skipped), static_cast<unsigned long long>(totals.errors),
                  static_cast<unsigned long long>(totals.reconnects));
    line += buf;
    if (fleet_->node_count() > 1)
      line += "failovers " + std::to_string(totals.failovers) + " | ";
    std::snprintf(buf, sizeof buf, "conn.failures %llu | tick lag max %.1f ms | cpu %.1f%%",
                  static_cast<unsigned long long>(totals.connect_failures), fleet_->take_lag_interval_ms(), cpu_pct);
    line += buf;
    if (opts_.ack) {
      std::snprintf(buf, sizeof buf, " | acked %llu unacked %llu resent %llu ack.stalls %llu ack.errors %llu",
                    static_cast<unsigned long long>(totals.frames_acked),
                    static_cast<unsigned long long>(totals.frames_unacked()),
                    static_cast<unsigned long long>(totals.frames_resent),
                    static_cast<unsigned long long>(totals.ack_stalls),
                    static_cast<unsigned long long>(totals.ack_errors));
      line += buf;
    }
    if (show_commands(totals)) {
      std::snprintf(buf, sizeof buf, " | commands rx %llu exec %llu refused %llu dup %llu cancels %llu acks %llu",
                    static_cast<unsigned long long>(totals.commands_received),
                    static_cast<unsigned long long>(totals.commands_executed),
                    static_cast<unsigned long long>(totals.commands_refused),
                    static_cast<unsigned long long>(totals.commands_duplicate),
                    static_cast<unsigned long long>(totals.command_cancels),
                    static_cast<unsigned long long>(totals.command_acks_sent));
      line += buf;
    }
    if (totals.any_missions()) {
      std::snprintf(buf, sizeof buf, " | missions items %llu reached %llu completed %llu aborted %llu failed %llu",
                    static_cast<unsigned long long>(totals.mission_items_received),
                    static_cast<unsigned long long>(totals.mission_items_reached),
                    static_cast<unsigned long long>(totals.missions_completed),
                    static_cast<unsigned long long>(totals.missions_aborted),
                    static_cast<unsigned long long>(totals.missions_failed));
      line += buf;
    }
    if (observer_) {
      const auto& f = observer_->interval();
      const auto& h = observer_->interval_latency();
      std::snprintf(buf, sizeof buf,
                    " | operator %s: %.0f samples/s, latency p50 %.2f p99 %.2f max %.2f ms, %zu drones",
                    observer_->connected() ? "up" : "down", static_cast<double>(f.samples) / dt, h.percentile_ms(0.50),
                    h.percentile_ms(0.99), h.max_ms(), f.drones_seen);
      line += buf;
      observer_->begin_interval();
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    last_report_ = now;
    last_report_totals_ = totals;
    last_report_cpu_ = cpu;
  }

  /// The command counters appear in the reports once a command frame came, or from the start when commands are
  /// the point of the run (--autopilot, --drop-rate, --dup-rate).
  bool show_commands(const counter_totals& t) const {
    return t.any_commands() || opts_.autopilot || opts_.drop_rate > 0 || opts_.dup_rate > 0;
  }

  void shutdown(const char* why) {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    end_ = steady::now();
    end_cpu_ = cpu_times::now();
    end_totals_ = fleet_->totals();
    end_connected_ = fleet_->connected();
    end_per_node_ = fleet_->connected_per_node();
    end_lag_window_ms_ = fleet_->take_lag_window_ms();
    std::fprintf(stderr, "[dccs-sim] stopping (%s)\n", why);
    report_timer_.cancel();
    duration_timer_.cancel();
    drain_timer_.cancel();
    usr1_.cancel();
    fleet_->stop();
    if (observer_)
      observer_->stop();
    shutdown_started_ = steady::now();
    poll_shutdown();
  }

  void poll_shutdown() {
    const bool done = fleet_->all_stopped() && (!observer_ || observer_->stopped());
    const auto waited = steady::now() - shutdown_started_;
    if (done || waited > shutdown_limit) {
      signals_.cancel();
      if (!done)
        ioc_.stop();
      return; // nothing else is pending: run() returns
    }
    if (waited > shutdown_grace && !forced_) {
      forced_ = true;
      std::fprintf(stderr, "[dccs-sim] close handshakes still pending after %.0f s: closing sockets\n", seconds(shutdown_grace));
      fleet_->force_close();
      if (observer_)
        observer_->force_close();
    }
    shutdown_timer_.expires_after(std::chrono::milliseconds(20));
    shutdown_timer_.async_wait([this](const error_code& ec) {
      if (!ec)
        poll_shutdown();
    });
  }

  void final_report() {
    if (!shutting_down_) { // ioc stopped some other way
      end_ = steady::now();
      end_cpu_ = cpu_times::now();
      end_totals_ = fleet_->totals();
      end_connected_ = fleet_->connected();
      end_per_node_ = fleet_->connected_per_node();
      end_lag_window_ms_ = fleet_->take_lag_window_ms();
    }
    const double elapsed = std::max(1e-9, seconds(end_ - start_));
    const double window = std::max(1e-9, seconds(end_ - window_start_));
    const auto& t = end_totals_;
    const auto w = end_totals_ - window_base_;
    const double cpu_total = end_cpu_.user + end_cpu_.system - cpu_start_.user - cpu_start_.system;
    const double cpu_window = end_cpu_.user + end_cpu_.system - window_cpu_.user - window_cpu_.system;

    std::fprintf(stderr,
                 "[dccs-sim] done after %.1f s: %llu frames sent (%.0f/s), window %.1f s: %llu frames (%.0f/s), "
                 "cpu %.1f%%; errors %llu, reconnects %llu, connection failures %llu\n",
                 elapsed, static_cast<unsigned long long>(t.frames_sent), static_cast<double>(t.frames_sent) / elapsed, window,
                 static_cast<unsigned long long>(w.frames_sent), static_cast<double>(w.frames_sent) / window,
                 100.0 * cpu_window / window, static_cast<unsigned long long>(t.errors),
                 static_cast<unsigned long long>(t.reconnects), static_cast<unsigned long long>(t.connect_failures));
    if (fleet_->node_count() > 1)
      std::fprintf(stderr, "[dccs-sim] %zu nodes: failovers %llu, connected at the end %lld/%zu, per node %s\n",
                   fleet_->node_count(), static_cast<unsigned long long>(t.failovers), static_cast<long long>(end_connected_),
                   fleet_->size(), per_node_text(end_per_node_).c_str());
    if (opts_.ack)
      std::fprintf(stderr,
                   "[dccs-sim] acknowledged telemetry: %llu frames acked, %llu unacked (kept at exit), %llu resent, "
                   "%llu ack stalls, %llu ack errors\n",
                   static_cast<unsigned long long>(t.frames_acked), static_cast<unsigned long long>(t.frames_unacked()),
                   static_cast<unsigned long long>(t.frames_resent), static_cast<unsigned long long>(t.ack_stalls),
                   static_cast<unsigned long long>(t.ack_errors));
    if (show_commands(t))
      std::fprintf(stderr,
                   "[dccs-sim] commands: received %llu, executed %llu, refused %llu, duplicates %llu, cancels %llu, "
                   "acks sent %llu, errors %llu; dropped %llu received / %llu acks, doubled %llu received / %llu acks\n",
                   static_cast<unsigned long long>(t.commands_received),
                   static_cast<unsigned long long>(t.commands_executed),
                   static_cast<unsigned long long>(t.commands_refused),
                   static_cast<unsigned long long>(t.commands_duplicate),
                   static_cast<unsigned long long>(t.command_cancels),
                   static_cast<unsigned long long>(t.command_acks_sent),
                   static_cast<unsigned long long>(t.command_errors),
                   static_cast<unsigned long long>(t.command_rx_dropped),
                   static_cast<unsigned long long>(t.command_tx_dropped),
                   static_cast<unsigned long long>(t.command_rx_doubled),
                   static_cast<unsigned long long>(t.command_tx_doubled));
    if (t.any_missions() || opts_.autopilot)
      std::fprintf(stderr,
                   "[dccs-sim] missions: items received %llu, acks sent %llu, progress sent %llu, errors %llu; dropped "
                   "%llu received / %llu acks, doubled %llu received / %llu acks; items reached %llu, photos %llu, "
                   "completed %llu, aborted %llu, failed %llu\n",
                   static_cast<unsigned long long>(t.mission_items_received),
                   static_cast<unsigned long long>(t.mission_acks_sent),
                   static_cast<unsigned long long>(t.mission_progress_sent),
                   static_cast<unsigned long long>(t.mission_errors),
                   static_cast<unsigned long long>(t.mission_rx_dropped),
                   static_cast<unsigned long long>(t.mission_tx_dropped),
                   static_cast<unsigned long long>(t.mission_rx_doubled),
                   static_cast<unsigned long long>(t.mission_tx_doubled),
                   static_cast<unsigned long long>(t.mission_items_reached),
                   static_cast<unsigned long long>(t.mission_photos),
                   static_cast<unsigned long long>(t.missions_completed),
                   static_cast<unsigned long long>(t.missions_aborted),
                   static_cast<unsigned long long>(t.missions_failed));
    if (observer_) {
      const auto& h = observer_->window_latency();
      std::fprintf(stderr, "[dccs-sim] drone-to-operator latency (window): %llu samples, p50 %.3f p99 %.3f max %.3f ms, %zu drones seen\n",
                   static_cast<unsigned long long>(h.count()), h.percentile_ms(0.5), h.percentile_ms(0.99), h.max_ms(),
                   observer_->window().drones_seen);
    }
    if (!opts_.json)
      return;

    json_line j;
    j.add("drones", static_cast<std::uint64_t>(opts_.drones))
        .add("rate_hz", opts_.rate)
        .add("threads", static_cast<std::uint64_t>(opts_.threads))
        .add("scheduler", std::string(opts_.scheduler == scheduler_kind::wheel ? "wheel" : "timers"))
        .add("seed", static_cast<std::uint64_t>(opts_.seed))
        .add("elapsed_s", elapsed)
        .add("connected_at_end", end_connected_)
        .add("nodes", static_cast<std::uint64_t>(fleet_->node_count()))
        .add("connected_per_node_at_end", end_per_node_)
        .add("fleet_connected_s", fleet_->fleet_connected_after())
        .add("frames_sent", t.frames_sent)
        .add("bytes_sent", t.bytes_sent)
        .add("frames_per_s", static_cast<double>(t.frames_sent) / elapsed)
        .add("skipped", t.skipped)
        .add("errors", t.errors)
        .add("connect_attempts", t.connect_attempts)
        .add("reconnects", t.reconnects)
        .add("failovers", t.failovers)
        .add("connect_failures", t.connect_failures)
        .add("disconnects", t.disconnects)
        .add("late_ticks", t.late_ticks)
        .add("tick_lag_max_ms", fleet_->lag_total_ms())
        .add("ack", opts_.ack)
        .add("frames_acked", t.frames_acked)
        .add("frames_unacked", t.frames_unacked())
        .add("frames_resent", t.frames_resent)
        .add("ack_stalls", t.ack_stalls)
        .add("ack_errors", t.ack_errors)
        .add("autopilot", opts_.autopilot)
        .add("commands_received", t.commands_received)
        .add("commands_executed", t.commands_executed)
        .add("commands_refused", t.commands_refused)
        .add("commands_duplicate", t.commands_duplicate)
        .add("command_cancels", t.command_cancels)
        .add("command_acks_sent", t.command_acks_sent)
        .add("command_errors", t.command_errors)
        .add("command_rx_dropped", t.command_rx_dropped)
        .add("command_rx_doubled", t.command_rx_doubled)
        .add("command_tx_dropped", t.command_tx_dropped)
        .add("command_tx_doubled", t.command_tx_doubled)
        .add("mission_items_received", t.mission_items_received)
        .add("mission_acks_sent", t.mission_acks_sent)
        .add("mission_progress_sent", t.mission_progress_sent)
        .add("mission_errors", t.mission_errors)
        .add("mission_rx_dropped", t.mission_rx_dropped)
        .add("mission_rx_doubled", t.mission_rx_doubled)
        .add("mission_tx_dropped", t.mission_tx_dropped)
        .add("mission_tx_doubled", t.mission_tx_doubled)
        .add("mission_items_reached", t.mission_items_reached)
        .add("mission_photos", t.mission_photos)
        .add("missions_completed", t.missions_completed)
        .add("missions_aborted", t.missions_aborted)
        .add("missions_failed", t.missions_failed);
    for (std::size_t i = 0; i < t.closes.size(); ++i) {
      const std::string key = std::string("close_") + close_kind_name(static_cast<close_kind>(i));
      j.add(key.c_str(), t.closes[i]);
    }
    j.add("cpu_user_s", end_cpu_.user - cpu_start_.user)
        .add("cpu_system_s", end_cpu_.system - cpu_start_.system)
        .add("cpu_percent", 100.0 * cpu_total / elapsed)
        .add("max_rss_kib", static_cast<std::int64_t>(max_rss_kib()))
        .add("window_started", window_started_)
        .add("window_s", window)
        .add("window_frames_sent", w.frames_sent)
        .add("window_frames_per_s", static_cast<double>(w.frames_sent) / window)
        .add("window_skipped", w.skipped)
        .add("window_errors", w.errors)
        .add("window_reconnects", w.reconnects)
        .add("window_failovers", w.failovers)
        .add("window_disconnects", w.disconnects)
        .add("window_cpu_percent", 100.0 * cpu_window / window)
        .add("window_tick_lag_max_ms", end_lag_window_ms_)
        .add("observe", opts_.observe);
    if (observer_) {
      const auto& f = observer_->window();
      const auto& h = observer_->window_latency();
      const auto& ft = observer_->total();
      const auto& ht = observer_->total_latency();
      j.add("operator_connected", observer_->ever_connected())
          .add("operator_reconnects", observer_->reconnects())
          .add("operator_frames", f.frames)
          .add("operator_bytes", f.bytes)
          .add("operator_entries", f.entries)
          .add("operator_repeated", f.repeated)
          .add("operator_status_frames", f.status_frames)
          .add("operator_errors", f.errors)
          .add("operator_parse_errors", f.parse_errors)
          .add("latency_samples", h.count())
          .add("latency_p50_ms", h.percentile_ms(0.50))
          .add("latency_p90_ms", h.percentile_ms(0.90))
          .add("latency_p99_ms", h.percentile_ms(0.99))
          .add("latency_max_ms", h.max_ms())
          .add("latency_mean_ms", h.mean_ms())
          .add("latency_negative", h.negative())
          .add("drones_seen", static_cast<std::uint64_t>(f.drones_seen))
          .add("total_latency_samples", ht.count())
          .add("total_latency_p50_ms", ht.percentile_ms(0.50))
          .add("total_latency_p99_ms", ht.percentile_ms(0.99))
          .add("total_latency_max_ms", ht.max_ms())
          .add("total_drones_seen", static_cast<std::uint64_t>(ft.drones_seen));
    }
    std::printf("%s\n", j.str().c_str());
    std::fflush(stdout);
  }

  const options& opts_;
  net::io_context ioc_; // first: outlives everything that holds its sockets and timers
  net::any_io_executor ctl_;
  net::signal_set signals_;
  net::signal_set usr1_;
  net::steady_timer report_timer_, duration_timer_, shutdown_timer_, drain_timer_;
  std::optional<fleet> fleet_;
  std::optional<observer> observer_;

  steady::time_point start_, window_start_, last_report_, end_, shutdown_started_, drain_started_;
  cpu_times cpu_start_, window_cpu_, last_report_cpu_, end_cpu_;
  counter_totals window_base_, last_report_totals_, end_totals_;
  std::int64_t end_connected_ = 0;
  std::vector<std::int64_t> end_per_node_; ///< drones connected per node when the run ended
  double end_lag_window_ms_ = 0;
  bool window_started_ = false;
  bool shutting_down_ = false;
  bool forced_ = false;
};

} // namespace

int run(const options& opts) {
  app a(opts);
  return a.run();
}

} // namespace dccs::sim
