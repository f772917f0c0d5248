// dccs-sim-check: self-check of the simulator's pure parts (flight model, frame format, histogram,
// options, ack bookkeeping, node choice, the autopilot, the command and mission frames, the command log) and of --ack,
// failover between --url nodes, commands and missions end to end against fake nodes on 127.0.0.1 (a few seconds each).
// Exit status 0 when every check passes.
#include "sim/ack.hpp"
#include "sim/app.hpp"
#include "sim/autopilot.hpp"
#include "sim/command.hpp"
#include "sim/command_log.hpp"
#include "sim/command_parse.hpp"
#include "sim/flight.hpp"
#include "sim/frame.hpp"
#include "sim/mission.hpp"
#include "sim/options.hpp"
#include "sim/stats.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
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
  CHECK(mode == "STANDBY" || mode == "TAKEOFF" || mode == "MISSION" || mode == "RTL" || mode == "LAND" ||
        mode == "GUIDED" || mode == "HOLD");
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
  n = format_hello(buf, sizeof buf, "sim-00042", true);
  CHECK(std::string(buf, n) == R"({"type":"hello","drone_id":"sim-00042","model":"sim-quad","fw":"1.0","ack":true})");
  n = format_hello(buf, sizeof buf, "sim-00042", true, kind_set::all().json_array());
  CHECK(std::string(buf, n) == R"({"type":"hello","drone_id":"sim-00042","model":"sim-quad","fw":"1.0","ack":true,)"
                               R"("commands":["arm","disarm","takeoff","land","rtl","goto","hold","resume","set_mode","set_speed",)"
                               R"("mission_start"]})");
  n = format_hello(buf, sizeof buf, "sim-00042", false, R"(["arm"])");
  CHECK(std::string(buf, n) == R"({"type":"hello","drone_id":"sim-00042","model":"sim-quad","fw":"1.0","commands":["arm"]})");

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
  {
    const char* argv[] = {"dccs-sim"};
    const auto r = parse_options(1, argv);
    CHECK(!r.opts.ack && r.opts.ack_window == 100000 && r.opts.drain_timeout == 30.0 && !r.opts.stop_when_acked);
  }
  {
    const char* argv[] = {"dccs-sim", "--ack", "--ack-window", "7", "--ack-report", "/tmp/x", "--stop-when-acked",
                          "--duration", "2", "--drain-timeout=4.5", "--ack-max-rate", "20"};
    const auto r = parse_options(12, argv);
    CHECK(r.error.empty());
    CHECK(r.opts.ack && r.opts.ack_window == 7 && r.opts.ack_report == "/tmp/x" && r.opts.stop_when_acked &&
          r.opts.drain_timeout == 4.5 && r.opts.ack_max_rate == 20.0);
  }
  {
    const char* argv[] = {"dccs-sim"};
    const auto r = parse_options(1, argv);
    CHECK(!r.opts.autopilot && r.opts.commands == kind_set::all() && r.opts.drop_rate == 0.0 && r.opts.dup_rate == 0.0 &&
          !r.opts.battery);
  }
  {
    const char* argv[] = {"dccs-sim", "--autopilot", "--commands", "arm,takeoff", "--drop-rate", "0.3", "--dup-rate=0.1",
                          "--battery", "15"};
    const auto r = parse_options(9, argv);
    CHECK(r.error.empty());
    CHECK(r.opts.autopilot && r.opts.commands.json_array() == R"(["arm","takeoff"])" && r.opts.drop_rate == 0.3 &&
          r.opts.dup_rate == 0.1 && r.opts.battery == 15.0);
  }
  {
    const char* argv[] = {"dccs-sim", "--commands", "none"};
    const auto r = parse_options(3, argv);
    CHECK(r.error.empty() && r.opts.commands.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--autopilot", "--command-log", "/tmp/rx.tsv"};
    const auto r = parse_options(4, argv);
    CHECK(r.error.empty() && r.opts.command_log == "/tmp/rx.tsv");
    CHECK(parse_options(1, argv).opts.command_log.empty());
  }
  for (const char* bad : {"--drop-rate=1.5", "--dup-rate=-0.1", "--commands=fly", "--battery=50", "--autopilot=1"}) {
    const char* argv[] = {"dccs-sim", bad};
    CHECK(!parse_options(2, argv).error.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--autopilot", "--commands", "none"}; // could never move
    CHECK(!parse_options(4, argv).error.empty());
    const char* argv2[] = {"dccs-sim", "--autopilot", "--battery", "101"};
    CHECK(!parse_options(4, argv2).error.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--ack", "--stop-when-acked"}; // needs --duration
    CHECK(!parse_options(3, argv).error.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--stop-when-acked", "--duration", "1"}; // needs --ack
    CHECK(!parse_options(4, argv).error.empty());
  }
  {
    const char* argv[] = {"dccs-sim", "--ack", "--ack-window", "0"};
    CHECK(!parse_options(4, argv).error.empty());
  }
  {
    // --observe-ids: the ids of a file, one per line (blank lines and trailing blanks ignored); a line that is no
    // drone id, an empty list or no --observe is refused.
    const std::string good = "/tmp/dccs-sim-check-ids-" + std::to_string(getpid());
    std::ofstream{good} << "sim-00001\n\nsim-00007 \r\n";
    const char* argv[] = {"dccs-sim", "--observe", "--observe-ids", good.c_str()};
    const auto r = parse_options(4, argv);
    CHECK(r.error.empty());
    CHECK((r.opts.observe_ids == std::vector<std::string>{"sim-00001", "sim-00007"}));
    const char* no_observe[] = {"dccs-sim", "--observe-ids", good.c_str()};
    CHECK(!parse_options(3, no_observe).error.empty());
    std::ofstream{good} << "sim-00001\n\"quoted\"\n";
    CHECK(!parse_options(4, argv).error.empty());
    std::ofstream{good} << "\n";
    CHECK(!parse_options(4, argv).error.empty());
    std::remove(good.c_str());
  }
}

/// Several --url: comma-separated, repeated, or both; each one validated.
void check_url_options() {
  auto has = [](const std::string& error, const char* what) { return error.find(what) != std::string::npos; };
  { // the default: one node, the documented URL
    const char* argv[] = {"dccs-sim"};
    const auto r = parse_options(1, argv);
    CHECK(r.error.empty() && r.opts.urls.size() == 1 && r.opts.url == "ws://127.0.0.1:8080");
    CHECK(r.opts.host == "127.0.0.1" && r.opts.port == "8080" && r.opts.nodes().size() == 1);
  }
  { // one --url: o.url and its parts as before
    const char* argv[] = {"dccs-sim", "--url", "ws://10.0.0.1:9000/p/"};
    const auto r = parse_options(3, argv);
    CHECK(r.error.empty() && r.opts.urls.size() == 1);
    CHECK(r.opts.url == "ws://10.0.0.1:9000/p/" && r.opts.host == "10.0.0.1" && r.opts.port == "9000" &&
          r.opts.drone_path() == "/p/ws/drone" && r.opts.operator_path() == "/p/ws/operator");
  }
  { // comma-separated, then repeated: every one in order; o.url is the first (the observer's node)
    const char* argv[] = {"dccs-sim", "--url", "ws://a:1,ws://b:2/x, ws://[::1]:3", "--url=ws://d:4", "--url", "ws://e"};
    const auto r = parse_options(6, argv);
    CHECK(r.error.empty());
    const auto& u = r.opts.urls;
    CHECK(u.size() == 5);
    if (u.size() == 5) {
      CHECK(u[0].url == "ws://a:1" && u[0].host == "a" && u[0].port == "1" && u[0].drone_path() == "/ws/drone");
      CHECK(u[1].host == "b" && u[1].port == "2" && u[1].drone_path() == "/x/ws/drone" && u[1].host_header() == "b:2");
      CHECK(u[2].url == "ws://[::1]:3" && u[2].host == "::1" && u[2].port == "3");
      CHECK(u[3].url == "ws://d:4" && u[4].host == "e" && u[4].port == "80");
    }
    CHECK(r.opts.url == "ws://a:1" && r.opts.host == "a" && r.opts.port == "1" && r.opts.nodes().size() == 5);
  }
  { // a bad URL among good ones is refused, naming it
    const char* argv[] = {"dccs-sim", "--url", "ws://a:1,http://b:2", "--url", "ws://c:3"};
    const auto r = parse_options(5, argv);
    CHECK(has(r.error, "http://b:2") && !has(r.error, "ws://a:1") && !has(r.error, "ws://c:3"));
  }
  {
    const char* argv[] = {"dccs-sim", "--url", "ws://a:1", "--url", "ws://:5,ws://c:3"};
    CHECK(has(parse_options(5, argv).error, "ws://:5"));
  }
  {
    const char* argv[] = {"dccs-sim", "--url=ws://a:1,ws://[::1:4,ws://c:3"};
    CHECK(has(parse_options(2, argv).error, "ws://[::1:4"));
  }
  { // an empty item (",," or a trailing comma) is a mistake, not a node
    const char* argv[] = {"dccs-sim", "--url", "ws://a:1,,ws://b:2"};
    CHECK(has(parse_options(3, argv).error, "empty URL"));
    const char* argv2[] = {"dccs-sim", "--url", "ws://a:1,"};
    CHECK(has(parse_options(3, argv2).error, "empty URL"));
  }
  { // the same node twice (also spelled differently) is refused, naming it
    const char* argv[] = {"dccs-sim", "--url", "ws://a:80,ws://b:2", "--url", "ws://a/"};
    const auto r = parse_options(5, argv);
    CHECK(has(r.error, "ws://a/") && has(r.error, "ws://a:80"));
    const char* argv2[] = {"dccs-sim", "--url", "ws://a:1/one,ws://a:1/two"}; // two prefixes: two nodes
    CHECK(parse_options(3, argv2).error.empty());
  }
  { // filled by hand (no urls): nodes() is the single url/host/port
    options o;
    o.url = "ws://h:7";
    o.host = "h";
    o.port = "7";
    const auto n = o.nodes();
    CHECK(n.size() == 1 && n[0].url == "ws://h:7" && n[0].host_header() == "h:7" && n[0].drone_path() == "/ws/drone");
  }
}

/// Which node a drone uses: spread at start, the next one after each failure.
void check_node_choice() {
  // 60 drones over 3 nodes: 20 each, drone i on node i % 3.
  std::vector<int> per_node(3, 0);
  for (std::size_t i = 0; i < 60; ++i) {
    const std::size_t n = initial_node(i, 3);
    CHECK(n == i % 3);
    ++per_node[n];
  }
  CHECK(per_node == std::vector<int>({20, 20, 20}));
  // 7 drones over 3 nodes: 3/2/2, never more than one apart.
  per_node.assign(3, 0);
  for (std::size_t i = 0; i < 7; ++i)
    ++per_node[initial_node(i, 3)];
  CHECK(per_node == std::vector<int>({3, 2, 2}));
  // After a failure: the next node, round robin; repeated failures visit every node once, then start over.
  CHECK(next_node(0, 3) == 1 && next_node(1, 3) == 2 && next_node(2, 3) == 0);
  for (std::size_t start = 0; start < 4; ++start) {
    std::set<std::size_t> visited;
    std::size_t n = start;
    for (int k = 0; k < 4; ++k) {
      visited.insert(n);
      n = next_node(n, 4);
    }
    CHECK(visited.size() == 4 && n == start);
  }
  // One node: always that one (a reconnect, never a failover).
  CHECK(initial_node(0, 1) == 0 && initial_node(12345, 1) == 0 && next_node(0, 1) == 0);
  static_assert(next_node(4, 5) == 0 && initial_node(9, 5) == 4, "usable at compile time");
}

std::string frame_of(std::uint64_t seq) {
  return R"({"seq":)" + std::to_string(seq) + R"(,"pad":")" + std::string(seq % 50, 'x') + R"("})";
}

/// Writes every unsent kept frame and returns them.
std::vector<std::string> drain_unsent(ack_buffer& b, int* resends = nullptr) {
  std::vector<std::string> out;
  while (b.has_unsent()) {
    out.emplace_back(b.next_unsent());
    if (b.mark_sent() && resends)
      ++*resends;
  }
  return out;
}

void check_ack_buffer() {
  std::size_t released = 0;
  { // acks cover a prefix; duplicate and old acks change nothing; acks above what was written are errors
    ack_buffer b(100);
    CHECK(b.ack(0, released) == ack_result::beyond && released == 0); // nothing written yet
    for (std::uint64_t s = 0; s < 10; ++s)
      CHECK(b.push(s, frame_of(s)));
    CHECK(!b.push(11, frame_of(11))); // out of order
    CHECK(b.size() == 10 && b.highest_sent() == -1);
    for (int i = 0; i < 6; ++i) { // write seq 0..5
      CHECK(b.next_unsent_seq() == static_cast<std::uint64_t>(i));
      CHECK(b.next_unsent() == frame_of(static_cast<std::uint64_t>(i)));
      CHECK(!b.mark_sent());
    }
    CHECK(b.highest_sent() == 5);
    CHECK(b.ack(6, released) == ack_result::beyond && b.size() == 10); // 6 was kept but not written yet
    CHECK(b.ack(3, released) == ack_result::advanced && released == 4 && b.size() == 6);
    CHECK(b.highest_acked() == 3);
    CHECK(b.ack(3, released) == ack_result::stale && released == 0); // duplicate
    CHECK(b.ack(1, released) == ack_result::stale && released == 0); // old
    CHECK(b.ack(5, released) == ack_result::advanced && released == 2 && b.size() == 4);
    CHECK(b.ack(1'000'000, released) == ack_result::beyond && b.size() == 4 && b.highest_acked() == 5);
    CHECK(b.next_unsent_seq() == 6 && b.next_unsent() == frame_of(6));
  }
  { // the window: full at `window` kept frames, room again after an ack
    ack_buffer b(3);
    CHECK(b.push(0, frame_of(0)) && b.push(1, frame_of(1)) && b.push(2, frame_of(2)));
    CHECK(b.full() && !b.push(3, frame_of(3)));
    drain_unsent(b);
    CHECK(b.ack(0, released) == ack_result::advanced && !b.full());
    CHECK(b.push(3, frame_of(3)) && b.full());
    CHECK(!b.push(4, ""));
  }
  { // reconnect: everything unacknowledged again, in order, byte for byte, before the new frames
    ack_buffer b(1000);
    std::uint64_t seq = 0;
    std::map<std::uint64_t, std::string> first_write;
    for (; seq < 300; ++seq)
      CHECK(b.push(seq, frame_of(seq)));
    for (int i = 0; i < 200; ++i) {
      first_write[b.next_unsent_seq()] = std::string(b.next_unsent());
      b.mark_sent();
    }
    CHECK(b.ack(120, released) == ack_result::advanced && released == 121);
    b.rewind(); // new connection
    CHECK(b.ack(150, released) == ack_result::beyond); // not written on this connection yet
    for (; seq < 310; ++seq)
      CHECK(b.push(seq, frame_of(seq)));
    int resends = 0;
    const auto out = drain_unsent(b, &resends);
    CHECK(out.size() == 310 - 121 && resends == 200 - 121);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::uint64_t s = 121 + i;
      CHECK(out[i] == frame_of(s));
      if (first_write.count(s))
        CHECK(out[i] == first_write[s]);
    }
    CHECK(b.highest_sent() == 309);
    CHECK(b.ack(309, released) == ack_result::advanced && released == 189 && b.empty());
    CHECK(b.push(310, frame_of(310)) && b.next_unsent() == frame_of(310)); // storage restarts cleanly
  }
  { // long run with compaction: the bytes stay intact across many partial acks
    ack_buffer b(100000);
    std::uint64_t next_push = 0, next_ack = 0;
    bool ok = true;
    for (int round = 0; round < 2000; ++round) {
      for (int k = 0; k < 7; ++k, ++next_push)
        ok = b.push(next_push, frame_of(next_push)) && ok;
      while (b.has_unsent()) {
        ok = b.next_unsent() == frame_of(b.next_unsent_seq()) && ok;
        b.mark_sent();
      }
      next_ack += 5;
      ok = b.ack(next_ack, released) == ack_result::advanced && ok;
      if (round % 97 == 0)
        b.rewind();
    }
    CHECK(ok);
    CHECK(b.size() == next_push - next_ack - 1);
  }
  std::uint64_t seq = 0;
  CHECK(parse_ack_fast(R"({"type":"ack","seq":42})", seq) && seq == 42);
  CHECK(parse_ack_fast(R"({"type":"ack","seq":0})", seq) && seq == 0);
  CHECK(!parse_ack_fast(R"({"type":"ack","seq":})", seq));
  CHECK(!parse_ack_fast(R"({"type":"ack","seq":-1})", seq));
  CHECK(!parse_ack_fast(R"({"type":"ack","seq":1.5})", seq));
  CHECK(!parse_ack_fast(R"({"type":"ack","seq":99999999999999999999999})", seq));
  CHECK(!parse_ack_fast(R"({"type":"ack", "seq":1})", seq)); // other spellings go to the full parser
  CHECK(!parse_ack_fast(R"({"type":"welcome","server_time":1,"drone_id":"x"})", seq));
}

// ---------------------------------------------------------------------------------------------
// commands: the autopilot with injected time, the command frames

constexpr double t0_ms = 1764189000000.0; ///< the drone's clock in these checks

/// A command as the parser would give it.
command_request request(const std::string& id, const std::string& kind, command_params p = {}) {
  command_request r;
  r.id = id;
  r.kind = kind;
  r.params = std::move(p);
  r.expires_at = t0_ms + 60000;
  return r;
}

command_params alt_param(double alt) {
  command_params p;
  p.alt = alt;
  return p;
}

command_params goto_params(double lat, double lon, double alt, std::optional<double> speed = std::nullopt) {
  command_params p;
  p.lat = lat;
  p.lon = lon;
  p.alt = alt;
  p.speed = speed;
  return p;
}

std::vector<command_ack> take(autopilot& ap) {
  std::vector<command_ack> out;
  ap.take_acks(out);
  return out;
}

/// The only ack given (and checks that there was exactly one).
command_ack one_ack(autopilot& ap) {
  auto acks = take(ap);
  CHECK(acks.size() == 1);
  return acks.empty() ? command_ack{} : acks.front();
}

bool same_ack(const command_ack& a, const command_ack& b) {
  return a.command_id == b.command_id && a.result == b.result && a.progress == b.progress && a.reason == b.reason;
}

/// Steps `ap` by dt until `id` gets a final ack or `limit` simulated seconds pass; every ack is appended to `log`.
/// Returns the simulated seconds flown.
double fly_until_final(autopilot& ap, const std::string& id, std::vector<command_ack>& log, double limit = 600,
                       double dt = 0.1) {
  double t = 0;
  while (t < limit) {
    ap.step(dt);
    t += dt;
    const auto acks = take(ap);
    log.insert(log.end(), acks.begin(), acks.end());
    for (const auto& a : acks)
      if (a.command_id == id && is_final(a.result))
        return t;
  }
  return t;
}

/// Acks of one command in `log`, and whether its progress reports were sane: in_progress only, 0..99, never going
/// back, at every 20 % step or sooner, and the last one final.
struct command_story {
  std::vector<command_ack> acks;
  bool progress_ok = true;
  int in_progress = 0;
};

command_story story_of(const std::vector<command_ack>& log, const std::string& id) {
  command_story s;
  int last = -1;
  for (const auto& a : log) {
    if (a.command_id != id)
      continue;
    s.acks.push_back(a);
    if (a.result == command_result::in_progress) {
      ++s.in_progress;
      if (a.progress < 0 || a.progress > 99 || a.progress < last || a.progress - std::max(last, 0) > 40)
        s.progress_ok = false;
      last = a.progress;
    }
  }
  return s;
}

/// A fresh autopilot: drone 0 of seed 1 on the ground at home, disarmed (what --autopilot starts with).
autopilot fresh_pilot(kind_set kinds = kind_set::all()) {
  fleet_area area;
  return autopilot(flight_model(area, 1, 0), kinds);
}

/// Arms and takes off to `alt` m (and checks that it worked).
void airborne(autopilot& ap, double alt, const std::string& prefix = "pre") {
  CHECK(ap.handle(request(prefix + "-arm", "arm"), t0_ms) == command_outcome::executed);
  CHECK(ap.handle(request(prefix + "-takeoff", "takeoff", alt_param(alt)), t0_ms) == command_outcome::executed);
  std::vector<command_ack> log;
  fly_until_final(ap, prefix + "-takeoff", log);
  CHECK(ap.flying() && std::fabs(ap.height() - alt) < 1e-6);
}

/// lat/lon `north`, `east` metres from home.
std::pair<double, double> offset(const autopilot& ap, double north, double east) {
  return {ap.home_lat() + north / 111320.0, ap.home_lon() + east / (111320.0 * std::cos(ap.home_lat() * pi / 180.0))};
}

void check_autopilot_arming() {
  autopilot ap = fresh_pilot();
  const auto& s = ap.state();
  CHECK(!s.armed && s.mode == flight_mode::standby && !ap.flying() && ap.distance_from_home() < 1e-6);
  CHECK(std::fabs(s.alt - ap.ground_alt()) < 1e-9 && s.speed == 0.0);
  // Nothing moves until commanded.
  for (int i = 0; i < 100; ++i)
    ap.step(0.2);
  CHECK(!ap.state().armed && ap.distance_from_home() < 1e-6 && ap.height() == 0.0 && take(ap).empty());

  CHECK(ap.handle(request("a1", "arm"), t0_ms) == command_outcome::executed);
  auto a = one_ack(ap);
  CHECK(a.command_id == "a1" && a.result == command_result::succeeded && a.reason.empty());
  CHECK(ap.state().armed);
  CHECK(ap.handle(request("d1", "disarm"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded && !ap.state().armed);

  // Arming checks: not now (temporarily), with the reason.
  ap.set_battery(15);
  CHECK(ap.handle(request("a2", "arm"), t0_ms) == command_outcome::refused);
  a = one_ack(ap);
  CHECK(a.result == command_result::temporarily_rejected && a.reason.find("battery") != std::string::npos);
  CHECK(!ap.state().armed);
  ap.set_battery(80);
  ap.set_fix(2);
  CHECK(ap.handle(request("a3", "arm"), t0_ms) == command_outcome::refused);
  a = one_ack(ap);
  CHECK(a.result == command_result::temporarily_rejected && a.reason.find("fix") != std::string::npos);
  CHECK(!ap.state().armed);
  ap.set_fix(3);
  CHECK(ap.handle(request("a4", "arm"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded && ap.state().armed);

  // takeoff needs an armed drone and a valid alt; disarm is refused in the air.
  autopilot cold = fresh_pilot();
  CHECK(cold.handle(request("t1", "takeoff", alt_param(20)), t0_ms) == command_outcome::refused);
  a = one_ack(cold);
  CHECK(a.result == command_result::denied && a.reason == "not armed" && !cold.flying());
  CHECK(ap.handle(request("t2", "takeoff"), t0_ms) == command_outcome::refused);
  a = one_ack(ap);
  CHECK(a.result == command_result::denied && a.reason.find("params.alt") != std::string::npos && !ap.flying());
  CHECK(ap.handle(request("t3", "takeoff", alt_param(0.5)), t0_ms) == command_outcome::refused);
  CHECK(one_ack(ap).result == command_result::denied && !ap.flying());
  command_params wrong;
  wrong.wrong_type = command_params::f_alt;
  CHECK(ap.handle(request("t4", "takeoff", wrong), t0_ms) == command_outcome::refused);
  CHECK(one_ack(ap).reason == "params.alt must be a number");
  CHECK(ap.handle(request("t5", "takeoff", alt_param(10)), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::accepted && ap.flying());
  CHECK(ap.handle(request("d2", "disarm"), t0_ms) == command_outcome::refused);
  a = one_ack(ap);
  CHECK(a.result == command_result::denied && ap.state().armed);
  // On the ground, commands that need flight are denied.
  for (const char* kind : {"rtl", "hold"}) {
    CHECK(cold.handle(request(std::string("g-") + kind, kind), t0_ms) == command_outcome::refused);
    CHECK(one_ack(cold).result == command_result::denied);
  }
  const auto [lat, lon] = offset(cold, 100, 0);
  CHECK(cold.handle(request("g-goto", "goto", goto_params(lat, lon, cold.ground_alt() + 20)), t0_ms) ==
        command_outcome::refused);
  CHECK(one_ack(cold).result == command_result::denied && !cold.flying());
  std::printf("autopilot: arming checks, takeoff and disarm rules\n");
}

void check_autopilot_flight() {
  autopilot ap = fresh_pilot();
  std::vector<command_ack> log;
  // takeoff: accepted, climbs at the climb rate in TAKEOFF, progress now and then, succeeded at alt; hovers in GUIDED.
  CHECK(ap.handle(request("arm", "arm"), t0_ms) == command_outcome::executed);
  take(ap);
  CHECK(ap.handle(request("to", "takeoff", alt_param(30)), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::accepted);
  ap.step(1.0);
  CHECK(ap.state().mode == flight_mode::takeoff && std::fabs(ap.state().vspeed - autopilot::climb_rate) < 1e-9);
  double t = 1.0 + fly_until_final(ap, "to", log);
  auto s = story_of(log, "to");
  CHECK(!s.acks.empty() && s.acks.back().result == command_result::succeeded);
  CHECK(s.progress_ok && s.in_progress >= 4);
  CHECK(std::fabs(t - 30.0 / autopilot::climb_rate) < 0.25);
  CHECK(std::fabs(ap.state().alt - (ap.ground_alt() + 30)) < 1e-6 && ap.state().mode == flight_mode::guided);
  CHECK(!ap.active_command());

  // goto with its own speed: GUIDED, arrives (position and altitude), never faster than asked.
  const auto [lat, lon] = offset(ap, 300, 400); // 500 m away
  const double alt = ap.ground_alt() + 45;
  CHECK(ap.handle(request("go", "goto", goto_params(lat, lon, alt, 15.0)), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::accepted);
  log.clear();
  double max_speed = 0;
  bool guided = true;
  for (t = 0; t < 200; t += 0.1) {
    ap.step(0.1);
    max_speed = std::max(max_speed, ap.state().speed);
    guided = guided && ap.state().mode == flight_mode::guided;
    const auto acks = take(ap);
    log.insert(log.end(), acks.begin(), acks.end());
    if (!acks.empty() && is_final(acks.back().result))
      break;
  }
  s = story_of(log, "go");
  CHECK(!s.acks.empty() && s.acks.back().result == command_result::succeeded && s.progress_ok && s.in_progress >= 4);
  CHECK(guided && max_speed <= 15.0 + 1e-9 && max_speed > 14.0);
  CHECK(t > 500.0 / 15.0 && t < 500.0 / 15.0 + 15.0);
  CHECK(distance_m(ap.state().lat, ap.state().lon, lat, lon) < 0.01 && std::fabs(ap.state().alt - alt) < 1e-6);
  // The track pointed at the target (north-east: atan2(400, 300)).
  CHECK(std::fabs(ap.state().heading - std::atan2(400.0, 300.0) * 180.0 / pi) < 1.0);

  // rtl: climbs to at least 30 m (already 45), flies home, lands, disarms; RTL all along.
  const double battery_before = ap.state().battery;
  CHECK(ap.handle(request("home", "rtl"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::accepted);
  log.clear();
  bool rtl_mode = true;
  for (t = 0; t < 300; t += 0.1) {
    ap.step(0.1);
    const auto acks = take(ap);
    log.insert(log.end(), acks.begin(), acks.end());
    if (!acks.empty() && is_final(acks.back().result))
      break;
    rtl_mode = rtl_mode && ap.state().mode == flight_mode::rtl;
  }
  s = story_of(log, "home");
  CHECK(!s.acks.empty() && s.acks.back().result == command_result::succeeded && s.progress_ok);
  CHECK(rtl_mode && ap.distance_from_home() < 1e-6 && ap.height() == 0.0 && !ap.state().armed);
  CHECK(ap.state().mode == flight_mode::standby && !ap.flying());
  // The battery paid for the flight: time in the air and distance.
  CHECK(ap.state().battery < battery_before - 0.06 * t);

  // land: descends where it is, LAND, disarms on touchdown. On the ground it only disarms.
  airborne(ap, 20, "again");
  CHECK(ap.handle(request("down", "land"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::accepted);
  ap.step(1.0);
  CHECK(ap.state().mode == flight_mode::land && ap.state().vspeed < 0);
  log.clear();
  fly_until_final(ap, "down", log);
  s = story_of(log, "down");
  CHECK(!s.acks.empty() && s.acks.back().result == command_result::succeeded && s.progress_ok);
  CHECK(!ap.flying() && !ap.state().armed && ap.height() == 0.0 && ap.state().mode == flight_mode::standby);
  CHECK(ap.handle(request("arm2", "arm"), t0_ms) == command_outcome::executed);
  take(ap);
  CHECK(ap.handle(request("down2", "land"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded && !ap.state().armed);
  std::printf("autopilot: takeoff, goto, rtl and land fly as commanded\n");
}

void check_autopilot_control() {
  // hold pauses the goto where the drone is; resume goes on with it to the end.
  autopilot ap = fresh_pilot();
  airborne(ap, 25);
  const auto [lat, lon] = offset(ap, 0, 600);
  CHECK(ap.handle(request("go", "goto", goto_params(lat, lon, ap.ground_alt() + 25)), t0_ms) == command_outcome::executed);
  take(ap);
  for (int i = 0; i < 200; ++i) // 20 s at 10 m/s
    ap.step(0.1);
  CHECK(ap.active_command() == std::optional<std::string>("go"));
  CHECK(ap.handle(request("h", "hold"), t0_ms) == command_outcome::executed);
  auto acks = take(ap);
  CHECK(!acks.empty() && acks.back().command_id == "h" && acks.back().result == command_result::succeeded);
  CHECK(ap.state().mode == flight_mode::hold);
  for (int i = 0; i < 100; ++i) // brakes, then stays
    ap.step(0.1);
  const double east_held = ap.state().lon;
  std::vector<command_ack> log;
  for (int i = 0; i < 100; ++i) {
    ap.step(0.1);
    take(ap).swap(acks);
    log.insert(log.end(), acks.begin(), acks.end());
  }
  CHECK(ap.state().lon == east_held && ap.state().speed == 0.0 && ap.state().mode == flight_mode::hold);
  // Paused, not over: no final ack; its progress stays put but the node still hears of it.
  auto s = story_of(log, "go");
  CHECK(s.in_progress >= 5 && s.acks.back().result == command_result::in_progress);
  CHECK(s.acks.front().progress == s.acks.back().progress);
  CHECK(ap.handle(request("r", "resume"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded && ap.state().mode == flight_mode::guided);
  log.clear();
  fly_until_final(ap, "go", log);
  CHECK(!log.empty() && log.back().result == command_result::succeeded);
  CHECK(distance_m(ap.state().lat, ap.state().lon, lat, lon) < 0.01);
  CHECK(ap.handle(request("r2", "resume"), t0_ms) == command_outcome::refused); // nothing paused now
  CHECK(one_ack(ap).result == command_result::denied);

  // A newer movement command replaces the unfinished one, which is answered cancelled.
  const auto [lat2, lon2] = offset(ap, 500, 600);
  const auto [lat3, lon3] = offset(ap, -200, 0);
  CHECK(ap.handle(request("g1", "goto", goto_params(lat2, lon2, ap.ground_alt() + 25)), t0_ms) == command_outcome::executed);
  take(ap);
  ap.step(2.0);
  take(ap);
  CHECK(ap.handle(request("g2", "goto", goto_params(lat3, lon3, ap.ground_alt() + 40)), t0_ms) == command_outcome::executed);
  acks = take(ap);
  CHECK(acks.size() == 2);
  if (acks.size() == 2) {
    CHECK(acks[0].command_id == "g1" && acks[0].result == command_result::cancelled && acks[0].reason == "replaced by goto");
    CHECK(acks[1].command_id == "g2" && acks[1].result == command_result::accepted);
  }
  log.clear();
  fly_until_final(ap, "g2", log);
  CHECK(story_of(log, "g1").acks.empty()); // nothing more for the replaced one
  CHECK(!log.empty() && log.back().command_id == "g2" && log.back().result == command_result::succeeded);
  CHECK(distance_m(ap.state().lat, ap.state().lon, lat3, lon3) < 0.01);
  // land replaces a goto as well.
  CHECK(ap.handle(request("g3", "goto", goto_params(lat2, lon2, ap.ground_alt() + 25)), t0_ms) == command_outcome::executed);
  take(ap);
  ap.step(1.0);
  take(ap);
  CHECK(ap.handle(request("l", "land"), t0_ms) == command_outcome::executed);
  acks = take(ap);
  CHECK(acks.size() == 2 && acks[0].command_id == "g3" && acks[0].result == command_result::cancelled);

  // command_cancel stops a running command where the drone is; a finished one keeps its final ack; an id never
  // received is cancelled before it arrives and never executed.
  autopilot bp = fresh_pilot();
  airborne(bp, 25);
  const auto [lat4, lon4] = offset(bp, 800, 0);
  CHECK(bp.handle(request("far", "goto", goto_params(lat4, lon4, bp.ground_alt() + 25)), t0_ms) == command_outcome::executed);
  take(bp);
  for (int i = 0; i < 100; ++i)
    bp.step(0.1);
  take(bp);
  CHECK(bp.cancel("far") == cancel_outcome::stopped);
  auto a = one_ack(bp);
  CHECK(a.command_id == "far" && a.result == command_result::cancelled && !bp.active_command());
  CHECK(bp.state().mode == flight_mode::hold);
  for (int i = 0; i < 100; ++i)
    bp.step(0.1);
  CHECK(bp.state().speed == 0.0 && distance_m(bp.state().lat, bp.state().lon, lat4, lon4) > 600 && take(bp).empty());
  CHECK(bp.cancel("far") == cancel_outcome::finished);
  a = one_ack(bp);
  CHECK(a.command_id == "far" && a.result == command_result::cancelled);
  CHECK(bp.cancel("pre-takeoff") == cancel_outcome::finished); // finished long ago: its final ack again
  a = one_ack(bp);
  CHECK(a.command_id == "pre-takeoff" && a.result == command_result::succeeded);
  CHECK(bp.cancel("ghost") == cancel_outcome::unknown);
  CHECK(one_ack(bp).result == command_result::cancelled);
  CHECK(bp.handle(request("ghost", "land"), t0_ms) == command_outcome::duplicate);
  CHECK(one_ack(bp).result == command_result::cancelled && bp.flying() && bp.state().mode == flight_mode::hold);

  // set_speed changes the cruise speed, also of the flight under way; set_mode switches what the drone does.
  CHECK(bp.handle(request("go2", "goto", goto_params(lat4, lon4, bp.ground_alt() + 25)), t0_ms) == command_outcome::executed);
  take(bp);
  command_params speed;
  speed.speed = 4.0;
  CHECK(bp.handle(request("slow", "set_speed", speed), t0_ms) == command_outcome::executed);
  CHECK(one_ack(bp).result == command_result::succeeded && bp.cruise_speed() == 4.0);
  for (int i = 0; i < 100; ++i)
    bp.step(0.1);
  take(bp);
  CHECK(std::fabs(bp.state().speed - 4.0) < 1e-9);
  command_params mode;
  mode.mode = "MISSION";
  CHECK(bp.handle(request("m1", "set_mode", mode), t0_ms) == command_outcome::refused);
  CHECK(one_ack(bp).result == command_result::denied);
  mode.mode = "RTL";
  CHECK(bp.handle(request("m2", "set_mode", mode), t0_ms) == command_outcome::executed);
  acks = take(bp);
  CHECK(acks.size() == 2 && acks[0].command_id == "go2" && acks[0].result == command_result::cancelled &&
        acks[1].result == command_result::succeeded);
  CHECK(bp.state().mode == flight_mode::rtl);
  for (int i = 0; i < 6000 && bp.flying(); ++i)
    bp.step(0.1);
  CHECK(!bp.flying() && bp.distance_from_home() < 1e-6 && !bp.state().armed && take(bp).empty());
  speed.speed = 0.0;
  CHECK(bp.handle(request("s0", "set_speed", speed), t0_ms) == command_outcome::refused);
  CHECK(one_ack(bp).result == command_result::denied && bp.cruise_speed() == 4.0);
  std::printf("autopilot: hold and resume, replacement, cancel, set_speed, set_mode\n");
}

void check_autopilot_ids() {
  autopilot ap = fresh_pilot();
  // A repeated command_id is answered with the newest ack given for it and never executed again.
  CHECK(ap.handle(request("arm", "arm"), t0_ms) == command_outcome::executed);
  const auto first = one_ack(ap);
  CHECK(ap.handle(request("disarm", "disarm"), t0_ms) == command_outcome::executed);
  take(ap);
  CHECK(ap.handle(request("arm", "arm"), t0_ms) == command_outcome::duplicate);
  CHECK(same_ack(one_ack(ap), first) && !ap.state().armed); // not armed again
  CHECK(ap.handle(request("arm2", "arm"), t0_ms) == command_outcome::executed);
  take(ap);
  CHECK(ap.handle(request("to", "takeoff", alt_param(50)), t0_ms) == command_outcome::executed);
  take(ap);
  std::vector<command_ack> log;
  for (int i = 0; i < 50; ++i) {
    ap.step(0.1);
    ap.take_acks(log);
  }
  CHECK(!log.empty() && log.back().result == command_result::in_progress);
  auto repeat = request("to", "takeoff", alt_param(10)); // other params: still the same command
  repeat.attempt = 2;
  CHECK(ap.handle(repeat, t0_ms) == command_outcome::duplicate);
  CHECK(same_ack(one_ack(ap), log.back()));
  log.clear();
  fly_until_final(ap, "to", log);
  CHECK(std::fabs(ap.height() - 50) < 1e-6); // the repeat changed nothing
  CHECK(ap.handle(repeat, t0_ms) == command_outcome::duplicate);
  const auto final_ack = one_ack(ap);
  CHECK(final_ack.result == command_result::succeeded);
  ap.step(1.0);
  CHECK(take(ap).empty() && !ap.active_command()); // nothing started
  // A refused command stays refused when repeated (even once the reason is gone).
  autopilot cold = fresh_pilot();
  cold.set_battery(10);
  CHECK(cold.handle(request("a", "arm"), t0_ms) == command_outcome::refused);
  const auto refused = one_ack(cold);
  cold.set_battery(90);
  CHECK(cold.handle(request("a", "arm"), t0_ms) == command_outcome::duplicate);
  CHECK(same_ack(one_ack(cold), refused) && !cold.state().armed);

  // The memory is bounded: after remembered_ids newer ids the oldest is forgotten (and would run again).
  autopilot mem = fresh_pilot();
  CHECK(mem.handle(request("id-0", "set_mode", {}), t0_ms) == command_outcome::refused); // no mode: denied
  take(mem);
  for (std::size_t i = 1; i < autopilot::remembered_ids; ++i)
    mem.handle(request("id-" + std::to_string(i), "disarm"), t0_ms);
  take(mem);
  CHECK(mem.handle(request("id-0", "disarm"), t0_ms) == command_outcome::duplicate); // 256 ids: still known
  take(mem);
  mem.handle(request("id-256", "disarm"), t0_ms);
  take(mem);
  CHECK(mem.handle(request("id-0", "disarm"), t0_ms) == command_outcome::executed); // forgotten
  CHECK(mem.handle(request("id-1", "disarm"), t0_ms) == command_outcome::executed);
  take(mem);
  // ... but never the command being flown.
  autopilot busy = fresh_pilot();
  airborne(busy, 20);
  const auto [lat, lon] = offset(busy, 2000, 0);
  CHECK(busy.handle(request("long", "goto", goto_params(lat, lon, busy.ground_alt() + 20)), t0_ms) ==
        command_outcome::executed);
  command_params ten;
  ten.speed = 10;
  for (std::size_t i = 0; i < 2 * autopilot::remembered_ids; ++i)
    busy.handle(request("s-" + std::to_string(i), "set_speed", ten), t0_ms);
  take(busy);
  CHECK(busy.handle(request("long", "goto", goto_params(lat, lon, busy.ground_alt() + 20)), t0_ms) ==
        command_outcome::duplicate);
  const auto again = one_ack(busy);
  CHECK(again.command_id == "long" && again.result == command_result::accepted);
  CHECK(busy.active_command() == std::optional<std::string>("long"));

  // Expired on arrival: failed "expired", nothing done; a repeat gets the same answer.
  autopilot late = fresh_pilot();
  auto old = request("old", "arm");
  old.expires_at = t0_ms - 1;
  CHECK(late.handle(old, t0_ms) == command_outcome::refused);
  auto a = one_ack(late);
  CHECK(a.result == command_result::failed && a.reason == "expired" && !late.state().armed);
  CHECK(late.handle(old, t0_ms - 10) == command_outcome::duplicate);
  CHECK(one_ack(late).result == command_result::failed && !late.state().armed);
  auto fresh = request("fresh", "arm");
  fresh.expires_at = t0_ms; // not passed yet
  CHECK(late.handle(fresh, t0_ms) == command_outcome::executed && late.state().armed);
  take(late);
  auto forever = request("forever", "disarm");
  forever.expires_at.reset(); // no expiry
  CHECK(late.handle(forever, t0_ms) == command_outcome::executed && !late.state().armed);
  take(late);

  // Unknown kinds and kinds this drone does not execute: unsupported; a frame error: denied.
  CHECK(late.handle(request("flip", "flip"), t0_ms) == command_outcome::refused);
  a = one_ack(late);
  CHECK(a.result == command_result::unsupported && a.reason.find("flip") != std::string::npos);
  std::string why;
  const auto few = kind_set::parse("arm,disarm,takeoff,land", why);
  CHECK(few && why.empty());
  autopilot limited = fresh_pilot(few ? *few : kind_set::all());
  CHECK(limited.handle(request("g", "goto", goto_params(1, 1, 500)), t0_ms) == command_outcome::refused);
  CHECK(one_ack(limited).result == command_result::unsupported);
  CHECK(limited.handle(request("a", "arm"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(limited).result == command_result::succeeded);
  auto broken = request("broken", "arm");
  broken.error = "params must be an object";
  CHECK(late.handle(broken, t0_ms) == command_outcome::refused);
  a = one_ack(late);
  CHECK(a.result == command_result::denied && a.reason == "params must be an object" && !late.state().armed);
  std::printf("autopilot: each command_id executed once, expiry, unsupported kinds\n");
}

void check_autopilot_battery_and_takeover() {
  // The battery runs out in the air: the command being flown fails, the drone lands where it is and disarms.
  autopilot ap = fresh_pilot();
  airborne(ap, 40);
  const auto [lat, lon] = offset(ap, 5000, 0);
  CHECK(ap.handle(request("far", "goto", goto_params(lat, lon, ap.ground_alt() + 40)), t0_ms) == command_outcome::executed);
  take(ap);
  ap.set_battery(1.0); // about 10 s at 10 m/s
  std::vector<command_ack> log;
  const double t = fly_until_final(ap, "far", log, 60);
  CHECK(t < 20 && !log.empty() && log.back().result == command_result::failed && log.back().reason == "battery exhausted");
  CHECK(ap.state().battery == 0.0 && ap.flying() && ap.state().mode == flight_mode::land);
  CHECK(ap.handle(request("back", "rtl"), t0_ms) == command_outcome::refused); // landing, nothing else
  CHECK(one_ack(ap).result == command_result::denied);
  for (int i = 0; i < 600 && ap.flying(); ++i)
    ap.step(0.1);
  CHECK(!ap.flying() && !ap.state().armed && ap.distance_from_home() > 50);
  CHECK(ap.handle(request("arm", "arm"), t0_ms) == command_outcome::refused); // and it cannot take off again
  CHECK(one_ack(ap).result == command_result::temporarily_rejected);

  // Taking over the scripted flight where it is: in flight it hovers in GUIDED, armed, at the same place.
  fleet_area area;
  flight_model m(area, 3, 7);
  int steps = 0;
  while (m.state().mode != flight_mode::mission && steps < 100000) {
    m.step(0.2);
    ++steps;
  }
  for (int i = 0; i < 50; ++i)
    m.step(0.2);
  CHECK(m.state().mode == flight_mode::mission);
  autopilot over(m);
  CHECK(over.flying() && over.state().armed && over.state().mode == flight_mode::guided);
  CHECK(distance_m(over.state().lat, over.state().lon, m.state().lat, m.state().lon) < 0.01);
  CHECK(std::fabs(over.state().alt - m.state().alt) < 1e-6 && over.state().battery == m.state().battery);
  for (int i = 0; i < 100; ++i) // brakes and hovers: no more scripted waypoints
    over.step(0.1);
  CHECK(over.state().speed == 0.0 && over.state().mode == flight_mode::guided && take(over).empty());
  CHECK(over.handle(request("home", "rtl"), t0_ms) == command_outcome::executed);
  for (int i = 0; i < 20000 && over.flying(); ++i)
    over.step(0.1);
  CHECK(!over.flying() && over.distance_from_home() < 1e-6 && !over.state().armed);

  // Every state it reports is valid telemetry.
  char buf[max_frame_size];
  const std::size_t n = format_telemetry(buf, sizeof buf, over.state(), 1, 1764189000123456LL);
  const auto j = nlohmann::json::parse(std::string(buf, n), nullptr, false);
  CHECK(!j.is_discarded());
  if (!j.is_discarded())
    check_frame(j, 1);
  std::printf("autopilot: battery exhaustion, taking over the scripted flight\n");
}

/// The command frames as they come from the node, and the acks as they go.
void check_command_frames() {
  simdjson::ondemand::parser parser;
  auto parse = [&](const std::string& text, command_frame& f) {
    const simdjson::padded_string padded(text);
    return parse_command_frame(parser, padded, f);
  };
  command_frame f;
  CHECK(parse(R"({"type":"command","command_id":"c-1","kind":"goto","params":{"lat":47.5,"lon":8,"alt":450,"speed":12,"x":[1]},)"
              R"("attempt":2,"expires_at":1764189000123.5,"extra":{"a":1}})",
              f));
  CHECK(!f.cancel && f.request.id == "c-1" && f.request.kind == "goto" && f.request.attempt == 2 && f.request.error.empty());
  CHECK(f.request.params.lat == 47.5 && f.request.params.lon == 8.0 && f.request.params.alt == 450.0 &&
        f.request.params.speed == 12.0 && !f.request.params.mode && f.request.params.wrong_type == 0);
  CHECK(f.request.expires_at == 1764189000123.5);
  CHECK(parse(R"({"command_id":"a\"b\\c\u00e9","kind":"set_mode","params":{"mode":"HOLD","alt":"high"},"type":"command"})", f));
  CHECK(f.request.id == "a\"b\\c\xc3\xa9" && f.request.params.mode == std::optional<std::string>("HOLD"));
  CHECK(f.request.params.wrong_type == command_params::f_alt && !f.request.params.alt && !f.request.expires_at);
  CHECK(parse(R"({"type":"command_cancel","command_id":"c-1"})", f) && f.cancel && f.request.id == "c-1");
  CHECK(parse(R"({"type":"command","command_id":"c-2","params":{}})", f) && f.request.error == "kind is required");
  CHECK(parse(R"({"type":"command","command_id":"c-3","kind":"land","params":[1]})", f) &&
        f.request.error == "params must be an object");
  CHECK(parse(R"({"type":"command","command_id":"c-4","kind":"land","params":null,"expires_at":"soon"})", f) &&
        f.request.error == "expires_at must be a number");
  CHECK(!parse(R"({"type":"command","kind":"land"})", f));                        // no id: nothing to answer
  CHECK(!parse(R"({"type":"command","command_id":"","kind":"land"})", f));        // empty id
  CHECK(!parse(R"({"type":"command","command_id":7,"kind":"land"})", f));         // not a string
  CHECK(!parse(R"({"type":"command","command_id":")" + std::string(257, 'x') + R"(","kind":"land"})", f));
  CHECK(parse(R"({"type":"command","command_id":")" + std::string(256, 'x') + R"(","kind":"land"})", f));
  CHECK(!parse(R"({"type":"telemetry","command_id":"c"})", f));
  CHECK(!parse(R"({"type":"command","command_id":"c-5","kind":)", f)); // cut short
  CHECK(!parse("[1,2]", f));

  command_ack a{"a\"b\\c\xc3\xa9\n", command_result::in_progress, 40, ""};
  std::string text = format_command_ack(a);
  CHECK(text == "{\"type\":\"command_ack\",\"command_id\":\"a\\\"b\\\\c\xc3\xa9\\u000a\",\"result\":\"in_progress\",\"progress\":40}");
  auto j = nlohmann::json::parse(text, nullptr, false);
  CHECK(!j.is_discarded() && j.value("command_id", "") == a.command_id);
  a = command_ack{"x", command_result::temporarily_rejected, -1, std::string(251, 'r') + "\xc3\xa9\xc3\xa9\xc3\xa9"}; // 257 bytes
  text = format_command_ack(a);
  j = nlohmann::json::parse(text, nullptr, false);
  CHECK(!j.is_discarded() && !j.contains("progress") && j.value("result", "") == "temporarily_rejected");
  const std::string reason = j.is_discarded() ? std::string() : j.value("reason", "");
  CHECK(reason.size() == 255 && reason.substr(251) == "\xc3\xa9\xc3\xa9"); // at most 256 bytes, between characters
  for (int r = 0; r <= static_cast<int>(command_result::cancelled); ++r) {
    const auto res = static_cast<command_result>(r);
    CHECK(std::string(result_name(res)) != "" && is_final(res) == (r >= 2));
  }

  // --commands: the kinds and the hello's array.
  std::string why;
  CHECK(kind_set::parse("all", why) == kind_set::all() && kind_set::parse("none", why) == kind_set::none());
  CHECK(kind_set::all().json_array() ==
        R"(["arm","disarm","takeoff","land","rtl","goto","hold","resume","set_mode","set_speed","mission_start"])");
  const auto some = kind_set::parse("land,arm", why);
  CHECK(some && some->json_array() == R"(["arm","land"])" && some->contains(command_kind::land) &&
        !some->contains(command_kind::go_to));
  CHECK(!kind_set::parse("arm,fly", why) && why.find("'fly'") != std::string::npos);
  CHECK(!kind_set::parse("", why) && !kind_set::parse("arm,", why));
  for (int k = 0; k < static_cast<int>(command_kind::count_); ++k)
    CHECK(kind_of(kind_name(static_cast<command_kind>(k))) == static_cast<command_kind>(k));
  std::printf("command frames: parsed, answered, escaped\n");
}

// ---------------------------------------------------------------------------------------------
// missions

std::vector<mission_ack> take_mission_acks(autopilot& ap) {
  std::vector<mission_ack> out;
  ap.take_mission_acks(out);
  return out;
}

std::vector<mission_event> take_events(autopilot& ap) {
  std::vector<mission_event> out;
  ap.take_mission_events(out);
  return out;
}

/// The only mission_ack given (and checks that there was exactly one).
mission_ack one_mission_ack(autopilot& ap) {
  auto acks = take_mission_acks(ap);
  CHECK(acks.size() == 1);
  return acks.empty() ? mission_ack{} : acks.front();
}

bool same_mission_ack(const mission_ack& a, const mission_ack& b) {
  return a.mission_id == b.mission_id && a.seq == b.seq && a.result == b.result && a.reason == b.reason;
}

/// A waypoint `north`, `east` metres from home and `height` m above its ground.
mission_item waypoint(const autopilot& ap, double north, double east, double height, double hold_s = 0,
                      item_action action = item_action::none, std::optional<double> speed = std::nullopt) {
  const auto [lat, lon] = offset(ap, north, east);
  mission_item it;
  it.lat = lat;
  it.lon = lon;
  it.alt = ap.ground_alt() + height;
  it.speed = speed;
  it.hold_s = hold_s;
  it.action = action;
  return it;
}

mission_item_frame item_frame(const std::string& id, std::uint32_t seq, std::uint32_t count, const mission_item& it,
                              final_action at_end = final_action::rtl) {
  mission_item_frame f;
  f.mission_id = id;
  f.seq = seq;
  f.count = count;
  f.item = it;
  f.at_end = at_end;
  return f;
}

/// Uploads `items` item by item, each answered accepted (checked).
void upload(autopilot& ap, const std::string& id, const std::vector<mission_item>& items,
            final_action at_end = final_action::rtl) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    ap.handle_mission_item(item_frame(id, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(items.size()),
                                      items[i], at_end));
    const auto a = one_mission_ack(ap);
    CHECK(a.mission_id == id && a.seq == i && a.result == mission_result::accepted && a.reason.empty());
  }
  CHECK(ap.stored_mission() == std::optional<std::string>(id));
}

command_params mission_param(const std::string& id) {
  command_params p;
  p.mission_id = id;
  return p;
}

/// A mission event, when it came (simulated seconds) and where the drone was then.
struct timed_event {
  double t;
  mission_event e;
  telemetry_state s;
};

/// Steps `ap` by dt until its mission ends (completed, aborted, failed) or `limit` simulated seconds pass, calling
/// `each(t)` after every step; returns the mission events with their times.
template <typename F>
std::vector<timed_event> fly_mission(autopilot& ap, F each, double limit = 900, double dt = 0.1) {
  std::vector<timed_event> out;
  for (double t = dt; t <= limit + 1e-9; t += dt) {
    ap.step(dt);
    each(t);
    bool over = false;
    for (auto& e : take_events(ap)) {
      over = over || e.event == mission_event_kind::completed || e.event == mission_event_kind::aborted ||
             e.event == mission_event_kind::failed;
      out.push_back(timed_event{t, std::move(e), ap.state()});
    }
    if (over)
      break;
  }
  return out;
}

std::vector<timed_event> fly_to_end(autopilot& ap, double limit = 900) {
  return fly_mission(ap, [](double) {}, limit);
}

/// "current 0", "reached 0", ..., "completed": the events as text, to compare their order at a glance.
std::vector<std::string> event_names(const std::vector<timed_event>& log) {
  std::vector<std::string> out;
  for (const auto& x : log)
    out.push_back(std::string(mission_event_name(x.e.event)) + (x.e.seq >= 0 ? " " + std::to_string(x.e.seq) : ""));
  return out;
}

/// mission_item frames as the node sends them, mission_acks and mission_progress frames as the drone sends them,
/// mission_start among the command kinds.
void check_mission_frames() {
  simdjson::ondemand::parser parser;
  auto parse = [&](const std::string& text, mission_item_frame& f) {
    const simdjson::padded_string padded(text);
    return parse_mission_item_frame(parser, padded, f);
  };
  mission_item_frame f;
  CHECK(parse(R"({"type":"mission_item","mission_id":"m-1","seq":0,"count":3,"item":{"lat":50.1,"lon":10.2,"alt":60,)"
              R"("speed":8,"hold_s":2,"action":"photo","x":1},"final_action":"land","extra":[1]})",
              f));
  CHECK(f.mission_id == "m-1" && f.seq == 0 && f.count == 3 && f.error.empty() && f.at_end == final_action::land);
  CHECK(f.item.lat == 50.1 && f.item.lon == 10.2 && f.item.alt == 60 && f.item.speed == 8.0 && f.item.hold_s == 2 &&
        f.item.action == item_action::photo);
  // speed, hold_s and action may be left out (null speed too): cruise speed, no hold, no action.
  CHECK(parse(R"({"final_action":"hold","item":{"alt":60.5,"lon":10,"lat":50,"speed":null},"count":2,"seq":1,)"
              R"("mission_id":"m\"2","type":"mission_item"})",
              f));
  CHECK(f.mission_id == "m\"2" && f.seq == 1 && f.count == 2 && f.error.empty() && f.at_end == final_action::hold);
  CHECK(!f.item.speed && f.item.hold_s == 0 && f.item.action == item_action::none && f.item.alt == 60.5);
  // Answerable but unusable: answered `error` with the first problem.
  const auto error_of = [&](const std::string& rest) {
    mission_item_frame g;
    const bool ok = parse(R"({"type":"mission_item","mission_id":"m","seq":1,)" + rest + "}", g);
    CHECK(ok && g.mission_id == "m" && g.seq == 1);
    return g.error;
  };
  const std::string item = R"("item":{"lat":50,"lon":10,"alt":60})";
  CHECK(error_of(R"("count":3,)" + item + R"(,"final_action":"rtl")").empty());
  CHECK(error_of(item + R"(,"final_action":"rtl")") == "count is required");
  CHECK(error_of(R"("count":0,)" + item + R"(,"final_action":"rtl")") == "count must be within 1 to 1000");
  CHECK(error_of(R"("count":1001,)" + item + R"(,"final_action":"rtl")") == "count must be within 1 to 1000");
  CHECK(error_of(R"("count":"3",)" + item + R"(,"final_action":"rtl")") == "count must be an unsigned integer");
  CHECK(error_of(R"("count":1,)" + item + R"(,"final_action":"rtl")") == "seq 1 is not below count 1");
  CHECK(error_of(R"("count":3,)" + item) == "final_action is required");
  CHECK(error_of(R"("count":3,)" + item + R"(,"final_action":"loiter")") == "final_action must be rtl, land or hold");
  CHECK(error_of(R"("count":3,"final_action":"rtl")") == "item is required");
  CHECK(error_of(R"("count":3,"item":[1],"final_action":"rtl")") == "item must be an object");
  CHECK(error_of(R"("count":3,"item":{"lon":10,"alt":60},"final_action":"rtl")") == "item.lat is required");
  CHECK(error_of(R"("count":3,"item":{"lat":91,"lon":10,"alt":60},"final_action":"rtl")") ==
        "item.lat must be within -90 to 90");
  CHECK(error_of(R"("count":3,"item":{"lat":50,"lon":"x","alt":60},"final_action":"rtl")") ==
        "item.lon must be a number");
  CHECK(error_of(R"("count":3,"item":{"lat":50,"lon":10,"alt":60,"speed":0},"final_action":"rtl")") ==
        "item.speed must be within 0.1 to 1000");
  CHECK(error_of(R"("count":3,"item":{"lat":50,"lon":10,"alt":60,"hold_s":-1},"final_action":"rtl")") ==
        "item.hold_s must be within 0 to 3600");
  CHECK(error_of(R"("count":3,"item":{"lat":50,"lon":10,"alt":60,"action":"jump"},"final_action":"rtl")") ==
        "item.action must be none, photo, land or rtl");
  // Not answerable: no usable mission_id or seq, another type, not JSON.
  CHECK(!parse(R"({"type":"mission_item","seq":0,"count":1,)" + item + R"(,"final_action":"rtl"})", f));
  CHECK(!parse(R"({"type":"mission_item","mission_id":"","seq":0,"count":1,)" + item + R"(,"final_action":"rtl"})", f));
  CHECK(!parse(R"({"type":"mission_item","mission_id":"m","count":1,)" + item + R"(,"final_action":"rtl"})", f));
  CHECK(!parse(R"({"type":"mission_item","mission_id":"m","seq":-1,"count":1,)" + item + R"(,"final_action":"rtl"})", f));
  CHECK(!parse(R"({"type":"mission_item","mission_id":"m","seq":"0","count":1,)" + item + R"(,"final_action":"rtl"})", f));
  CHECK(!parse(R"({"type":"command","mission_id":"m","seq":0,"count":1,)" + item + R"(,"final_action":"rtl"})", f));
  CHECK(!parse(R"({"type":"mission_item","mission_id":"m","seq":0,)", f));

  CHECK(format_mission_ack(mission_ack{"m-1", 0, mission_result::accepted, ""}) ==
        R"({"type":"mission_ack","mission_id":"m-1","seq":0,"result":"accepted"})");
  CHECK(format_mission_ack(mission_ack{"m\"1", 2, mission_result::error, "expected seq 1"}) ==
        R"({"type":"mission_ack","mission_id":"m\"1","seq":2,"result":"error","reason":"expected seq 1"})");
  CHECK(format_mission_ack(mission_ack{"m", 0, mission_result::denied, "x"}).find(R"("result":"denied")") !=
        std::string::npos);
  CHECK(format_mission_ack(mission_ack{"m", 0, mission_result::unsupported, "x"}).find(R"("result":"unsupported")") !=
        std::string::npos);
  CHECK(format_mission_progress(mission_event{"m-1", mission_event_kind::current, 0, ""}) ==
        R"({"type":"mission_progress","mission_id":"m-1","event":"current","seq":0})");
  CHECK(format_mission_progress(mission_event{"m-1", mission_event_kind::reached, 2, ""}) ==
        R"({"type":"mission_progress","mission_id":"m-1","event":"reached","seq":2})");
  CHECK(format_mission_progress(mission_event{"m-1", mission_event_kind::completed, -1, ""}) ==
        R"({"type":"mission_progress","mission_id":"m-1","event":"completed"})");
  CHECK(format_mission_progress(mission_event{"m-1", mission_event_kind::aborted, -1, "interrupted by rtl"}) ==
        R"({"type":"mission_progress","mission_id":"m-1","event":"aborted","reason":"interrupted by rtl"})");
  CHECK(format_mission_progress(mission_event{"m-1", mission_event_kind::failed, -1, "battery exhausted"}) ==
        R"({"type":"mission_progress","mission_id":"m-1","event":"failed","reason":"battery exhausted"})");

  // mission_start: a command kind (for --commands and the hello), its mission_id a command parameter.
  std::string why;
  CHECK(kind_of("mission_start") == command_kind::mission_start);
  const auto kinds = kind_set::parse("arm,mission_start", why);
  CHECK(kinds && kinds->json_array() == R"(["arm","mission_start"])");
  command_frame c;
  const simdjson::padded_string start(
      std::string(R"({"type":"command","command_id":"c-9","kind":"mission_start","params":{"mission_id":"m-1"}})"));
  CHECK(parse_command_frame(parser, start, c) && c.request.kind == "mission_start" &&
        c.request.params.mission_id == std::optional<std::string>("m-1") && c.request.params.wrong_type == 0);
  const simdjson::padded_string wrong(
      std::string(R"({"type":"command","command_id":"c-9","kind":"mission_start","params":{"mission_id":7}})"));
  CHECK(parse_command_frame(parser, wrong, c) && c.request.params.wrong_type == command_params::f_mission_id);
  std::printf("mission frames: parsed, answered, reported\n");
}

/// Uploading item by item: repeats answered the same, order enforced, one mission kept; mission_start's refusals.
void check_mission_upload() {
  autopilot ap = fresh_pilot();
  const std::vector<mission_item> items{waypoint(ap, 100, 0, 20), waypoint(ap, 100, 100, 20),
                                        waypoint(ap, 0, 100, 20)};
  // mission_start before any upload: denied.
  CHECK(ap.handle(request("s0", "mission_start", mission_param("m1")), t0_ms) == command_outcome::refused);
  auto a = one_ack(ap);
  CHECK(a.result == command_result::denied && a.reason == "mission m1 is not uploaded");
  CHECK(ap.handle(request("s00", "mission_start"), t0_ms) == command_outcome::refused);
  CHECK(one_ack(ap).reason == "params.mission_id is required");

  // seq 0, then the node's retry of seq 0: the same ack again, nothing changes.
  ap.handle_mission_item(item_frame("m1", 0, 3, items[0]));
  const auto first = one_mission_ack(ap);
  CHECK(first.mission_id == "m1" && first.seq == 0 && first.result == mission_result::accepted);
  ap.handle_mission_item(item_frame("m1", 0, 3, items[0]));
  CHECK(same_mission_ack(one_mission_ack(ap), first));
  // Out of order: seq 2 while 1 is expected; a seq 1 of another mission (which would have to start at 0).
  ap.handle_mission_item(item_frame("m1", 2, 3, items[2]));
  auto e = one_mission_ack(ap);
  CHECK(e.seq == 2 && e.result == mission_result::error && e.reason == "expected seq 1");
  ap.handle_mission_item(item_frame("m2", 1, 3, items[1]));
  e = one_mission_ack(ap);
  CHECK(e.mission_id == "m2" && e.result == mission_result::error && e.reason == "expected seq 0");
  // A count or final_action other than seq 0's, an item below the ground's 1 m, a frame error: error, not stored.
  ap.handle_mission_item(item_frame("m1", 1, 4, items[1]));
  CHECK(one_mission_ack(ap).reason == "count 4 differs from seq 0's 3");
  ap.handle_mission_item(item_frame("m1", 1, 3, items[1], final_action::land));
  CHECK(one_mission_ack(ap).reason == "final_action land differs from seq 0's rtl");
  ap.handle_mission_item(item_frame("m1", 1, 3, waypoint(ap, 0, 0, 0.5)));
  e = one_mission_ack(ap);
  CHECK(e.result == mission_result::error && e.reason.find("less than 1 m above the ground") != std::string::npos);
  auto broken = item_frame("m1", 1, 3, items[1]);
  broken.error = "item.lat is required";
  ap.handle_mission_item(broken);
  e = one_mission_ack(ap);
  CHECK(e.result == mission_result::error && e.reason == "item.lat is required");
  // The upload is where it was: seq 1 goes in.
  ap.handle_mission_item(item_frame("m1", 1, 3, items[1]));
  CHECK(one_mission_ack(ap).result == mission_result::accepted);
  // Not whole yet: mission_start denied, and nothing is stored.
  CHECK(!ap.stored_mission());
  CHECK(ap.handle(request("s1", "mission_start", mission_param("m1")), t0_ms) == command_outcome::refused);
  a = one_ack(ap);
  CHECK(a.result == command_result::denied && a.reason == "mission m1 is not fully uploaded (2 of 3 items)");
  ap.handle_mission_item(item_frame("m1", 2, 3, items[2]));
  const auto last = one_mission_ack(ap);
  CHECK(last.seq == 2 && last.result == mission_result::accepted);
  CHECK(ap.stored_mission() == std::optional<std::string>("m1"));
  // The last item again (its ack was lost): the same ack; and after it, nothing more is expected of m1.
  ap.handle_mission_item(item_frame("m1", 2, 3, items[2]));
  CHECK(same_mission_ack(one_mission_ack(ap), last));
  ap.handle_mission_item(item_frame("m1", 1, 3, items[1]));
  CHECK(one_mission_ack(ap).reason == "expected seq 0");
  CHECK(ap.stored_mission() == std::optional<std::string>("m1") && !ap.flying() && take(ap).empty());
  // The same mission uploaded anew: its seq 0 (here changed) starts the upload again.
  ap.handle_mission_item(item_frame("m1", 0, 2, items[1]));
  CHECK(one_mission_ack(ap).result == mission_result::accepted);
  ap.handle_mission_item(item_frame("m1", 1, 2, items[2]));
  CHECK(one_mission_ack(ap).result == mission_result::accepted && ap.stored_mission() == std::optional<std::string>("m1"));
  ap.handle_mission_item(item_frame("m1", 1, 2, items[2]));
  CHECK(one_mission_ack(ap).result == mission_result::accepted);

  // Another mission replaces it only once whole; m1 can still be started meanwhile.
  ap.handle_mission_item(item_frame("m2", 0, 2, items[0], final_action::land));
  CHECK(one_mission_ack(ap).result == mission_result::accepted);
  CHECK(ap.stored_mission() == std::optional<std::string>("m1"));
  ap.handle_mission_item(item_frame("m2", 1, 2, items[1], final_action::land));
  CHECK(one_mission_ack(ap).result == mission_result::accepted);
  CHECK(ap.stored_mission() == std::optional<std::string>("m2"));
  CHECK(ap.handle(request("s2", "mission_start", mission_param("m1")), t0_ms) == command_outcome::refused);
  CHECK(one_ack(ap).reason == "mission m1 is not uploaded");

  // While a mission is flown, a new upload is denied (a retry of the last accepted item still gets its ack).
  CHECK(ap.handle(request("s3", "mission_start", mission_param("m2")), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded && ap.active_mission() == std::optional<std::string>("m2"));
  ap.handle_mission_item(item_frame("m3", 0, 1, items[0]));
  e = one_mission_ack(ap);
  CHECK(e.mission_id == "m3" && e.result == mission_result::denied && e.reason.find("m2 is being flown") != std::string::npos);
  ap.handle_mission_item(item_frame("m2", 1, 2, items[1], final_action::land));
  CHECK(one_mission_ack(ap).result == mission_result::accepted && ap.stored_mission() == std::optional<std::string>("m2"));
  // Started twice (another command id): denied; the same command id again: its ack, nothing restarts.
  ap.step(1.0);
  take_events(ap);
  CHECK(ap.handle(request("s4", "mission_start", mission_param("m2")), t0_ms) == command_outcome::refused);
  CHECK(one_ack(ap).reason == "mission m2 is already being flown");
  CHECK(ap.handle(request("s3", "mission_start", mission_param("m2")), t0_ms) == command_outcome::duplicate);
  CHECK(one_ack(ap).result == command_result::succeeded && take_events(ap).empty());

  // A drone whose kinds lack mission_start: every item unsupported, and mission_start too.
  std::string why;
  autopilot plain = fresh_pilot(*kind_set::parse("arm,takeoff,land", why));
  plain.handle_mission_item(item_frame("m1", 0, 3, items[0]));
  e = one_mission_ack(plain);
  CHECK(e.result == mission_result::unsupported && e.seq == 0 && !plain.stored_mission());
  CHECK(plain.handle(request("s", "mission_start", mission_param("m1")), t0_ms) == command_outcome::refused);
  CHECK(one_ack(plain).result == command_result::unsupported);

  // Arming checks on the ground, as arm's: temporarily_rejected with the reason, nothing moves.
  autopilot low = fresh_pilot();
  upload(low, "m1", items);
  low.set_battery(15);
  CHECK(low.handle(request("s", "mission_start", mission_param("m1")), t0_ms) == command_outcome::refused);
  a = one_ack(low);
  CHECK(a.result == command_result::temporarily_rejected && a.reason.find("battery") != std::string::npos);
  CHECK(!low.state().armed && !low.flying() && !low.active_mission() && take_events(low).empty());
  low.set_battery(80);
  low.set_fix(1);
  CHECK(low.handle(request("s2", "mission_start", mission_param("m1")), t0_ms) == command_outcome::refused);
  CHECK(one_ack(low).reason.find("fix") != std::string::npos && !low.state().armed);
  std::printf("missions: uploaded item by item, repeats answered the same, order kept, start refused until whole\n");
}

/// A 3-waypoint mission from the ground: takeoff, each item in turn with its hold and speed, then home.
void check_mission_flight() {
  autopilot ap = fresh_pilot();
  const std::vector<mission_item> items{
      waypoint(ap, 200, 0, 30, 2.0),
      waypoint(ap, 200, 150, 40, 3.0, item_action::photo, 5.0),
      waypoint(ap, 0, 150, 25, 0.0),
  };
  upload(ap, "tour", items);
  const double battery_before = ap.state().battery;
  CHECK(ap.handle(request("go", "mission_start", mission_param("tour")), t0_ms) == command_outcome::executed);
  std::vector<pilot_message> msgs;
  ap.take_messages(msgs);
  // The command's ack first, then the first item is current.
  CHECK(msgs.size() == 2);
  if (msgs.size() == 2) {
    const auto* ack = std::get_if<command_ack>(&msgs[0]);
    const auto* ev = std::get_if<mission_event>(&msgs[1]);
    CHECK(ack && ack->command_id == "go" && ack->result == command_result::succeeded);
    CHECK(ev && ev->mission_id == "tour" && ev->event == mission_event_kind::current && ev->seq == 0);
  }
  // Armed and climbing straight up to the first item's altitude, in MISSION.
  CHECK(ap.state().armed && ap.flying() && ap.state().mode == flight_mode::mission);
  ap.step(1.0);
  CHECK(ap.state().mode == flight_mode::mission && std::fabs(ap.state().vspeed - autopilot::climb_rate) < 1e-9 &&
        ap.distance_from_home() < 1e-6);

  double max_speed_leg1 = 0;
  bool mission_mode = true, rtl_seen = false;
  char buf[max_frame_size];
  auto log = fly_mission(ap, [&](double) {
    const auto& s = ap.state();
    if (ap.mission_item_index() == std::optional<std::uint32_t>(1))
      max_speed_leg1 = std::max(max_speed_leg1, s.speed);
    if (s.mode == flight_mode::rtl)
      rtl_seen = true;
    else if (ap.flying())
      mission_mode = mission_mode && s.mode == flight_mode::mission;
    const std::size_t n = format_telemetry(buf, sizeof buf, s, 1, 1764189000123456LL);
    const auto j = nlohmann::json::parse(std::string(buf, n), nullptr, false);
    CHECK(!j.is_discarded());
    if (!j.is_discarded())
      check_frame(j, 1);
  });
  // Item 1 at its own speed, the others at the cruise speed.
  CHECK(max_speed_leg1 <= 5.0 + 1e-9 && max_speed_leg1 > 4.5);
  const auto names = event_names(log);
  CHECK((names == std::vector<std::string>{"reached 0", "current 1", "reached 1", "current 2", "reached 2", "completed"}));
  if (names.size() == 6) {
    // At each item when reached: its position and altitude.
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& s = log[i == 0 ? 0 : 2 * i].s;
      CHECK(distance_m(s.lat, s.lon, items[i].lat, items[i].lon) < 0.01 && std::fabs(s.alt - items[i].alt) < 1e-6);
    }
    // The hold times: from reached to the next current, hold_s (to a step).
    CHECK(log[1].t - log[0].t >= 2.0 - 1e-9 && log[1].t - log[0].t <= 2.0 + 0.1 + 1e-9);
    CHECK(log[3].t - log[2].t >= 3.0 - 1e-9 && log[3].t - log[2].t <= 3.0 + 0.1 + 1e-9);
    // Completed after rtl: at home, landed, disarmed.
    CHECK(log[5].e.mission_id == "tour" && log[5].e.reason.empty());
    CHECK(log[5].s.mode == flight_mode::standby && !log[5].s.armed);
  }
  CHECK(mission_mode && rtl_seen);
  CHECK(!ap.flying() && !ap.state().armed && ap.distance_from_home() < 1e-6 && ap.height() == 0.0);
  CHECK(ap.photos() == 1 && !ap.active_mission() && ap.stored_mission() == std::optional<std::string>("tour"));
  CHECK(ap.state().battery < battery_before - 0.06 * log.back().t);
  CHECK(take(ap).empty()); // no command_ack for a mission's flight
  std::printf("missions: 3 waypoints flown in order with their holds, then home, landed and disarmed\n");
}

/// Steps `ap` by 0.1 s for `seconds`, appending the mission events to `log` (with their times from `t`).
void step_for(autopilot& ap, double seconds, std::vector<timed_event>& log, double& t) {
  for (double left = seconds; left > 1e-9; left -= 0.1) {
    ap.step(0.1);
    t += 0.1;
    for (auto& e : take_events(ap))
      log.push_back(timed_event{t, std::move(e), ap.state()});
  }
}

/// Pausing with hold and going on with resume; commands that end a mission; the other ways a mission ends.
void check_mission_control() {
  // hold pauses the flight to an item where the drone is, and the hold time at an item; resume goes on.
  autopilot ap = fresh_pilot();
  airborne(ap, 20);
  take(ap);
  upload(ap, "m", {waypoint(ap, 400, 0, 20, 4.0), waypoint(ap, 400, 300, 30, 0.0)}, final_action::hold);
  CHECK(ap.handle(request("start", "mission_start", mission_param("m")), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded);
  auto events = take_events(ap); // in the air: straight to item 0
  CHECK(events.size() == 1 && events[0].event == mission_event_kind::current && events[0].seq == 0);
  CHECK(ap.state().mode == flight_mode::mission);
  std::vector<timed_event> log;
  double t = 0;
  step_for(ap, 10, log, t);
  CHECK(log.empty() && ap.state().speed > 5);
  CHECK(ap.handle(request("h1", "hold"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded && ap.state().mode == flight_mode::hold);
  step_for(ap, 5, log, t); // brakes
  const double lat_held = ap.state().lat;
  step_for(ap, 20, log, t);
  CHECK(log.empty() && ap.state().lat == lat_held && ap.state().speed == 0.0);
  CHECK(ap.active_mission() == std::optional<std::string>("m") && ap.mission_item_index() == std::optional<std::uint32_t>(0));
  CHECK(ap.handle(request("again", "mission_start", mission_param("m")), t0_ms) == command_outcome::refused);
  CHECK(one_ack(ap).reason == "mission m is paused: resume continues it");
  CHECK(ap.handle(request("r1", "resume"), t0_ms) == command_outcome::executed);
  CHECK(one_ack(ap).result == command_result::succeeded && ap.state().mode == flight_mode::mission);
  while (log.empty() && t < 300)
    step_for(ap, 0.1, log, t);
  CHECK(event_names(log) == std::vector<std::string>{"reached 0"});
  const double reached_at = t;
  step_for(ap, 2.0, log, t); // half its hold
  CHECK(ap.handle(request("h2", "hold"), t0_ms) == command_outcome::executed);
  take(ap);
  step_for(ap, 10.0, log, t); // paused: the hold time does not run
  CHECK(log.size() == 1 && ap.state().mode == flight_mode::hold);
  CHECK(ap.handle(request("r2", "resume"), t0_ms) == command_outcome::executed);
  take(ap);
  while (log.size() == 1 && t < 300)
    step_for(ap, 0.1, log, t);
  CHECK(event_names(log) == (std::vector<std::string>{"reached 0", "current 1"}));
  CHECK(std::fabs((t - reached_at - 10.0) - 4.0) < 0.15); // 4 s of hold, not counting the 10 s paused
  // final_action hold: completed on arrival at the last item, hovering there in HOLD, armed.
  auto rest = fly_to_end(ap, 300);
  CHECK(event_names(rest) == (std::vector<std::string>{"reached 1", "completed"}));
  CHECK(ap.flying() && ap.state().armed && ap.state().mode == flight_mode::hold && !ap.active_mission());
  ap.step(5.0);
  CHECK(ap.flying() && ap.state().speed < 0.5 && take_events(ap).empty());

  // rtl mid-mission: the mission is aborted, the rtl runs (and answers as ever), home, landed.
  autopilot bp = fresh_pilot();
  upload(bp, "m", {waypoint(bp, 300, 0, 25, 1.0), waypoint(bp, 300, 300, 25, 1.0)}, final_action::land);
  CHECK(bp.handle(request("start", "mission_start", mission_param("m")), t0_ms) == command_outcome::executed);
  take(bp);
  take_events(bp);
  log.clear();
  t = 0;
  while (log.empty() && t < 300)
    step_for(bp, 0.1, log, t);
  CHECK(event_names(log) == std::vector<std::string>{"reached 0"});
  step_for(bp, 3.0, log, t); // on its way to item 1
  CHECK(bp.mission_item_index() == std::optional<std::uint32_t>(1) && log.size() == 2);
  CHECK(bp.handle(request("home", "rtl"), t0_ms) == command_outcome::executed);
  std::vector<pilot_message> msgs;
  bp.take_messages(msgs);
  CHECK(msgs.size() == 2);
  if (msgs.size() == 2) {
    const auto* ev = std::get_if<mission_event>(&msgs[0]);
    const auto* ack = std::get_if<command_ack>(&msgs[1]);
    CHECK(ev && ev->mission_id == "m" && ev->event == mission_event_kind::aborted && ev->seq == -1 &&
          ev->reason == "interrupted by rtl");
    CHECK(ack && ack->command_id == "home" && ack->result == command_result::accepted);
  }
  CHECK(!bp.active_mission() && bp.stored_mission() == std::optional<std::string>("m"));
  CHECK(bp.state().mode == flight_mode::rtl);
  std::vector<command_ack> acks;
  fly_until_final(bp, "home", acks);
  CHECK(!acks.empty() && acks.back().result == command_result::succeeded && take_events(bp).empty());
  CHECK(!bp.flying() && !bp.state().armed && bp.distance_from_home() < 1e-6);
  // The stored mission can be flown again; goto and set_mode end it too, hold and cancel-less commands do not.
  CHECK(bp.handle(request("start2", "mission_start", mission_param("m")), t0_ms) == command_outcome::executed);
  take(bp);
  bp.step(3.0);
  command_params speed;
  speed.speed = 8;
  CHECK(bp.handle(request("slow", "set_speed", speed), t0_ms) == command_outcome::executed);
  CHECK(bp.handle(request("d", "disarm"), t0_ms) == command_outcome::refused); // in the air: denied, goes on
  CHECK(bp.handle(request("t", "takeoff", alt_param(50)), t0_ms) == command_outcome::refused);
  take(bp);
  CHECK(bp.active_mission() == std::optional<std::string>("m") && take_events(bp).size() == 1); // current 0 only
  const auto [lat, lon] = offset(bp, -100, 0);
  CHECK(bp.handle(request("g", "goto", goto_params(lat, lon, bp.ground_alt() + 20)), t0_ms) == command_outcome::executed);
  CHECK(one_ack(bp).result == command_result::accepted);
  events = take_events(bp);
  CHECK(events.size() == 1 && events[0].event == mission_event_kind::aborted && events[0].reason == "interrupted by goto");
  CHECK(bp.state().mode == flight_mode::guided && bp.active_command() == std::optional<std::string>("g"));
  // mission_start ends a movement command under way.
  CHECK(bp.handle(request("start3", "mission_start", mission_param("m")), t0_ms) == command_outcome::executed);
  acks = take(bp);
  CHECK(acks.size() == 2 && acks[0].command_id == "g" && acks[0].result == command_result::cancelled &&
        acks[0].reason == "replaced by mission_start" && acks[1].result == command_result::succeeded);
  take_events(bp);
  command_params mode;
  mode.mode = "RTL";
  CHECK(bp.handle(request("mode", "set_mode", mode), t0_ms) == command_outcome::executed);
  events = take_events(bp);
  CHECK(events.size() == 1 && events[0].event == mission_event_kind::aborted && events[0].reason == "mode changed to RTL");
  CHECK(bp.state().mode == flight_mode::rtl);

  // An item's land action ends the mission there (later items are not flown); final_action land lands at the last.
  autopilot cp = fresh_pilot();
  const auto spot = waypoint(cp, 0, 200, 15, 0.0, item_action::land);
  upload(cp, "l", {spot, waypoint(cp, 200, 200, 15)});
  CHECK(cp.handle(request("s", "mission_start", mission_param("l")), t0_ms) == command_outcome::executed);
  take_events(cp);
  log = fly_to_end(cp, 300);
  CHECK(event_names(log) == (std::vector<std::string>{"reached 0", "completed"}));
  // There: it lands where it arrived, sliding on by its braking distance (a metre or two) as it slows down.
  CHECK(!cp.flying() && !cp.state().armed && distance_m(cp.state().lat, cp.state().lon, spot.lat, spot.lon) < 3.0);
  autopilot dp = fresh_pilot();
  const auto end = waypoint(dp, 100, 0, 15);
  upload(dp, "f", {waypoint(dp, 0, 100, 15), end}, final_action::land);
  CHECK(dp.handle(request("s", "mission_start", mission_param("f")), t0_ms) == command_outcome::executed);
  take_events(dp);
  bool landing_seen = false;
  log = fly_mission(dp, [&](double) { landing_seen = landing_seen || dp.state().mode == flight_mode::land; }, 300);
  CHECK(event_names(log) == (std::vector<std::string>{"reached 0", "current 1", "reached 1", "completed"}));
  CHECK(landing_seen && !dp.flying() && !dp.state().armed && distance_m(dp.state().lat, dp.state().lon, end.lat, end.lon) < 3.0);

  // The battery runs out: failed, and the drone lands where it is.
  autopilot ep = fresh_pilot();
  upload(ep, "b", {waypoint(ep, 3000, 0, 30), waypoint(ep, 3000, 3000, 30)});
  CHECK(ep.handle(request("s", "mission_start", mission_param("b")), t0_ms) == command_outcome::executed);
  take_events(ep);
  ep.step(5.0);
  ep.set_battery(1.0);
  log = fly_to_end(ep, 120);
  CHECK(!log.empty() && log.back().e.event == mission_event_kind::failed && log.back().e.reason == "battery exhausted");
  CHECK(ep.state().mode == flight_mode::land && !ep.active_mission());
  for (int i = 0; i < 600 && ep.flying(); ++i)
    ep.step(0.1);
  CHECK(!ep.flying() && !ep.state().armed && take_events(ep).empty());
  std::printf("missions: hold pauses and resume continues, rtl/goto/set_mode abort, land action, final land, empty battery\n");
}

// ---------------------------------------------------------------------------------------------
// --ack end to end against a fake node

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;

/// A node that speaks just enough of the drone protocol: welcomes, stores telemetry, acks (sometimes
/// per frame, sometimes several at once), sends duplicate and bogus acks, and closes each drone's
/// first connection with 1013 after a few frames with some of them unacknowledged.
class fake_node {
public:
  fake_node() : acceptor_(ioc_, net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~fake_node() {
    stop_ = true;
    boost::system::error_code ec;
    net::ip::tcp::socket poke(ioc_);
    poke.connect(net::ip::tcp::endpoint(net::ip::address_v4::loopback(), port_), ec); // wakes accept()
    thread_.join();
    for (auto& t : sessions_)
      t.join();
  }
  unsigned short port() const { return port_; }

  struct drone_log {
    std::map<std::uint64_t, std::string> stored; ///< seq -> bytes of the first receipt
    std::int64_t acked = -1;                     ///< highest seq acked (all up to it are stored)
    int connections = 0, resends = 0, mismatches = 0, order_errors = 0;
    bool hello_ack = false;
  };
  std::map<std::string, drone_log> drones;
  std::mutex mutex;

private:
  void accept_loop() {
    for (;;) {
      net::ip::tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (stop_ || ec)
        return;
      sessions_.emplace_back([this, sock = std::move(s)]() mutable { session(std::move(sock)); });
    }
  }

  void session(net::ip::tcp::socket sock) {
    try {
      websocket::stream<net::ip::tcp::socket> ws(std::move(sock));
      ws.accept();
      ws.text(true);
      boost::beast::flat_buffer buf;
      ws.read(buf);
      const auto hello = nlohmann::json::parse(boost::beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      const std::string id = hello.at("drone_id");
      int conn = 0;
      std::int64_t expect = 0;
      {
        std::lock_guard<std::mutex> lock(mutex);
        auto& d = drones[id];
        d.hello_ack = hello.value("ack", false);
        conn = ++d.connections;
        expect = d.acked + 1; // the first frame on a connection: the oldest unacknowledged
      }
      ws.write(net::buffer(std::string(R"({"type":"welcome","server_time":1,"drone_id":")") + id + R"("})"));
      int frames = 0;
      for (;;) {
        ws.read(buf);
        const std::string text = boost::beast::buffers_to_string(buf.data());
        buf.consume(buf.size());
        const auto j = nlohmann::json::parse(text);
        if (j.at("type") != "telemetry")
          continue;
        const auto seq = j.at("seq").get<std::int64_t>();
        ++frames;
        std::string ack;
        bool close_now = false;
        {
          std::lock_guard<std::mutex> lock(mutex);
          auto& d = drones[id];
          if (seq != expect)
            ++d.order_errors;
          expect = seq + 1;
          const auto [it, fresh] = d.stored.emplace(static_cast<std::uint64_t>(seq), text);
          if (!fresh) {
            ++d.resends;
            if (it->second != text)
              ++d.mismatches;
          }
          if (conn == 1 && frames == 10) { // acknowledge part of it, then "cannot store more"
            d.acked = seq - 4;
            ack = R"({"type":"ack","seq":)" + std::to_string(d.acked) + "}";
            close_now = true;
          } else if (conn > 1 && (seq % 3 == 2 || ws.next_layer().available() == 0)) {
            d.acked = seq;
            ack = R"({"type":"ack","seq":)" + std::to_string(seq) + "}";
          }
        }
        if (!ack.empty())
          ws.write(net::buffer(ack));
        if (close_now) {
          ws.close(websocket::close_reason(static_cast<std::uint16_t>(1013)));
          return;
        }
        if (conn == 2 && frames == 3) {
          ws.write(net::buffer(std::string(R"({"type":"ack","seq":0})")));          // old: ignored
          ws.write(net::buffer(std::string(R"({"type":"ack","seq":1000000000})"))); // never sent: ack_errors
          ws.write(net::buffer(std::string(R"({ "seq": 0, "type": "ack" })")));     // another spelling, old
        }
      }
    } catch (const std::exception&) {
      // the drone closed the connection (end of the run)
    }
  }

  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::vector<std::thread> sessions_;
  std::atomic<bool> stop_{false};
};

/// Runs dccs::sim::run with stdout captured (the --json line).
int run_captured(const options& o, std::string& out) {
  std::fflush(stdout);
  char path[] = "/tmp/dccs-sim-check-XXXXXX";
  const int fd = mkstemp(path);
  const int saved = dup(1);
  dup2(fd, 1);
  const int status = run(o);
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  std::remove(path);
  return status;
}

void check_ack_end_to_end() {
  fake_node node;
  const std::string report = "/tmp/dccs-sim-check-ack-report-" + std::to_string(getpid());
  options o;
  o.url = "ws://127.0.0.1:" + std::to_string(node.port());
  o.host = "127.0.0.1";
  o.port = std::to_string(node.port());
  o.drones = 4;
  o.rate = 20;
  o.duration = 2.0;
  o.report_interval = 60;
  o.json = true;
  o.ack = true;
  o.ack_window = 1000;
  o.ack_report = report;
  o.stop_when_acked = true;
  o.drain_timeout = 10;
  std::string out;
  const int status = run_captured(o, out);
  CHECK(status == 0);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  CHECK(!j.is_discarded());
  if (j.is_discarded())
    return;
  std::lock_guard<std::mutex> lock(node.mutex);
  CHECK(node.drones.size() == 4);
  std::uint64_t stored = 0;
  int resends = 0;
  for (const auto& [id, d] : node.drones) {
    CHECK(d.hello_ack);
    CHECK(d.connections >= 2);
    CHECK(d.mismatches == 0);   // resent frames are byte for byte the first ones
    CHECK(d.order_errors == 0); // every connection starts at the oldest unacknowledged frame, then in order
    CHECK(d.acked >= 0 && d.stored.size() == static_cast<std::size_t>(d.acked) + 1);
    stored += d.stored.size();
    resends += d.resends;
  }
  CHECK(j.at("frames_unacked") == 0);
  CHECK(j.at("frames_acked").get<std::uint64_t>() == stored);
  // At least the 4 unacknowledged frames of each first connection; the drone also counts frames the
  // fake node discarded while closing.
  CHECK(resends >= 4 * 4 && j.at("frames_resent").get<int>() >= resends);
  CHECK(j.at("ack_errors") == 4);
  CHECK(j.at("ack_stalls") == 0);
  CHECK(j.at("close_1013") == 4);
  std::ifstream in(report);
  std::string id;
  long long acked = 0, sent = 0;
  int lines = 0;
  while (in >> id >> acked >> sent) {
    ++lines;
    CHECK(node.drones.count(id) == 1 && node.drones[id].acked == acked && acked == sent);
  }
  CHECK(lines == 4);
  std::remove(report.c_str());
  std::printf("ack: %llu frames stored once, %d resent after 1013, every one acknowledged\n",
              static_cast<unsigned long long>(stored), resends);
}

/// A full window stalls generation (counted) until the ack frees room.
void check_ack_stall() {
  fake_node node; // acks each frame, but a window of 1 at 200 Hz must wait for every ack
  options o;
  o.url = "ws://127.0.0.1:" + std::to_string(node.port());
  o.host = "127.0.0.1";
  o.port = std::to_string(node.port());
  o.drones = 1;
  o.rate = 200;
  o.duration = 0.5;
  o.report_interval = 60;
  o.json = true;
  o.ack = true;
  o.ack_window = 1;
  std::string out;
  CHECK(run_captured(o, out) == 0);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  CHECK(!j.is_discarded());
  if (!j.is_discarded())
    CHECK(j.at("ack_stalls").get<std::uint64_t>() > 0 && j.at("frames_unacked").get<std::uint64_t>() <= 1);
}

/// Two nodes, one of which refuses every connection: drones start on either, move to the next URL after
/// a failed connect and after a 1013 close, and end up on the node that works; failovers are counted.
void check_failover() {
  fake_node node; // closes each drone's first connection with 1013, then keeps it
  unsigned short dead_port = 0;
  {
    net::io_context ioc;
    net::ip::tcp::acceptor a(ioc, net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0));
    dead_port = a.local_endpoint().port(); // closed again at once: connecting is refused
  }
  options o;
  o.urls = {parse_node_url("ws://127.0.0.1:" + std::to_string(node.port())),
            parse_node_url("ws://127.0.0.1:" + std::to_string(dead_port))};
  o.url = o.urls[0].url;
  o.host = o.urls[0].host;
  o.port = o.urls[0].port;
  o.drones = 4;
  o.rate = 20;
  o.duration = 2.5;
  o.report_interval = 60;
  o.json = true;
  o.ack = true;
  o.ack_window = 1000;
  o.stop_when_acked = true; // so every drone is back on the working node at the end
  o.drain_timeout = 20;
  std::string out;
  CHECK(run_captured(o, out) == 0);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  CHECK(!j.is_discarded());
  if (j.is_discarded())
    return;
  // Drones 0 and 2: node 0, 1013, refused on node 1, node 0 again: 2 failovers each, 1 refusal.
  // Drones 1 and 3: refused on node 1, node 0, 1013, refused on node 1, node 0 again: 3 failovers, 2 refusals.
  CHECK(j.at("nodes") == 2);
  CHECK(j.at("failovers") == 10);
  CHECK(j.at("connect_failures") == 6);
  CHECK(j.at("reconnects") == 10);
  CHECK(j.at("close_1013") == 4);
  CHECK(j.at("frames_unacked") == 0);
  CHECK(j.at("connected_per_node_at_end") == nlohmann::json::array({4, 0}));
  std::lock_guard<std::mutex> lock(node.mutex);
  CHECK(node.drones.size() == 4);
  for (const auto& [id, d] : node.drones)
    CHECK(d.connections == 2 && d.mismatches == 0 && d.order_errors == 0 && d.resends >= 4);
  std::printf("failover: 4 drones over 2 nodes (one refusing), %d failovers, all back on the working node\n",
              j.at("failovers").get<int>());
}

/// A node that commands each drone through a fixed script over the wire, as the node does: each command is sent
/// again (attempt + 1) while no ack it waits for came within 250 ms. It records every ack and what telemetry
/// showed.
class command_node {
public:
  struct drone_log {
    bool hello_has_commands = false;
    std::string hello_commands;                           ///< the hello's "commands", as JSON text
    std::map<std::string, std::vector<std::string>> acks; ///< command_id -> results, in arrival order
    int bad_acks = 0;                                     ///< acks of the wrong shape
    int sends = 0;
    bool script_done = false, armed_seen = false;
    std::set<std::string> modes;
    double ground_alt = 1e9, top_alt = -1e9;
  };
  std::map<std::string, drone_log> drones;
  std::mutex mutex;
  /// The id of the takeoff: quotes and a backslash, which every ack must echo intact.
  static inline const std::string takeoff_id = "take\"off\\1";

  command_node() : acceptor_(ioc_, net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~command_node() {
    stop_ = true;
    boost::system::error_code ec;
    net::ip::tcp::socket poke(ioc_);
    poke.connect(net::ip::tcp::endpoint(net::ip::address_v4::loopback(), port_), ec);
    thread_.join();
    for (auto& t : sessions_)
      t.join();
  }
  unsigned short port() const { return port_; }

private:
  struct step {
    std::string id;
    nlohmann::json frame; ///< without "attempt"
    bool until_final;     ///< wait for a final ack (else any ack for the id)
  };

  static std::vector<step> script() {
    const double now_ms = static_cast<double>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    auto command = [&](const std::string& id, const std::string& kind, nlohmann::json params, double expires_at) {
      return nlohmann::json{{"type", "command"}, {"command_id", id}, {"kind", kind}, {"params", std::move(params)},
                            {"expires_at", expires_at}};
    };
    return {
        {"arm-1", command("arm-1", "arm", nlohmann::json::object(), now_ms + 60000), true},
        {takeoff_id, command(takeoff_id, "takeoff", {{"alt", 5}}, now_ms + 60000), true},
        {takeoff_id, command(takeoff_id, "takeoff", {{"alt", 5}}, now_ms + 60000), false}, // a late retry
        {"ghost-1", nlohmann::json{{"type", "command_cancel"}, {"command_id", "ghost-1"}}, true},
        {"ghost-1", command("ghost-1", "land", nlohmann::json::object(), now_ms + 60000), true},
        {"old-1", command("old-1", "land", nlohmann::json::object(), now_ms - 1000), true},
        {"flip-1", command("flip-1", "flip", nlohmann::json::object(), now_ms + 60000), true},
    };
  }

  void accept_loop() {
    for (;;) {
      net::ip::tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (stop_ || ec)
        return;
      sessions_.emplace_back([this, sock = std::move(s)]() mutable { session(std::move(sock)); });
    }
  }

  void session(net::ip::tcp::socket sock) {
    try {
      websocket::stream<net::ip::tcp::socket> ws(std::move(sock));
      ws.accept();
      ws.text(true);
      boost::beast::flat_buffer buf;
      ws.read(buf);
      const auto hello = nlohmann::json::parse(boost::beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      const std::string id = hello.at("drone_id");
      {
        std::lock_guard<std::mutex> lock(mutex);
        auto& d = drones[id];
        d.hello_has_commands = hello.contains("commands");
        if (d.hello_has_commands)
          d.hello_commands = hello["commands"].dump();
      }
      ws.write(net::buffer(std::string(R"({"type":"welcome","server_time":1,"drone_id":")") + id + R"("})"));
      const auto steps = script();
      std::size_t next = 0;
      int attempt = 0;
      bool seen = false; // commands start once the drone was seen (on the ground, in its first telemetry)
      auto last_send = std::chrono::steady_clock::now();
      for (;;) {
        if (seen && next < steps.size() && (attempt == 0 || std::chrono::steady_clock::now() - last_send > std::chrono::milliseconds(250))) {
          auto frame = steps[next].frame;
          if (frame.at("type") == "command")
            frame["attempt"] = ++attempt;
          else
            ++attempt;
          ws.write(net::buffer(frame.dump()));
          last_send = std::chrono::steady_clock::now();
          std::lock_guard<std::mutex> lock(mutex);
          ++drones[id].sends;
        }
        ws.read(buf); // telemetry comes 20 times a second: the resend timer is looked at often enough
        const auto j = nlohmann::json::parse(boost::beast::buffers_to_string(buf.data()));
        buf.consume(buf.size());
        std::lock_guard<std::mutex> lock(mutex);
        auto& d = drones[id];
        if (j.at("type") == "telemetry") {
          seen = true;
          d.modes.insert(j.at("mode").get<std::string>());
          d.armed_seen = d.armed_seen || j.at("armed").get<bool>();
          d.ground_alt = std::min(d.ground_alt, j.at("alt").get<double>());
          d.top_alt = std::max(d.top_alt, j.at("alt").get<double>());
        } else if (j.at("type") == "command_ack") {
          const std::string cid = j.value("command_id", "");
          const std::string result = j.value("result", "");
          const bool progress_ok = !j.contains("progress") || (j["progress"].is_number() && j["progress"] >= 0 && j["progress"] <= 100);
          if (cid.empty() || result.empty() || !progress_ok || j.size() > 5)
            ++d.bad_acks;
          d.acks[cid].push_back(result);
          const bool final = result != "accepted" && result != "in_progress";
          if (next < steps.size() && cid == steps[next].id && (final || !steps[next].until_final)) {
            ++next;
            attempt = 0;
            d.script_done = next == steps.size();
          }
        }
      }
    } catch (const std::exception&) {
      // the drone closed the connection (end of the run)
    }
  }

  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::vector<std::thread> sessions_;
  std::atomic<bool> stop_{false};
};

/// Every ack of `acks` is one of `allowed`, and the last one is `last`.
bool acks_are(const std::vector<std::string>& acks, std::set<std::string> allowed, const std::string& last) {
  if (acks.empty() || acks.back() != last)
    return false;
  for (const auto& a : acks)
    if (!allowed.count(a))
      return false;
  return true;
}

std::int64_t wall_us_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// The lines of a --command-log file, split at tabs.
std::vector<std::vector<std::string>> read_command_log(const std::string& path) {
  std::vector<std::vector<std::string>> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, '\t');)
      fields.push_back(f);
    out.push_back(std::move(fields));
  }
  return out;
}

/// --command-log: a line per command frame parsed (not cancels, not frames that do not parse), with the wall clock
/// of its arrival; nothing before it is opened or after it is closed.
void check_command_log() {
  CHECK(command_log::format_line("c-1", 2, 1764189000123456) == "c-1\t2\t1764189000123456\n");
  CHECK(command_log::format_line("a\tb\nc", 1, 7) == "a?b?c\t1\t7\n");
  std::string why;
  CHECK(!command_log::open("/nonexistent-dir/rx.tsv", why) && why.find("/nonexistent-dir/rx.tsv") != std::string::npos);

  simdjson::ondemand::parser parser;
  command_frame f;
  auto parse = [&](const std::string& text) {
    const simdjson::padded_string padded(text);
    return parse_command_frame(parser, padded, f);
  };
  const std::string path = "/tmp/dccs-sim-check-command-log-" + std::to_string(getpid());
  CHECK(parse(R"({"type":"command","command_id":"before","kind":"arm"})")); // no log open: not written anywhere
  CHECK(command_log::open(path, why));
  const auto t0 = wall_us_now();
  CHECK(parse(R"({"type":"command","command_id":"c-1","kind":"set_speed","params":{"speed":4},"attempt":2})"));
  CHECK(parse(R"({"type":"command_cancel","command_id":"c-1"})"));          // a cancel: not logged
  CHECK(!parse(R"({"type":"command","kind":"land"})"));                      // unusable: not logged
  CHECK(parse(R"({"type":"command","command_id":"c-2","params":{}})"));      // no kind: answered, so logged
  const auto t1 = wall_us_now();
  command_log::flush();
  auto lines = read_command_log(path);
  CHECK(lines.size() == 2);
  if (lines.size() == 2) {
    CHECK(lines[0].size() == 3 && lines[0][0] == "c-1" && lines[0][1] == "2");
    CHECK(lines[1].size() == 3 && lines[1][0] == "c-2" && lines[1][1] == "1");
    for (const auto& l : lines)
      if (l.size() == 3)
        CHECK(std::stoll(l[2]) >= t0 && std::stoll(l[2]) <= t1);
  }
  command_log::close();
  CHECK(parse(R"({"type":"command","command_id":"after","kind":"arm"})"));
  CHECK(read_command_log(path).size() == 2);
  std::remove(path.c_str());
  std::printf("command log: one line per command frame, arrival in wall-clock µs\n");
}

/// Commands over the wire with --autopilot, a fifth of the command frames and acks lost and a fifth doubled:
/// the retries get through, each command runs once, repeats get the newest ack, telemetry shows the flight.
void check_commands_end_to_end() {
  command_node node;
  options o;
  o.url = "ws://127.0.0.1:" + std::to_string(node.port());
  o.host = "127.0.0.1";
  o.port = std::to_string(node.port());
  o.drones = 3;
  o.rate = 20;
  o.time_scale = 5; // the 5 m takeoff takes a third of a second
  o.duration = 6.0;
  o.report_interval = 60;
  o.json = true;
  o.autopilot = true;
  o.drop_rate = 0.2;
  o.dup_rate = 0.2;
  o.command_log = "/tmp/dccs-sim-check-command-log-e2e-" + std::to_string(getpid());
  std::string out;
  const auto t0 = wall_us_now();
  CHECK(run_captured(o, out) == 0);
  const auto t1 = wall_us_now();
  const auto j = nlohmann::json::parse(out, nullptr, false);
  CHECK(!j.is_discarded());
  // Every step of each drone's script is answered, so its command frame came at least once: 6 per drone.
  const auto logged = read_command_log(o.command_log);
  std::remove(o.command_log.c_str());
  CHECK(logged.size() >= 3 * 6);
  const std::set<std::string> sent_ids{"arm-1", command_node::takeoff_id, "ghost-1", "old-1", "flip-1"};
  for (const auto& l : logged) {
    CHECK(l.size() == 3 && sent_ids.count(l[0]) && std::stoll(l[1]) >= 1);
    if (l.size() == 3)
      CHECK(std::stoll(l[2]) >= t0 && std::stoll(l[2]) <= t1);
  }
  if (j.is_discarded())
    return;
  std::lock_guard<std::mutex> lock(node.mutex);
  CHECK(node.drones.size() == 3);
  int sends = 0;
  for (const auto& [id, d] : node.drones) {
    CHECK(d.hello_has_commands && d.hello_commands == kind_set::all().json_array());
    CHECK(d.script_done && d.bad_acks == 0);
    sends += d.sends;
    const auto ack_list = [&](const std::string& cid) {
      const auto it = d.acks.find(cid);
      return it == d.acks.end() ? std::vector<std::string>{} : it->second;
    };
    CHECK(acks_are(ack_list("arm-1"), {"succeeded"}, "succeeded"));
    CHECK(acks_are(ack_list(command_node::takeoff_id), {"accepted", "in_progress", "succeeded"}, "succeeded"));
    CHECK(acks_are(ack_list("ghost-1"), {"cancelled"}, "cancelled")); // cancelled before it came: never run
    CHECK(acks_are(ack_list("old-1"), {"failed"}, "failed"));
    CHECK(acks_are(ack_list("flip-1"), {"unsupported"}, "unsupported"));
    // Telemetry showed the commanded flight: armed, TAKEOFF, then GUIDED 5 m up; nothing else moved it.
    CHECK(d.armed_seen && d.modes.count("STANDBY") && d.modes.count("TAKEOFF") && d.modes.count("GUIDED"));
    CHECK(d.modes.size() == 3);
    CHECK(std::fabs(d.top_alt - d.ground_alt - 5.0) < 0.02);
  }
  // Executed: arm and takeoff of each drone, once; refused: the expired and the unknown kind; every other receipt
  // (retries, doubled frames, the late takeoff and the cancelled ghost) a duplicate.
  CHECK(j.at("commands_executed") == 3 * 2);
  CHECK(j.at("commands_refused") == 3 * 2);
  const auto received = j.at("commands_received").get<int>();
  CHECK(j.at("commands_duplicate").get<int>() == received - 3 * 4 && received >= 3 * 6);
  CHECK(j.at("command_cancels").get<int>() >= 3);
  CHECK(received + j.at("command_cancels").get<int>() ==
        sends - j.at("command_rx_dropped").get<int>() + j.at("command_rx_doubled").get<int>());
  CHECK(j.at("command_rx_dropped").get<int>() > 0 && j.at("command_rx_doubled").get<int>() > 0);
  CHECK(j.at("command_tx_dropped").get<int>() > 0 && j.at("command_tx_doubled").get<int>() > 0);
  CHECK(j.at("command_errors") == 0 && j.at("errors") == 0);
  std::printf("commands: 3 drones, %d frames sent, %d received, %d duplicates recognised, each command run once\n",
              sends, received, j.at("commands_duplicate").get<int>());
}

/// --commands none: no "commands" in the hello, every command answered unsupported, the scripted flight goes on;
/// with --ack, whose writes take another path.
void check_commands_none() {
  command_node node;
  options o;
  o.url = "ws://127.0.0.1:" + std::to_string(node.port());
  o.host = "127.0.0.1";
  o.port = std::to_string(node.port());
  o.drones = 1;
  o.rate = 20;
  o.duration = 1.5;
  o.report_interval = 60;
  o.json = true;
  o.commands = kind_set::none();
  o.ack = true; // the acks go out between kept telemetry frames (the other write path)
  std::string out;
  CHECK(run_captured(o, out) == 0);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  CHECK(!j.is_discarded());
  if (j.is_discarded())
    return;
  std::lock_guard<std::mutex> lock(node.mutex);
  CHECK(node.drones.size() == 1);
  for (const auto& [id, d] : node.drones) {
    CHECK(!d.hello_has_commands && d.bad_acks == 0);
    CHECK(d.acks.size() >= 2);
    for (const auto& [cid, results] : d.acks)
      CHECK(acks_are(results, {"unsupported"}, "unsupported"));
  }
  CHECK(j.at("commands_executed") == 0 && j.at("commands_refused").get<int>() >= 2);
  CHECK(j.at("frames_sent").get<int>() >= 25 && j.at("command_acks_sent").get<int>() >= 7);
}


/// A node that flies each drone through a mission over the wire, as the node does: uploads it item by item (each
/// item sent again while no mission_ack for it came within 250 ms), then sends mission_start (again while no final
/// ack came), and records every ack, the progress frames and what telemetry showed.
class mission_node {
public:
  struct drone_log {
    std::string hello_commands;
    std::map<std::uint32_t, std::vector<std::string>> item_acks; ///< seq -> results, in arrival order
    std::vector<std::string> start_acks;                         ///< results of the mission_start command
    std::vector<std::string> progress;                           ///< "current 0", "reached 0", ..., "completed"
    int bad_frames = 0;                                          ///< acks or progress of the wrong shape
    int item_sends = 0, start_sends = 0;
    std::set<std::string> modes;
    bool armed_at_end = true;
    double home_lat = 0, home_lon = 0, last_lat = 0, last_lon = 0;
  };
  std::map<std::string, drone_log> drones;
  std::mutex mutex;
  static inline const std::string mission_id = "3f1c8e2a-5b7d-4c9e-9a10-2b3c4d5e6f70";

  mission_node() : acceptor_(ioc_, net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~mission_node() {
    stop_ = true;
    boost::system::error_code ec;
    net::ip::tcp::socket poke(ioc_);
    poke.connect(net::ip::tcp::endpoint(net::ip::address_v4::loopback(), port_), ec);
    thread_.join();
    for (auto& t : sessions_)
      t.join();
  }
  unsigned short port() const { return port_; }

private:
  void accept_loop() {
    for (;;) {
      net::ip::tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (stop_ || ec)
        return;
      sessions_.emplace_back([this, sock = std::move(s)]() mutable { session(std::move(sock)); });
    }
  }

  /// The mission around a drone's home: three waypoints 40 m apart, 10 to 15 m up, then rtl.
  static std::vector<nlohmann::json> items(double lat, double lon, double ground) {
    const double m_lat = 1.0 / 111320.0, m_lon = 1.0 / (111320.0 * std::cos(lat * pi / 180.0));
    const auto item = [&](int seq, double north, double east, double up, double hold, const char* action) {
      return nlohmann::json{{"type", "mission_item"},
                            {"mission_id", mission_id},
                            {"seq", seq},
                            {"count", 3},
                            {"item", {{"lat", lat + north * m_lat}, {"lon", lon + east * m_lon}, {"alt", ground + up},
                                      {"speed", 8}, {"hold_s", hold}, {"action", action}}},
                            {"final_action", "rtl"}};
    };
    return {item(0, 40, 0, 10, 1, "none"), item(1, 40, 40, 15, 1, "photo"), item(2, 0, 40, 10, 0, "none")};
  }

  void session(net::ip::tcp::socket sock) {
    try {
      websocket::stream<net::ip::tcp::socket> ws(std::move(sock));
      ws.accept();
      ws.text(true);
      boost::beast::flat_buffer buf;
      ws.read(buf);
      const auto hello = nlohmann::json::parse(boost::beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      const std::string id = hello.at("drone_id");
      {
        std::lock_guard<std::mutex> lock(mutex);
        drones[id].hello_commands = hello.contains("commands") ? hello["commands"].dump() : "";
      }
      ws.write(net::buffer(std::string(R"({"type":"welcome","server_time":1,"drone_id":")") + id + R"("})"));
      std::vector<nlohmann::json> plan; // set from the first telemetry: where the drone is
      std::size_t next = 0;             // the item waiting for its ack; plan.size(): mission_start
      bool started = false, waiting = false;
      int attempt = 0;
      auto last_send = std::chrono::steady_clock::now();
      for (;;) {
        if (!plan.empty() && !started &&
            (!waiting || std::chrono::steady_clock::now() - last_send > std::chrono::milliseconds(250))) {
          nlohmann::json frame;
          if (next < plan.size())
            frame = plan[next];
          else
            frame = nlohmann::json{{"type", "command"}, {"command_id", "start-1"}, {"kind", "mission_start"},
                                   {"params", {{"mission_id", mission_id}}}, {"attempt", ++attempt}};
          ws.write(net::buffer(frame.dump()));
          waiting = true;
          last_send = std::chrono::steady_clock::now();
          std::lock_guard<std::mutex> lock(mutex);
          ++(next < plan.size() ? drones[id].item_sends : drones[id].start_sends);
        }
        ws.read(buf);
        const auto j = nlohmann::json::parse(boost::beast::buffers_to_string(buf.data()));
        buf.consume(buf.size());
        std::lock_guard<std::mutex> lock(mutex);
        auto& d = drones[id];
        const std::string type = j.value("type", "");
        if (type == "telemetry") {
          if (plan.empty()) {
            d.home_lat = j.at("lat").get<double>();
            d.home_lon = j.at("lon").get<double>();
            plan = items(d.home_lat, d.home_lon, j.at("alt").get<double>());
          }
          d.modes.insert(j.at("mode").get<std::string>());
          d.armed_at_end = j.at("armed").get<bool>();
          d.last_lat = j.at("lat").get<double>();
          d.last_lon = j.at("lon").get<double>();
        } else if (type == "mission_ack") {
          const bool ok = j.value("mission_id", "") == mission_id && j.contains("seq") && j["seq"].is_number_unsigned() &&
                          j.contains("result") && j.size() <= 5;
          if (!ok) {
            ++d.bad_frames;
            continue;
          }
          const auto seq = j["seq"].get<std::uint32_t>();
          d.item_acks[seq].push_back(j["result"].get<std::string>());
          if (!started && seq == next && next < plan.size()) {
            ++next;
            waiting = false;
          }
        } else if (type == "command_ack") {
          if (j.value("command_id", "") != "start-1") {
            ++d.bad_frames;
            continue;
          }
          const std::string result = j.value("result", "");
          d.start_acks.push_back(result);
          if (result != "accepted" && result != "in_progress")
            started = true;
        } else if (type == "mission_progress") {
          const std::string event = j.value("event", "");
          const bool with_seq = event == "current" || event == "reached";
          if (j.value("mission_id", "") != mission_id || with_seq != j.contains("seq") || j.contains("reason") ||
              j.size() != (with_seq ? 4u : 3u)) {
            ++d.bad_frames;
            continue;
          }
          d.progress.push_back(event + (with_seq ? " " + std::to_string(j["seq"].get<int>()) : ""));
        } else {
          ++d.bad_frames;
        }
      }
    } catch (const std::exception&) {
      // the drone closed the connection (end of the run)
    }
  }

  net::io_context ioc_;
  net::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::vector<std::thread> sessions_;
  std::atomic<bool> stop_{false};
};

/// Missions over the wire with --autopilot, a fifth of the mission_item frames and acks lost and a fifth doubled: the
/// node's retries get every item in, each once; mission_start flies it; every progress frame arrives, once, in order.
void check_missions_end_to_end() {
  mission_node node;
  options o;
  o.url = "ws://127.0.0.1:" + std::to_string(node.port());
  o.host = "127.0.0.1";
  o.port = std::to_string(node.port());
  o.drones = 3;
  o.rate = 20;
  o.time_scale = 20; // about a minute of flight in 3 s
  o.duration = 7.0;
  o.report_interval = 60;
  o.json = true;
  o.autopilot = true;
  o.drop_rate = 0.2;
  o.dup_rate = 0.2;
  std::string out;
  CHECK(run_captured(o, out) == 0);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  CHECK(!j.is_discarded());
  if (j.is_discarded())
    return;
  std::lock_guard<std::mutex> lock(node.mutex);
  CHECK(node.drones.size() == 3);
  int item_sends = 0;
  for (const auto& [id, d] : node.drones) {
    CHECK(d.hello_commands == kind_set::all().json_array() && d.hello_commands.find("mission_start") != std::string::npos);
    CHECK(d.bad_frames == 0);
    item_sends += d.item_sends;
    CHECK(d.item_acks.size() == 3);
    for (const auto& [seq, results] : d.item_acks)
      CHECK(acks_are(results, {"accepted"}, "accepted")); // a retried or doubled item: the same ack again
    CHECK(acks_are(d.start_acks, {"succeeded"}, "succeeded"));
    CHECK((d.progress == std::vector<std::string>{"current 0", "reached 0", "current 1", "reached 1", "current 2",
                                                   "reached 2", "completed"}));
    CHECK(d.modes.count("MISSION") && d.modes.count("RTL") && d.modes.count("STANDBY"));
    CHECK(!d.armed_at_end && distance_m(d.home_lat, d.home_lon, d.last_lat, d.last_lon) < 0.01);
  }
  CHECK(j.at("missions_completed") == 3 && j.at("mission_items_reached") == 9 && j.at("missions_aborted") == 0);
  CHECK(j.at("missions_failed") == 0 && j.at("mission_photos") == 3 && j.at("mission_errors") == 0);
  CHECK(j.at("mission_progress_sent") == 3 * 7);
  const auto received = j.at("mission_items_received").get<int>();
  CHECK(received == item_sends - j.at("mission_rx_dropped").get<int>() + j.at("mission_rx_doubled").get<int>());
  CHECK(received >= 9);
  CHECK(j.at("mission_rx_dropped").get<int>() + j.at("mission_tx_dropped").get<int>() > 0);
  CHECK(j.at("mission_rx_doubled").get<int>() + j.at("mission_tx_doubled").get<int>() > 0);
  CHECK(j.at("mission_acks_sent").get<int>() >= 9 && j.at("errors") == 0);
  std::printf("missions: 3 drones, %d items sent, %d received, each stored once, flown and reported in order\n",
              item_sends, received);
}

} // namespace

int main() {
  check_format();
  check_histogram();
  check_options();
  check_url_options();
  check_node_choice();
  check_ack_buffer();
  check_ack_end_to_end();
  check_ack_stall();
  check_failover();
  check_command_frames();
  check_command_log();
  check_autopilot_arming();
  check_autopilot_flight();
  check_autopilot_control();
  check_autopilot_ids();
  check_autopilot_battery_and_takeover();
  check_mission_frames();
  check_mission_upload();
  check_mission_flight();
  check_mission_control();
  check_commands_end_to_end();
  check_commands_none();
  check_missions_end_to_end();
  check_determinism();
  check_flights();
  if (failures) {
    std::fprintf(stderr, "dccs-sim-check: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("dccs-sim-check: all checks passed\n");
  return 0;
}
