// Daily flight analytics as a plain class: a known flight against figures computed by hand, the gap rule, days,
// and the carried state that lets the rollup job count a drone's samples in pieces.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include "actors/analytics_model.hpp"

using namespace dccs::actors::analytics;

namespace {

/// 2026-11-26T10:00:00Z in µs.
constexpr std::int64_t t0 = 1795687200000LL * 1000;
constexpr std::int64_t s_us = 1000000;
/// 0.001 degree of latitude on the mean Earth sphere (R = 6371008.8 m), m.
const double step_m = 6371008.8 * 0.001 * M_PI / 180.0;

sample at(std::int64_t second, double lat, double alt, double battery, bool armed) {
  return {t0 + second * s_us, lat, 8.0, alt, battery, armed};
}

/// A flight of 30 one-second samples (see the hand count in the first test).
std::vector<sample> known_flight(std::int64_t start_s = 0) {
  std::vector<sample> v;
  auto t = start_s;
  for (int i = 0; i < 5; ++i) // s0-s4: on the ground, disarmed
    v.push_back(at(t++, 47.0, 400, 100, false));
  for (int i = 0; i < 2; ++i) // s5-s6: armed on the ground
    v.push_back(at(t++, 47.0, 400, 100, true));
  for (int k = 1; k <= 5; ++k) // s7-s11: climbing 10 m a second (takeoff at s7: 10 m > 2 m)
    v.push_back(at(t++, 47.0, 400 + 10 * k, 99, true));
  for (int k = 1; k <= 10; ++k) // s12-s21: 0.001 degree north a second, battery -0.5 a second
    v.push_back(at(t++, 47.0 + 0.001 * k, 450, 99 - 0.5 * k, true));
  for (double alt : {440.0, 430.0, 420.0, 410.0, 400.3}) // s22-s26: descending, landed at s26 (0.3 m < 0.5 m)
    v.push_back(at(t++, 47.010, alt, 94, true));
  v.push_back(at(t++, 47.010, 400.3, 94, true));   // s27: armed on the ground
  v.push_back(at(t++, 47.010, 400.3, 94, false));  // s28: disarmed
  v.push_back(at(t++, 47.010, 400.3, 100, false)); // s29: a fresh battery (a rise: not use)
  return v;
}

day_figures only_day(const accumulator& acc) {
  REQUIRE(acc.days().size() == 1);
  return acc.days().begin()->second;
}

} // namespace

TEST_CASE("a known flight: figures as counted by hand") {
  accumulator acc;
  for (const auto& s : known_flight())
    acc.add(s);
  auto f = only_day(acc);
  CHECK(acc.days().begin()->first == day_of(t0));
  CHECK(f.samples == 30);
  CHECK(f.armed_s == Approx(23));  // intervals starting at the armed samples s5..s27
  CHECK(f.flight_s == Approx(19)); // airborne from s7 (takeoff) to s26 (landed): intervals s7..s25
  CHECK(f.distance_m == Approx(10 * step_m).epsilon(1e-9));
  CHECK(f.distance_m == Approx(1111.95).epsilon(1e-5));
  REQUIRE(f.max_alt_m);
  CHECK(*f.max_alt_m == 450);
  CHECK(f.battery_used_pct == Approx(6)); // 100 -> 99, then 99 -> 94; the swap to 100 is not use
  CHECK(f.flights == 1);
  CHECK_FALSE(acc.state().airborne);
  CHECK(acc.state().ground_alt == Approx(400.3));
}

TEST_CASE("counted in pieces through the carried state, the figures are the same as in one piece") {
  auto flight = known_flight();
  accumulator whole;
  for (const auto& s : flight)
    whole.add(s);
  for (std::size_t cut = 1; cut < flight.size(); ++cut) {
    INFO("cut after sample " << cut);
    accumulator first;
    for (std::size_t i = 0; i < cut; ++i)
      first.add(flight[i]);
    accumulator second{rules{}, first.state()};
    for (std::size_t i = cut; i < flight.size(); ++i)
      second.add(flight[i]);
    auto a = first.days().begin()->second;
    auto b = second.days().begin()->second;
    auto w = only_day(whole);
    CHECK(a.samples + b.samples == w.samples);
    CHECK(a.armed_s + b.armed_s == Approx(w.armed_s));
    CHECK(a.flight_s + b.flight_s == Approx(w.flight_s));
    CHECK(a.distance_m + b.distance_m == Approx(w.distance_m));
    CHECK(a.battery_used_pct + b.battery_used_pct == Approx(w.battery_used_pct));
    CHECK(a.flights + b.flights == w.flights);
  }
}

