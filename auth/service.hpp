#pragma once
/// The node's authentication service: logins against auth.users, access tokens signed with the node's key ring.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/event_based_actor.hpp>

#include "auth/keys.hpp"
#include "runtime/pg.hpp"

namespace dccs::auth {

struct auth_settings {
  runtime::pg_settings db;   ///< role "auth"
  std::string issuer = "dccs";
  std::string audience = "dccs-api";
  std::int64_t access_ttl_s = 900;
  std::int64_t refresh_ttl_s = 7 * 86400; ///< absolute lifetime of a login's refresh tokens
  bool bootstrap = true;     ///< create the first admin when there are no users
};

/// Authentication service (run detached: it blocks on PostgreSQL and on argon2id, ~25 ms per check). On its
/// first connection it creates the first admin when auth.users is empty (auth/users.hpp, bootstrap_admin: the
/// password is printed once on stderr, never logged). Accepts:
///   (login_atom, http_query) -> http_answer   POST /api/v1/auth/login, body {"name":..., "password":...}:
///       200 {"access_token":..., "token_type":"Bearer", "expires_in":<s>}; 401 invalid_credentials (the
///       same answer, after the same work, for an unknown user, a wrong password and a disabled user);
///       400 for a malformed body; 503 when the database is unreachable. The answer also carries a refresh
///       token (opaque, single use) and its family's absolute expiry (refresh_expires_at, Unix seconds).
///   (refresh_atom, http_query) -> http_answer  POST /api/v1/auth/refresh, body {"refresh_token":...}: a new
///       pair (the presented token is spent); 401 invalid_token for an unknown, expired, revoked or spent token
///       — a spent one revokes its whole family (a stolen token is detected).
/// Every login, failed login, refresh and refusal is written to auth.audit.
caf::behavior auth_service(caf::event_based_actor* self, auth_settings s, std::shared_ptr<const key_ring> keys);

} // namespace dccs::auth
