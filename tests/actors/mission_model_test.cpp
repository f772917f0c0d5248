// Mission plans (actors/mission_model.hpp): the body checks, the validation of every item and leg against the
// limits and the geofences of the plan's group, and the battery estimate against hand-computed values.

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

#include <caf/deep_to_string.hpp>

#include "actors/mission_model.hpp"
#include "actors/mission_store.hpp"
#include "actors/safety_model.hpp"

using namespace dccs::actors;
using nlohmann::json;

namespace {

// One degree along a meridian is R·π/180 = 111195.0802 m (R = 6371008.8 m), so 0.01° of latitude is 1111.9508 m.
constexpr double m_per_centidegree = 1111.9508023353292;

mission_item wp(double lat, double lon, double alt = 50) {
  mission_item i;
  i.lat = lat;
  i.lon = lon;
  i.alt = alt;
  return i;
}

mission_plan plan(std::vector<mission_item> items, std::string final_action = "rtl") {
  mission_plan p;
  p.name = "survey";
  p.group = "g";
  p.items = std::move(items);
  p.final_action = std::move(final_action);
  return p;
}

/// Three waypoints a few hundred metres apart, inside the square fence below.
mission_plan three_points() {
  auto p = plan({wp(50.002, 10.002), wp(50.004, 10.006, 60), wp(50.008, 10.004)});
  p.items[1].hold_s = 10;
  p.items[1].action = "photo";
  p.items[2].speed = 5;
  return p;
}

// A 0.01° square with its south-west corner at (lon 10, lat 50): about 1.1 km north-south, 0.7 km east-west.
geofence fence(const std::string& id, const std::string& kind, json extra = json::object()) {
  json square{{"type", "Polygon"},
              {"coordinates", json::array({json::array({json::array({10, 50}), json::array({10.01, 50}),
                                                        json::array({10.01, 50.01}), json::array({10, 50.01}),
                                                        json::array({10, 50})})})}};
  json body{{"name", "fence " + id}, {"group", "g"}, {"kind", kind}, {"polygon", square}};
  for (auto& [k, v] : extra.items())
    body[k] = v;
  geofence f;
  f.id = id;
  auto problem = parse_geofence(body, f);
  REQUIRE_FALSE(problem);
  return f;
}

std::vector<mission_problem> validate(const mission_plan& p, const std::vector<geofence>& fences = {},
                                      std::optional<mission_item> start = std::nullopt, double battery = 100) {
  return validate_mission(p, fences, mission_limits{}, energy_model{}, start, battery);
}

/// "index field" of each problem, in order.
std::vector<std::string> where(const std::vector<mission_problem>& problems) {
  std::vector<std::string> out;
  for (auto& p : problems)
    out.push_back(std::to_string(p.index) + " " + p.field);
  return out;
}

using strings = std::vector<std::string>;

json body() {
  return json{{"name", "survey"},
              {"group", "g"},
              {"items", json::array({json{{"lat", 50.002}, {"lon", 10.002}, {"alt", 50}},
                                     json{{"lat", 50.004}, {"lon", 10.006}, {"alt", 60}, {"hold_s", 10},
                                          {"action", "photo"}},
                                     json{{"lat", 50.008}, {"lon", 10.004}, {"alt", 50}, {"speed", 5}}})}};
}

std::string field_of(const json& b) {
  mission_plan p;
  auto problem = parse_mission(b, p);
  return problem ? problem->first : std::string{"(accepted)"};
}

} // namespace

TEST_CASE("a great-circle distance is the haversine one on a 6371008.8 m Earth") {
  CHECK(distance_m(50, 10, 51, 10) == Approx(111195.0802).margin(1e-3));
  CHECK(distance_m(0, 10, 0, 11) == Approx(111195.0802).margin(1e-3)); // along the equator too
  CHECK(distance_m(50, 10, 50.01, 10) == Approx(m_per_centidegree).margin(1e-6));
  CHECK(distance_m(50, 10, 50, 10) == 0);
  CHECK(distance_m(0, 0, 0, 180) == Approx(6371008.8 * 3.14159265358979).margin(1e-3)); // half the equator
}