TEST_CASE("a gap longer than max_gap counts as neither flight nor armed time, nor distance") {
  rules r;
  r.max_gap_ms = 30000;
  accumulator acc{r};
  acc.add(at(0, 47.0, 400, 100, false));
  acc.add(at(1, 47.0, 420, 100, true)); // first armed sample 20 m up: ground is 400 (the disarmed sample), takeoff
  acc.add(at(2, 47.001, 420, 99, true));
  acc.add(at(62, 47.002, 420, 90, true)); // 60 s later: a lost link
  acc.add(at(63, 47.003, 420, 90, true));
  auto f = only_day(acc);
  CHECK(f.flights == 1);
  CHECK(f.flight_s == Approx(2)); // 1->2 and 62->63
  CHECK(f.armed_s == Approx(2));
  CHECK(f.distance_m == Approx(2 * step_m).epsilon(1e-9));
  CHECK(f.battery_used_pct == Approx(10)); // what was used across the gap was used all the same
}

TEST_CASE("a drone first seen armed takes its altitude as ground, and a flight over midnight counts on both days") {
  accumulator acc;
  // 23:59:58 and 23:59:59 of the day before t0's day ... 00:00:01.
  auto midnight = day_of(t0) * 86400 * s_us;
  auto s = [&](std::int64_t offset_s, double alt, bool armed) {
    return sample{midnight + offset_s * s_us, 47.0, 8.0, alt, 50, armed};
  };
  acc.add(s(-3, 1000, true)); // mid-air when first seen: ground 1000, not a takeoff
  acc.add(s(-2, 1010, true)); // climbs 10 m: a takeoff
  acc.add(s(-1, 1010, true));
  acc.add(s(0, 1010, true));
  acc.add(s(1, 1010, true));
  REQUIRE(acc.days().size() == 2);
  auto before = acc.days().at(day_of(midnight) - 1);
  auto after = acc.days().at(day_of(midnight));
  CHECK(before.flights == 1);
  CHECK(after.flights == 0);
  CHECK(before.samples == 3);
  CHECK(after.samples == 2);
  CHECK(before.armed_s == Approx(3)); // -3->-2, -2->-1, -1->0: counted on the day they start
  CHECK(before.flight_s == Approx(2)); // airborne from -2
  CHECK(after.flight_s == Approx(1));
  CHECK(*before.max_alt_m == 1010);
}

TEST_CASE("a sample older than the previous one is counted on its day and changes nothing else") {
  accumulator acc;
  acc.add(at(0, 47.0, 400, 100, false));
  acc.add(at(10, 47.0, 400, 90, true));
  acc.add(at(5, 47.0, 900, 10, true)); // late
  auto f = only_day(acc);
  CHECK(f.samples == 3);
  CHECK(*f.max_alt_m == 900);
  CHECK(f.battery_used_pct == Approx(10));
  CHECK(f.flights == 0);
  CHECK(acc.state().prev.time_us == t0 + 10 * s_us);
}

TEST_CASE("day_of floors to the UTC day, before 1970 too") {
  CHECK(day_of(0) == 0);
  CHECK(day_of(86400LL * s_us - 1) == 0);
  CHECK(day_of(86400LL * s_us) == 1);
  CHECK(day_of(-1) == -1);
  CHECK(day_of(-86400LL * s_us) == -1);
  CHECK(day_of(-86400LL * s_us - 1) == -2);
}

TEST_CASE("counted per hour (as the rollup job does), the hours of a day add up to the day") {
  // The known flight across 11:00: ten seconds before, twenty after.
  auto flight = known_flight(3600 - 10);
  rules hourly;
  hourly.bucket_s = 3600;
  accumulator by_hour{hourly};
  accumulator by_day;
  for (const auto& s : flight) {
    by_hour.add(s);
    by_day.add(s);
  }
  REQUIRE(by_hour.days().size() == 2);
  auto d = only_day(by_day);
  day_figures sum;
  double max_alt = 0;
  for (const auto& [hour, f] : by_hour.days()) {
    CHECK(hour == by_hour.bucket_of(flight.front().time_us) + (hour - by_hour.days().begin()->first));
    sum.samples += f.samples;
    sum.armed_s += f.armed_s;
    sum.flight_s += f.flight_s;
    sum.distance_m += f.distance_m;
    sum.battery_used_pct += f.battery_used_pct;
    sum.flights += f.flights;
    max_alt = std::max(max_alt, *f.max_alt_m);
  }
  CHECK(sum.samples == d.samples);
  CHECK(sum.armed_s == Approx(d.armed_s));
  CHECK(sum.flight_s == Approx(d.flight_s));
  CHECK(sum.distance_m == Approx(d.distance_m));
  CHECK(sum.battery_used_pct == Approx(d.battery_used_pct));
  CHECK(sum.flights == d.flights);
  CHECK(max_alt == *d.max_alt_m);
  CHECK(by_hour.days().begin()->second.samples == 10); // 10:59:50 .. 10:59:59
  CHECK(by_hour.days().begin()->second.flights == 1);  // the takeoff (the 8th sample, 10:59:57) before 11:00
  CHECK(std::next(by_hour.days().begin())->second.flights == 0);
  CHECK(std::next(by_hour.days().begin())->second.flight_s == Approx(16)); // 11:00:00 .. the landing at 11:00:16
}
