#pragma once

#include <chrono>
#include <cstdint>

namespace dccs::sim {

/// Wall clock in microseconds since the Unix epoch (the `ts` of telemetry, the operator's arrival time).
inline std::int64_t wall_clock_us() noexcept {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

/// Wall clock in milliseconds since the Unix epoch, with a fractional part.
inline double wall_clock_ms() noexcept { return static_cast<double>(wall_clock_us()) / 1000.0; }

} // namespace dccs::sim
