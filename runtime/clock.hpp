#pragma once

#include <chrono>
#include <cstdint>

namespace dccs::runtime {

/// Wall-clock time in milliseconds since the Unix epoch, with a sub-millisecond fraction. Used for
/// timestamps that leave the process (receive times, `server_time`, `last_seen`).
inline double wall_ms() {
  using namespace std::chrono;
  return duration_cast<duration<double, std::milli>>(system_clock::now().time_since_epoch()).count();
}

/// Monotonic time in milliseconds, for deadlines and watchdogs (never jumps with the wall clock).
inline std::int64_t mono_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

/// Monotonic time in milliseconds with a sub-millisecond fraction, for measuring short stretches (a request's way
/// through the node's actors).
inline double mono_ms_fine() {
  using namespace std::chrono;
  return duration_cast<duration<double, std::milli>>(steady_clock::now().time_since_epoch()).count();
}

} // namespace dccs::runtime
