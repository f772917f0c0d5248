#pragma once
/// Flat-earth geometry shared by the scripted flight (sim/flight.cpp) and the autopilot (sim/autopilot.cpp): the
/// two must agree on where a drone is, so they use the same constants and angle arithmetic.

#include <algorithm>
#include <cmath>

namespace dccs::sim::geo {

constexpr double pi = 3.14159265358979323846;
constexpr double deg = pi / 180.0;
constexpr double m_per_deg = 111320.0; ///< metres per degree of latitude (spherical approximation)

/// Angle in [0, 360).
inline double wrap360(double a) noexcept {
  a = std::fmod(a, 360.0);
  if (a < 0)
    a += 360.0;
  return a >= 360.0 ? 0.0 : a;
}

/// Signed smallest difference b - a in (-180, 180].
inline double angle_diff(double a, double b) noexcept {
  double d = std::fmod(b - a, 360.0);
  if (d > 180.0)
    d -= 360.0;
  else if (d <= -180.0)
    d += 360.0;
  return d;
}

/// `value` moved towards `target` by at most `max_delta`.
inline double approach(double value, double target, double max_delta) noexcept {
  if (value < target)
    return std::min(target, value + max_delta);
  return std::max(target, value - max_delta);
}

} // namespace dccs::sim::geo
