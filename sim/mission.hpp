#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dccs::sim {

/// Missions, shaped on MAVLink's mission protocol: the node uploads a mission item by item (`mission_item`,
/// MISSION_COUNT and MISSION_ITEM_INT in one frame), the drone answers each with a `mission_ack`, a `command` of kind
/// `mission_start` starts it, and the drone reports its progress in `mission_progress` frames (MISSION_CURRENT,
/// MISSION_ITEM_REACHED, the mission's end). The autopilot (sim/autopilot.hpp) keeps and flies them; the frames are
/// parsed by parse_mission_item_frame (sim/command_parse.hpp) and written by the format functions below.

/// What the drone does at a waypoint once its hold time is over.
enum class item_action : std::uint8_t {
  none,  ///< goes on to the next item
  photo, ///< takes a photo (counted), then goes on
  land,  ///< lands there and disarms: the mission is completed
  rtl,   ///< returns home, lands and disarms: the mission is completed
};

/// What the drone does after the last item.
enum class final_action : std::uint8_t {
  rtl,  ///< returns home, lands, disarms
  land, ///< lands at the last item, disarms
  hold, ///< hovers at the last item (HOLD)
};

const char* item_action_name(item_action a) noexcept;
std::optional<item_action> item_action_of(std::string_view name) noexcept;
const char* final_action_name(final_action a) noexcept;
std::optional<final_action> final_action_of(std::string_view name) noexcept;

/// One waypoint of a mission.
struct mission_item {
  double lat = 0, lon = 0;     ///< degrees
  double alt = 0;              ///< m above mean sea level, as the `goto` command's alt
  std::optional<double> speed; ///< m/s; none: the drone's cruise speed
  double hold_s = 0;           ///< seconds hovering at the waypoint before its action
  item_action action = item_action::none;

  bool operator==(const mission_item& o) const noexcept {
    return lat == o.lat && lon == o.lon && alt == o.alt && speed == o.speed && hold_s == o.hold_s && action == o.action;
  }
};

/// The longest mission (items) and mission_id (bytes) the simulator takes.
inline constexpr std::uint32_t max_mission_items = 1000;
inline constexpr std::size_t max_mission_id = 256;
/// The longest hold at a waypoint, seconds.
inline constexpr double max_hold_s = 3600;

/// A `mission_item` frame from the node:
/// {"type":"mission_item","mission_id":"<uuid>","seq":0,"count":3,"item":{"lat":..,"lon":..,"alt":..,"speed"?:..,
/// "hold_s"?:..,"action"?:"none"|"photo"|"land"|"rtl"},"final_action":"rtl"|"land"|"hold"}.
struct mission_item_frame {
  std::string mission_id;
  std::uint32_t seq = 0;
  std::uint32_t count = 0;
  mission_item item;
  final_action at_end = final_action::rtl; ///< `final_action`
  /// Non-empty: the frame names its mission and seq but is unusable otherwise (a field missing, of the wrong type or
  /// out of range); it is answered `error` with this reason.
  std::string error;
};

/// `result` of a `mission_ack`.
enum class mission_result : std::uint8_t {
  accepted,   ///< the item is stored (with the last one, the whole mission)
  denied,     ///< not now (a mission is being flown)
  error,      ///< an item the drone cannot fly, or out of order
  unsupported ///< this drone flies no missions
};
const char* mission_result_name(mission_result r) noexcept;

/// One `mission_ack` frame to send.
struct mission_ack {
  std::string mission_id;
  std::uint32_t seq = 0;
  mission_result result = mission_result::accepted;
  std::string reason; ///< empty for none; at most 256 bytes
};

/// `event` of a `mission_progress`.
enum class mission_event_kind : std::uint8_t {
  current,   ///< flying to item `seq` (MISSION_CURRENT)
  reached,   ///< arrived at item `seq`, before its hold (MISSION_ITEM_REACHED)
  completed, ///< the mission's end is done (landed and disarmed, or arrived for final_action hold)
  aborted,   ///< a command ended it
  failed,    ///< it cannot go on (battery exhausted)
};
const char* mission_event_name(mission_event_kind e) noexcept;

/// One `mission_progress` frame to send.
struct mission_event {
  std::string mission_id;
  mission_event_kind event = mission_event_kind::current;
  std::int64_t seq = -1; ///< current, reached: the item; -1 for none
  std::string reason;    ///< aborted, failed
};

/// {"type":"mission_ack","mission_id":..,"seq":..,"result":..,"reason"?:..}.
std::string format_mission_ack(const mission_ack& a);
/// {"type":"mission_progress","mission_id":..,"event":..,"seq"?:..,"reason"?:..}.
std::string format_mission_progress(const mission_event& e);

} // namespace dccs::sim
