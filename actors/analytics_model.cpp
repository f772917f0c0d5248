#include "actors/analytics_model.hpp"

#include <algorithm>

#include "actors/mission_model.hpp"

namespace dccs::actors::analytics {

std::int64_t accumulator::bucket_of(std::int64_t time_us) const {
  auto width = rules_.bucket_s * 1000000;
  return time_us >= 0 ? time_us / width : -((-time_us + width - 1) / width);
}

void accumulator::add(const sample& s) {
  auto& today = days_[bucket_of(s.time_us)];
  ++today.samples;
  today.max_alt_m = today.max_alt_m ? std::max(*today.max_alt_m, s.alt) : s.alt;
  if (state_.has_prev && s.time_us >= state_.prev.time_us) {
    const auto& p = state_.prev;
    auto& day = days_[bucket_of(p.time_us)];
    auto gap_us = s.time_us - p.time_us;
    if (gap_us <= rules_.max_gap_ms * 1000 && p.armed) {
      auto dt = static_cast<double>(gap_us) / 1e6;
      day.armed_s += dt;
      if (state_.airborne) {
        day.flight_s += dt;
        day.distance_m += distance_m(p.lat, p.lon, s.lat, s.lon);
      }
    }
    if (s.battery < p.battery)
      day.battery_used_pct += p.battery - s.battery;
  } else if (state_.has_prev) {
    return; // out of order: counted, starts nothing, changes no state
  }
  // Ground, takeoff and landing.
  if (!s.armed) {
    state_.ground_alt = s.alt;
    state_.has_ground = true;
    state_.airborne = false;
  } else {
    if (!state_.has_ground) {
      state_.ground_alt = s.alt;
      state_.has_ground = true;
    }
    auto height = s.alt - state_.ground_alt;
    if (!state_.airborne && height > rules_.takeoff_m) {
      state_.airborne = true;
      ++today.flights;
    } else if (state_.airborne && height < rules_.landed_m) {
      state_.airborne = false;
    }
  }
  state_.prev = s;
  state_.has_prev = true;
}

} // namespace dccs::actors::analytics
