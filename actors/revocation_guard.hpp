#pragma once
/// The revocation watcher: keeps a node's auth::revocations current, so that a logout on any node and a change to
/// a user (disabled, role, groups, password) take effect on every node within about a second.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/event_based_actor.hpp>

#include "actors/actors.hpp"

#include "auth/revocations.hpp"
#include "runtime/pg.hpp"
#include "runtime/redis.hpp"

namespace dccs::auth {

struct guard_settings {
  std::optional<runtime::pg_settings> db;             ///< the auth role (none: no users to watch)
  std::optional<runtime::redis_endpoint> redis;       ///< none: logouts are seen by this node only
  std::chrono::milliseconds io_timeout{1000};
  std::chrono::milliseconds retry_min{250};
  std::chrono::milliseconds retry_max{10000};
  std::chrono::milliseconds poll{1000};
  std::int64_t access_ttl_s = 900;                    ///< no token older than this is valid anyway
  std::string denied_key = "dccs:auth:denied";        ///< sorted set: member jti, score exp (Unix seconds)
  /// Where /readyz reads Redis's state, on a node whose Redis mirror does not report it (a node without the
  /// telemetry role): each poll sets it up or down. Null: the mirror reports it.
  runtime::dependency_health* redis_health = nullptr;
};

/// Revocation watcher (run detached: it blocks on Redis and PostgreSQL). Every `poll`:
///   - reads the denied access tokens of every node from Redis (ZRANGEBYSCORE denied_key now +inf) into
///     `revocations` and drops the expired ones from the set;
///   - reads from auth.users the users that are disabled or changed within the last access_ttl_s, so that
///     their older tokens are refused (auth::revocations::user_changed / user_disabled).
/// The bridge closes open operator sockets whose token is revoked (bridges/server.cpp, every second).
/// Accepts:
///   (deny_atom, std::string jti, std::int64_t exp)   a logout on this node: shared through Redis (kept and
///                                                     retried while Redis is down)
///   (tick_atom)                                       timer
actors::guard_actor::behavior_type revocation_guard(actors::guard_actor::pointer self, guard_settings s,
                                                    std::shared_ptr<revocations> out);

} // namespace dccs::auth
