#pragma once
/// Commands (docs/protocol.md "Commands"): the kinds and their parameters, the states of a command, the drone's
/// answers, and the delivery of one command by its drone's owner as a plain class with the time injected.
///
/// States of a command:
///
///                 +--------------------------- cancel (operator; superseded by land/rtl) ----------------+
///                 |                                                                                      v
///   queued --send--> sent --ack accepted--> accepted --ack in_progress--> in_progress --ack succeeded--> succeeded
///     |               | ^ |                    |                              |
///     |               | | +--ack succeeded-----)------------------------------)--> succeeded
///     |               | +-- no ack within retry_ms: sent again (attempt + 1)  |
///     |               |                        |                              +--ack failed--> failed
///     |               +--ack failed | temporarily_rejected | denied | unsupported | cancelled--> failed | rejected |
///     |               |                                                                         cancelled
///     |               +--max_attempts sent, no ack--> timed_out
///     |                                 accepted / in_progress: no ack for progress_timeout_ms --> timed_out
///     +--expires_at passes before it was sent--> expired
///
/// Final states: succeeded, failed, rejected, expired, timed_out, cancelled. A final command never changes again.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"

namespace dccs::actors {

/// The kinds a drone is commanded with, in docs/protocol.md order.
inline constexpr const char* command_kinds[] = {"arm",  "disarm", "takeoff", "land",     "rtl",
                                                "goto", "hold",   "resume",  "set_mode", "set_speed",
                                                "mission_start"};

bool valid_command_kind(std::string_view kind);

/// A command id as the journal makes them: a UUID in its 36-character text form (hex digits, either case).
bool valid_command_id(std::string_view id);

/// Movement commands: one of them runs at a time on a drone; `land` and `rtl` supersede the others in flight.
bool is_movement(std::string_view kind);

/// `land` and `rtl`: always taken (safety first), never refused as a second command in flight.
bool is_safety(std::string_view kind);

/// Checks a kind's parameters (docs/protocol.md): nothing on success, else (field, message) of the first problem.
/// The field is "params.<name>" (or "params" for a value that is not an object). Unknown parameters are refused.
std::optional<std::pair<std::string, std::string>> check_command_params(std::string_view kind,
                                                                        const nlohmann::json& params);

std::optional<command_state> parse_command_state(std::string_view s);
bool is_final(command_state s);

/// The drone's answer in a command_ack (MAV_RESULT).
enum class drone_result : std::uint8_t {
  accepted, in_progress, succeeded, failed, temporarily_rejected, denied, unsupported, cancelled,
};
const char* to_string(drone_result r);
std::optional<drone_result> parse_drone_result(std::string_view s);

/// The delivery of one command by its drone's owner: when to send it, what an ack does, when it is given up.
/// Time is the node's wall clock in ms, passed in. Each call answers what to do: send the command frame now,
/// and/or record the state the command has reached (`changed`).
class command_delivery {
public:
  command_delivery(command c, command_policy p);

  struct step {
    bool send = false;    ///< write the command frame now (with command().attempt)
    bool changed = false; ///< the command's state, attempt, progress or reason changed: journal and publish it
  };

  /// The drone is connected (again): a command not yet sent goes now; one sent and not acknowledged goes again
  /// (it counts as an attempt); one past expires_at that was never sent expires.
  step connected(double now);
  /// The drone's connection ended: nothing is sent until connected() again.
  void disconnected();
  /// The time has come (next_due()): resend, or give up.
  step due(double now);
  /// An ack from the drone. `progress` < 0: none.
  step ack(drone_result r, double progress, const std::string& reason, double now);
  /// The operator cancelled it, or a land/rtl superseded it: final now (the drone is told if it was sent).
  step cancel(const std::string& reason, double now);
  /// The journal says it is final (the sweep, another node): it changes no more.
  void finished(command_state s, const std::string& reason);

  /// When due() must be called next (ms, wall clock); < 0: nothing is due (final, or waiting for a connection).
  double next_due() const;
  /// Whether a frame of this command has gone to the drone (a cancel must be told to it).
  bool was_sent() const { return cmd_.attempt > 0; }
  const command& get() const { return cmd_; }

private:
  step finish(command_state s, std::string reason, double now);
  step send(double now);

  command cmd_;
  command_policy policy_;
  bool connected_ = false;
  double last_sent_ = 0;     ///< when the newest frame went
  double last_heard_ = 0;    ///< when the newest ack came
};

/// The command as JSON (REST answers, operator frames): id, drone_id, group, kind, params, state, attempt,
/// progress (when known), reason, issued_by, created_at, updated_at, expires_at (ms since epoch).
nlohmann::json command_json(const command& c);

/// The frame the drone gets: {"type":"command","command_id",..,"kind",..,"params",{..},"attempt",n,"expires_at",ms}.
std::string command_frame(const command& c);
std::string command_cancel_frame(const std::string& command_id);

} // namespace dccs::actors
