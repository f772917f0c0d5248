#pragma once
/// Geofences and alarms in PostgreSQL (commands.geofences, commands.geofence_version, commands.alarms; the commands
/// role's database) over one worker's connection. Blocking: it belongs to the detached actor that owns the
/// connection. Every call throws runtime::db_error on failure.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "auth/access.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// One alarm as PostgreSQL keeps it (times: ms since the epoch; 0: not yet).
struct alarm {
  std::string id;
  std::string drone_id;
  std::string group;
  std::string kind;
  std::string severity;
  std::string state;
  std::string message;
  std::string detail = "{}"; ///< JSON object text
  std::int64_t count = 1;
  double raised_at = 0;
  double updated_at = 0;
  std::string acknowledged_by;
  double acknowledged_at = 0;
  std::string cleared_by;
  double cleared_at = 0;
};

class safety_store {
public:
  explicit safety_store(runtime::pg_link& link) : link_(link) {}

  // -- geofences --
  std::uint64_t geofence_version();
  std::vector<geofence> geofences(); ///< all of them, by group then name
  /// The fences of the groups in `scope` (all: every group), at most `limit` after the id `after` (id order).
  std::vector<geofence> geofences(const auth::scope& scope, const std::string& group, std::size_t limit,
                                  const std::string& after);
  std::optional<geofence> geofence_find(const std::string& id);
  /// Inserts `f` (its id is made here) unless its group has `max_per_group` fences already (nothing then).
  std::optional<geofence> geofence_create(geofence f, std::size_t max_per_group);
  /// Replaces the fence's fields; nothing when it does not exist (any more), or when it moves to a group that
  /// has `max_per_group` fences already (`full` set then).
  std::optional<geofence> geofence_update(const geofence& f, std::size_t max_per_group, bool& full);
  bool geofence_delete(const std::string& id);

  // -- alarms --
  struct raised {
    alarm row;
    bool is_new = false;   ///< a new alarm (none of that drone and kind was open)
    bool changed = false;  ///< an open one counted on: more severe (active again), or the same (count + 1)
  };
  /// Raises or counts on the open alarm of (drone, kind).
  raised raise(const alarm_event& e);
  /// Clears the open alarm of (drone, kind) as `by` ("system": the condition ended); nothing when none is open.
  std::optional<alarm> clear_open(const std::string& drone_id, const std::string& kind, const std::string& by);
  std::optional<alarm> find(const std::string& id);
  struct filter {
    std::string state; ///< "", active, acknowledged, cleared, or open (active or acknowledged)
    std::string drone_id;
    std::string kind;
    std::string group;
    std::string before; ///< an alarm id: only older ones (a cursor)
    std::size_t limit = 100;
  };
  std::vector<alarm> list(const auth::scope& scope, const filter& f);
  /// active → acknowledged by `who`. The row after it (unchanged when it was not active), nothing if unknown.
  std::optional<alarm> acknowledge(const std::string& id, const std::string& who);
  /// active or acknowledged → cleared by `who`. The row after it (unchanged when it was cleared), nothing if unknown.
  std::optional<alarm> clear(const std::string& id, const std::string& who);

private:
  /// Moves alarm `id` to `to` ("acknowledged" or "cleared", by `who`, now) where the SQL condition `from` holds; the
  /// row after it (unchanged when `from` did not hold), nothing if unknown.
  std::optional<alarm> transition(const std::string& id, const std::string& to, const std::string& who, const char* from);

  runtime::pg_link& link_;
};

} // namespace dccs::actors
