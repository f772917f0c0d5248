#pragma once

#include "sim/flight.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dccs::sim {

/// Room for the largest frame the simulator writes (a telemetry frame is about 260 bytes).
inline constexpr std::size_t max_frame_size = 512;

/// Writes `{"type":"hello","drone_id":"<id>","model":"sim-quad","fw":"1.0"}` into `buf` and returns
/// its length, or 0 if it does not fit; `ack` adds `"ack":true` before the closing brace (the drone
/// wants acknowledged telemetry), a non-empty `commands` adds `"commands":<commands>` after it (the JSON array
/// of the command kinds the drone executes, kind_set::json_array()). `id` must already be a valid drone id (no
/// escaping done).
std::size_t format_hello(char* buf, std::size_t cap, std::string_view id, bool ack = false,
                         std::string_view commands = {}) noexcept;

/// Writes one telemetry frame (every required and optional field of the protocol) into `buf` and
/// returns its length, or 0 if it does not fit. `ts_us` is the wall clock in microseconds since the
/// epoch; it is written in milliseconds with three decimals.
std::size_t format_telemetry(char* buf, std::size_t cap, const telemetry_state& t, std::uint64_t seq,
                             std::int64_t ts_us) noexcept;

/// Builds the drone id: prefix + 5-digit zero-padded index.
std::size_t format_drone_id(char* buf, std::size_t cap, std::string_view prefix,
                            std::uint32_t index) noexcept;

} // namespace dccs::sim
