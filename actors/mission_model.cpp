#include "actors/mission_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "actors/safety_model.hpp"
#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;
using problem = std::optional<std::pair<std::string, std::string>>;

constexpr double earth_radius_m = 6371008.8;
constexpr double pi = 3.14159265358979323846;

problem fail(std::string field, std::string message) { return std::make_pair(std::move(field), std::move(message)); }

std::string format(const char* fmt, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
  return buf;
}

std::string item_field(std::size_t i, const char* name = nullptr) {
  auto field = "items[" + std::to_string(i) + "]";
  if (name)
    field += std::string{"."} + name;
  return field;
}

/// A finite number into `out`.
problem parse_number(const json& v, const std::string& field, double& out) {
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    return fail(field, "field '" + field + "' must be a number");
  out = v.get<double>();
  return std::nullopt;
}

problem parse_item(const json& v, std::size_t i, mission_item& out) {
  auto where = item_field(i);
  if (!v.is_object())
    return fail(where, where + " must be a waypoint object {lat, lon, alt, speed?, hold_s?, action?}");
  for (auto& [key, value] : v.items())
    if (key != "lat" && key != "lon" && key != "alt" && key != "speed" && key != "hold_s" && key != "action") {
      auto field = where + "." + runtime::printable(key, 32);
      return fail(field, "unknown field '" + field + "'");
    }
  mission_item item;
  for (const char* required : {"lat", "lon", "alt"})
    if (!v.contains(required))
      return fail(item_field(i, required), "field '" + item_field(i, required) + "' is required");
  if (auto p = parse_number(v["lat"], item_field(i, "lat"), item.lat))
    return p;
  if (auto p = parse_number(v["lon"], item_field(i, "lon"), item.lon))
    return p;
  if (auto p = parse_number(v["alt"], item_field(i, "alt"), item.alt))
    return p;
  if (auto s = v.find("speed"); s != v.end())
    if (auto p = parse_number(*s, item_field(i, "speed"), item.speed))
      return p;
  if (auto h = v.find("hold_s"); h != v.end())
    if (auto p = parse_number(*h, item_field(i, "hold_s"), item.hold_s))
      return p;
  if (auto a = v.find("action"); a != v.end()) {
    if (!a->is_string() || !valid_mission_item_action(a->get_ref<const std::string&>()))
      return fail(item_field(i, "action"),
                  "field '" + item_field(i, "action") + "' must be \"none\", \"photo\", \"land\" or \"rtl\"");
    item.action = a->get<std::string>();
  }
  out = std::move(item);
  return std::nullopt;
}

bool in_range(double v, double lo, double hi) { return v >= lo && v <= hi; } // false for NaN

/// A position of a flight: an item or the start.
struct point {
  double lat, lon, alt;
  geo_point geo() const { return {lon, lat}; }
};

point point_of(const mission_item& i) { return {i.lat, i.lon, i.alt}; }

bool position_ok(const mission_item& i) {
  return in_range(i.lat, -90, 90) && in_range(i.lon, -180, 180) && std::isfinite(i.alt);
}

/// Whether a flight of the plan goes back to the start after its last item.
bool returns(const mission_plan& plan) {
  if (plan.items.empty())
    return false;
  auto& last = plan.items.back().action;
  return last == "rtl" || (last != "land" && plan.final_action == "rtl");
}

std::string fence_text(const geofence& f) {
  return std::string{f.inclusion ? "inclusion" : "exclusion"} + " fence '" + runtime::printable(f.name, 100)
         + "' (id " + runtime::printable(f.id, 64) + ")";
}

std::string leg_text(std::optional<std::size_t> from, std::optional<std::size_t> to) {
  return std::string{"the leg from "} + (from ? "item " + std::to_string(*from) : std::string{"the start"}) + " to "
         + (to ? "item " + std::to_string(*to) : std::string{"the start (rtl)"});
}

} // namespace

bool valid_mission_item_action(std::string_view action) {
  return std::any_of(std::begin(mission_item_actions), std::end(mission_item_actions),
                     [&](const char* a) { return action == a; });
}

bool valid_mission_final_action(std::string_view action) {
  return std::any_of(std::begin(mission_final_actions), std::end(mission_final_actions),
                     [&](const char* a) { return action == a; });
}

double distance_m(double lat1, double lon1, double lat2, double lon2) {
  auto rad = [](double deg) { return deg * pi / 180; };
  double dlat = rad(lat2 - lat1), dlon = rad(lon2 - lon1);
  double h = std::sin(dlat / 2) * std::sin(dlat / 2)
             + std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * earth_radius_m * std::asin(std::sqrt(std::min(1.0, std::max(0.0, h))));
}