TEST_CASE("a valid plan of three waypoints has no problem, with its fences and its start") {
  auto p = three_points();
  CHECK(validate(p).empty());
  // Inside the inclusion fence of its group, with the start inside it too; an exclusion fence elsewhere (above).
  auto in = fence("in", "inclusion", {{"ceiling", 120}});
  auto out = fence("out", "exclusion", {{"floor", 200}});
  CHECK(validate(p, {in, out}, wp(50.0005, 10.0005, 0)).empty());
  CHECK(mission_problems_json(validate(p, {in, out}, wp(50.0005, 10.0005, 0))) == json::array());
}

TEST_CASE("each value out of range is reported on its item and field") {
  struct bad {
    std::function<void(mission_plan&)> change;
    std::string expected;
  };
  std::vector<bad> cases{
    {[](mission_plan& p) { p.items[1].lat = 90.5; }, "1 items[1].lat"},
    {[](mission_plan& p) { p.items[1].lat = -91; }, "1 items[1].lat"},
    {[](mission_plan& p) { p.items[1].lon = 180.5; }, "1 items[1].lon"},
    {[](mission_plan& p) { p.items[1].lon = -181; }, "1 items[1].lon"},
    {[](mission_plan& p) { p.items[1].lat = std::nan(""); }, "1 items[1].lat"},
    {[](mission_plan& p) { p.items[1].alt = -1; }, "1 items[1].alt"},
    {[](mission_plan& p) { p.items[1].alt = 500.5; }, "1 items[1].alt"},
    {[](mission_plan& p) { p.items[1].speed = 0; }, "1 items[1].speed"},
    {[](mission_plan& p) { p.items[1].speed = -2; }, "1 items[1].speed"},
    {[](mission_plan& p) { p.items[1].speed = 30.5; }, "1 items[1].speed"},
    {[](mission_plan& p) { p.items[1].hold_s = -1; }, "1 items[1].hold_s"},
    {[](mission_plan& p) { p.items[1].hold_s = 3601; }, "1 items[1].hold_s"},
    {[](mission_plan& p) { p.items[1].action = "dance"; }, "1 items[1].action"},
    {[](mission_plan& p) { p.cruise_speed = 0; }, "-1 cruise_speed"},
    {[](mission_plan& p) { p.cruise_speed = 31; }, "-1 cruise_speed"},
    {[](mission_plan& p) { p.final_action = "loiter"; }, "-1 final_action"},
    {[](mission_plan& p) { p.items.clear(); }, "-1 items"},
  };
  for (auto& c : cases) {
    auto p = three_points();
    c.change(p);
    INFO(c.expected);
    CHECK(where(validate(p)) == strings{c.expected});
  }
  // The bounds themselves are allowed.
  auto p = three_points();
  p.items[0].alt = 0;
  p.items[1].alt = 500;
  p.items[1].speed = 30;
  p.items[2].hold_s = 3600;
  p.cruise_speed = 30;
  CHECK(validate(p).empty());
  // The reason says the value and the range.
  p.items[1].alt = 501;
  auto problems = validate(p);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].index == 1);
  CHECK(problems[0].reason == "altitude 501 m is not from 0 to 500 m");
  // Other limits.
  mission_limits strict;
  strict.max_items = 2;
  strict.max_alt = 55;
  CHECK(where(validate_mission(three_points(), {}, strict, energy_model{}, std::nullopt))
        == strings{"1 items[1].alt", "-1 items"});
}

TEST_CASE("every problem of a plan is listed, in item order, the mission-wide ones last") {
  auto p = three_points();
  p.items[0].alt = 600;
  p.items[2].lat = 100;
  p.items[2].speed = 40;
  p.items[0].action = "land";
  p.cruise_speed = 50;
  p.final_action = "";
  CHECK(where(validate(p)) == strings{"0 items[0].alt", "0 items[0].action", "2 items[2].lat", "2 items[2].speed",
                                      "-1 cruise_speed", "-1 final_action"});
}

TEST_CASE("a leg longer than max_leg_m is reported on the item that ends it") {
  // 0.05° of latitude: 5559.75 m, over the 5000 m allowed; the next leg is 11 m.
  auto p = plan({wp(50, 10), wp(50.05, 10), wp(50.0501, 10)});
  auto problems = validate(p);
  REQUIRE(where(problems) == strings{"1 items[1]"});
  CHECK(problems[0].reason == "the leg from item 0 to item 1 is 5560 m long, more than the 5000 m allowed");
  // The first leg starts at the start when it is known: 0.1° away, 11119.5 m.
  problems = validate(p, {}, wp(49.9, 10, 0));
  REQUIRE(where(problems) == strings{"0 items[0]", "1 items[1]"});
  CHECK(problems[0].reason == "the leg from the start to item 0 is 11120 m long, more than the 5000 m allowed");
  // A limit of its own.
  mission_limits wide;
  wide.max_leg_m = 6000;
  CHECK(validate_mission(p, {}, wide, energy_model{}, std::nullopt).empty());
}

