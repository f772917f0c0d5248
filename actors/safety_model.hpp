#pragma once
/// Geofences and alarms (docs/protocol.md "Geofences" and "Alarms") as plain classes: the fences and their
/// geometry, the per-drone monitors a drone actor runs on each position (time injected), and the alarm kinds.
/// Nothing here blocks or talks to an actor; everything is unit tested (tests/actors/safety_model_test.cpp).
///
/// A geofence applies to the drones of its group while they are armed:
///   inclusion  the drone must stay inside the polygon and between floor and ceiling (each when set);
///   exclusion  the drone must not be inside the polygon while between floor and ceiling (unset: unbounded).
/// A breach starts at the first position that breaks a fence and ends after `clear_after_ms` of positions that
/// break none (so that a drone hovering on the border does not raise and clear an alarm at every frame).

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"

namespace dccs::actors {

// -- geometry (degrees; a fence is small next to the Earth: edges are straight lines in lon/lat) --

/// Whether (lon, lat) is inside the closed ring (first point == last point). Points on an edge count as inside.
bool inside_ring(const std::vector<geo_point>& ring, double lon, double lat);

/// Whether the segment a-b crosses or touches an edge of the ring.
bool segment_crosses_ring(const std::vector<geo_point>& ring, geo_point a, geo_point b);

/// Whether a position breaks the fence (see the file comment).
bool breaks(const geofence& f, double lon, double lat, double alt);

/// Whether a straight leg from a to b (altitudes alt_a, alt_b) breaks the fence somewhere: for an inclusion fence
/// a leg that leaves the polygon (an end outside, or crossing its border) or an altitude outside the band; for an
/// exclusion fence a leg that enters the polygon (an end inside, or crossing it) within the band.
bool leg_breaks(const geofence& f, geo_point a, double alt_a, geo_point b, double alt_b);

/// Checks a geofence body (POST, or PATCH merged over the stored fence): nothing on success, else (field, message)
/// of the first problem. `out` gets the parsed fence (id, created_by and times are not touched).
std::optional<std::pair<std::string, std::string>> parse_geofence(const nlohmann::json& body, geofence& out);

/// The GeoJSON Polygon of a fence's ring.
nlohmann::json polygon_json(const std::vector<geo_point>& ring);

/// Limits of a fence: vertices of its ring (closing point included) and fences per group.
inline constexpr std::size_t max_fence_points = 500;
inline constexpr std::size_t max_fences_per_group = 100;

// -- monitors --

/// The geofences of one drone: fed each position with the fences of its group, it says which breaches start and
/// which end.
class geofence_monitor {
public:
  explicit geofence_monitor(std::int64_t clear_after_ms = 3000) : clear_after_ms_(clear_after_ms) {}

  struct change {
    std::vector<const geofence*> started; ///< fences broken by this position and not before
    bool ended = false;                   ///< the drone breaks no fence any more (for clear_after_ms)
  };
  /// `now_ms`: any monotonic clock. A disarmed drone breaks no fence: its breaches end at once, without an event
  /// (the alarm stays for an operator to clear: the drone landed where it should not be).
  change update(const std::vector<geofence>& fences, double lon, double lat, double alt, bool armed, double now_ms);

  bool breached() const { return !breached_.empty(); }
  const std::set<std::string>& breached_fences() const { return breached_; }
  /// Forget every breach (the fences changed: they are looked at afresh on the next position).
  void reset() { breached_.clear(); compliant_since_ = -1; }

private:
  std::int64_t clear_after_ms_;
  std::set<std::string> breached_;
  double compliant_since_ = -1;
};

/// A drone's battery against the warning and critical thresholds (percent). The level rises at once and falls only
/// when the battery is `hysteresis` points above the threshold (a battery reading that wobbles does not raise and
/// clear an alarm over and over).
class battery_monitor {
public:
  enum class level { ok, warning, critical };
  battery_monitor(double warn = 25, double critical = 15, double hysteresis = 5)
    : warn_(warn), critical_(critical), hysteresis_(hysteresis) {}
  /// The new level when it changed, else nothing.
  std::optional<level> update(double battery);
  level current() const { return level_; }

private:
  double warn_, critical_, hysteresis_;
  level level_ = level::ok;
};

// -- alarms --

inline constexpr const char* alarm_kinds[] = {"low_battery",     "link_lost",         "geofence_breach",
                                              "command_failed", "command_timed_out", "mission_failed"};
bool valid_alarm_kind(std::string_view kind);

/// Alarm states: active → acknowledged → cleared (or active → cleared). A raise of an open alarm of the same
/// (drone, kind) counts on it (count + 1, newest message); one that is more severe makes it active again.
inline constexpr const char* alarm_states[] = {"active", "acknowledged", "cleared"};
bool valid_alarm_state(std::string_view state);

} // namespace dccs::actors
