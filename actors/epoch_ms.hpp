#pragma once

#include <cmath>
#include <cstdint>

namespace dccs::actors {

/// A time in milliseconds since the Unix epoch as the API writes it: a whole number. The journal's times carry
/// microseconds (extract(epoch ...) * 1000 is 1796104865123.456), which JSON would show as float noise.
inline std::int64_t epoch_ms(double ms) {
  return static_cast<std::int64_t>(std::llround(ms));
}

} // namespace dccs::actors
