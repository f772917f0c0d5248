#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dccs::sim {

/// A counter written by one thread (its shard) and read by others: relaxed load + store, no locked
/// instruction on the hot path.
class counter {
public:
  void add(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> v_{0};
};

/// Largest value seen since the last take(); written by one thread, read and reset by another (a
/// lost update only loses a diagnostic sample).
class max_gauge {
public:
  void observe(std::uint64_t v) noexcept {
    if (v > v_.load(std::memory_order_relaxed))
      v_.store(v, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
  std::uint64_t take() noexcept { return v_.exchange(0, std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> v_{0};
};

/// Close codes counted separately (docs/protocol.md), plus "abnormal" (no close frame) and "other".
enum class close_kind : std::size_t {
  normal,
  going_away,
  policy,
  too_big,
  server_error,
  try_later,
  replaced,
  abnormal,
  other,
  count_
};

/// Maps a WebSocket close code to its counter.
close_kind classify_close(std::uint16_t code) noexcept;

/// Name used in reports and JSON: "1000", "1001", "1008", "1009", "1011", "1013", "4000", "abnormal", "other".
const char* close_kind_name(close_kind k) noexcept;

/// Counters of one shard of drones.
struct drone_counters {
  counter frames_sent;      ///< telemetry frames written
  counter bytes_sent;       ///< payload bytes of telemetry frames
  counter skipped;          ///< ticks skipped because the previous frame was still being written
  counter errors;           ///< `error` frames received
  counter connect_attempts; ///< connection attempts (first ones and reconnects)
  counter reconnects;       ///< attempts after a drone had already tried once
  counter failovers;        ///< reconnects to another node than the previous attempt's (several --url)
  counter connect_failures; ///< attempts that never got a `welcome`
  counter disconnects;      ///< established connections that ended
  counter late_ticks;       ///< scheduler ticks that ran more than one period late
  // --ack only:
  counter frames_kept;   ///< telemetry frames generated and kept until acknowledged
  counter frames_acked;  ///< kept frames released by an `ack`
  counter frames_resent; ///< telemetry frames written again after a reconnect (also in frames_sent)
  counter ack_stalls;    ///< ticks that generated no frame because the ack window was full
  counter ack_errors;    ///< `ack` frames above the highest seq written on that connection
  // Commands (docs/protocol.md, "Commands"):
  counter commands_received;  ///< `command` frames handled (a frame doubled by --dup-rate twice, a dropped one not)
  counter commands_executed;  ///< command ids carried out (first receipt answered accepted or succeeded)
  counter commands_refused;   ///< first receipts answered denied, temporarily_rejected, unsupported or failed
                              ///< (expired); with --commands none every command frame
  counter commands_duplicate; ///< repeated command ids: answered with their newest ack again, not executed
  counter command_cancels;    ///< `command_cancel` frames handled
  counter command_acks_sent;  ///< `command_ack` frames written
  counter command_errors;     ///< command frames that could not be answered (not JSON, no usable command_id)
  counter command_rx_dropped; ///< --drop-rate: received command frames ignored
  counter command_rx_doubled; ///< --dup-rate: received command frames handled twice
  counter command_tx_dropped; ///< --drop-rate: command_acks never written
  counter command_tx_doubled; ///< --dup-rate: command_acks written twice
  // Missions (sim/mission.hpp):
  counter mission_items_received; ///< `mission_item` frames handled (doubled by --dup-rate: twice; dropped: not)
  counter mission_acks_sent;      ///< `mission_ack` frames written
  counter mission_progress_sent;  ///< `mission_progress` frames written
  counter mission_errors;         ///< mission_item frames not answerable (not JSON, no usable mission_id or seq)
  counter mission_rx_dropped;     ///< --drop-rate: received mission_item frames ignored
  counter mission_rx_doubled;     ///< --dup-rate: received mission_item frames handled twice
  counter mission_tx_dropped;     ///< --drop-rate: mission_acks never written
  counter mission_tx_doubled;     ///< --dup-rate: mission_acks written twice
  counter mission_items_reached;  ///< mission items arrived at (`reached` events)
  counter mission_photos;         ///< photos taken at items (action photo)
  counter missions_completed;     ///< `completed` events
  counter missions_aborted;       ///< `aborted` events (a command ended the mission)
  counter missions_failed;        ///< `failed` events (battery exhausted)
  /// How late telemetry ticks ran behind their schedule (µs): over the run, the window, the report interval.
  max_gauge lag_total_us, lag_window_us, lag_interval_us;

  void observe_lag(std::uint64_t us) noexcept {
    lag_total_us.observe(us);
    lag_window_us.observe(us);
    lag_interval_us.observe(us);
  }
  std::array<counter, static_cast<std::size_t>(close_kind::count_)> closes;
};

/// Plain copy of counters, summed over shards; subtractable for a window.
struct counter_totals {
  std::uint64_t frames_sent = 0, bytes_sent = 0, skipped = 0, errors = 0, connect_attempts = 0,
                reconnects = 0, failovers = 0, connect_failures = 0, disconnects = 0, late_ticks = 0, frames_kept = 0,
                frames_acked = 0, frames_resent = 0, ack_stalls = 0, ack_errors = 0, commands_received = 0,
                commands_executed = 0, commands_refused = 0, commands_duplicate = 0, command_cancels = 0,
                command_acks_sent = 0, command_errors = 0, command_rx_dropped = 0, command_rx_doubled = 0,
                command_tx_dropped = 0, command_tx_doubled = 0, mission_items_received = 0, mission_acks_sent = 0,
                mission_progress_sent = 0, mission_errors = 0, mission_rx_dropped = 0, mission_rx_doubled = 0,
                mission_tx_dropped = 0, mission_tx_doubled = 0, mission_items_reached = 0, mission_photos = 0,
                missions_completed = 0, missions_aborted = 0, missions_failed = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(close_kind::count_)> closes{};

  void add(const drone_counters& c) noexcept;
  /// Frames kept and not acknowledged (a level, not a count: meaningless on a difference).
  std::uint64_t frames_unacked() const noexcept { return frames_kept - frames_acked; }
  /// Whether any command frame arrived (the reports show the command counters then).
  bool any_commands() const noexcept {
    return commands_received + command_cancels + command_errors + command_rx_dropped > 0;
  }
  /// Whether any mission_item frame arrived (the final report shows the mission counters then).
  bool any_missions() const noexcept { return mission_items_received + mission_errors + mission_rx_dropped > 0; }
  counter_totals operator-(const counter_totals& o) const noexcept;
};

/// Latency histogram with ~0.4 % resolution (256 sub-buckets per power of two of microseconds).
/// Single-threaded.
class latency_histogram {
public:
  latency_histogram();

  /// Records one latency in milliseconds (negative values count as 0 and are counted apart).
  void record(double ms) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t negative() const noexcept { return negative_; }
  double max_ms() const noexcept { return max_ms_; }
  double mean_ms() const noexcept { return count_ ? sum_ms_ / static_cast<double>(count_) : 0.0; }
  /// Value at quantile q in [0, 1], in milliseconds (0 when empty).
  double percentile_ms(double q) const noexcept;

private:
  static std::size_t index_of(std::uint64_t us) noexcept;
  static double middle_us(std::size_t index) noexcept;

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0, negative_ = 0;
  double max_ms_ = 0, sum_ms_ = 0;
};

/// CPU time of this process (user + system), seconds.
struct cpu_times {
  double user = 0, system = 0;
  static cpu_times now() noexcept;
};

/// Peak resident set size of this process in KiB.
long max_rss_kib() noexcept;

} // namespace dccs::sim
