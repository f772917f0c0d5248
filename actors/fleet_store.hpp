#pragma once
/// The drone registry (PostgreSQL, fleet role) and the latest state of every drone in Redis.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/actors.hpp"
#include "runtime/metrics.hpp"
#include "runtime/pg.hpp"
#include "runtime/redis.hpp"

namespace dccs::actors {

/// What happens when a drone that is not in the registry says hello.
enum class unregistered_policy { register_it, refuse };

/// Answers to (admit_atom, ...): 0 admits, otherwise the WebSocket close code to refuse with.
constexpr std::uint16_t admit_ok = 0;
constexpr std::uint16_t admit_refused = 4001;     ///< authentication failed (unknown drone under refuse, wrong,
                                                  ///< missing or revoked secret: the drone is not told which)
constexpr std::uint16_t admit_unavailable = 1013; ///< the registry cannot be asked now: try again later

/// Redis settings (the latest state per drone); `enabled` false without redis.url.
struct redis_settings {
  bool enabled = false;
  runtime::redis_endpoint endpoint;
  std::chrono::milliseconds io_timeout{1000};
  std::chrono::milliseconds retry_min{250};
  std::chrono::milliseconds retry_max{10000};
  std::int64_t ttl_s = 86400;
  std::int64_t interval_ms = 1000;
  std::string prefix = "dccs:drone:"; ///< key of a drone: prefix + id
};

struct fleet_settings {
  runtime::pg_settings db;
  unregistered_policy unregistered = unregistered_policy::register_it;
  redis_settings redis;
  std::int64_t seen_interval_ms = 10000; ///< how often last_seen is written to the registry
  std::string default_group = "default";  ///< group of drones registered without one
  caf::actor auditor; ///< writes audit rows: (audit_atom, actor, action, drone, address, outcome, detail JSON)
};

/// Counters of the registry and of Redis (owned by the node).
struct fleet_metrics {
  runtime::counter* refused = nullptr;         ///< hellos refused (unregistered)
  runtime::counter* registered = nullptr;      ///< drones registered automatically at hello
  runtime::counter* register_refused = nullptr; ///< drones the database refused to register (skipped)
  runtime::counter* redis_writes = nullptr;    ///< drone states written to Redis
  runtime::counter* redis_skipped = nullptr;   ///< drone states not written because Redis was down
  runtime::counter* rehydrated = nullptr;      ///< drone states restored at startup
};

/// Drone registry (run detached: it blocks on PostgreSQL and Redis). Keeps every registered drone in
/// memory (loaded at each connect), answers the registry REST routes, decides at hello whether a drone may
/// connect, writes last-seen times every `seen_interval_ms`, and serves drones that are not live on this
/// node from Redis, then from the registry. At its first connect it restores the drones it knows (Redis
/// states first) into the hub, so a restarted node shows the fleet as it was. Live states come from the hub, by
/// message.
/// Accepts:
///   (admit_atom, drone_info, std::string secret) -> (u16, std::string group)   admit_ok and the drone's group,
///                                                      or a close code (a drone with a credential must present
///                                                      its secret; see docs/security.md)
///   (list_atom, http_query) -> http_answer             GET /api/v1/drones (the caller's groups only)
///   (get_atom, http_query) -> http_answer              GET /api/v1/drones/{id}
///   (authorize_atom, http_query) -> http_answer        200 when the caller may read drone q.id (history)
///   (create_atom, http_query) -> http_answer           POST /api/v1/drones (answer carries the secret, once)
///   (patch_atom, http_query) -> http_answer            PATCH /api/v1/drones/{id}
///   (delete_atom, http_query) -> http_answer           DELETE /api/v1/drones/{id}
///   (rotate_atom, http_query) -> http_answer           POST /api/v1/drones/{id}/secret
///   (revoke_atom, http_query) -> http_answer           DELETE /api/v1/drones/{id}/secret
/// Every request is checked with auth::allows (auth/access.hpp) against q.who.
///   (seen_atom), (register_atom)                       timers (last-seen times; drones seen, to register)
caf::behavior fleet_store(caf::event_based_actor* self, fleet_settings s, hub_actor hub, directory_actor directory,
                          fleet_metrics metrics, runtime::node_health* health);

/// Mirrors the latest state of every drone to Redis (run detached): every `interval_ms`, the drones whose
/// state changed since their last write, pipelined, each as `SET prefix+id <drone JSON> EX ttl_s` — so each
/// drone is written at most once per interval. When Redis is down, writes are skipped and counted, and the
/// client reconnects with backoff; the live view does not depend on it.
/// Accepts:
///   (tick_atom)            timer
///   (flush_atom) -> bool   write now (true when Redis took everything)
caf::behavior redis_mirror(caf::event_based_actor* self, redis_settings s, hub_actor hub, fleet_metrics metrics,
                           runtime::node_health* health);

/// Parses a drone JSON object (as written by append_drone_json) back into a state. False on failure.
bool parse_drone_state(const std::string& json, drone_state& out);

} // namespace dccs::actors
