#pragma once

#include "sim/command.hpp"
#include "sim/mission.hpp"

#include <simdjson.h>

namespace dccs::sim {

/// A node frame of a command type, parsed.
struct command_frame {
  bool cancel = false; ///< `command_cancel` (only `request.id` is set) rather than `command`
  command_request request;
};

/// The longest command_id the simulator answers (its acks echo the id, and it remembers recent ids).
inline constexpr std::size_t max_command_id = 256;

/// Parses a `command` or `command_cancel` frame. Returns false when the frame cannot be answered at all (not
/// JSON, no usable `command_id`, another type): the caller counts and logs it. `text` needs simdjson's padding.
/// A `command` frame that parses is noted in the --command-log (sim/command_log.hpp), if one is open.
bool parse_command_frame(simdjson::ondemand::parser& parser, simdjson::padded_string_view text, command_frame& out);

/// Parses a `mission_item` frame. Returns false when it cannot be answered at all (not JSON, another type, no usable
/// `mission_id` or `seq`): the caller counts and logs it. Checks types and ranges (lat, lon, speed 0.1..1000, hold_s
/// 0..3600, count 1..1000, seq below count, the action names); what depends on the drone (alt above its ground) is
/// the autopilot's. `text` needs simdjson's padding.
bool parse_mission_item_frame(simdjson::ondemand::parser& parser, simdjson::padded_string_view text,
                              mission_item_frame& out);

} // namespace dccs::sim