TEST_CASE("a waypoint inside an exclusion fence of the plan's group is a problem, its legs are not said twice") {
  auto p = three_points();
  p.items[1] = wp(50.005, 10.005); // in the square
  auto f = fence("f1", "exclusion");
  // Items 0 and 2 are in the square too (three_points is inside it): move them out, west and north.
  p.items[0] = wp(50.005, 9.998);
  p.items[2] = wp(50.012, 10.005);
  auto problems = validate(p, {f});
  REQUIRE(where(problems) == strings{"1 items[1]"});
  CHECK(problems[0].reason == "the item is inside exclusion fence 'fence f1' (id f1)");
  // Above its ceiling: allowed, and so are the legs (all above it).
  auto low = fence("f2", "exclusion", {{"ceiling", 40}});
  CHECK(validate(p, {low}).empty());
  // With floor and ceiling around the item's altitude, it breaks it again.
  auto band = fence("f3", "exclusion", {{"floor", 40}, {"ceiling", 60}});
  CHECK(where(validate(p, {band})) == strings{"1 items[1]"});
}

TEST_CASE("a leg that crosses an exclusion fence is a problem even with both its ends outside it") {
  auto f = fence("f1", "exclusion");
  // West of the square to east of it, through its middle.
  auto p = plan({wp(50.005, 9.995), wp(50.005, 10.015)}, "land");
  CHECK_FALSE(breaks(f, 9.995, 50.005, 50));
  CHECK_FALSE(breaks(f, 10.015, 50.005, 50));
  auto problems = validate(p, {f});
  REQUIRE(where(problems) == strings{"1 items[1]"});
  CHECK(problems[0].reason == "the leg from item 0 to item 1 crosses exclusion fence 'fence f1' (id f1)");
  // Around it: no problem.
  auto around = plan({wp(50.005, 9.995), wp(50.015, 9.995), wp(50.015, 10.015), wp(50.005, 10.015)}, "land");
  CHECK(validate(around, {f}).empty());
  // ... unless the flight returns to a start west of it: the rtl leg back crosses it.
  around.final_action = "rtl";
  auto start = wp(50.005, 9.99, 0);
  problems = validate(around, {f}, start);
  REQUIRE(where(problems) == strings{"-1 final_action"});
  CHECK(problems[0].reason == "the leg from item 3 to the start (rtl) crosses exclusion fence 'fence f1' (id f1)");
  // A last item that lands does not return; one that returns does.
  around.items[3].action = "land";
  CHECK(validate(around, {f}, start).empty());
  around.items[3].action = "rtl";
  around.final_action = "hold";
  CHECK(where(validate(around, {f}, start)) == strings{"-1 final_action"});
  // The leg from the start to the first item: a start east of the square, the first item west of it (and the leg
  // from there back east crosses it as before).
  auto east = wp(50.005, 10.02, 0);
  CHECK(where(validate(p, {f}, east)) == strings{"0 items[0]", "1 items[1]"});
}

TEST_CASE("a waypoint outside an inclusion fence, or outside its altitude band, is a problem") {
  auto f = fence("in", "inclusion", {{"ceiling", 100}});
  auto p = three_points();
  p.items[1] = wp(50.02, 10.005);
  auto problems = validate(p, {f});
  REQUIRE(where(problems) == strings{"1 items[1]"});
  CHECK(problems[0].reason == "the item is outside inclusion fence 'fence in' (id in)");
  p = three_points();
  p.items[2].alt = 120;
  problems = validate(p, {f});
  REQUIRE(where(problems) == strings{"2 items[2]"});
  CHECK(problems[0].reason == "the item's altitude 120 m is outside the altitude band of inclusion fence 'fence in' "
                              "(id in)");
  // A start outside it: the first leg leaves it (and the return leg).
  CHECK(where(validate(three_points(), {f}, wp(50.005, 9.99, 0))) == strings{"0 items[0]", "-1 final_action"});
}

