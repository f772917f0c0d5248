#pragma once
/// Daily flight analytics as a plain class (docs/protocol.md "Analytics"): a drone's telemetry samples, fed in
/// (time, seq) order, become figures per UTC day (or per bucket of `rules::bucket_s`: the job counts per hour, and
/// a day is the sum of its hours). Nothing here blocks or talks to an actor or a database; the
/// rollup job (actors/analytics.cpp) feeds it from telemetry.samples and keeps its carried state between passes.
/// Unit tested in tests/actors/analytics_model_test.cpp.
///
/// Definitions (each figure of a day):
///   samples           samples whose time falls on the day
///   max_alt_m         the highest `alt` among them (m above mean sea level, as telemetry reports it)
///   armed_s           time armed: the interval from a sample to the next one counts when the first is armed and
///                     the gap is at most `max_gap_ms` (a longer gap is a lost link: nobody knows what happened)
///   flight_s          time armed and airborne, counted the same way
///   distance_m        great-circle distance between consecutive samples while airborne (same gap rule)
///   battery_used_pct  the sum of every drop of `battery` from one sample to the next (a rise, a charge or a
///                     battery swap, is not use)
///   flights           takeoffs: an armed drone climbing more than `takeoff_m` above its ground altitude
/// An interval is counted on the day of the sample that starts it. The ground altitude is the altitude of the
/// newest disarmed sample (a drone first seen armed takes its first altitude as ground); a drone lands when it
/// disarms or comes back within `landed_m` of its ground altitude.

#include <cstdint>
#include <map>
#include <optional>

namespace dccs::actors::analytics {

/// UTC day number (days since 1970-01-01) of a time in µs since the epoch.
inline std::int64_t day_of(std::int64_t time_us) {
  constexpr std::int64_t us_per_day = 86400LL * 1000000LL;
  return time_us >= 0 ? time_us / us_per_day : -((-time_us + us_per_day - 1) / us_per_day);
}

/// One sample, as far as analytics reads it.
struct sample {
  std::int64_t time_us = 0;
  double lat = 0;
  double lon = 0;
  double alt = 0;
  double battery = 0;
  bool armed = false;
};

/// The figures of one drone on one day.
struct day_figures {
  double flight_s = 0;
  double armed_s = 0;
  double distance_m = 0;
  std::optional<double> max_alt_m;
  double battery_used_pct = 0;
  std::int64_t flights = 0;
  std::int64_t samples = 0;
};

/// How samples become figures (analytics.max_gap_s, analytics.takeoff_m; docs/protocol.md).
struct rules {
  std::int64_t bucket_s = 86400; ///< figures per bucket of this many seconds (a divisor of a day), from the epoch
  std::int64_t max_gap_ms = 30000;
  double takeoff_m = 2.0;
  double landed_m = 0.5;
};

/// What carries from one sample to the next, across passes of the rollup job and across days.
struct carried {
  bool has_prev = false;
  sample prev;
  bool airborne = false;
  bool has_ground = false;
  double ground_alt = 0;
};

/// One drone's samples into figures per day.
class accumulator {
public:
  explicit accumulator(rules r = {}, carried state = {}) : rules_(r), state_(state) {}

  /// Adds the next sample (by time, then seq). A sample older than the previous one is counted on its day but
  /// starts no interval (the job feeds samples in order; this keeps a stray one harmless).
  void add(const sample& s);

  /// The figures so far, by bucket: time_us / (bucket_s × 10^6), floored (the UTC day with the default rules).
  const std::map<std::int64_t, day_figures>& days() const { return days_; }

  /// The bucket of a time in µs since the epoch.
  std::int64_t bucket_of(std::int64_t time_us) const;

  /// The state after the last sample added: what the next pass starts from.
  const carried& state() const { return state_; }

private:
  rules rules_;
  carried state_;
  std::map<std::int64_t, day_figures> days_;
};

} // namespace dccs::actors::analytics
