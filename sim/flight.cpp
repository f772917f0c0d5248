#include "sim/flight.hpp"
#include "sim/geo.hpp"

#include <algorithm>
#include <cmath>

namespace dccs::sim {

namespace {

using namespace geo;

constexpr double climb_rate = 3.0;    ///< m/s during takeoff
constexpr double land_rate = 1.5;     ///< m/s descending, slower near the ground
constexpr double cruise_vrate = 2.0;  ///< m/s between waypoint altitudes
constexpr double accel = 2.5;         ///< m/s² horizontal
constexpr double charge_rate = 1.5;   ///< percent per second on the charger (battery swap-like)
constexpr double ready_battery = 95.0;

} // namespace

const char* mode_name(flight_mode m) noexcept {
  switch (m) {
  case flight_mode::standby:
    return "STANDBY";
  case flight_mode::takeoff:
    return "TAKEOFF";
  case flight_mode::mission:
    return "MISSION";
  case flight_mode::rtl:
    return "RTL";
  case flight_mode::land:
    return "LAND";
  case flight_mode::guided:
    return "GUIDED";
  case flight_mode::hold:
    return "HOLD";
  }
  return "STANDBY";
}

flight_model::flight_model(const fleet_area& area, std::uint64_t seed, std::uint32_t index)
    : rng_(rng::mix(seed, index)), waypoint_radius_(area.waypoint_radius_m) {
  // Home: uniform in a disc around the centre.
  const double r = area.home_radius_m * std::sqrt(rng_.uniform());
  const double theta = rng_.uniform(0.0, 2.0 * pi);
  home_lat_ = area.center_lat + r * std::cos(theta) / m_per_deg;
  m_per_deg_lat_ = m_per_deg;
  m_per_deg_lon_ = m_per_deg * std::cos(home_lat_ * deg);
  home_lon_ = area.center_lon + r * std::sin(theta) / (m_per_deg * std::cos(area.center_lat * deg));
  ground_alt_ = area.ground_alt_m + rng_.uniform(-10.0, 40.0);

  // Start on the ground, disarmed, for a short while, with a nearly full battery.
  battery_ = rng_.uniform(ready_battery, 100.0);
  drain_ = rng_.uniform(0.08, 0.12); // 75 % of a pack lasts 10-15 minutes of flight
  wait_ = rng_.uniform(2.0, 10.0);
  heading_ = rng_.uniform(0.0, 360.0);
  sats_ = 10 + static_cast<int>(rng_.next() % 9);
  fix_ = rng_.uniform() < 0.2 ? 4 : 3;
  publish(0.0);
}

double flight_model::distance_from_home() const noexcept { return std::hypot(east_, north_); }

void flight_model::pick_waypoint() noexcept {
  const double r = waypoint_radius_ * std::sqrt(rng_.uniform());
  const double theta = rng_.uniform(0.0, 2.0 * pi);
  wp_east_ = r * std::sin(theta);
  wp_north_ = r * std::cos(theta);
  target_speed_ = rng_.uniform(8.0, 15.0);
  target_height_ = rng_.uniform(30.0, 120.0);
}

bool flight_model::fly_towards(double x, double y, double dt) noexcept {
  const double dx = x - east_, dy = y - north_;
  const double dist = std::hypot(dx, dy);
  // Brake so as to stop at the target: v <= sqrt(2 a d).
  const double brake = std::sqrt(2.0 * accel * dist);
  speed_ = approach(speed_, std::min(target_speed_, std::max(brake, 1.0)), accel * dt);
  const double step = speed_ * dt;
  if (dist <= std::max(step, 0.5)) {
    east_ = x;
    north_ = y;
    return true;
  }
  heading_ = wrap360(std::atan2(dx, dy) / deg); // east over north: from true north, clockwise
  east_ += dx / dist * step;
  north_ += dy / dist * step;
  return false;
}

void flight_model::climb_towards(double h, double rate, double dt) noexcept {
  const double before = height_;
  height_ = approach(height_, h, rate * dt);
  vspeed_ = dt > 0 ? (height_ - before) / dt : 0.0;
}

void flight_model::step(double dt) noexcept {
  if (!(dt > 0.0))
    return;
  const double heading_before = heading_;
  const double speed_before = speed_;
  switch (phase_) {
  case phase::grounded:
    speed_ = vspeed_ = 0;
    height_ = 0;
    battery_ = std::min(100.0, battery_ + charge_rate * dt);
    wait_ -= dt;
    if (wait_ <= 0 && battery_ >= ready_battery) {
      phase_ = phase::spool_up;
      wait_ = rng_.uniform(1.0, 3.0);
    }
    break;
  case phase::spool_up:
    battery_ -= 0.02 * dt;
    wait_ -= dt;
    if (wait_ <= 0) {
      phase_ = phase::takeoff;
      cruise_height_ = rng_.uniform(30.0, 120.0);
    }
    break;
  case phase::takeoff:
    speed_ = 0;
    battery_ -= drain_ * 1.3 * dt;
    climb_towards(cruise_height_, climb_rate, dt);
    if (height_ >= cruise_height_) {
      phase_ = phase::mission;
      pick_waypoint();
    }
    break;
  case phase::mission:
    battery_ -= drain_ * dt;
    climb_towards(target_height_, cruise_vrate, dt);
    if (fly_towards(wp_east_, wp_north_, dt))
      pick_waypoint();
    if (battery_ < rtl_battery) {
      phase_ = phase::rtl;
      target_speed_ = 12.0;
    }
    break;
  case phase::rtl:
    battery_ -= drain_ * dt;
    climb_towards(std::max(target_height_, 30.0), cruise_vrate, dt);
    if (fly_towards(0.0, 0.0, dt)) {
      speed_ = 0;
      phase_ = phase::land;
    }
    break;
  case phase::land: {
    battery_ -= drain_ * 0.8 * dt;
    speed_ = 0;
    climb_towards(0.0, height_ > 5.0 ? land_rate : 0.5, dt);
    if (height_ <= 0.0) {
      height_ = 0;
      vspeed_ = 0;
      phase_ = phase::grounded;
      wait_ = rng_.uniform(3.0, 10.0);
    }
    break;
  }
  }
  battery_ = std::clamp(battery_, 0.0, 100.0);

  // Attitude: bank into turns, pitch nose-down with speed and acceleration; smoothed.
  const double turn_rate = angle_diff(heading_before, heading_) / dt;
  const double target_roll = std::clamp(turn_rate * 0.5, -30.0, 30.0);
  const double target_pitch =
      std::clamp(-speed_ * 0.8 - (speed_ - speed_before) / dt * 2.0, -30.0, 30.0);
  const double k = std::min(1.0, dt * 4.0);
  roll_ += (target_roll - roll_) * k;
  pitch_ += (target_pitch - pitch_) * k;

  // GNSS: satellites drift slowly.
  if (rng_.uniform() < 0.02 * dt)
    sats_ = std::clamp(sats_ + (rng_.next() & 1 ? 1 : -1), 6, 22);
  publish(dt);
}

void flight_model::publish(double) noexcept {
  const bool flying = phase_ != phase::grounded && phase_ != phase::spool_up;
  out_.lat = home_lat_ + north_ / m_per_deg_lat_;
  out_.lon = home_lon_ + east_ / m_per_deg_lon_;
  out_.alt = ground_alt_ + height_;
  out_.heading = wrap360(heading_);
  out_.speed = std::max(0.0, speed_);
  out_.vspeed = vspeed_;
  out_.battery = battery_;
  out_.armed = phase_ != phase::grounded;
  switch (phase_) {
  case phase::grounded:
  case phase::spool_up:
    out_.mode = flight_mode::standby;
    break;
  case phase::takeoff:
    out_.mode = flight_mode::takeoff;
    break;
  case phase::mission:
    out_.mode = flight_mode::mission;
    break;
  case phase::rtl:
    out_.mode = flight_mode::rtl;
    break;
  case phase::land:
    out_.mode = flight_mode::land;
    break;
  }
  out_.roll = flying ? roll_ : 0.0;
  out_.pitch = flying ? pitch_ : 0.0;
  out_.yaw = out_.heading;
  // 4S LiPo: 3.5 V (empty) to 4.2 V (full) per cell, sagging under load.
  out_.voltage = 4.0 * (3.5 + 0.7 * battery_ / 100.0) - (flying ? 0.4 : 0.0);
  out_.sats = sats_;
  out_.fix = fix_;
}

} // namespace dccs::sim