TEST_CASE("the fences of another group are ignored") {
  auto f = fence("f1", "exclusion");
  f.group = "other";
  auto p = three_points(); // all of it inside the square
  CHECK(validate(p, {f}).empty());
  f.group = "g";
  CHECK(where(validate(p, {f})) == strings{"0 items[0]", "1 items[1]", "2 items[2]"});
}

TEST_CASE("land or rtl before the last item is a problem: the flight ends there") {
  auto p = three_points();
  p.items[1].action = "land";
  auto problems = validate(p);
  REQUIRE(where(problems) == strings{"1 items[1].action"});
  CHECK(problems[0].reason
        == "action 'land' ends the flight: only the last item may land or return (items 2 to 2 would never be flown)");
  p.items[1].action = "none";
  p.items[0].action = "rtl";
  CHECK(where(validate(p)) == strings{"0 items[0].action"});
  p.items[0].action = "none";
  p.items[2].action = "land"; // the last one may
  CHECK(validate(p).empty());
}

TEST_CASE("the energy estimate counts distance, climbs, hold time and the way back") {
  // Start on the ground at (50, 10); A 0.01° north at 100 m; B 0.01° further at 60 m, held 30 s; then land.
  //   distance  2 × 1111.9508 m = 2.2239016 km × 2.0 %/km      = 4.4478032 %
  //   climb     100 m (start → A; A → B descends: free) × 1.0 %/100 m = 1.0 %
  //   hover     0.5 min × 0.8 %/min                             = 0.4 %
  //   total                                                     = 5.8478032 %
  auto a = wp(50.01, 10, 100), b = wp(50.02, 10, 60);
  b.hold_s = 30;
  auto p = plan({a, b}, "land");
  auto start = wp(50, 10, 0);
  energy_model e;
  CHECK(estimate_energy_percent(p, e, start) == Approx(5.8478032).margin(1e-6));
  // rtl: the leg back from B to the start, 2223.9016 m more (a descent): + 4.4478032 % = 10.2956064 %.
  p.final_action = "rtl";
  CHECK(estimate_energy_percent(p, e, start) == Approx(10.2956064).margin(1e-6));
  // hold: no way back.
  p.final_action = "hold";
  CHECK(estimate_energy_percent(p, e, start) == Approx(5.8478032).margin(1e-6));
  // Without a start: from the ground under A, so one leg of 1111.9508 m: 2.2239016 + 1.0 + 0.4 = 3.6239016 %.
  CHECK(estimate_energy_percent(p, e, std::nullopt) == Approx(3.6239016).margin(1e-6));
  // A start at 30 m: the takeoff climb is 70 m: 5.8478032 − 0.3 = 5.5478032 %.
  CHECK(estimate_energy_percent(p, e, wp(50, 10, 30)) == Approx(5.5478032).margin(1e-6));
  // Another model: 1 %/km only: 2.2239016 %.
  energy_model distance_only{1.0, 0, 0, 20};
  CHECK(estimate_energy_percent(p, distance_only, start) == Approx(2.2239016).margin(1e-6));
}

TEST_CASE("a flight that would end below the battery reserve is a mission-wide problem") {
  auto a = wp(50.01, 10, 100), b = wp(50.02, 10, 60);
  b.hold_s = 30;
  auto p = plan({a, b}, "land");
  auto start = wp(50, 10, 0);
  // 5.85 % used: from 26 % it ends at 20.15 %, above the 20 % reserve; from 25 % at 19.15 %, below it.
  CHECK(validate(p, {}, start, 26).empty());
  auto problems = validate(p, {}, start, 25);
  REQUIRE(where(problems) == strings{"-1 items"});
  CHECK(problems[0].reason == "the flight needs about 5.8% of the battery (estimated): starting at 25.0% it ends "
                              "with 19.2%, below the 20.0% reserve");
  // A full battery and long holds: the three waypoints held 3600 s each, 48 % each: 144 %; with the 1511.69 m
  // flown from under the first one and back (3.02 %) and the 60 m climbed (0.6 %): 147.6 %.
  auto long_hold = three_points();
  for (auto& item : long_hold.items)
    item.hold_s = 3600;
  problems = validate(long_hold);
  REQUIRE(where(problems) == strings{"-1 items"});
  CHECK(problems[0].reason == "the flight needs about 147.6% of the battery (estimated): starting at 100.0% it "
                              "ends with -47.6%, below the 20.0% reserve");
  CHECK(mission_problems_json(problems)
        == json::array({json{{"index", nullptr}, {"field", "items"}, {"reason", problems[0].reason}}}));
}

