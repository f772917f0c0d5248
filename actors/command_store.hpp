#pragma once
/// The command journal's SQL (commands.commands and commands.transitions, PostgreSQL, commands role) over one
/// worker's connection. Blocking: it belongs to the detached actor that owns the connection. Every call throws
/// runtime::db_error on failure.

#include <optional>
#include <string>
#include <vector>

#include "actors/command_model.hpp"
#include "runtime/pg.hpp"

namespace pqxx {
class transaction_base;
}

namespace dccs::actors {

/// A command to issue, checked: what the journal's first row of it holds.
struct command_request {
  std::string drone_id;
  std::string group;
  std::string kind;
  std::string params; ///< JSON object text
  std::string issued_by;
  std::string idempotency_key; ///< empty: none
  std::int64_t ttl_ms = 30000;
  std::int64_t lease_ttl_ms = 60000; ///< a lease the issuer holds is renewed for this long
  bool system = false; ///< issued by the node itself (a geofence breach): past any control lease
};

/// Who controls a drone (its control lease), and until when (ms since the epoch).
struct control_lease {
  std::string drone_id;
  std::string group;
  std::string holder;
  double taken_at = 0;
  double expires_at = 0;
};

class command_store {
public:
  command_store(runtime::pg_link& link, command_policy policy) : link_(link), policy_(policy) {}

  struct issued {
    enum outcome_t {
      created,      ///< a new command (`cmd`); `superseded`: what it cancelled
      repeated,     ///< the same Idempotency-Key from the same user within 24 h: the first command (`cmd`)
      key_reused,   ///< that key was used for a different command within 24 h (`cmd`: the first one)
      in_flight,    ///< a command of the same kind is not final yet (`cmd`: that one)
      controlled,   ///< another user holds the drone's control lease (`holder`): nothing is issued
    } outcome = created;
    std::string holder;
    command cmd;
    std::vector<command> superseded; ///< movement commands a land or rtl cancelled
  };
  /// Issues a command in one transaction (under a per-drone lock): idempotency, the control lease (held by another
  /// user: refused; by the issuer: renewed for `lease_ttl_ms`), single flight per (drone, kind), land/rtl
  /// superseding the movement commands in flight; committed when it returns `created`.
  issued issue(const command_request& r);

  std::optional<command> find(const std::string& id);

  /// A drone's commands, newest first: at most `limit`, only those in `state` when it is set, only those created
  /// before the command `before` (a cursor: the last id of the previous page) when it is not empty.
  std::vector<command> list(const std::string& drone_id, std::optional<command_state> state, std::size_t limit,
                            const std::string& before);

  /// Records what the drone's owner saw happen (state, attempt, progress, reason) unless the journal has the
  /// command final already, or unless a newer owner has reported on it (fencing: `c.epoch` below the highest epoch
  /// the journal has seen for the command). Returns the journal's row after it (different from `c` when the journal
  /// knew better), or nothing for an unknown id.
  std::optional<command> record(const command& c, const std::string& cause);

  /// A report for record_all: the owner's view of the command and the cause journaled with it.
  struct report {
    command cmd;
    std::string cause;
  };
  /// Records every report as record() does, in their order, in one transaction (one commit for all of them: a
  /// drone's `sent` and its ack, and every other drone's news that waited behind them, share the flush to disk).
  /// Returns the journal's row after each (nothing for an unknown id), in the same order. Throws db_error when the
  /// transaction fails: then none of them is recorded.
  std::vector<std::optional<command>> record_all(const std::vector<report>& reports);

  /// Cancels a command that is not final. Returns the row after it (unchanged when it was final already).
  std::optional<command> cancel(const std::string& id, const std::string& reason);

  /// The drone's commands that are not final, oldest first.
  std::vector<command> open(const std::string& drone_id);

  /// The drone's lease while it is held (not expired), else nothing.
  std::optional<control_lease> lease(const std::string& drone_id);

  struct leased {
    enum outcome_t { taken, held_by_other } outcome = taken;
    control_lease lease;        ///< the lease after it (taken), or the other holder's (held_by_other)
    std::string previous;       ///< taken over from this holder (force), or ""
  };
  /// Takes or renews the lease for `holder` for `ttl_ms`; held by someone else, `force` takes it over.
  leased take_lease(const std::string& drone_id, const std::string& group, const std::string& holder,
                    std::int64_t ttl_ms, bool force);

  /// Ends the lease if `holder` holds it (or `any`); returns the lease it ended.
  std::optional<control_lease> release_lease(const std::string& drone_id, const std::string& holder, bool any);

  /// Ends what nobody ended in time: queued past expires_at (expired), sent, accepted or in_progress past their
  /// deadline (timed_out). Returns the commands it ended.
  std::vector<command> sweep();

private:
  /// Prepares the journal's hot statements on a new connection (parsed and planned once per connection, not
  /// once per command).
  void prepare(pqxx::connection& conn);
  std::optional<command> record_on(pqxx::transaction_base& tx, const command& c, const std::string& cause);

  runtime::pg_link& link_;
  command_policy policy_;
  std::uint64_t prepared_generation_ = 0;
};

} // namespace dccs::actors
