#pragma once

#include <cstdint>

namespace dccs::sim {

/// SplitMix64: a tiny (8-byte state), fast, statistically decent generator. Each drone owns one, so
/// that a run is reproducible from `--seed` whatever the scheduling order.
class rng {
public:
  explicit rng(std::uint64_t seed) noexcept : state_(seed) {}

  /// Next 64 random bits.
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  /// Uniform double in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  /// Mixes two values into a seed (used to derive one stream per drone from the run seed).
  static std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
    rng r(a ^ (b * 0xd1b54a32d192ed03ULL));
    r.next();
    return r.next();
  }

private:
  std::uint64_t state_;
};

} // namespace dccs::sim
