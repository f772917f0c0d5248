#include "sim/autopilot.hpp"
#include "sim/geo.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <utility>

namespace dccs::sim {

namespace {

using namespace geo;

constexpr double min_accel = 2.5;     ///< m/s²; faster commanded speeds accelerate in about two seconds
constexpr double air_drain = 0.06;    ///< battery % per second in the air (hovering)
constexpr double metre_drain = 0.004; ///< battery % per metre flown (any axis): 0.1 %/s in all at 10 m/s
constexpr double idle_drain = 0.01;   ///< battery % per second armed on the ground
constexpr double progress_step = 20;  ///< an in_progress ack at every such step of progress ...
constexpr double progress_every = 1;  ///< ... and at least this often (s) while a command runs
constexpr double at_home = 1.0;       ///< m: closer than this, rtl only lands

double accel_for(double speed) noexcept { return std::max(min_accel, speed / 2.0); }

std::string format(const char* fmt, double a, double b = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

/// Why a numeric parameter is unusable, or "" if it is fine (absent and optional included).
std::string check_number(const command_params& p, const std::optional<double>& v, std::uint8_t field, const char* name,
                         double lo, double hi, bool required) {
  if (p.wrong_type & field)
    return std::string("params.") + name + " must be a number";
  if (!v)
    return required ? std::string("params.") + name + " is required" : std::string();
  if (!(*v >= lo && *v <= hi))
    return std::string("params.") + name + format(" must be within %g to %g", lo, hi);
  return {};
}

} // namespace

autopilot::autopilot(const flight_model& from, kind_set kinds)
    : kinds_(kinds), home_lat_(from.home_lat()), home_lon_(from.home_lon()), ground_alt_(from.ground_alt()),
      m_per_deg_lat_(m_per_deg), m_per_deg_lon_(m_per_deg * std::cos(from.home_lat() * deg)) {
  const telemetry_state& s = from.state();
  north_ = (s.lat - home_lat_) * m_per_deg_lat_;
  east_ = (s.lon - home_lon_) * m_per_deg_lon_;
  height_ = std::max(0.0, s.alt - ground_alt_);
  heading_ = s.heading;
  speed_ = s.speed;
  vspeed_ = s.vspeed;
  battery_ = s.battery;
  armed_ = s.armed;
  roll_ = s.roll;
  pitch_ = s.pitch;
  sats_ = s.sats;
  fix_ = s.fix;
  switch (s.mode) {
  case flight_mode::standby: // on the ground (spooling up when armed)
    height_ = speed_ = vspeed_ = 0;
    motion_.what = behaviour::grounded;
    break;
  case flight_mode::rtl:
    motion_ = motion{behaviour::rtl, 0, 0, std::max(height_, rtl_height), cruise_, false};
    break;
  case flight_mode::land:
    motion_.what = behaviour::land;
    break;
  default: // taking off or on a mission: stop there and wait for orders
    motion_.what = behaviour::hover;
    break;
  }
  publish();
}

double autopilot::distance_from_home() const noexcept { return std::hypot(east_, north_); }

std::optional<std::string> autopilot::active_command() const {
  if (running_)
    return running_->id;
  return std::nullopt;
}

std::optional<std::string> autopilot::stored_mission() const {
  if (stored_)
    return stored_->id;
  return std::nullopt;
}

std::optional<std::string> autopilot::active_mission() const {
  if (mission_)
    return mission_->plan->id;
  return std::nullopt;
}

std::optional<std::uint32_t> autopilot::mission_item_index() const {
  if (mission_)
    return mission_->index;
  return std::nullopt;
}

void autopilot::set_battery(double percent) noexcept {
  battery_ = std::clamp(percent, 0.0, 100.0);
  publish();
}

void autopilot::set_fix(int fix) noexcept {
  fix_ = std::clamp(fix, 0, 10);
  publish();
}

void autopilot::take_messages(std::vector<pilot_message>& out) {
  out.insert(out.end(), std::make_move_iterator(outbox_.begin()), std::make_move_iterator(outbox_.end()));
  outbox_.clear();
}

template <typename T>
void autopilot::take_only(std::vector<T>& out) {
  std::vector<pilot_message> rest;
  for (auto& m : outbox_) {
    if (T* x = std::get_if<T>(&m))
      out.push_back(std::move(*x));
    else
      rest.push_back(std::move(m));
  }
  outbox_.swap(rest);
}

void autopilot::take_acks(std::vector<command_ack>& out) { take_only(out); }
void autopilot::take_mission_acks(std::vector<mission_ack>& out) { take_only(out); }
void autopilot::take_mission_events(std::vector<mission_event>& out) { take_only(out); }

// ---------------------------------------------------------------------------------------------
// acks and the memory of command ids

void autopilot::emit(const std::string& id, command_result r, int progress, std::string reason) {
  command_ack a{id, r, progress, std::move(reason)};
  remember(a);
  outbox_.push_back(std::move(a));
}

void autopilot::remember(const command_ack& a) {
  if (auto it = answered_.find(a.command_id); it != answered_.end()) {
    it->second = a; // a repeat gets the newest
    return;
  }
  answered_.emplace(a.command_id, a);
  answered_order_.push_back(a.command_id);
  while (answered_order_.size() > remembered_ids) {
    std::string oldest = std::move(answered_order_.front());
    answered_order_.pop_front();
    if (running_ && oldest == running_->id) // a command still running is never forgotten: a repeat would run it twice
      answered_order_.push_back(std::move(oldest));
    else
      answered_.erase(oldest);
  }
}

command_outcome autopilot::refuse(const std::string& id, command_result r, std::string reason) {
  emit(id, r, -1, std::move(reason));
  return command_outcome::refused;
}

// ---------------------------------------------------------------------------------------------
// commands

command_outcome autopilot::handle(const command_request& c, double now_ms) {
  if (const auto it = answered_.find(c.id); it != answered_.end()) {
    outbox_.push_back(it->second);
    return command_outcome::duplicate;
  }
  if (c.expires_at && now_ms > *c.expires_at)
    return refuse(c.id, command_result::failed, "expired");
  if (!c.error.empty())
    return refuse(c.id, command_result::denied, c.error);
  const auto k = kind_of(c.kind);
  if (!k)
    return refuse(c.id, command_result::unsupported, "unknown kind '" + std::string(clip_utf8(c.kind, 32)) + "'");
  if (!kinds_.contains(*k))
    return refuse(c.id, command_result::unsupported, std::string("this drone does not execute ") + kind_name(*k));
  return execute(c, *k);
}

command_outcome autopilot::execute(const command_request& c, command_kind k) {
  const command_params& p = c.params;
  const std::string& id = c.id;
  const auto succeeded = [&] {
    publish();
    emit(id, command_result::succeeded);
    return command_outcome::executed;
  };
  const auto denied = [&](std::string why) { return refuse(id, command_result::denied, std::move(why)); };
  const char* exhausted = "battery exhausted: landing";
  switch (k) {
  case command_kind::arm:
    if (armed_)
      return succeeded();
    if (auto why = arming_refusal(); !why.empty())
      return refuse(id, command_result::temporarily_rejected, std::move(why));
    armed_ = true;
    return succeeded();

  case command_kind::disarm:
    if (flying())
      return denied("in the air: land first");
    armed_ = false;
    return succeeded();

  case command_kind::takeoff: {
    if (auto why = check_number(p, p.alt, command_params::f_alt, "alt", 1, 10000, true); !why.empty())
      return denied(why);
    if (!armed_)
      return denied("not armed");
    if (flying())
      return denied("already in the air");
    return start(id, k, motion{behaviour::takeoff, east_, north_, *p.alt, 0, false});
  }

  case command_kind::land:
    if (!flying()) { // already down: a real autopilot disarms
      armed_ = false;
      return succeeded();
    }
    return start(id, k, motion{behaviour::land, east_, north_, 0, 0, false});

  case command_kind::rtl:
    if (!flying())
      return denied("on the ground");
    if (exhausted_)
      return denied(exhausted);
    return start(id, k, rtl_motion());

  case command_kind::go_to: {
    for (auto why : {check_number(p, p.lat, command_params::f_lat, "lat", -90, 90, true),
                     check_number(p, p.lon, command_params::f_lon, "lon", -180, 180, true),
                     check_number(p, p.alt, command_params::f_alt, "alt", -1000, 100000, true),
                     check_number(p, p.speed, command_params::f_speed, "speed", 0.1, 1000, false)})
      if (!why.empty())
        return denied(why);
    if (!flying())
      return denied("on the ground: take off first");
    if (exhausted_)
      return denied(exhausted);
    const double h = *p.alt - ground_alt_;
    if (h < 1.0)
      return denied(format("alt %.1f m is less than 1 m above the ground (%.1f m)", *p.alt, ground_alt_));
    const double north = (*p.lat - home_lat_) * m_per_deg_lat_;
    const double east = (*p.lon - home_lon_) * m_per_deg_lon_;
    return start(id, k, motion{behaviour::go, east, north, h, p.speed ? *p.speed : cruise_, p.speed.has_value()});
  }

  case command_kind::hold:
    if (!flying())
      return denied("on the ground");
    if (exhausted_)
      return denied(exhausted);
    do_hold();
    return succeeded();

  case command_kind::resume:
    if (!held_)
      return denied("nothing is paused");
    held_ = false;
    if (paused_) {
      motion_ = *paused_;
      paused_.reset();
    }
    return succeeded();

  case command_kind::set_mode: {
    if (p.wrong_type & command_params::f_mode)
      return denied("params.mode must be a string");
    if (!p.mode)
      return denied("params.mode is required");
    const std::string& mode = *p.mode;
    if (mode.empty() || mode.size() > 32)
      return denied("params.mode must be 1 to 32 characters");
    if (mode == mode_name(out_.mode))
      return succeeded();
    if (!flying())
      return denied("on the ground: arm and take off first");
    if (exhausted_)
      return denied(exhausted);
    if (mode == "HOLD") {
      do_hold();
      return succeeded();
    }
    if (mode == "GUIDED" || mode == "RTL" || mode == "LAND") {
      // A mode change ends the command being flown, as it does on a real autopilot.
      abandon("mode changed to " + mode);
      if (mode == "RTL")
        motion_ = rtl_motion();
      else if (mode == "LAND")
        motion_ = motion{behaviour::land, east_, north_, 0, 0, false};
      return succeeded();
    }
    return denied("mode '" + std::string(clip_utf8(mode, 32)) + "' cannot be set: GUIDED, HOLD, RTL or LAND");
  }

  case command_kind::set_speed: {
    if (auto why = check_number(p, p.speed, command_params::f_speed, "speed", 0.1, 1000, true); !why.empty())
      return denied(why);
    cruise_ = *p.speed;
    for (motion* m : {&motion_, paused_ ? &*paused_ : nullptr})
      if (m && (m->what == behaviour::go || m->what == behaviour::rtl))
        m->speed = cruise_;
    return succeeded();
  }

  case command_kind::mission_start:
    return start_mission(id, p);

  case command_kind::count_:
    break;
  }
  return refuse(id, command_result::unsupported, "unknown kind");
}

std::string autopilot::arming_refusal() const {
  if (battery_ < min_arm_battery)
    return format("battery %.1f %% is below %.0f %%", battery_, min_arm_battery);
  if (fix_ < min_arm_fix)
    return format("no 3D GNSS fix (fix type %.0f)", static_cast<double>(fix_));
  return {};
}

autopilot::motion autopilot::rtl_motion() const noexcept {
  return motion{behaviour::rtl, 0, 0, distance_from_home() < at_home ? height_ : std::max(height_, rtl_height), cruise_,
                false};
}

command_outcome autopilot::start(const std::string& id, command_kind k, const motion& m) {
  if (running_)
    finish(command_result::cancelled, std::string("replaced by ") + kind_name(k));
  if (mission_)
    end_mission(mission_event_kind::aborted, std::string("interrupted by ") + kind_name(k));
  held_ = false;
  paused_.reset();
  motion_ = m;
  running_ = running_command{id, k, std::max(remaining(m), 1e-3), 0, 0};
  emit(id, command_result::accepted);
  publish();
  return command_outcome::executed;
}

void autopilot::finish(command_result r, std::string reason) {
  if (!running_)
    return;
  const std::string id = std::move(running_->id);
  running_.reset(); // first: remember() may now forget it
  emit(id, r, -1, std::move(reason));
}

void autopilot::abandon(std::string reason) {
  if (mission_)
    end_mission(mission_event_kind::aborted, reason);
  finish(command_result::cancelled, std::move(reason));
  held_ = false;
  paused_.reset();
  if (flying() && !exhausted_)
    motion_ = motion{behaviour::hover};
}

void autopilot::do_hold() {
  if (held_)
    return;
  if (motion_.what != behaviour::hover)
    paused_ = motion_;
  motion_ = motion{behaviour::hover};
  held_ = true;
}

cancel_outcome autopilot::cancel(const std::string& command_id) {
  if (running_ && running_->id == command_id) {
    finish(command_result::cancelled);
    paused_.reset();
    held_ = false;
    if (flying() && !exhausted_) { // stop where it is and wait
      motion_ = motion{behaviour::hover};
      held_ = true;
    }
    publish();
    return cancel_outcome::stopped;
  }
  if (const auto it = answered_.find(command_id); it != answered_.end()) {
    outbox_.push_back(it->second);
    return cancel_outcome::finished;
  }
  // Cancelled before it arrived (or its frame was lost): if it comes after all, it is answered `cancelled`.
  emit(command_id, command_result::cancelled);
  return cancel_outcome::unknown;
}

// ---------------------------------------------------------------------------------------------
// missions

std::string autopilot::item_problem(const mission_item& it) const {
  if (it.alt - ground_alt_ < 1.0)
    return format("item.alt %.1f m is less than 1 m above the ground (%.1f m)", it.alt, ground_alt_);
  return {};
}

void autopilot::handle_mission_item(const mission_item_frame& f) {
  const auto answer = [&](mission_result r, std::string reason = {}) {
    outbox_.emplace_back(mission_ack{f.mission_id, f.seq, r, std::move(reason)});
  };
  if (!kinds_.contains(command_kind::mission_start))
    return answer(mission_result::unsupported, "this drone does not fly missions");
  // The node's retry (or a doubled frame) of the item it was last told accepted: the same answer, nothing changes. (A
  // seq 0 that differs from the one accepted is the same mission uploaded anew, changed: it starts an upload.)
  const auto same_as_accepted = [&] {
    return f.item == upload_->last_item && f.count == upload_->count && f.at_end == upload_->plan->at_end;
  };
  if (upload_ && upload_->last_accepted && upload_->plan->id == f.mission_id && upload_->last_accepted->seq == f.seq &&
      (f.seq != 0 || same_as_accepted())) {
    outbox_.emplace_back(*upload_->last_accepted);
    return;
  }
  if (!f.error.empty())
    return answer(mission_result::error, f.error);
  if (mission_)
    return answer(mission_result::denied, "mission " + std::string(clip_utf8(mission_->plan->id, 64)) +
                                              " is being flown: a new upload waits until it ends");
  if (auto why = item_problem(f.item); !why.empty())
    return answer(mission_result::error, std::move(why));
  if (f.seq == 0) { // a new upload (of this mission again, or of another); the stored mission stays until it is whole
    auto plan = std::make_shared<mission_plan>();
    plan->id = f.mission_id;
    plan->at_end = f.at_end;
    plan->items.reserve(f.count);
    upload_ = mission_upload{std::move(plan), f.count, std::nullopt, {}};
  } else {
    const bool ours = upload_ && upload_->plan->id == f.mission_id && upload_->plan->items.size() < upload_->count;
    const std::size_t expected = ours ? upload_->plan->items.size() : 0;
    if (f.seq != expected)
      return answer(mission_result::error, "expected seq " + std::to_string(expected));
    if (f.count != upload_->count)
      return answer(mission_result::error,
                    "count " + std::to_string(f.count) + " differs from seq 0's " + std::to_string(upload_->count));
    if (f.at_end != upload_->plan->at_end)
      return answer(mission_result::error, std::string("final_action ") + final_action_name(f.at_end) +
                                               " differs from seq 0's " + final_action_name(upload_->plan->at_end));
  }
  upload_->plan->items.push_back(f.item);
  upload_->last_item = f.item;
  upload_->last_accepted = mission_ack{f.mission_id, f.seq, mission_result::accepted, {}};
  outbox_.emplace_back(*upload_->last_accepted);
  if (upload_->plan->items.size() == upload_->count)
    stored_ = upload_->plan; // the whole mission: it replaces the one stored before (none is being flown)
}

command_outcome autopilot::start_mission(const std::string& id, const command_params& p) {
  if (p.wrong_type & command_params::f_mission_id)
    return refuse(id, command_result::denied, "params.mission_id must be a string");
  if (!p.mission_id || p.mission_id->empty())
    return refuse(id, command_result::denied, "params.mission_id is required");
  const std::string& mid = *p.mission_id;
  const std::string quoted = "mission " + std::string(clip_utf8(mid, 64));
  if (!stored_ || stored_->id != mid) {
    if (upload_ && upload_->plan->id == mid)
      return refuse(id, command_result::denied,
                    quoted + " is not fully uploaded (" + std::to_string(upload_->plan->items.size()) + " of " +
                        std::to_string(upload_->count) + " items)");
    return refuse(id, command_result::denied, quoted + " is not uploaded");
  }
  if (mission_ && mission_->plan->id == mid)
    return refuse(id, command_result::denied,
                  quoted + (held_ ? " is paused: resume continues it" : " is already being flown"));
  if (exhausted_)
    return refuse(id, command_result::denied, "battery exhausted: landing");
  if (!flying() && !armed_) {
    if (auto why = arming_refusal(); !why.empty())
      return refuse(id, command_result::temporarily_rejected, std::move(why));
    armed_ = true;
  }
  // No other mission can be under way: while one is, no upload is taken, so it is the one stored.
  if (running_)
    finish(command_result::cancelled, "replaced by mission_start");
  held_ = false;
  paused_.reset();
  emit(id, command_result::succeeded);
  mission_ = mission_run{stored_, 0, mission_phase::go, 0};
  if (!flying()) { // take off where it is, to the first item's altitude; it is the way to item 0
    mission_->phase = mission_phase::takeoff;
    motion_ = motion{behaviour::takeoff, east_, north_, stored_->items.front().alt - ground_alt_, 0, false};
    mission_event_out(mission_event_kind::current, 0);
  } else {
    head_for_item(0);
  }
  publish();
  return command_outcome::executed;
}

autopilot::motion autopilot::item_motion(const mission_item& it) const noexcept {
  return motion{behaviour::go, (it.lon - home_lon_) * m_per_deg_lon_, (it.lat - home_lat_) * m_per_deg_lat_,
                it.alt - ground_alt_, it.speed ? *it.speed : cruise_, it.speed.has_value()};
}

void autopilot::head_for_item(std::uint32_t i) {
  mission_run& m = *mission_;
  m.index = i;
  m.phase = mission_phase::go;
  m.held_for = 0;
  motion_ = item_motion(m.plan->items[i]);
  mission_event_out(mission_event_kind::current, i);
}

void autopilot::mission_motion_done() {
  mission_run& m = *mission_;
  switch (m.phase) {
  case mission_phase::takeoff: // at the first item's altitude: on to it
    m.phase = mission_phase::go;
    motion_ = item_motion(m.plan->items[m.index]);
    return;
  case mission_phase::go:
    mission_event_out(mission_event_kind::reached, m.index);
    m.phase = mission_phase::hold;
    m.held_for = 0;
    motion_ = motion{behaviour::hover};
    if (!(m.plan->items[m.index].hold_s > 0))
      item_done();
    return;
  case mission_phase::landing:
  case mission_phase::returning: // touched down (and disarmed)
    end_mission(mission_event_kind::completed);
    return;
  case mission_phase::hold:
    return;
  }
}

void autopilot::item_done() {
  mission_run& m = *mission_;
  const mission_item& it = m.plan->items[m.index];
  switch (it.action) {
  case item_action::land:
    m.phase = mission_phase::landing;
    motion_ = motion{behaviour::land, east_, north_, 0, 0, false};
    return;
  case item_action::rtl:
    m.phase = mission_phase::returning;
    motion_ = rtl_motion();
    return;
  case item_action::photo:
    ++photos_;
    break;
  case item_action::none:
    break;
  }
  if (m.index + 1 < m.plan->items.size())
    return head_for_item(m.index + 1);
  switch (m.plan->at_end) {
  case final_action::rtl:
    m.phase = mission_phase::returning;
    motion_ = rtl_motion();
    return;
  case final_action::land:
    m.phase = mission_phase::landing;
    motion_ = motion{behaviour::land, east_, north_, 0, 0, false};
    return;
  case final_action::hold:
    end_mission(mission_event_kind::completed);
    motion_ = motion{behaviour::hover};
    held_ = true; // hovers there in HOLD until told otherwise
    return;
  }
}

void autopilot::mission_event_out(mission_event_kind e, std::int64_t seq, std::string reason) {
  outbox_.emplace_back(mission_event{mission_->plan->id, e, seq, std::move(reason)});
}

void autopilot::end_mission(mission_event_kind e, std::string reason) {
  if (!mission_)
    return;
  mission_event_out(e, -1, std::move(reason));
  mission_.reset();
}

// ---------------------------------------------------------------------------------------------
// flight

double autopilot::remaining(const motion& m) const noexcept {
  switch (m.what) {
  case behaviour::grounded:
  case behaviour::hover:
    return 0;
  case behaviour::takeoff:
    return std::max(0.0, m.height - height_);
  case behaviour::go:
    return std::hypot(m.east - east_, m.north - north_) + std::fabs(m.height - height_);
  case behaviour::rtl: {
    const double d = distance_from_home();
    if (d < 1e-9) // home: only the descent is left
      return height_;
    return std::max(0.0, m.height - height_) + d + std::max(height_, m.height);
  }
  case behaviour::land:
    return height_;
  }
  return 0;
}

bool autopilot::fly_towards(double x, double y, double speed, double dt) noexcept {
  const double dx = x - east_, dy = y - north_;
  const double dist = std::hypot(dx, dy);
  const double accel = accel_for(speed);
  // Brake so as to stop at the target: v <= sqrt(2 a d).
  const double brake = std::sqrt(2.0 * accel * dist);
  speed_ = approach(speed_, std::min(speed, std::max(brake, 1.0)), accel * dt);
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

void autopilot::brake(double dt) noexcept {
  // Stopping where it is takes the braking distance: the drone slides on along its heading meanwhile.
  speed_ = approach(speed_, 0.0, accel_for(speed_) * dt);
  east_ += std::sin(heading_ * deg) * speed_ * dt;
  north_ += std::cos(heading_ * deg) * speed_ * dt;
}

void autopilot::climb_towards(double h, double rate, double dt) noexcept {
  const double before = height_;
  height_ = approach(height_, h, rate * dt);
  vspeed_ = (height_ - before) / dt;
}

bool autopilot::advance(double dt) {
  motion& m = motion_;
  switch (m.what) {
  case behaviour::grounded:
    speed_ = vspeed_ = height_ = 0;
    return false;
  case behaviour::hover:
    brake(dt);
    vspeed_ = 0;
    return false;
  case behaviour::takeoff:
    brake(dt);
    climb_towards(m.height, climb_rate, dt);
    return height_ >= m.height;
  case behaviour::go: {
    climb_towards(m.height, m.height > height_ ? climb_rate : sink_rate, dt);
    const bool there = fly_towards(m.east, m.north, m.speed, dt);
    return there && height_ == m.height;
  }
  case behaviour::rtl:
    if (distance_from_home() >= 1e-9) {
      if (height_ < m.height - 0.5) { // climb first, then return (RTL_ALT)
        brake(dt);
        climb_towards(m.height, climb_rate, dt);
      } else {
        climb_towards(m.height, climb_rate, dt);
        fly_towards(0.0, 0.0, m.speed, dt);
      }
      return false;
    }
    speed_ = 0;
    climb_towards(0.0, height_ > 2.0 ? land_rate : 1.0, dt);
    return height_ <= 0.0;
  case behaviour::land:
    brake(dt);
    climb_towards(0.0, height_ > 2.0 ? land_rate : 1.0, dt);
    return height_ <= 0.0;
  }
  return false;
}

void autopilot::touchdown() {
  height_ = speed_ = vspeed_ = 0;
  armed_ = false; // auto-disarm on landing
  held_ = exhausted_ = false;
  paused_.reset();
  motion_ = motion{behaviour::grounded};
}

void autopilot::drain(double dt, double moved) {
  if (flying())
    battery_ -= air_drain * dt + metre_drain * moved;
  else if (armed_)
    battery_ -= idle_drain * dt;
  battery_ = std::clamp(battery_, 0.0, 100.0);
}

void autopilot::report_progress(double dt) {
  if (!running_)
    return;
  running_command& r = *running_;
  r.since_ack += dt;
  int p = r.reported;
  if (!held_) { // paused: no progress, but the node still hears that the command is alive
    const double done = 100.0 * (1.0 - remaining(motion_) / r.total);
    p = std::clamp(static_cast<int>(std::floor(done)), r.reported, 99);
  }
  const bool step_crossed = std::floor(p / progress_step) > std::floor(r.reported / progress_step);
  if (step_crossed || r.since_ack >= progress_every) {
    r.reported = p;
    r.since_ack = 0;
    emit(r.id, command_result::in_progress, p);
  }
}

void autopilot::step(double dt) {
  if (!(dt > 0.0))
    return;
  const double heading_before = heading_, speed_before = speed_;
  const double east0 = east_, north0 = north_, height0 = height_;
  // A mission item's hold counts the time hovered there before this step (not while paused); when it is over the
  // drone heads on within this step.
  if (mission_ && mission_->phase == mission_phase::hold && !held_) {
    mission_->held_for += dt;
    if (mission_->held_for >= mission_->plan->items[mission_->index].hold_s - 1e-9)
      item_done();
  }
  const bool done = advance(dt);
  drain(dt, std::hypot(east_ - east0, north_ - north0) + std::fabs(height_ - height0));

  if (done) {
    if (motion_.what == behaviour::land || motion_.what == behaviour::rtl)
      touchdown();
    else
      motion_ = motion{behaviour::hover}; // takeoff or goto done: hover there in GUIDED
    finish(command_result::succeeded); // a mode-driven motion (set_mode RTL) has no command to answer
    if (mission_)
      mission_motion_done();
  } else {
    report_progress(dt);
  }

  // Battery empty in the air: the command being flown fails and the drone lands where it is, whatever it is told
  // (but a landing, or an rtl already descending at home, simply goes on).
  if (battery_ <= 0.0 && flying() && !exhausted_) {
    exhausted_ = true;
    const bool landing = !held_ && (motion_.what == behaviour::land ||
                                    (motion_.what == behaviour::rtl && distance_from_home() < 1e-9));
    if (!landing) {
      finish(command_result::failed, "battery exhausted");
      end_mission(mission_event_kind::failed, "battery exhausted");
      held_ = false;
      paused_.reset();
      motion_ = motion{behaviour::land, east_, north_, 0, 0, false};
    }
  }

  // Attitude: bank into turns, pitch nose-down with speed and acceleration; smoothed (as the scripted flight).
  const double turn_rate = angle_diff(heading_before, heading_) / dt;
  const double target_roll = std::clamp(turn_rate * 0.5, -30.0, 30.0);
  const double target_pitch = std::clamp(-speed_ * 0.8 - (speed_ - speed_before) / dt * 2.0, -30.0, 30.0);
  const double k = std::min(1.0, dt * 4.0);
  roll_ += (target_roll - roll_) * k;
  pitch_ += (target_pitch - pitch_) * k;
  publish();
}

void autopilot::publish() noexcept {
  const bool in_air = flying();
  out_.lat = home_lat_ + north_ / m_per_deg_lat_;
  out_.lon = home_lon_ + east_ / m_per_deg_lon_;
  out_.alt = ground_alt_ + height_;
  out_.heading = wrap360(heading_);
  out_.speed = std::max(0.0, speed_);
  out_.vspeed = vspeed_;
  out_.battery = battery_;
  out_.armed = armed_;
  switch (motion_.what) {
  case behaviour::grounded:
    out_.mode = flight_mode::standby;
    break;
  case behaviour::takeoff:
    out_.mode = flight_mode::takeoff;
    break;
  case behaviour::hover:
    out_.mode = held_ ? flight_mode::hold : flight_mode::guided;
    break;
  case behaviour::go:
    out_.mode = flight_mode::guided;
    break;
  case behaviour::rtl:
    out_.mode = flight_mode::rtl;
    break;
  case behaviour::land:
    out_.mode = flight_mode::land;
    break;
  }
  if (mission_ && !held_ && (motion_.what == behaviour::takeoff || motion_.what == behaviour::go ||
                             motion_.what == behaviour::hover))
    out_.mode = flight_mode::mission;
  out_.roll = in_air ? roll_ : 0.0;
  out_.pitch = in_air ? pitch_ : 0.0;
  out_.yaw = out_.heading;
  // 4S LiPo: 3.5 V (empty) to 4.2 V (full) per cell, sagging under load.
  out_.voltage = 4.0 * (3.5 + 0.7 * battery_ / 100.0) - (in_air ? 0.4 : 0.0);
  out_.sats = sats_;
  out_.fix = fix_;
}

} // namespace dccs::sim
