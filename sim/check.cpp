// dccs-sim-check: self-check of the simulator's pure parts (flight model, frame format, histogram,
// options, ack bookkeeping, node choice) and of --ack and failover between --url nodes end to end against
// a fake node on 127.0.0.1 (a few seconds).
// Exit status 0 when every check passes.
#include "sim/ack.hpp"
#include "sim/app.hpp"
#include "sim/flight.hpp"
#include "sim/frame.hpp"
#include "sim/options.hpp"
#include "sim/stats.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
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
  n = format_hello(buf, sizeof buf, "sim-00042", true);
  CHECK(std::string(buf, n) == R"({"type":"hello","drone_id":"sim-00042","model":"sim-quad","fw":"1.0","ack":true})");

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
  check_determinism();
  check_flights();
  if (failures) {
    std::fprintf(stderr, "dccs-sim-check: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("dccs-sim-check: all checks passed\n");
  return 0;
}