std::optional<std::pair<std::string, std::string>> parse_mission(const json& body, mission_plan& out) {
  if (!body.is_object())
    return fail("", "the body must be a JSON object");
  for (auto& [key, value] : body.items())
    if (key != "name" && key != "group" && key != "items" && key != "final_action" && key != "cruise_speed")
      return fail(runtime::printable(key, 32), "unknown field '" + runtime::printable(key, 32) + "'");
  for (const char* required : {"name", "group", "items"})
    if (!body.contains(required))
      return fail(required, std::string{"field '"} + required + "' is required");
  auto& name = body["name"];
  if (!name.is_string() || name.get_ref<const std::string&>().empty() || name.get_ref<const std::string&>().size() > 100)
    return fail("name", "field 'name' must be a string of 1 to 100 characters");
  auto& group = body["group"];
  if (!group.is_string() || !valid_drone_id(group.get_ref<const std::string&>()))
    return fail("group", "field 'group' must be a group name (1-64 characters of A-Z a-z 0-9 _ . -)");
  auto max_items = mission_limits{}.max_items;
  auto& items = body["items"];
  if (!items.is_array() || items.empty() || items.size() > max_items)
    return fail("items", "field 'items' must be an array of 1 to " + std::to_string(max_items) + " waypoints");
  mission_plan plan;
  plan.name = name.get<std::string>();
  plan.group = group.get<std::string>();
  plan.items.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    if (auto p = parse_item(items[i], i, plan.items[i]))
      return p;
  if (auto a = body.find("final_action"); a != body.end()) {
    if (!a->is_string() || !valid_mission_final_action(a->get_ref<const std::string&>()))
      return fail("final_action", "field 'final_action' must be \"rtl\", \"land\" or \"hold\"");
    plan.final_action = a->get<std::string>();
  }
  if (auto s = body.find("cruise_speed"); s != body.end())
    if (auto p = parse_number(*s, "cruise_speed", plan.cruise_speed))
      return p;
  out = std::move(plan);
  return std::nullopt;
}

double estimate_energy_percent(const mission_plan& plan, const energy_model& energy,
                               std::optional<mission_item> start) {
  if (plan.items.empty())
    return 0;
  point home = start ? point_of(*start) : point{plan.items[0].lat, plan.items[0].lon, 0};
  double horizontal_m = 0, climb_m = 0, hold_s = 0;
  auto leg = [&](point a, point b) {
    horizontal_m += distance_m(a.lat, a.lon, b.lat, b.lon);
    climb_m += std::max(0.0, b.alt - a.alt);
  };
  point at = home;
  for (auto& item : plan.items) {
    leg(at, point_of(item));
    hold_s += std::max(0.0, item.hold_s);
    at = point_of(item);
  }
  if (returns(plan))
    leg(at, home);
  return energy.percent_per_km * horizontal_m / 1000 + energy.percent_per_100m_climb * climb_m / 100
         + energy.percent_per_min_hover * hold_s / 60;
}

