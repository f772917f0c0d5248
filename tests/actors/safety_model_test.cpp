// Geofences and the per-drone monitors (actors/safety_model.hpp), geometry and time injected: inside/outside,
// altitude bands, legs that cross a fence, the body checks of a fence, breach start/end with its hold time, and the
// battery thresholds with their hysteresis.

#include <catch2/catch.hpp>

#include "actors/safety_model.hpp"

using namespace dccs::actors;
using nlohmann::json;

namespace {

// A 0.01° square (about 1.1 km) with its south-west corner at (lon 10, lat 50).
json square_polygon(double lon = 10, double lat = 50, double size = 0.01) {
  return json{{"type", "Polygon"},
              {"coordinates",
               json::array({json::array({json::array({lon, lat}), json::array({lon + size, lat}),
                                         json::array({lon + size, lat + size}), json::array({lon, lat + size}),
                                         json::array({lon, lat})})})}};
}

geofence fence(const std::string& id, const std::string& kind, json extra = json::object()) {
  json body{{"name", id}, {"group", "g"}, {"kind", kind}, {"polygon", square_polygon()}};
  for (auto& [k, v] : extra.items())
    body[k] = v;
  geofence f;
  f.id = id;
  auto problem = parse_geofence(body, f);
  REQUIRE_FALSE(problem);
  return f;
}

std::string field_of(const json& body) {
  geofence f;
  auto problem = parse_geofence(body, f);
  return problem ? problem->first : std::string{"(accepted)"};
}

} // namespace

