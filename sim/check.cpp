// dccs-sim-check: self-check of the simulator's pure parts (flight model, frame format, histogram,
// options). No network. Exit status 0 when every check passes.
#include "sim/flight.hpp"
#include "sim/frame.hpp"
#include "sim/options.hpp"
#include "sim/stats.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace {

int failures = 0;

#define CHECK(cond)                                                                                                    \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      ++failures;                                                                                                      \
      if (failures < 20)                                                                                               \
        std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                  \
    }                                                                                                                  \
  } while (0)

using namespace dccs::sim;

constexpr double pi = 3.14159265358979323846;

double distance_m(double lat1, double lon1, double lat2, double lon2) {
  const double dlat = (lat2 - lat1) * 111320.0;
  const double dlon = (lon2 - lon1) * 111320.0 * std::cos(lat1 * pi / 180.0);
  return std::hypot(dlat, dlon);
}

/// Validates one parsed frame against docs/protocol.md.
void check_frame(const nlohmann::json& j, std::uint64_t seq) {
  CHECK(j.at("type") == "telemetry");
  CHECK(j.at("seq").is_number_unsigned() && j.at("seq").get<std::uint64_t>() == seq);
  CHECK(j.at("ts").is_number_float() && j.at("ts").get<double>() > 1.6e12);
  auto in = [&](const char* k, double lo, double hi) {
    const auto& v = j.at(k);
    CHECK(v.is_number());
    const double d = v.get<double>();
    CHECK(std::isfinite(d) && d >= lo && d <= hi);
  };
  in("lat", -90, 90);
  in("lon", -180, 180);
  in("alt", -1000, 100000);
  in("heading", 0, 360);
  in("speed", 0, 1000);
  in("vspeed", -1000, 1000);
  in("battery", 0, 100);
  CHECK(j.at("armed").is_boolean());
  const auto mode = j.at("mode").get<std::string>();
  CHECK(mode == "STANDBY" || mode == "TAKEOFF" || mode == "MISSION" || mode == "RTL" || mode == "LAND");
  in("roll", -180, 360);
  in("pitch", -180, 360);
  in("yaw", -180, 360);
  in("voltage", 0, 1000);
  CHECK(j.at("sats").is_number_integer() && j.at("sats").get<int>() >= 0 && j.at("sats").get<int>() <= 255);
  CHECK(j.at("fix").is_number_integer() && j.at("fix").get<int>() >= 0 && j.at("fix").get<int>() <= 10);
}

void check_flights() {
  fleet_area area;
  const int drones = 100;
  const double dt = 0.2;                      // 5 Hz
  const int steps = static_cast<int>(3 * 3600 / dt); // three hours
  std::set<std::string> modes_seen;
  int cycles = 0, rtl_entries = 0;
  char buf[max_frame_size];
  for (int i = 0; i < drones; ++i) {
    flight_model m(area, 42, static_cast<std::uint32_t>(i));
    CHECK(distance_m(area.center_lat, area.center_lon, m.home_lat(), m.home_lon()) <= area.home_radius_m * 1.01);
    flight_mode prev_mode = m.state().mode;
    double prev_lat = m.state().lat, prev_lon = m.state().lon;
    for (int s = 0; s < steps; ++s) {
      m.step(dt);
      const auto& t = m.state();
      modes_seen.insert(mode_name(t.mode));
      // Ranges, on every step.
      CHECK(t.lat >= -90 && t.lat <= 90 && t.lon >= -180 && t.lon <= 180);
      CHECK(t.heading >= 0 && t.heading < 360);
      CHECK(t.battery >= 0 && t.battery <= 100);
      CHECK(t.speed >= 0 && t.speed <= 15.0001);
      CHECK(std::fabs(t.vspeed) <= 3.0001);
      CHECK(m.distance_from_home() <= area.waypoint_radius_m + 1.0);
      CHECK(t.mode == flight_mode::standby || t.armed);
      // Flying straight in a mission: the track points along the heading (towards the waypoint).
      const double moved = distance_m(prev_lat, prev_lon, t.lat, t.lon);
      if (t.mode == flight_mode::mission && prev_mode == flight_mode::mission && moved > 1.0) {
        const double dn = (t.lat - prev_lat) * 111320.0;
        const double de = (t.lon - prev_lon) * 111320.0 * std::cos(t.lat * pi / 180.0);
        double track = std::atan2(de, dn) * 180.0 / pi;
        if (track < 0)
          track += 360.0;
        double diff = std::fabs(track - t.heading);
        diff = std::min(diff, 360.0 - diff);
        CHECK(diff < 1.0);
      }
      if (t.mode == flight_mode::rtl && prev_mode == flight_mode::mission) {
        ++rtl_entries;
        CHECK(t.battery < flight_model::rtl_battery);
      }
      if (t.mode == flight_mode::takeoff && prev_mode == flight_mode::standby)
        ++cycles;
      if (prev_mode == flight_mode::land && t.mode == flight_mode::standby)
        CHECK(!t.armed);
      prev_mode = t.mode;
      prev_lat = t.lat;
      prev_lon = t.lon;
      // The wire format, on a sample of steps.
      if (s % 97 == 0) {
        const std::size_t n = format_telemetry(buf, sizeof buf, t, static_cast<std::uint64_t>(s), 1764189000123456LL);
        CHECK(n > 0 && n < sizeof buf);
        const auto j = nlohmann::json::parse(std::string(buf, n), nullptr, false);
        CHECK(!j.is_discarded());
        if (!j.is_discarded())
          check_frame(j, static_cast<std::uint64_t>(s));
      }
    }
  }
  for (const char* mode : {"STANDBY", "TAKEOFF", "MISSION", "RTL", "LAND"})
    CHECK(modes_seen.count(mode) == 1);
  CHECK(cycles >= drones * 2);  // in three hours every drone flies several times
  CHECK(rtl_entries >= drones); // and comes home on a low battery
  std::printf("flights: %d drones x 3 h, %d takeoffs, %d low-battery returns\n", drones, cycles, rtl_entries);
}

