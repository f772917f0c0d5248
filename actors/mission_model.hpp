#pragma once
/// Missions as plain code: a mission plan (waypoints and what happens at the end), the check of its REST body,
/// and its validation against the limits, the geofences of its group and a battery estimate. Nothing here blocks
/// or talks to an actor or a database; everything is unit tested (tests/actors/mission_model_test.cpp).
///
/// A flight of a plan: from the start (the drone's position, its home) to items[0], then items[1], ... in straight
/// legs; at each item it holds `hold_s` seconds and does its action; after the last item it does `final_action`
/// (rtl: a leg back to the start, then lands there; land: lands where it is; hold: stays there).
///
/// parse_mission() checks the shape and the types of a body and names the first problem; validate_mission() checks
/// the values and lists every problem, so that an operator fixes a plan in one round.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"

namespace dccs::actors {

/// One waypoint of a mission: degrees, metres (as telemetry's alt), m/s, seconds.
struct mission_item {
  double lat = 0;
  double lon = 0;
  double alt = 0;
  double speed = -1;           ///< m/s towards this item; -1: the mission's cruise speed
  double hold_s = 0;           ///< seconds held at the item once reached
  std::string action = "none"; ///< none, photo, land or rtl (land and rtl end the flight: last item only)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mission_item& x) {
  return f(caf::meta::type_name("mission_item"), x.lat, x.lon, x.alt, x.speed, x.hold_s, x.action);
}

/// A mission: its waypoints, in flight order, for the drones of one group.
struct mission_plan {
  std::string name;
  std::string group; ///< the drones it may fly on; the geofences of this group apply to it
  std::vector<mission_item> items;
  std::string final_action = "rtl"; ///< after the last item: rtl, land or hold
  double cruise_speed = 10;         ///< m/s, for the items without a speed of their own
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mission_plan& x) {
  return f(caf::meta::type_name("mission_plan"), x.name, x.group, x.items, x.final_action, x.cruise_speed);
}

inline constexpr const char* mission_item_actions[] = {"none", "photo", "land", "rtl"};
inline constexpr const char* mission_final_actions[] = {"rtl", "land", "hold"};
bool valid_mission_item_action(std::string_view action);
bool valid_mission_final_action(std::string_view action);

/// What a plan may ask for.
struct mission_limits {
  std::size_t max_items = 500;
  double max_leg_m = 5000;  ///< the longest leg between two items (and from the start to the first one)
  double min_alt = 0;
  double max_alt = 500;
  double max_speed = 30;    ///< m/s, for the items' speeds and the cruise speed
  double max_hold_s = 3600;
};

/// A simple battery model (percent of a full battery), see estimate_energy_percent().
struct energy_model {
  double percent_per_km = 2.0;          ///< horizontal distance flown
  double percent_per_100m_climb = 1.0;  ///< climbs only: descents are free
  double percent_per_min_hover = 0.8;   ///< hold time at the items
  double reserve_percent = 20;          ///< what must be left when the flight ends
};

/// One problem of a plan.
struct mission_problem {
  int index = -1;     ///< the item's index; -1: the mission as a whole
  std::string field;  ///< as in the REST body: "items[3].alt", "cruise_speed", "items"
  std::string reason;
};

/// Great-circle distance in metres between two positions in degrees (haversine, mean Earth radius 6371008.8 m).
double distance_m(double lat1, double lon1, double lat2, double lon2);

/// Checks a mission body {"name","group","items":[{lat,lon,alt,speed?,hold_s?,action?}...],"final_action"?,
/// "cruise_speed"?}: fields, types and lists only (the values are validate_mission's). Nothing on success, else
/// (field, message) of the first problem, the field named as "items[3].alt". `out` gets the plan on success only.
std::optional<std::pair<std::string, std::string>> parse_mission(const nlohmann::json& body, mission_plan& out);

/// The percent of a full battery a flight of the plan uses:
///
///   percent_per_km × horizontal km + percent_per_100m_climb × climbed m / 100 + percent_per_min_hover × held min
///
/// over the legs start → items[0] → ... → items[n-1], plus items[n-1] → start when the flight returns (the last
/// item's action is rtl, or final_action is rtl and the last item does not land). Each leg's climb is
/// max(0, its end's alt − its beginning's alt), so the first leg counts the takeoff climb from the start's altitude.
/// Without a start, the drone is taken to start on the ground (alt 0) under items[0].
double estimate_energy_percent(const mission_plan& plan, const energy_model& energy,
                               std::optional<mission_item> start);

/// Every problem of a plan (none: it may fly), in item order, the mission-wide ones last:
///   - per item: lat in [-90, 90], lon in [-180, 180], alt in [min_alt, max_alt], speed (unless -1) in
///     (0, max_speed], hold_s in [0, max_hold_s], a known action, land or rtl only on the last item;
///   - a leg longer than max_leg_m, on the item that ends it (start → items[0] only with a start);
///   - each geofence of the plan's group (the others are ignored): an item that breaks it, on that item; a leg that
///     breaks it with both its ends allowed (it crosses the fence), on the item that ends it, the return leg of an
///     rtl flight on the mission (field "final_action"); the legs from and to the start only with a start;
///   - mission-wide: the number of items, cruise_speed in (0, max_speed], a known final_action, and the battery:
///     start_battery − estimate_energy_percent() below reserve_percent (field "items").
/// Legs and the battery are not looked at for items whose position is not valid (their problem is said already).
std::vector<mission_problem> validate_mission(const mission_plan& plan, const std::vector<geofence>& fences,
                                              const mission_limits& limits, const energy_model& energy,
                                              std::optional<mission_item> start, double start_battery = 100);

/// [{"index":3,"field":"items[3].alt","reason":"..."}, ...], index null for a mission-wide problem.
nlohmann::json mission_problems_json(const std::vector<mission_problem>& problems);

/// The `mission_item` frame that uploads item `seq` of a plan (docs/protocol.md "Missions"; MISSION_COUNT and
/// MISSION_ITEM_INT in one frame): {"type":"mission_item","mission_id","seq","count","item":{lat,lon,alt,speed,
/// hold_s,action},"final_action"}. An item without a speed of its own carries the plan's cruise speed.
std::string mission_item_frame(const std::string& mission_id, const mission_plan& plan, std::size_t seq);

/// The states of a mission's drones (docs/protocol.md "Missions"):
///
///   assigned --upload--> uploading --every item acknowledged--> ready --start--> active <--pause/resume--> paused
///                            |                                                     |
///                            +--refused, no answer, offline--> failed              +--> completed | aborted | failed
///
/// and of the mission: draft -> validated -> uploading -> ready -> active <-> paused -> completed | aborted | failed
/// (an upload that fails leaves it validated, with the reason).
bool mission_drone_final(std::string_view state);

/// A flying mission's state once a drone's state changed: `current` (active or paused) while any drone is not
/// final; then failed when any drone failed, else aborted when any was aborted, else completed.
std::string mission_state_of(const std::vector<std::string>& drone_states, const std::string& current);

} // namespace dccs::actors
