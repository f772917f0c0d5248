#pragma once

#include <string>
#include <string_view>

#include "actors/messages.hpp"

namespace dccs::bridges {

/// One drone frame (docs/protocol.md), parsed once into a struct.
struct drone_frame {
  enum kind_t { hello, telemetry, heartbeat, command_ack, mission_ack, mission_progress, invalid };
  kind_t kind = invalid;
  actors::drone_info info; ///< for hello
  bool ack = false;        ///< for hello: the drone asks for acknowledgements of stored telemetry
  std::string secret;      ///< for hello: the drone's credential, when it cannot send an Authorization header
  actors::telemetry t;     ///< for telemetry
  double ts = 0;           ///< for heartbeat (0 when absent)
  actors::command_ack ack_frame; ///< for command_ack
  actors::mission_report mission; ///< for mission_ack and mission_progress (drone_id and time: the drone's actor)
  std::string error_code;  ///< for invalid: malformed, unknown_type, missing_field, invalid_field
  std::string error_message;
};

/// Parses a drone frame with simdjson's on-demand parser (one pass over the fields, any order, unknown
/// fields ignored) and checks every value against the protocol's ranges. Never throws; on failure `kind`
/// is `invalid` and the error fields name the problem. Thread-safe (one parser per thread).
void parse_drone_frame(std::string_view text, drone_frame& out);

using actors::valid_drone_id;

} // namespace dccs::bridges
