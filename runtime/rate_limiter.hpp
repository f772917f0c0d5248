#pragma once

#include <algorithm>
#include <cstdint>

namespace dccs::runtime {

/// Token bucket: `rate` tokens per second, at most `burst` saved up. Plain logic; takes the monotonic
/// time in milliseconds.
class rate_limiter {
public:
  rate_limiter(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {
  }

  /// Takes one token; false when the bucket is empty.
  bool allow(std::int64_t now_ms) {
    if (last_ms_ >= 0)
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_ / 1000.0);
    last_ms_ = now_ms;
    if (tokens_ < 1.0)
      return false;
    tokens_ -= 1.0;
    return true;
  }

private:
  double rate_;
  double burst_;
  double tokens_;
  std::int64_t last_ms_ = -1;
};

} // namespace dccs::runtime
