#pragma once
/// The node's authentication service: logins against auth.users, access tokens signed with the node's key ring.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/event_based_actor.hpp>

#include "actors/actors.hpp"

#include "auth/keys.hpp"
#include "auth/login_limits.hpp"
#include "runtime/pg.hpp"

namespace dccs::auth {

struct auth_settings {
  runtime::pg_settings db;   ///< role "auth"
  std::string issuer = "dccs";
  std::string audience = "dccs-api";
  std::int64_t access_ttl_s = 900;
  std::int64_t refresh_ttl_s = 7 * 86400; ///< absolute lifetime of a login's refresh tokens
  bool bootstrap = true;     ///< create the first admin when there are no users
  login_limit_settings limits; ///< failed-login limits (auth.login_*), with the fleet's Redis (redis.url)
};

/// Authentication service (run detached: it blocks on PostgreSQL and on argon2id, ~25 ms per check). On its
/// first connection it creates the first admin when auth.users is empty (auth/users.hpp, bootstrap_admin: the
/// password is printed once on stderr, never logged). It answers api_result or an api_error; the statuses below
/// are the ones the bridge makes of them (bridges/http_session.cpp). Accepts:
///   (login_atom, http_query) -> api_result    POST /api/v1/auth/login, body {"name":..., "password":...}:
///       200 {"access_token":..., "token_type":"Bearer", "expires_in":<s>}; 401 invalid_credentials (the
///       same answer, after the same work, for an unknown user, a wrong password and a disabled user);
///       400 for a malformed body; 503 when the database is unreachable. The answer also carries a refresh
///       token (opaque, single use) and its family's absolute expiry (refresh_expires_at, Unix seconds).
///       Failed logins are limited per account and per client address (auth/login_limits.hpp): past a limit,
///       429 too_many_attempts with Retry-After (the seconds left of the window), before any password is
///       checked, the same for a known and an unknown name; audited as login_limited.
///   (refresh_atom, http_query) -> api_result   POST /api/v1/auth/refresh, body {"refresh_token":...}: a new
///       pair (the presented token is spent); 401 invalid_token for an unknown, expired, revoked or spent token
///       — a spent one revokes its whole family (a stolen token is detected).
///   (logout_atom, http_query) -> api_result    POST /api/v1/auth/logout (the bridge denies the access token):
///       body empty, {} or {"refresh_token": string}; a token of the caller (q.who) revokes its whole family, a
///       token of anyone else or an unknown one revokes nothing; 204 either way (nothing is revealed); 400
///       malformed for any other body. Audited as logout, detail {"family_revoked": bool}.
///   (users_atom, http_query) -> api_result     /api/v1/users[/{name}] (admins: the bridge checks, and so does
///       this): GET list {"users":[...]}, GET one, POST {"name","password","role","groups"?} -> 201, PATCH
///       {"password"?,"role"?,"groups"?,"enabled"?} -> 200. A user is {"name","role","groups","enabled",
///       "created_at","updated_at","password_changed_at"} (RFC 3339), never a hash. 400 invalid_field (naming
///       the field; unknown fields too), 404 not_found, 409 conflict (name taken), 409 last_admin (demoting or
///       disabling the last enabled admin), 405 for other methods. Disabling a user, changing their role,
///       groups or password revokes every refresh token of theirs (in the same transaction) and moves
///       updated_at, which the node's revocation watcher turns into refusing their older access tokens. Every
///       change and refusal is audited (user_created, user_changed, user_disabled, user_enabled,
///       password_changed), never with a password or hash.
/// Every login, failed login, limited login, refresh, logout, user change and refusal is written to auth.audit.
actors::auth_actor::behavior_type auth_service(actors::auth_actor::pointer self, auth_settings s,
                                               std::shared_ptr<const key_ring> keys);

} // namespace dccs::auth