TEST_CASE("a point is inside a ring, outside it, or on its border (inside)") {
  auto f = fence("a", "inclusion");
  CHECK(inside_ring(f.ring, 10.005, 50.005));
  CHECK_FALSE(inside_ring(f.ring, 10.02, 50.005));
  CHECK_FALSE(inside_ring(f.ring, 9.999, 50.005));
  CHECK(inside_ring(f.ring, 10.0, 50.005));  // on the west edge
  CHECK(inside_ring(f.ring, 10.01, 50.01)); // a corner
  // A concave ring (an L): the notch is outside.
  std::vector<geo_point> l{{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {0, 2}, {0, 0}};
  CHECK(inside_ring(l, 0.5, 1.5));
  CHECK_FALSE(inside_ring(l, 1.5, 1.5));
}

TEST_CASE("an inclusion fence is broken outside it or outside its altitude band, an exclusion fence inside it within its band") {
  auto in = fence("in", "inclusion", {{"floor", 5}, {"ceiling", 120}});
  CHECK_FALSE(breaks(in, 10.005, 50.005, 50));
  CHECK(breaks(in, 10.02, 50.005, 50));  // outside
  CHECK(breaks(in, 10.005, 50.005, 121)); // above the ceiling
  CHECK(breaks(in, 10.005, 50.005, 2));   // below the floor
  auto out = fence("out", "exclusion", {{"ceiling", 100}});
  CHECK(breaks(out, 10.005, 50.005, 50));
  CHECK_FALSE(breaks(out, 10.005, 50.005, 150)); // above it: flies over
  CHECK_FALSE(breaks(out, 10.02, 50.005, 50));
}

TEST_CASE("a leg breaks a fence when it crosses it, even with both ends allowed") {
  auto out = fence("out", "exclusion");
  // West of the square to east of it, straight through.
  CHECK(leg_breaks(out, {9.99, 50.005}, 50, {10.02, 50.005}, 50));
  CHECK_FALSE(leg_breaks(out, {9.99, 50.005}, 50, {9.99, 50.02}, 50));
  auto band = fence("band", "exclusion", {{"ceiling", 100}});
  CHECK_FALSE(leg_breaks(band, {9.99, 50.005}, 150, {10.02, 50.005}, 200)); // over it
  CHECK(leg_breaks(band, {9.99, 50.005}, 150, {10.02, 50.005}, 50));        // descending through its band
  // An inclusion L: a leg between its two arms cuts the notch.
  geofence l;
  l.id = "l";
  l.ring = {{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {0, 2}, {0, 0}};
  CHECK(leg_breaks(l, {1.5, 0.5}, 10, {0.5, 1.5}, 10)); // touches the notch's corner (1,1): counted as leaving
  CHECK(leg_breaks(l, {1.8, 0.9}, 10, {0.9, 1.8}, 10));          // cuts across the notch
  CHECK_FALSE(leg_breaks(l, {0.5, 0.5}, 10, {1.5, 0.5}, 10));
}

TEST_CASE("a geofence body is checked field by field, naming the first problem") {
  json ok{{"name", "yard"}, {"group", "g"}, {"kind", "inclusion"}, {"polygon", square_polygon()}};
  CHECK(field_of(ok) == "(accepted)");
  auto with = [&](const char* key, json v) {
    auto b = ok;
    b[key] = std::move(v);
    return b;
  };
  auto without = [&](const char* key) {
    auto b = ok;
    b.erase(key);
    return b;
  };
  CHECK(field_of(without("name")) == "name");
  CHECK(field_of(without("polygon")) == "polygon");
  CHECK(field_of(with("kind", "fence")) == "kind");
  CHECK(field_of(with("group", "a b")) == "group");
  CHECK(field_of(with("action", "explode")) == "action");
  CHECK(field_of(with("colour", "red")) == "colour");
  CHECK(field_of(with("ceiling", "high")) == "ceiling");
  auto inverted = with("floor", 100);
  inverted["ceiling"] = 50;
  CHECK(field_of(inverted) == "ceiling");
  CHECK(field_of(with("polygon", json{{"type", "MultiPolygon"}, {"coordinates", json::array()}})) == "polygon.type");
  auto open_ring = square_polygon();
  open_ring["coordinates"][0].erase(4);
  CHECK(field_of(with("polygon", open_ring)) == "polygon.coordinates");
  auto holes = square_polygon();
  holes["coordinates"].push_back(holes["coordinates"][0]);
  CHECK(field_of(with("polygon", holes)) == "polygon.coordinates");
  auto far = square_polygon();
  far["coordinates"][0][2] = json::array({190, 50});
  CHECK(field_of(with("polygon", far)) == "polygon.coordinates[0][2]");
  // A bow tie crosses itself.
  json bow{{"type", "Polygon"}, {"coordinates", json::array({json::array({json::array({0, 0}), json::array({1, 1}),
                                                                           json::array({1, 0}), json::array({0, 1}),
                                                                           json::array({0, 0})})})}};
  CHECK(field_of(with("polygon", bow)) == "polygon.coordinates");
  json flat{{"type", "Polygon"}, {"coordinates", json::array({json::array({json::array({0, 0}), json::array({1, 1}),
                                                                            json::array({2, 2}), json::array({0, 0})})})}};
  CHECK(field_of(with("polygon", flat)) == "polygon.coordinates");
}

TEST_CASE("a breach starts at the first position that breaks a fence and ends after clear_after_ms without one") {
  std::vector<geofence> fences{fence("in", "inclusion", {{"action", "rtl"}}), fence("out", "exclusion")};
  fences[1].ring = {{10.002, 50.002}, {10.004, 50.002}, {10.004, 50.004}, {10.002, 50.004}, {10.002, 50.002}};
  geofence_monitor m{3000};
  double t = 0;
  CHECK(m.update(fences, 10.001, 50.001, 30, true, t).started.empty());
  auto c = m.update(fences, 10.02, 50.001, 30, true, t += 100); // left the inclusion fence
  REQUIRE(c.started.size() == 1);
  CHECK(c.started[0]->id == "in");
  CHECK(m.update(fences, 10.03, 50.001, 30, true, t += 100).started.empty()); // still out: no second start
  // Back in: the breach holds for 3 s of compliant positions.
  CHECK_FALSE(m.update(fences, 10.001, 50.001, 30, true, t += 100).ended);
  CHECK_FALSE(m.update(fences, 10.001, 50.001, 30, true, t += 2000).ended);
  CHECK(m.breached());
  // Out again before the 3 s: the clock starts over, and no new start.
  CHECK(m.update(fences, 10.02, 50.001, 30, true, t += 500).started.empty());
  CHECK_FALSE(m.update(fences, 10.001, 50.001, 30, true, t += 100).ended);
  CHECK(m.update(fences, 10.001, 50.001, 30, true, t += 3000).ended);
  CHECK_FALSE(m.breached());
  // Into the exclusion fence.
  c = m.update(fences, 10.003, 50.003, 30, true, t += 100);
  REQUIRE(c.started.size() == 1);
  CHECK(c.started[0]->id == "out");
  // Disarmed (landed): the breach is forgotten without an event; armed again there, it starts again.
  c = m.update(fences, 10.003, 50.003, 0, false, t += 100);
  CHECK(c.started.empty());
  CHECK_FALSE(c.ended);
  CHECK_FALSE(m.breached());
  CHECK(m.update(fences, 10.003, 50.003, 0, true, t += 100).started.size() == 1);
}

TEST_CASE("a disarmed drone breaks no fence") {
  std::vector<geofence> fences{fence("in", "inclusion")};
  geofence_monitor m;
  CHECK(m.update(fences, 11, 51, 0, false, 0).started.empty());
  CHECK_FALSE(m.breached());
}

TEST_CASE("the battery level rises at once and falls only past the hysteresis") {
  battery_monitor b{25, 15, 5};
  CHECK_FALSE(b.update(80));
  CHECK(b.update(24) == battery_monitor::level::warning);
  CHECK_FALSE(b.update(26)); // wobbles around the threshold: still warning
  CHECK_FALSE(b.update(24));
  CHECK(b.update(14) == battery_monitor::level::critical);
  CHECK_FALSE(b.update(16)); // within the hysteresis of critical
  CHECK(b.update(21) == battery_monitor::level::warning);
  CHECK(b.update(31) == battery_monitor::level::ok); // a fresh battery
  CHECK(b.update(10) == battery_monitor::level::critical); // straight to critical
}

TEST_CASE("alarm kinds and states are the documented ones") {
  CHECK(valid_alarm_kind("geofence_breach"));
  CHECK(valid_alarm_kind("mission_failed"));
  CHECK_FALSE(valid_alarm_kind("fire"));
  CHECK(valid_alarm_state("acknowledged"));
  CHECK_FALSE(valid_alarm_state("open"));
}