TEST_CASE("problems as JSON: index, field and reason, index null for the mission") {
  std::vector<mission_problem> problems{{3, "items[3].alt", "too high"}, {-1, "cruise_speed", "too fast"}};
  CHECK(mission_problems_json(problems)
        == json::parse(R"([{"index":3,"field":"items[3].alt","reason":"too high"},
                           {"index":null,"field":"cruise_speed","reason":"too fast"}])"));
}

TEST_CASE("a mission body is read into a plan") {
  auto b = body();
  b["final_action"] = "hold";
  b["cruise_speed"] = 12.5;
  mission_plan p;
  REQUIRE_FALSE(parse_mission(b, p));
  CHECK(p.name == "survey");
  CHECK(p.group == "g");
  CHECK(p.final_action == "hold");
  CHECK(p.cruise_speed == 12.5);
  REQUIRE(p.items.size() == 3);
  CHECK(p.items[0].lat == 50.002);
  CHECK(p.items[0].lon == 10.002);
  CHECK(p.items[0].alt == 50);
  CHECK(p.items[0].speed == -1);
  CHECK(p.items[0].hold_s == 0);
  CHECK(p.items[0].action == "none");
  CHECK(p.items[1].hold_s == 10);
  CHECK(p.items[1].action == "photo");
  CHECK(p.items[2].speed == 5);
  // Defaults.
  REQUIRE_FALSE(parse_mission(body(), p));
  CHECK(p.final_action == "rtl");
  CHECK(p.cruise_speed == 10);
  // The body of the three-point plan validates as that plan.
  CHECK(validate(p).empty());
  CHECK(caf::deep_to_string(p.items[2]) == "mission_item(50.008000, 10.004000, 50.000000, 5.000000, 0.000000, \"none\")");
}

TEST_CASE("a mission body's problems name the field, the first one only") {
  CHECK(field_of(json::array()) == "");
  CHECK(field_of(body()) == "(accepted)");
  auto with = [](const char* key, json value) {
    auto b = body();
    b[key] = std::move(value);
    return b;
  };
  auto without = [](const char* key) {
    auto b = body();
    b.erase(key);
    return b;
  };
  auto item = [](std::size_t i, const char* key, json value) {
    auto b = body();
    b["items"][i][key] = std::move(value);
    return b;
  };
  CHECK(field_of(with("owner", "x")) == "owner");
  CHECK(field_of(without("name")) == "name");
  CHECK(field_of(without("group")) == "group");
  CHECK(field_of(without("items")) == "items");
  CHECK(field_of(with("name", "")) == "name");
  CHECK(field_of(with("name", std::string(101, 'n'))) == "name");
  CHECK(field_of(with("name", std::string(100, 'n'))) == "(accepted)");
  CHECK(field_of(with("name", 5)) == "name");
  CHECK(field_of(with("group", "a b")) == "group");
  CHECK(field_of(with("group", "..")) == "group");
  CHECK(field_of(with("group", std::string(65, 'g'))) == "group");
  CHECK(field_of(with("items", json::array())) == "items");
  CHECK(field_of(with("items", json::object())) == "items");
  CHECK(field_of(with("items", json::array({5}))) == "items[0]");
  json many = json::array();
  for (int i = 0; i < 501; ++i)
    many.push_back(json{{"lat", 50}, {"lon", 10}, {"alt", 50}});
  CHECK(field_of(with("items", many)) == "items");
  many.erase(500);
  CHECK(field_of(with("items", many)) == "(accepted)");
  auto b = body();
  b["items"][2].erase("alt");
  CHECK(field_of(b) == "items[2].alt");
  b = body();
  b["items"][0].erase("lat");
  CHECK(field_of(b) == "items[0].lat");
  CHECK(field_of(item(1, "lat", "50")) == "items[1].lat");
  CHECK(field_of(item(1, "lon", nullptr)) == "items[1].lon");
  CHECK(field_of(item(0, "speed", true)) == "items[0].speed");
  CHECK(field_of(item(0, "hold_s", "10")) == "items[0].hold_s");
  CHECK(field_of(item(2, "action", "dance")) == "items[2].action");
  CHECK(field_of(item(2, "action", 1)) == "items[2].action");
  CHECK(field_of(item(1, "yaw", 90)) == "items[1].yaw");
  CHECK(field_of(with("final_action", "loiter")) == "final_action");
  CHECK(field_of(with("final_action", "photo")) == "final_action");
  CHECK(field_of(with("cruise_speed", "fast")) == "cruise_speed");
  // Shape only: a value out of range is validate_mission's.
  CHECK(field_of(item(1, "lat", 95)) == "(accepted)");
  // The message names the field; the plan is untouched by a refused body.
  mission_plan p;
  p.name = "before";
  auto problem = parse_mission(item(2, "alt", "high"), p);
  REQUIRE(problem);
  CHECK(problem->second == "field 'items[2].alt' must be a number");
  CHECK(p.name == "before");
  CHECK(p.items.empty());
}

