#pragma once

#include "sim/drone.hpp"
#include "sim/options.hpp"
#include "sim/stats.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dccs::sim {

/// Limits the number of connection attempts in flight (the ramp): a drone asks for a slot before
/// connecting and gives it back when it got its `welcome` or failed.
class connect_gate {
public:
  explicit connect_gate(std::size_t limit) : limit_(limit) {}

  /// Starts `d` now if a slot is free, or queues it.
  void request(drone* d);
  /// Frees a slot and starts the next queued drone, if any.
  void release();
  /// Forgets the queue (shutdown).
  void clear() { queue_.clear(); }
  std::size_t in_flight() const noexcept { return in_flight_; }

private:
  std::size_t limit_;
  std::size_t in_flight_ = 0;
  std::deque<drone*> queue_;
};

/// One timer per shard ticking `slots` times per telemetry period; each tick serves the drones of
/// one slot, so every drone ticks once per period, spread evenly over the period.
class tick_wheel {
public:
  tick_wheel(boost::asio::any_io_executor ex, double rate_hz, drone_counters& counters);

  /// Places `d` in the slot matching its phase.
  void add(drone* d);
  void start();
  void stop();

private:
  void arm();
  void on_timer(const boost::system::error_code& ec);

  boost::asio::steady_timer timer_;
  std::vector<std::vector<drone*>> slots_;
  std::chrono::nanoseconds period_;
  std::chrono::nanoseconds tick_;
  std::chrono::steady_clock::time_point next_{};
  std::size_t cursor_ = 0;
  bool running_ = false;
  drone_counters& counters_;
};

/// One node the drones connect to (one --url), resolved.
struct node_target {
  std::string url;                         ///< as given, for messages
  boost::asio::ip::tcp::endpoint endpoint; ///< resolved at start
  std::string host_header;                 ///< HOST:PORT
  std::string path;                        ///< the drone endpoint, e.g. /ws/drone
};

/// State shared by all shards (rarely written: only on connect, disconnect and shutdown).
struct fleet_shared {
  std::size_t total_drones = 0;
  std::vector<node_target> nodes; ///< in --url order; never empty, constant while running
  std::chrono::steady_clock::time_point started{};
  std::atomic<std::int64_t> connected{0};
  std::vector<std::atomic<std::int64_t>> connected_per_node; ///< one per node, same order
  std::atomic<std::uint64_t> welcomes{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> stopped_drones{0};
  std::atomic<std::int64_t> fleet_connected_us{-1}; ///< first time all drones were connected
  std::atomic<int> logged_errors{0};
  std::atomic<int> logged_failures{0};
};

/// A group of drones driven by one executor (the io_context's when --threads 1, a strand otherwise).
class shard {
public:
  shard(boost::asio::any_io_executor ex, const options& opts, fleet_shared& shared, std::size_t gate_limit);

  boost::asio::any_io_executor executor() const { return ex_; }
  const options& opts() const noexcept { return opts_; }
  /// The nodes (--url), in order; a drone connects to one of them at a time.
  std::size_t node_count() const noexcept { return shared_.nodes.size(); }
  const node_target& node(std::size_t i) const noexcept { return shared_.nodes[i]; }
  /// Simulated seconds per tick.
  double tick_dt() const noexcept { return tick_dt_; }
  std::chrono::nanoseconds period() const noexcept { return period_; }
  bool stopping() const noexcept { return shared_.stopping.load(std::memory_order_relaxed); }
  /// --stop-when-acked: the duration is over, drones only resend what is not acknowledged yet.
  bool draining() const noexcept { return shared_.draining.load(std::memory_order_relaxed); }
  /// --ack: frames a drone may write per tick (resent and new): --ack-max-rate / --rate, at least 1.
  std::uint32_t ack_budget() const noexcept { return ack_budget_; }

  drone_counters& counters() noexcept { return counters_; }
  const drone_counters& counters() const noexcept { return counters_; }
  connect_gate& gate() noexcept { return gate_; }
  simdjson::ondemand::parser& parser() noexcept { return parser_; }
  /// The `commands` array of every drone's hello ("" with --commands none: no such field).
  std::string_view hello_commands() const noexcept { return hello_commands_; }

  void add(std::unique_ptr<drone> d);
  void start();
  void stop();
  void force_close();
  /// Appends "drone_id highest_acked_seq highest_sent_seq" per drone (--ack; call when the io_context has stopped).
  void write_ack_report(std::FILE* f) const;

  /// A drone got its `welcome` from node `node` / lost an established connection to node `node` /
  /// reached its final state.
  void on_connected(std::size_t node);
  void on_disconnected(std::size_t node);
  void on_stopped();

  /// Prints an `error` frame received by a drone (the first few of the run only).
  void log_error_frame(const std::string& id, std::string_view frame);
  /// Prints why a connection attempt to node `node` failed (the first few of the run only).
  void log_failure(const std::string& id, std::size_t node, const char* what, const boost::system::error_code& ec);

private:
  boost::asio::any_io_executor ex_;
  const options& opts_;
  fleet_shared& shared_;
  double tick_dt_;
  std::chrono::nanoseconds period_;
  std::uint32_t ack_budget_;
  drone_counters counters_;
  connect_gate gate_;
  std::optional<tick_wheel> wheel_;
  simdjson::ondemand::parser parser_;
  std::string hello_commands_;
  std::vector<std::unique_ptr<drone>> drones_;
};

/// All drones of the run, split into `--threads` shards.
class fleet {
public:
  /// `nodes`: every --url, resolved, in order (at least one).
  fleet(boost::asio::io_context& ioc, const options& opts, std::vector<node_target> nodes);

  /// Creates nothing new: starts every drone (connections ramp through the gates).
  void start();
  /// Closes every connection cleanly; drones stop reconnecting.
  void stop();
  /// Closes every socket at once (after the shutdown grace period).
  void force_close();
  /// --stop-when-acked: drones stop generating telemetry and keep resending until acknowledged.
  void drain() noexcept { shared_.draining.store(true); }
  /// Writes the --ack-report file; false (with a message on stderr) if it cannot be written.
  /// Only once the io_context has stopped.
  bool write_ack_report(const std::string& path) const;

  bool all_stopped() const noexcept { return shared_.stopped_drones.load() >= shared_.total_drones; }
  std::size_t size() const noexcept { return shared_.total_drones; }
  std::int64_t connected() const noexcept { return shared_.connected.load(std::memory_order_relaxed); }
  /// Drones connected to each node, in --url order.
  std::vector<std::int64_t> connected_per_node() const;
  std::size_t node_count() const noexcept { return shared_.nodes.size(); }
  bool ever_connected() const noexcept { return shared_.welcomes.load(std::memory_order_relaxed) > 0; }
  /// Seconds from start() until every drone was connected for the first time, if that happened.
  std::optional<double> fleet_connected_after() const noexcept;
  /// Sum of every shard's counters.
  counter_totals totals() const noexcept;
  /// Largest tick lag in milliseconds: over the run, since the window began, since the last call
  /// (each call to a `take_` function restarts that period).
  double lag_total_ms() const noexcept;
  double take_lag_window_ms() noexcept;
  double take_lag_interval_ms() noexcept;

private:
  const options& opts_;
  fleet_shared shared_;
  std::vector<std::unique_ptr<shard>> shards_;
};

} // namespace dccs::sim
