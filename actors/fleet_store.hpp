#pragma once
/// The drone registry's actor (PostgreSQL, fleet role): the registry routes, admission at hello, last-seen times,
/// and the fallback reads of drones not live on this node (Redis, then the registry).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/admission.hpp"
#include "actors/fleet_metrics.hpp"
#include "actors/redis_mirror.hpp" // the node spawns both: the registry's settings hold Redis's
#include "runtime/pg.hpp"

namespace dccs::actors {

struct fleet_settings {
  runtime::pg_settings db;
  unregistered_policy unregistered = unregistered_policy::register_it;
  redis_settings redis;
  std::int64_t seen_interval_ms = 10000; ///< how often last_seen is written to the registry
  std::size_t admission_batch = 1000;    ///< the most hellos one registry query answers (fleet.admission_batch)
  std::string default_group = "default";  ///< group of drones registered without one
  auth_actor auditor; ///< writes audit rows: (audit_atom, actor, action, drone, address, outcome, detail JSON)
};

/// Drone registry (run detached: it blocks on PostgreSQL and Redis). Keeps a copy of every registered drone in
/// memory for lists (loaded at each connect, then refreshed from what changed every `seen_interval_ms`), answers the registry REST routes, decides at hello whether a drone may
/// connect, writes last-seen times every `seen_interval_ms`, and serves drones that are not live on this
/// node from Redis, then from the registry. At its first connect it restores the drones it knows (Redis
/// states first) into the hub, so a restarted node shows the fleet as it was. Live states come from the hub, by
/// message.
/// Accepts:
///   (admit_atom, drone_info, std::string secret) -> (u16, std::string group)   admit_ok and the drone's group,
///                                                      or a close code (a drone with a credential must present
///                                                      its secret; see docs/security.md). The hellos waiting
///                                                      in the mailbox are answered together: one query reads
///                                                      their rows, fresh (at most admission_batch per query)
///   (list_atom, http_query) -> api_result              GET /api/v1/drones (the caller's groups only)
///   (get_atom, http_query) -> api_result               GET /api/v1/drones/{id}
///   (authorize_atom, http_query) -> api_result         an empty result when the caller may read drone q.id (history)
///   (create_atom, http_query) -> api_result            POST /api/v1/drones (answer carries the secret, once)
///   (patch_atom, http_query) -> api_result             PATCH /api/v1/drones/{id}
///   (delete_atom, http_query) -> api_result            DELETE /api/v1/drones/{id}
///   (rotate_atom, http_query) -> api_result            POST /api/v1/drones/{id}/secret
///   (revoke_atom, http_query) -> api_result            DELETE /api/v1/drones/{id}/secret
/// Every request is checked with auth::allows (auth/access.hpp) against q.who.
///   (seen_atom), (register_atom)                       timers (last-seen times; drones seen, to register)
///   (admit_atom)                                       to itself: answer the hellos waiting
fleet_actor::behavior_type fleet_store(fleet_actor::pointer self, fleet_settings s, hub_actor hub,
                                       directory_actor directory,
                          fleet_metrics metrics, runtime::node_health* health);

} // namespace dccs::actors
