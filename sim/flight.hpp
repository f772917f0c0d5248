#pragma once

#include "sim/rng.hpp"

#include <cstdint>

namespace dccs::sim {

/// Flight modes reported in telemetry (`mode`); the scripted flight uses the first five, the autopilot
/// (sim/autopilot.hpp) every one (`mission` while it flies a mission uploaded by the node).
enum class flight_mode : std::uint8_t { standby, takeoff, mission, rtl, land, guided, hold };

/// Protocol name of a mode: "STANDBY", "TAKEOFF", "MISSION", "RTL", "LAND", "GUIDED", "HOLD".
const char* mode_name(flight_mode m) noexcept;

/// Everything a telemetry frame reports, except `seq` and `ts` (owned by the connection).
struct telemetry_state {
  double lat = 0, lon = 0; ///< degrees, WGS-84
  double alt = 0;          ///< m above mean sea level
  double heading = 0;      ///< degrees from true north, [0, 360)
  double speed = 0;        ///< m/s over ground
  double vspeed = 0;       ///< m/s, up positive
  double battery = 0;      ///< percent
  bool armed = false;
  flight_mode mode = flight_mode::standby;
  double roll = 0, pitch = 0, yaw = 0; ///< degrees
  double voltage = 0;                  ///< V (4S pack)
  int sats = 0;
  int fix = 0;
};

/// Parameters of the whole fleet.
struct fleet_area {
  double center_lat = 47.3977;
  double center_lon = 8.5456;
  double home_radius_m = 5000.0;     ///< homes are scattered uniformly in this disc
  double waypoint_radius_m = 2000.0; ///< waypoints are scattered around the drone's home
  double ground_alt_m = 408.0;       ///< ground elevation at the centre (m AMSL)
};

/// Deterministic flight of one drone: on the ground disarmed (recharging), arm, take off, cruise
/// between random waypoints, return home and land when the battery runs low, repeat.
///
/// All randomness comes from a generator seeded with (seed, index), and time only advances through
/// step(dt), so the same seed and the same sequence of steps give the same flight.
class flight_model {
public:
  /// The battery level below which a flying drone returns home.
  static constexpr double rtl_battery = 25.0;

  flight_model(const fleet_area& area, std::uint64_t seed, std::uint32_t index);

  /// Advances the simulation by `dt` seconds (expected 0 < dt <= a few seconds).
  void step(double dt) noexcept;

  /// The current state, ready to be formatted.
  const telemetry_state& state() const noexcept { return out_; }

  /// Home point of this drone.
  double home_lat() const noexcept { return home_lat_; }
  double home_lon() const noexcept { return home_lon_; }
  /// Ground elevation at home, m AMSL.
  double ground_alt() const noexcept { return ground_alt_; }

  /// Distance from home in metres (horizontal).
  double distance_from_home() const noexcept;

private:
  enum class phase : std::uint8_t { grounded, spool_up, takeoff, mission, rtl, land };

  void pick_waypoint() noexcept;
  /// Moves towards (x, y) at speed_ for dt; returns true when arrived.
  bool fly_towards(double x, double y, double dt) noexcept;
  void climb_towards(double h, double rate, double dt) noexcept;
  void publish(double dt) noexcept;

  rng rng_;
  double home_lat_, home_lon_, ground_alt_;
  double m_per_deg_lat_, m_per_deg_lon_;
  double waypoint_radius_;

  phase phase_ = phase::grounded;
  double east_ = 0, north_ = 0, height_ = 0; ///< m relative to home (height above ground)
  double heading_ = 0, speed_ = 0, vspeed_ = 0;
  double target_speed_ = 0, cruise_height_ = 0, target_height_ = 0;
  double wp_east_ = 0, wp_north_ = 0;
  double battery_ = 100, drain_ = 0.1; ///< percent, percent per second while flying
  double wait_ = 0;                    ///< seconds left in a ground phase
  double roll_ = 0, pitch_ = 0;
  int sats_ = 12, fix_ = 3;
  telemetry_state out_;
};

} // namespace dccs::sim
