#pragma once

#include "sim/command.hpp"
#include "sim/flight.hpp"
#include "sim/mission.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace dccs::sim {

/// What handle() did with a command (for the simulator's counters).
enum class command_outcome : std::uint8_t {
  executed,  ///< first receipt, carried out (answered accepted or succeeded)
  refused,   ///< first receipt, answered denied, temporarily_rejected, unsupported or failed (expired)
  duplicate, ///< a command_id already answered: its newest ack is given again, nothing is executed
};

/// What cancel() did.
enum class cancel_outcome : std::uint8_t {
  stopped,  ///< the command was running (or paused): it is stopped and answered `cancelled`
  finished, ///< the command had already ended: its final ack is given again
  unknown,  ///< never received: answered `cancelled`, and the id will never be executed
};

/// What the autopilot has to tell the node: a command_ack, a mission_ack or a mission_progress event.
using pilot_message = std::variant<command_ack, mission_ack, mission_event>;

/// The commanded flight of one drone, as an autopilot flies it (docs/protocol.md, "Commands"; missions:
/// sim/mission.hpp).
///
/// It answers `command` and `command_cancel` frames with `command_ack`s and `mission_item` frames with `mission_ack`s,
/// flies what they ask for and reports the result in telemetry (mode GUIDED, HOLD, TAKEOFF, LAND, RTL, MISSION,
/// STANDBY on the ground) and, for a mission, in `mission_progress` events. Time is injected: step(dt) advances the
/// flight, handle() gets the drone's clock for `expires_at`; no clock, socket or randomness inside, so a sequence of
/// calls always flies the same way. What it has to say accumulates, in order, until taken (take_messages(), or one
/// kind at a time with take_acks(), take_mission_acks(), take_mission_events()).
///
/// Rules, as in MAVLink autopilots: arming needs a battery of at least min_arm_battery % and a 3D fix; a
/// movement command (takeoff, land, rtl, goto) answers `accepted`, then `in_progress` with its progress at every
/// 20 % and at least once a second, then `succeeded` (or `failed` when the battery runs out); a newer movement
/// command replaces the unfinished one, which is answered `cancelled`. `hold` pauses it where the drone is,
/// `resume` goes on with it. A command_id is executed once: the last `remembered_ids` ids are kept with their
/// newest ack, and a repeat gets that ack again. Single-threaded (the drone's shard).
///
/// Missions: the node uploads one item per `mission_item`, in seq order from 0 (a seq 0 starts an upload, of a new
/// mission or the same one again); each is answered `accepted`, `error` (an item it cannot fly, or "expected seq N"
/// when out of order), `denied` (a mission is being flown) or `unsupported` (a drone whose kinds lack mission_start).
/// A repeat of the last accepted (mission_id, seq) gets the same ack and changes nothing. With its last item the
/// mission is stored, replacing the one stored before. `mission_start {mission_id}` flies it (arming and taking off
/// to the first item's altitude when on the ground, with arm's checks): at each item `current` when it heads there,
/// `reached` on arrival, then the hold time, then the item's action (photo: counted; land or rtl: ends the mission
/// there); after the last item the final action (rtl, land, hold); `completed` when that is done. `hold` pauses it,
/// `resume` goes on; a land, rtl or goto (any movement command executed) and set_mode GUIDED/RTL/LAND end it
/// (`aborted`); an empty battery ends it `failed`. Telemetry shows MISSION while it flies to and holds at its items
/// (RTL and LAND for its return and landing, HOLD while paused).
class autopilot {
public:
  static constexpr double min_arm_battery = 20.0; ///< percent; below it `arm` is temporarily_rejected
  static constexpr int min_arm_fix = 3;           ///< GNSS fix type needed to arm (3D)
  static constexpr double climb_rate = 3.0;       ///< m/s, takeoff and climbs on the way
  static constexpr double sink_rate = 2.0;        ///< m/s, descents on the way (goto)
  static constexpr double land_rate = 2.5;        ///< m/s descending to land, 1 m/s for the last 2 m
  static constexpr double default_cruise = 10.0;  ///< m/s, goto and rtl until set_speed
  static constexpr double rtl_height = 30.0;      ///< m above home: rtl climbs to at least this before it returns
  static constexpr std::size_t remembered_ids = 256;