TEST_CASE("mission items go to drones one frame each, with the mission's cruise speed where an item has none") {
  auto p = plan({wp(50.001, 10.001, 430), wp(50.002, 10.001, 440)}, "land");
  p.items[1].speed = 4;
  p.items[1].hold_s = 5;
  p.items[1].action = "photo";
  p.cruise_speed = 9;
  auto f0 = json::parse(mission_item_frame("m-1", p, 0));
  CHECK(f0 == json{{"type", "mission_item"},
                   {"mission_id", "m-1"},
                   {"seq", 0},
                   {"count", 2},
                   {"final_action", "land"},
                   {"item", {{"lat", 50.001}, {"lon", 10.001}, {"alt", 430}, {"speed", 9}, {"hold_s", 0}, {"action", "none"}}}});
  auto f1 = json::parse(mission_item_frame("m-1", p, 1));
  CHECK(f1["seq"] == 1);
  CHECK(f1["item"]["speed"] == 4);
  CHECK(f1["item"]["hold_s"] == 5);
  CHECK(f1["item"]["action"] == "photo");
  CHECK_THROWS(mission_item_frame("m-1", p, 2));
}

TEST_CASE("a flying mission ends when every drone's flight ended: failed over aborted over completed") {
  using states = std::vector<std::string>;
  CHECK(mission_state_of(states{"active", "completed"}, "active") == "active");
  CHECK(mission_state_of(states{"paused", "completed"}, "paused") == "paused");
  CHECK(mission_state_of(states{"completed", "completed"}, "active") == "completed");
  CHECK(mission_state_of(states{"completed", "aborted"}, "active") == "aborted");
  CHECK(mission_state_of(states{"aborted", "failed", "completed"}, "paused") == "failed");
  CHECK(mission_state_of(states{}, "active") == "active");
  CHECK(mission_drone_final("completed"));
  CHECK_FALSE(mission_drone_final("ready"));
}

TEST_CASE("a drone's mission progress moves its row forward once, and never after its flight ended") {
  mission_drone d;
  d.drone_id = "d1";
  d.state = "ready"; // started with a plain mission_start command: its first progress makes it active
  auto report = [](const std::string& event, std::int64_t seq, double at = 0, const std::string& reason = {}) {
    mission_report r;
    r.kind = "progress";
    r.result = event;
    r.seq = seq;
    r.at = at;
    r.reason = reason;
    return r;
  };
  CHECK(apply_mission_progress(d, report("current", 0)));
  CHECK(d.state == "active");
  CHECK(d.current_seq == 0);
  CHECK_FALSE(apply_mission_progress(d, report("current", 0))); // the same again
  CHECK(apply_mission_progress(d, report("reached", 0, 1000)));
  CHECK_FALSE(apply_mission_progress(d, report("reached", 0, 2000))); // each item is reached once
  CHECK(json::parse(d.reached) == json::array({json{{"seq", 0}, {"at", 1000}}}));
  d.state = "paused";
  CHECK(apply_mission_progress(d, report("reached", 1, 3000)));
  CHECK(d.state == "paused"); // progress does not resume a paused drone
  CHECK(apply_mission_progress(d, report("failed", -1, 4000, "battery exhausted")));
  CHECK(d.state == "failed");
  CHECK(d.reason == "battery exhausted");
  CHECK_FALSE(apply_mission_progress(d, report("completed", -1)));
  CHECK(d.state == "failed");
  mission_drone waiting;
  waiting.state = "uploading"; // not started: nothing
  CHECK_FALSE(apply_mission_progress(waiting, report("current", 0)));
  CHECK(waiting.current_seq == -1);
}
