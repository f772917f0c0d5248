#include "sim/stats.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>

namespace dccs::sim {

namespace {
constexpr unsigned sub_bits = 8;
constexpr std::uint64_t sub_count = 1u << sub_bits;     // 256
constexpr std::uint64_t half_count = sub_count / 2;     // 128
constexpr std::size_t bucket_count = sub_count + 48 * half_count;
} // namespace

close_kind classify_close(std::uint16_t code) noexcept {
  switch (code) {
  case 1000:
    return close_kind::normal;
  case 1001:
    return close_kind::going_away;
  case 1008:
    return close_kind::policy;
  case 1009:
    return close_kind::too_big;
  case 1011:
    return close_kind::server_error;
  case 1013:
    return close_kind::try_later;
  case 4000:
    return close_kind::replaced;
  case 0:
  case 1005:
  case 1006:
    return close_kind::abnormal;
  default:
    return close_kind::other;
  }
}

const char* close_kind_name(close_kind k) noexcept {
  static constexpr const char* names[] = {"1000", "1001", "1008", "1009", "1011", "1013", "4000", "abnormal", "other"};
  return names[static_cast<std::size_t>(k)];
}

void counter_totals::add(const drone_counters& c) noexcept {
  frames_sent += c.frames_sent.get();
  bytes_sent += c.bytes_sent.get();
  skipped += c.skipped.get();
  errors += c.errors.get();
  connect_attempts += c.connect_attempts.get();
  reconnects += c.reconnects.get();
  failovers += c.failovers.get();
  connect_failures += c.connect_failures.get();
  disconnects += c.disconnects.get();
  late_ticks += c.late_ticks.get();
  frames_kept += c.frames_kept.get();
  frames_acked += c.frames_acked.get();
  frames_resent += c.frames_resent.get();
  ack_stalls += c.ack_stalls.get();
  ack_errors += c.ack_errors.get();
  commands_received += c.commands_received.get();
  commands_executed += c.commands_executed.get();
  commands_refused += c.commands_refused.get();
  commands_duplicate += c.commands_duplicate.get();
  command_cancels += c.command_cancels.get();
  command_acks_sent += c.command_acks_sent.get();
  command_errors += c.command_errors.get();
  command_rx_dropped += c.command_rx_dropped.get();
  command_rx_doubled += c.command_rx_doubled.get();
  command_tx_dropped += c.command_tx_dropped.get();
  command_tx_doubled += c.command_tx_doubled.get();
  mission_items_received += c.mission_items_received.get();
  mission_acks_sent += c.mission_acks_sent.get();
  mission_progress_sent += c.mission_progress_sent.get();
  mission_errors += c.mission_errors.get();
  mission_rx_dropped += c.mission_rx_dropped.get();
  mission_rx_doubled += c.mission_rx_doubled.get();
  mission_tx_dropped += c.mission_tx_dropped.get();
  mission_tx_doubled += c.mission_tx_doubled.get();
  mission_items_reached += c.mission_items_reached.get();
  mission_photos += c.mission_photos.get();
  missions_completed += c.missions_completed.get();
  missions_aborted += c.missions_aborted.get();
  missions_failed += c.missions_failed.get();
  for (std::size_t i = 0; i < closes.size(); ++i)
    closes[i] += c.closes[i].get();
}

counter_totals counter_totals::operator-(const counter_totals& o) const noexcept {
  counter_totals r = *this;
  r.frames_sent -= o.frames_sent;
  r.bytes_sent -= o.bytes_sent;
  r.skipped -= o.skipped;
  r.errors -= o.errors;
  r.connect_attempts -= o.connect_attempts;
  r.reconnects -= o.reconnects;
  r.failovers -= o.failovers;
  r.connect_failures -= o.connect_failures;
  r.disconnects -= o.disconnects;
  r.late_ticks -= o.late_ticks;
  r.frames_kept -= o.frames_kept;
  r.frames_acked -= o.frames_acked;
  r.frames_resent -= o.frames_resent;
  r.ack_stalls -= o.ack_stalls;
  r.ack_errors -= o.ack_errors;
  r.commands_received -= o.commands_received;
  r.commands_executed -= o.commands_executed;
  r.commands_refused -= o.commands_refused;
  r.commands_duplicate -= o.commands_duplicate;
  r.command_cancels -= o.command_cancels;
  r.command_acks_sent -= o.command_acks_sent;
  r.command_errors -= o.command_errors;
  r.command_rx_dropped -= o.command_rx_dropped;
  r.command_rx_doubled -= o.command_rx_doubled;
  r.command_tx_dropped -= o.command_tx_dropped;
  r.command_tx_doubled -= o.command_tx_doubled;
  r.mission_items_received -= o.mission_items_received;
  r.mission_acks_sent -= o.mission_acks_sent;
  r.mission_progress_sent -= o.mission_progress_sent;
  r.mission_errors -= o.mission_errors;
  r.mission_rx_dropped -= o.mission_rx_dropped;
  r.mission_rx_doubled -= o.mission_rx_doubled;
  r.mission_tx_dropped -= o.mission_tx_dropped;
  r.mission_tx_doubled -= o.mission_tx_doubled;
  r.mission_items_reached -= o.mission_items_reached;
  r.mission_photos -= o.mission_photos;
  r.missions_completed -= o.missions_completed;
  r.missions_aborted -= o.missions_aborted;
  r.missions_failed -= o.missions_failed;
  for (std::size_t i = 0; i < closes.size(); ++i)
    r.closes[i] -= o.closes[i];
  return r;
}

latency_histogram::latency_histogram() : buckets_(bucket_count, 0) {}

std::size_t latency_histogram::index_of(std::uint64_t us) noexcept {
  if (us < sub_count)
    return static_cast<std::size_t>(us);
  const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(us));
  const unsigned shift = msb - (sub_bits - 1); // us >> shift is in [128, 255]
  const std::size_t idx = sub_count + (shift - 1) * half_count + ((us >> shift) - half_count);
  return std::min(idx, bucket_count - 1);
}

double latency_histogram::middle_us(std::size_t index) noexcept {
  if (index < sub_count)
    return static_cast<double>(index) + 0.5;
  const std::size_t rel = index - sub_count;
  const unsigned shift = static_cast<unsigned>(rel / half_count) + 1;
  const double low = static_cast<double>((half_count + rel % half_count) << shift);
  return low + static_cast<double>(1ull << shift) / 2.0;
}

void latency_histogram::record(double ms) noexcept {
  if (!(ms >= 0.0)) { // negative (clock steps) or NaN
    ++negative_;
    ms = 0.0;
  }
  const double us = std::min(ms * 1000.0, 1e15);
  ++buckets_[index_of(static_cast<std::uint64_t>(us))];
  ++count_;
  sum_ms_ += ms;
  max_ms_ = std::max(max_ms_, ms);
}

void latency_histogram::reset() noexcept {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = negative_ = 0;
  max_ms_ = sum_ms_ = 0;
}

double latency_histogram::percentile_ms(double q) const noexcept {
  if (count_ == 0)
    return 0.0;
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank)
      return std::min(middle_us(i) / 1000.0, max_ms_);
  }
  return max_ms_;
}

cpu_times cpu_times::now() noexcept {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  cpu_times t;
  t.user = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  t.system = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  return t;
}

long max_rss_kib() noexcept {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

} // namespace dccs::sim