  /// Takes over from the scripted flight where it is: a drone on the ground stays there (disarmed, or armed if
  /// it was about to take off), one taking off or on a mission hovers in GUIDED, one returning or landing goes
  /// on doing so (RTL, LAND) without a command. A model that never stepped is on the ground at home, disarmed.
  /// Only the kinds in `kinds` are executed; the others are answered `unsupported`.
  explicit autopilot(const flight_model& from, kind_set kinds = kind_set::all());

  /// A `command` received when the drone's clock says `now_ms` (ms since the epoch).
  command_outcome handle(const command_request& c, double now_ms);
  /// A `command_cancel` for `command_id`.
  cancel_outcome cancel(const std::string& command_id);
  /// A `mission_item` frame (parsed, sim/mission.hpp): answered with one mission_ack.
  void handle_mission_item(const mission_item_frame& f);
  /// Advances the flight by `dt` seconds (0 < dt <= a few seconds).
  void step(double dt);

  /// Everything to tell the node since the last take, oldest first (appended to `out`).
  void take_messages(std::vector<pilot_message>& out);
  /// Only the command_acks of it (the rest stays for the other takes).
  void take_acks(std::vector<command_ack>& out);
  /// Only the mission_acks.
  void take_mission_acks(std::vector<mission_ack>& out);
  /// Only the mission_progress events.
  void take_mission_events(std::vector<mission_event>& out);

  /// The state telemetry reports.
  const telemetry_state& state() const noexcept { return out_; }
  bool flying() const noexcept { return motion_.what != behaviour::grounded; }
  double height() const noexcept { return height_; }                ///< m above home's ground
  double ground_alt() const noexcept { return ground_alt_; }        ///< m AMSL
  double distance_from_home() const noexcept;                       ///< m, horizontal
  double cruise_speed() const noexcept { return cruise_; }
  double home_lat() const noexcept { return home_lat_; }
  double home_lon() const noexcept { return home_lon_; }
  /// The id of the movement command running or paused, if any.
  std::optional<std::string> active_command() const;
  /// The id of the mission fully uploaded (and so startable), if any.
  std::optional<std::string> stored_mission() const;
  /// The id of the mission being flown (or paused), if any, and the seq of its current item.
  std::optional<std::string> active_mission() const;
  std::optional<std::uint32_t> mission_item_index() const;
  /// Photos taken at mission items (action photo) since the start.
  std::uint64_t photos() const noexcept { return photos_; }

  /// Sets the battery level (--battery, tests).
  void set_battery(double percent) noexcept;
  /// Sets the GNSS fix type (tests).
  void set_fix(int fix) noexcept;

private:
  enum class behaviour : std::uint8_t { grounded, takeoff, hover, go, rtl, land };
  /// What the drone is doing and where to: takeoff (height), go (east, north, height, speed), rtl (speed).
  struct motion {
    behaviour what = behaviour::grounded;
    double east = 0, north = 0, height = 0, speed = 0;
    bool own_speed = false; ///< goto with its own `speed` (set_speed still changes it, as MAV_CMD_DO_CHANGE_SPEED does)
  };
  /// The movement command being flown (or paused).
  struct running_command {
    std::string id;
    command_kind kind = command_kind::takeoff;
    double total = 1;       ///< what was left to fly when it started (m, every axis summed)
    int reported = 0;       ///< progress last reported
    double since_ack = 0;   ///< seconds since its last ack
  };

  /// A fully uploaded mission.
  struct mission_plan {
    std::string id;
    std::vector<mission_item> items;
    final_action at_end = final_action::rtl;
  };
  /// The upload under way (or the last one, complete).
  struct mission_upload {
    std::shared_ptr<mission_plan> plan; ///< the items so far
    std::uint32_t count = 0;
    std::optional<mission_ack> last_accepted; ///< the ack a repeat of its (mission_id, seq) gets again
    mission_item last_item;                   ///< the item it accepted
  };
  /// What the mission being flown does now.
  enum class mission_phase : std::uint8_t {
    takeoff,   ///< climbing from the ground towards the first item's altitude
    go,        ///< flying to the current item
    hold,      ///< hovering at it for its hold_s
    landing,   ///< its land action or final land
    returning, ///< its rtl action or final rtl
  };
  struct mission_run {
    std::shared_ptr<const mission_plan> plan;
    std::uint32_t index = 0; ///< the current item
    mission_phase phase = mission_phase::go;
    double held_for = 0; ///< seconds hovered at the current item (not counting pauses)
  };

