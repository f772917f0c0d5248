#pragma once
/// Refresh tokens (table auth.refresh_tokens, runtime/migrations/auth/0002_refresh_audit.sql): opaque, 256 random
/// bits (OpenSSL RAND_bytes) as 43 characters of base64url, stored only as the SHA-256 of that text, single use,
/// grouped in families.
///
/// A login starts a family (issue_refresh); every refresh (rotate_refresh) consumes the presented token and issues
/// the next one of the same family, which keeps the family's absolute expiry (the first token's issue time + the
/// lifetime): rotation never extends a session. A token presented a second time means two parties hold it (a
/// stolen token, or a client that retried): the whole family is revoked, the legitimate holder's newest token
/// included, and the caller gets `reused` to audit.
///
/// Every function here is blocking and runs its own transaction (READ COMMITTED) on the connection it is given
/// (the auth schema must be migrated): they are meant for a dedicated thread (a detached actor). All changes to
/// one user's tokens are serialized by a transaction-scoped advisory lock on the user (and the token row is taken
/// FOR UPDATE), so two concurrent refreshes of one token give exactly one `ok` and one `reused`, and a revocation
/// never misses a token issued concurrently. Database failures throw pqxx exceptions (pg_link::run turns them
/// into db_error). Tokens are secrets: never log them, never put them in the audit log.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <pqxx/connection>
#include <pqxx/transaction_base>

namespace dccs::auth {

/// A freshly issued refresh token.
struct refresh_token {
  std::string token;  ///< the secret, for the client only (43 characters of base64url); never log it
  std::string family; ///< the family's uuid (text): safe to log and audit
  std::chrono::system_clock::time_point expires_at; ///< the family's absolute expiry
};

/// What rotate_refresh made of a token.
enum class refresh_status : std::uint8_t {
  ok,       ///< consumed; `next` is the new token of the family
  unknown,  ///< not a token we issued (or malformed, or purged, or its user was deleted)
  expired,  ///< the family's lifetime is over
  revoked,  ///< the family was revoked (logout, revoke_user, an earlier reuse); the token had not been used
  reused,   ///< the token had been used already: the whole family is now revoked. Audit it (refresh_reused).
  disabled, ///< the user is disabled: the family is now revoked
};

/// The enumerator's name, e.g. "reused".
const char* to_string(refresh_status s);

/// The outcome of rotate_refresh. `user_id`, `user_name` and `family` are set whenever the token was found (every
/// status but unknown), for the audit log; `next` only for ok.
struct rotate_result {
  refresh_status status = refresh_status::unknown;
  std::int64_t user_id = 0;
  std::string user_name;
  std::string family;
  refresh_token next;

  bool ok() const { return status == refresh_status::ok; }
  explicit operator bool() const { return ok(); }
};

/// Starts a family for the user: a new token valid for `lifetime` (> 0, else std::invalid_argument) from now
/// (the database's clock). Throws pqxx::foreign_key_violation when no such user exists. Does not check that the
/// user is enabled: issue after authenticate().
refresh_token issue_refresh(pqxx::connection& conn, std::int64_t user_id, std::chrono::seconds lifetime);

/// Consumes `token` and issues the next one of its family, in one transaction. Checks, in this order: the token
/// is well formed and known (unknown), the family has not expired (expired), the token was not used before
/// (reused: the family is revoked), the family is not revoked (revoked), the user is enabled (disabled: the
/// family is revoked). Never throws for anything the client sent.
rotate_result rotate_refresh(pqxx::connection& conn, std::string_view token);

/// Revokes every token of the family (logout). Returns how many tokens it revoked (0 for an unknown family, or
/// one that was revoked already, or a `family` that is not a uuid).
std::int64_t revoke_family(pqxx::connection& conn, const std::string& family);

/// Revokes every token of every family of the user (user disabled, password changed, "log out everywhere").
/// Returns how many tokens it revoked.
std::int64_t revoke_user(pqxx::connection& conn, std::int64_t user_id);

/// The same within the caller's transaction (the revocation commits, or not, with the change that causes it:
/// see update_user's hook in auth/users.hpp). Takes the user's advisory lock until that transaction ends.
std::int64_t revoke_user(pqxx::transaction_base& tx, std::int64_t user_id);

/// What logout_refresh did.
struct logout_result {
  bool revoked = false; ///< the token was the user's: its family is revoked now (or was already)
  std::string family;   ///< the family's uuid when `revoked`
};

/// Logout: when `token` is a token of the user `user_name` (spent, revoked or expired ones too), revokes its
/// whole family. A token of another user, an unknown or malformed token: nothing is revoked (`revoked`
/// false), and nothing tells the two apart to the caller. Never throws for anything the client sent.
logout_result logout_refresh(pqxx::connection& conn, std::string_view token, const std::string& user_name);

/// Housekeeping: deletes the tokens whose family expired more than `grace` ago (a token presented after that is
/// `unknown` instead of `expired`). Returns how many rows it deleted.
std::int64_t purge_refresh(pqxx::connection& conn, std::chrono::seconds grace = std::chrono::hours(24));

/// The SHA-256 of the token text, as stored in auth.refresh_tokens.hash (32 bytes). For tests and tools.
std::string refresh_token_hash(std::string_view token);

} // namespace dccs::auth
