#pragma once

#include <string>

#include "actors/messages.hpp"

namespace dccs::actors {

/// Appends `s` as a JSON string literal (quoted, escaped).
void append_json_string(std::string& out, std::string_view s);

/// Appends a number in the shortest form that round-trips.
void append_json_number(std::string& out, double x);

/// Appends the operator view of one drone (docs/protocol.md, "<drone> object") as a JSON object. Written by
/// hand with std::to_chars: this runs for every drone on every tick.
void append_drone_json(std::string& out, const drone_state& st);

/// Appends one status event as a JSON object.
void append_event_json(std::string& out, const status_event& ev);

} // namespace dccs::actors