  void emit(const std::string& id, command_result r, int progress = -1, std::string reason = {});
  void remember(const command_ack& a);
  command_outcome refuse(const std::string& id, command_result r, std::string reason);
  command_outcome execute(const command_request& c, command_kind k);
  /// Starts a movement command (answers accepted); the unfinished one, if any, is cancelled.
  command_outcome start(const std::string& id, command_kind k, const motion& m);
  /// Ends the running command with a final result.
  void finish(command_result r, std::string reason = {});
  /// The movement command, if any, ends `cancelled` with `reason`; the drone hovers where it is.
  void abandon(std::string reason);
  void do_hold();
  /// Why the drone may not arm now ("" if it may): the reason of arm's temporarily_rejected.
  std::string arming_refusal() const;
  /// rtl's motion from where the drone is.
  motion rtl_motion() const noexcept;
  /// The motion flying to mission item `it` (at its speed, else the cruise speed).
  motion item_motion(const mission_item& it) const noexcept;
  command_outcome start_mission(const std::string& command_id, const command_params& p);
  /// Heads for item `i` of the running mission (announcing it `current`).
  void head_for_item(std::uint32_t i);
  /// The current item's hold is over: its action, then the next item or the final action.
  void item_done();
  /// The running mission's motion (takeoff, go, land or rtl) is complete.
  void mission_motion_done();
  void mission_event_out(mission_event_kind e, std::int64_t seq = -1, std::string reason = {});
  /// The running mission ends with `e` (completed, aborted, failed).
  void end_mission(mission_event_kind e, std::string reason = {});
  /// Why mission item `it` cannot be flown ("" if it can).
  std::string item_problem(const mission_item& it) const;
  template <typename T>
  void take_only(std::vector<T>& out);
  void fly(const motion& m);
  /// Metres left to fly for `m` from where the drone is.
  double remaining(const motion& m) const noexcept;
  /// Moves towards (x, y) at `speed` for dt; true when there.
  bool fly_towards(double x, double y, double speed, double dt) noexcept;
  void brake(double dt) noexcept;
  void climb_towards(double h, double rate, double dt) noexcept;
  /// One step of the current behaviour; true when it is complete.
  bool advance(double dt);
  void touchdown();
  void report_progress(double dt);
  void drain(double dt, double moved);
  void publish() noexcept;

  kind_set kinds_;
  double home_lat_, home_lon_, ground_alt_;
  double m_per_deg_lat_, m_per_deg_lon_;
  double east_ = 0, north_ = 0, height_ = 0; ///< m relative to home (height above its ground)
  double heading_ = 0, speed_ = 0, vspeed_ = 0;
  double roll_ = 0, pitch_ = 0;
  double battery_ = 100;
  double cruise_ = default_cruise;
  int sats_ = 12, fix_ = 3;
  bool armed_ = false;
  bool held_ = false;        ///< hovering in HOLD (a paused motion, if any, in paused_)
  bool exhausted_ = false;   ///< the battery ran out in the air: landing, nothing else
  motion motion_;
  std::optional<motion> paused_;
  std::optional<running_command> running_;
  std::optional<mission_upload> upload_;
  std::shared_ptr<const mission_plan> stored_; ///< the mission fully uploaded, if any
  std::optional<mission_run> mission_;         ///< the mission being flown (or paused)
  std::uint64_t photos_ = 0;
  telemetry_state out_;
  std::vector<pilot_message> outbox_;
  /// The newest ack of each of the last remembered_ids command ids, and their order of arrival.
  std::unordered_map<std::string, command_ack> answered_;
  std::deque<std::string> answered_order_;
};

} // namespace dccs::sim