void check_determinism() {
  fleet_area area;
  flight_model a(area, 7, 3), b(area, 7, 3), c(area, 8, 3);
  bool differs = false;
  for (int s = 0; s < 20000; ++s) {
    a.step(0.1);
    b.step(0.1);
    c.step(0.1);
    char fa[max_frame_size], fb[max_frame_size];
    const std::size_t na = format_telemetry(fa, sizeof fa, a.state(), 0, 0);
    const std::size_t nb = format_telemetry(fb, sizeof fb, b.state(), 0, 0);
    CHECK(na == nb && std::memcmp(fa, fb, na) == 0); // same seed, same flight
    differs = differs || a.state().lat != c.state().lat;
  }
  CHECK(differs);
}

void check_format() {
  char buf[max_frame_size];
  std::size_t n = format_drone_id(buf, sizeof buf, "sim-", 42);
  CHECK(std::string(buf, n) == "sim-00042");
  n = format_hello(buf, sizeof buf, "sim-00042");
  CHECK(std::string(buf, n) == R"({"type":"hello","drone_id":"sim-00042","model":"sim-quad","fw":"1.0"})");

  telemetry_state t;
  t.lat = 47.3977;
  t.lon = 8.5456;
  t.alt = 450.25;
  t.heading = 359.999; // rounds to 360.00, still valid
  t.vspeed = -0.0001;  // no "-0.00"
  t.battery = 99.5;
  t.armed = true;
  t.mode = flight_mode::rtl;
  t.sats = 14;
  t.fix = 3;
  n = format_telemetry(buf, sizeof buf, t, 7, 1764189000123007LL);
  const std::string s(buf, n);
  CHECK(s.find(R"("seq":7,"ts":1764189000123.007,)") != std::string::npos);
  CHECK(s.find(R"("heading":360.00,)") != std::string::npos);
  CHECK(s.find(R"("vspeed":0.00,)") != std::string::npos);
  CHECK(s.find(R"("armed":true,"mode":"RTL")") != std::string::npos);
  const auto j = nlohmann::json::parse(s, nullptr, false);
  CHECK(!j.is_discarded());
  if (!j.is_discarded())
    check_frame(j, 7);
  CHECK(format_telemetry(buf, 40, t, 7, 0) == 0); // too small: refused, not truncated
}

void check_histogram() {
  latency_histogram h;
  for (int i = 1; i <= 1000; ++i)
    h.record(i * 0.01); // 0.01 .. 10 ms
  CHECK(h.count() == 1000);
  CHECK(std::fabs(h.percentile_ms(0.5) - 5.0) < 0.05);
  CHECK(std::fabs(h.percentile_ms(0.99) - 9.9) < 0.05);
  CHECK(h.max_ms() == 10.0);
  h.record(-1);
  CHECK(h.negative() == 1);
  h.record(123456.0);
  CHECK(std::fabs(h.percentile_ms(1.0) - 123456.0) < 1e-9);
  h.reset();
  CHECK(h.count() == 0 && h.percentile_ms(0.5) == 0.0);
}

void check_options() {
  {
    const char* argv[] = {"dccs-sim", "--url", "ws://localhost:9000/base/", "--drones=10", "--rate", "2.5", "--observe", "--home", "1.5,-2.25"};
    const auto r = parse_options(9, argv);
    CHECK(r.error.empty());
    CHECK(r.opts.host == "localhost" && r.opts.port == "9000" && r.opts.drone_path() == "/base/ws/drone");
    CHECK(r.opts.drones == 10 && r.opts.rate == 2.5 && r.opts.observe && r.opts.home_lat == 1.5 && r.opts.home_lon == -2.25);
  }
  {
    const char* argv[] = {"dccs-sim", "--prefix", "bad id"};
    CHECK(!parse_options(3, argv).error.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--url", "http://x:1"};
    CHECK(!parse_options(3, argv).error.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--bogus", "1"};
    CHECK(!parse_options(3, argv).error.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--help"};
    CHECK(parse_options(2, argv).help);
  }
}

} // namespace

int main() {
  check_format();
  check_histogram();
  check_options();
  check_determinism();
  check_flights();
  if (failures) {
    std::fprintf(stderr, "dccs-sim-check: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("dccs-sim-check: all checks passed\n");
  return 0;
}
