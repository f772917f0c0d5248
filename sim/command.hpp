#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dccs::sim {

/// The command kinds of the drone protocol (docs/protocol.md, "Commands"), in the order of its table, and
/// `mission_start` (MAV_CMD_MISSION_START: flies a mission uploaded with `mission_item` frames, sim/mission.hpp).
enum class command_kind : std::uint8_t {
  arm,
  disarm,
  takeoff,
  land,
  rtl,
  go_to,
  hold,
  resume,
  set_mode,
  set_speed,
  mission_start,
  count_
};

/// Protocol name of a kind: "arm", ..., "goto", ..., "set_speed", "mission_start".
const char* kind_name(command_kind k) noexcept;
/// The kind of a protocol name, if it is one.
std::optional<command_kind> kind_of(std::string_view name) noexcept;

/// A set of command kinds (the kinds a drone executes, --commands).
class kind_set {
public:
  static kind_set all() noexcept { return kind_set((1u << static_cast<unsigned>(command_kind::count_)) - 1); }
  static kind_set none() noexcept { return kind_set(0); }
  /// "all", "none", or kind names separated by commas; nullopt (and `error` set) if a name is no kind.
  static std::optional<kind_set> parse(std::string_view text, std::string& error);

  bool contains(command_kind k) const noexcept { return (bits_ >> static_cast<unsigned>(k)) & 1u; }
  void add(command_kind k) noexcept { bits_ |= 1u << static_cast<unsigned>(k); }
  bool empty() const noexcept { return bits_ == 0; }
  bool operator==(const kind_set& o) const noexcept { return bits_ == o.bits_; }
  /// The `commands` array of the hello: `["arm","disarm",...]`, in protocol order.
  std::string json_array() const;

private:
  explicit kind_set(std::uint32_t bits) noexcept : bits_(bits) {}
  std::uint32_t bits_;
};

/// `result` of a `command_ack` (MAV_RESULT in the protocol's words).
enum class command_result : std::uint8_t {
  accepted,
  in_progress,
  succeeded,
  failed,
  temporarily_rejected,
  denied,
  unsupported,
  cancelled
};

/// Protocol name of a result: "accepted", "in_progress", ...
const char* result_name(command_result r) noexcept;
/// Whether the command is over once this result is given (everything but accepted and in_progress).
constexpr bool is_final(command_result r) noexcept {
  return r != command_result::accepted && r != command_result::in_progress;
}

/// The `params` of a command as received. The parser does not know which kind needs which parameter, so
/// it keeps every known one and notes those of the wrong type; the autopilot checks what its kind needs.
struct command_params {
  enum field : std::uint8_t { f_alt = 1, f_lat = 2, f_lon = 4, f_speed = 8, f_mode = 16, f_mission_id = 32 };
  std::optional<double> alt, lat, lon, speed;
  std::optional<std::string> mode, mission_id;
  std::uint8_t wrong_type = 0; ///< fields present with a value of the wrong type
};

/// A `command` frame from the node.
struct command_request {
  std::string id;   ///< command_id
  std::string kind; ///< as received (an unknown kind is answered `unsupported`)
  command_params params;
  std::optional<double> expires_at; ///< ms since the epoch, node clock
  std::uint64_t attempt = 1;
  /// Non-empty: the frame names its command but is unusable otherwise (no kind, `params` not an object, ...);
  /// it is answered `denied` with this reason.
  std::string error;
};

/// One `command_ack` frame to send.
struct command_ack {
  std::string command_id;
  command_result result = command_result::accepted;
  int progress = -1;  ///< 0..100, or -1 for none
  std::string reason; ///< empty for none; at most 256 bytes
};

/// The `command_ack` frame of `a`: {"type":"command_ack","command_id":..,"result":..,"progress"?:..,"reason"?:..}.
/// Strings are escaped as JSON needs; a reason over 256 bytes is cut at a UTF-8 character boundary.
std::string format_command_ack(const command_ack& a);

/// Appends `s` to `out` as the inside of a JSON string (quotes, backslashes and control characters escaped).
void append_escaped(std::string& out, std::string_view s);

/// `s` cut to at most `max_bytes` bytes without splitting a UTF-8 character (for reasons that quote input).
std::string_view clip_utf8(std::string_view s, std::size_t max_bytes) noexcept;

} // namespace dccs::sim