std::vector<mission_problem> validate_mission(const mission_plan& plan, const std::vector<geofence>& fences,
                                              const mission_limits& limits, const energy_model& energy,
                                              std::optional<mission_item> start, double start_battery) {
  auto n = plan.items.size();
  std::vector<std::vector<mission_problem>> per_item(n); // in item order: fields, leg length, fences
  std::vector<mission_problem> mission_wide;
  auto item_problem = [&](std::size_t i, std::string field, std::string reason) {
    per_item[i].push_back({static_cast<int>(i), std::move(field), std::move(reason)});
  };
  auto wide_problem = [&](std::string field, std::string reason) {
    mission_wide.push_back({-1, std::move(field), std::move(reason)});
  };

  // The items' own values.
  std::vector<bool> ok(n);
  bool all_ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    auto& it = plan.items[i];
    if (!in_range(it.lat, -90, 90))
      item_problem(i, item_field(i, "lat"), format("latitude %g is not from -90 to 90", it.lat));
    if (!in_range(it.lon, -180, 180))
      item_problem(i, item_field(i, "lon"), format("longitude %g is not from -180 to 180", it.lon));
    if (!in_range(it.alt, limits.min_alt, limits.max_alt))
      item_problem(i, item_field(i, "alt"),
                   format("altitude %g m is not from %g to %g m", it.alt, limits.min_alt, limits.max_alt));
    if (it.speed != -1 && !(it.speed > 0 && it.speed <= limits.max_speed))
      item_problem(i, item_field(i, "speed"),
                   format("speed %g m/s is not above 0 and at most %g m/s (or -1: the cruise speed)", it.speed,
                          limits.max_speed));
    if (!in_range(it.hold_s, 0, limits.max_hold_s))
      item_problem(i, item_field(i, "hold_s"),
                   format("hold time %g s is not from 0 to %g s", it.hold_s, limits.max_hold_s));
    if (!valid_mission_item_action(it.action))
      item_problem(i, item_field(i, "action"),
                   "action '" + runtime::printable(it.action, 32) + "' is not none, photo, land or rtl");
    else if ((it.action == "land" || it.action == "rtl") && i + 1 < n)
      item_problem(i, item_field(i, "action"),
                   "action '" + it.action + "' ends the flight: only the last item may land or return (items "
                     + std::to_string(i + 1) + " to " + std::to_string(n - 1) + " would never be flown)");
    ok[i] = position_ok(it);
    all_ok = all_ok && ok[i] && std::isfinite(it.hold_s);
  }
  bool start_ok = start && position_ok(*start);

  // Leg lengths: each leg on the item that ends it.
  for (std::size_t i = 0; i < n; ++i) {
    if (!ok[i] || (i == 0 ? !start_ok : !ok[i - 1]))
      continue;
    point a = i == 0 ? point_of(*start) : point_of(plan.items[i - 1]);
    auto& b = plan.items[i];
    double d = distance_m(a.lat, a.lon, b.lat, b.lon);
    if (d > limits.max_leg_m)
      item_problem(i, item_field(i),
                   leg_text(i == 0 ? std::nullopt : std::optional<std::size_t>{i - 1}, i)
                     + format(" is %.0f m long, more than the %g m allowed", d, limits.max_leg_m));
  }

  // The geofences of the plan's group: the items, then the legs between allowed ends.
  bool back = returns(plan);
  for (auto& f : fences) {
    if (f.group != plan.group)
      continue;
    std::vector<bool> broken(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto& it = plan.items[i];
      if (!ok[i] || !breaks(f, it.lon, it.lat, it.alt))
        continue;
      broken[i] = true;
      std::string why = !f.inclusion                          ? "the item is inside "
                        : inside_ring(f.ring, it.lon, it.lat) ? format("the item's altitude %g m is outside the "
                                                                       "altitude band of ", it.alt)
                                                              : "the item is outside ";
      item_problem(i, item_field(i), why + fence_text(f));
    }
    auto verb = f.inclusion ? " leaves " : " crosses ";
    for (std::size_t i = 0; i < n; ++i) {
      if (!ok[i] || broken[i] || (i == 0 ? !start_ok : !ok[i - 1] || broken[i - 1]))
        continue;
      point a = i == 0 ? point_of(*start) : point_of(plan.items[i - 1]);
      auto& b = plan.items[i];
      if (leg_breaks(f, a.geo(), a.alt, {b.lon, b.lat}, b.alt))
        item_problem(i, item_field(i),
                     leg_text(i == 0 ? std::nullopt : std::optional<std::size_t>{i - 1}, i) + verb + fence_text(f));
    }
    if (back && start_ok && ok[n - 1] && !broken[n - 1]) {
      auto& a = plan.items[n - 1];
      if (leg_breaks(f, {a.lon, a.lat}, a.alt, {start->lon, start->lat}, start->alt))
        wide_problem("final_action", leg_text(n - 1, std::nullopt) + verb + fence_text(f));
    }
  }

  // The mission as a whole.
  if (n == 0 || n > limits.max_items)
    wide_problem("items", "a mission has 1 to " + std::to_string(limits.max_items) + " items, not "
                            + std::to_string(n));
  if (!(plan.cruise_speed > 0 && plan.cruise_speed <= limits.max_speed))
    wide_problem("cruise_speed", format("cruise speed %g m/s is not above 0 and at most %g m/s", plan.cruise_speed,
                                        limits.max_speed));
  if (!valid_mission_final_action(plan.final_action))
    wide_problem("final_action",
                 "final action '" + runtime::printable(plan.final_action, 32) + "' is not rtl, land or hold");
  if (n > 0 && all_ok && (!start || start_ok)) {
    double used = estimate_energy_percent(plan, energy, start);
    double left = start_battery - used;
    if (left < energy.reserve_percent)
      wide_problem("items", format("the flight needs about %.1f%% of the battery (estimated): starting at %.1f%% "
                                   "it ends with %.1f%%, below the %.1f%% reserve",
                                   used, start_battery, left, energy.reserve_percent));
  }

  std::vector<mission_problem> out;
  for (auto& list : per_item)
    for (auto& p : list)
      out.push_back(std::move(p));
  for (auto& p : mission_wide)
    out.push_back(std::move(p));
  return out;
}

json mission_problems_json(const std::vector<mission_problem>& problems) {
  json out = json::array();
  for (auto& p : problems)
    out.push_back(json{{"index", p.index < 0 ? json(nullptr) : json(p.index)}, {"field", p.field},
                       {"reason", p.reason}});
  return out;
}

std::string mission_item_frame(const std::string& mission_id, const mission_plan& plan, std::size_t seq) {
  const auto& it = plan.items.at(seq);
  json item{{"lat", it.lat},
            {"lon", it.lon},
            {"alt", it.alt},
            {"speed", it.speed >= 0 ? it.speed : plan.cruise_speed},
            {"hold_s", it.hold_s},
            {"action", it.action}};
  return json{{"type", "mission_item"},  {"mission_id", mission_id},
              {"seq", seq},              {"count", plan.items.size()},
              {"item", std::move(item)}, {"final_action", plan.final_action}}
    .dump();
}

bool mission_drone_final(std::string_view state) {
  return state == "completed" || state == "aborted" || state == "failed";
}

std::string mission_state_of(const std::vector<std::string>& drone_states, const std::string& current) {
  bool failed = false, aborted = false;
  for (auto& s : drone_states) {
    if (!mission_drone_final(s))
      return current;
    failed = failed || s == "failed";
    aborted = aborted || s == "aborted";
  }
  if (drone_states.empty())
    return current;
  return failed ? "failed" : aborted ? "aborted" : "completed";
}

} // namespace dccs::actors
