#pragma once
/// Missions in PostgreSQL (commands.missions, commands.mission_drones; the commands role's database) over one
/// worker's connection. Blocking: it belongs to the detached actor that owns the connection. Every call throws
/// runtime::db_error on failure.

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/mission_model.hpp"
#include "auth/access.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// A drone assigned to a mission, and how far it got.
struct mission_drone {
  std::string drone_id;
  std::string state = "assigned";
  int current_seq = -1;           ///< -1: none yet
  std::string reached = "[]";     ///< JSON: [{"seq":0,"at":<ms>}, ...]
  std::string reason;
};

/// A mission as stored: its plan, its state, the problems of its last validation and its drones.
struct mission_row {
  std::string id;
  mission_plan plan;
  std::string state = "draft";
  std::string problems = "[]"; ///< JSON array (mission_problems_json)
  std::string reason;
  std::string created_by;
  double created_at = 0;
  double updated_at = 0;
  std::vector<mission_drone> drones;
};

/// The stored form of a plan's waypoints and settings (and back).
nlohmann::json plan_json(const mission_plan& p);
void plan_from_json(const nlohmann::json& j, mission_plan& p);
/// A mission as the REST API answers it.
nlohmann::json mission_json(const mission_row& m);

/// States in which a mission's plan and drones may change (nothing was sent to a drone, or it is over).
bool mission_editable(const std::string& state);

/// A drone's mission_progress (r.kind "progress") applied to its row: current moves current_seq (and makes a ready
/// drone active: a mission_start issued as a plain command), reached adds {"seq","at"} once per item, completed,
/// aborted and failed end it (with the reason). A final drone, or one that was not started, changes no more.
/// Whether anything changed.
bool apply_mission_progress(mission_drone& d, const mission_report& r);

class mission_store {
public:
  explicit mission_store(runtime::pg_link& link) : link_(link) {}

  mission_row create(const mission_row& m); ///< its id and times are made here
  std::optional<mission_row> find(const std::string& id);
  /// The missions of the groups in `scope`, newest first, at most `limit`, older than the mission `before`.
  std::vector<mission_row> list(const auth::scope& scope, const std::string& group, const std::string& state,
                                std::size_t limit, const std::string& before);
  /// Replaces the plan, state and problems while the mission is editable; nothing when it does not exist or is not
  /// editable any more (`busy` set then).
  std::optional<mission_row> update(const mission_row& m, bool& busy);
  /// Replaces its drones (each `assigned`) while it is editable, and makes a `ready` mission `validated` again (the
  /// new drones have nothing uploaded). Same answers as update().
  std::optional<mission_row> assign(const std::string& id, const std::vector<std::string>& drones, bool& busy);
  enum class removed { done, missing, busy };
  removed remove(const std::string& id);

  // -- flying (docs/protocol.md "Missions": upload, start, pause, resume, abort, progress) --
  /// Starts an upload: the mission (validated, ready or over) and each of its drones become `uploading` (progress
  /// cleared). Nothing when it does not exist or is in another state (`busy` set then).
  std::optional<mission_row> begin_upload(const std::string& id, bool& busy);
  /// One drone of an upload moved on (ready, or failed with the reason); the mission's updated_at with it.
  void set_drone(const std::string& id, const std::string& drone, const std::string& state, const std::string& reason);
  /// The upload ended: the mission `ready` when `failure` is empty, else `validated` again with it as the reason
  /// (its drones still uploading are `assigned` again).
  std::optional<mission_row> end_upload(const std::string& id, const std::string& failure);
  /// The mission goes from one of `from` to `to`, its drones in one of `drones_from` to `drones_to`, in one
  /// transaction; nothing when the mission is in none of `from`.
  std::optional<mission_row> transition(const std::string& id, const std::vector<std::string>& from,
                                        const std::string& to, const std::vector<std::string>& drones_from,
                                        const std::string& drones_to, const std::string& reason = {});
  struct progressed {
    mission_row mission;
    bool changed = false; ///< the drone's row changed (else nothing was written)
  };
  /// A drone's mission_progress, applied in one transaction: its row (apply_mission_progress), then the mission's
  /// state (mission_state_of) when it flies. Nothing when the mission or the drone is not one of its drones.
  std::optional<progressed> progress(const mission_report& r);
  /// Uploads nothing moved on for `stale_s` seconds (the node uploading them stopped): validated again with a
  /// reason. Their ids.
  std::vector<std::string> sweep_uploads(int stale_s);
  /// Why `kind` could not be issued now by `user` to one of `drones` (another user's control lease, the same kind
  /// in flight): (drone, error code, message) of the first, or nothing. Read before a start so that a start the
  /// journal would refuse for one drone sends nothing to any.
  std::optional<std::tuple<std::string, std::string, std::string>>
  issue_blocker(const std::vector<std::string>& drones, const std::string& user, const std::string& kind);
  /// The journal's (id, state, reason) of these commands.
  std::vector<std::tuple<std::string, std::string, std::string>> command_states(const std::vector<std::string>& ids);

private:
  runtime::pg_link& link_;
};

} // namespace dccs::actors
