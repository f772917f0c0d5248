#pragma once
/// The audit log (table auth.audit, runtime/migrations/auth/0002_refresh_audit.sql): who (actor) did what (action),
/// to which drone, from where (address), with which outcome, and a JSON object of details.
///
/// NEVER put a password, a password hash, an access token, a refresh token, a key or any other secret in an
/// entry, not in `detail` either: the log is kept long and read by operators. Name the thing instead (the user,
/// the token family, the key id, the drone). `actor` and `address` come from the network (the name of a failed
/// login is whatever the client sent): write_audit makes every string fit to store (valid UTF-8, no control
/// characters, bounded length) rather than failing, so an attacker cannot keep their attempts out of the log.
///
/// Every function here is blocking (a dedicated thread, a detached actor). The ones taking a connection run
/// their own transaction; the auth schema must be migrated. Database failures throw pqxx exceptions (pg_link::run
/// turns them into db_error).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/connection>
#include <pqxx/transaction_base>

namespace dccs::auth {

/// Actions, as stored in auth.audit.action (any other name of 1-64 of [a-z0-9_], starting with a letter, is
/// accepted too).
namespace audit_action {
constexpr const char* login = "login";
constexpr const char* login_failed = "login_failed";
constexpr const char* logout = "logout";
constexpr const char* token_refused = "token_refused";
constexpr const char* refresh = "refresh";
constexpr const char* refresh_reused = "refresh_reused";
constexpr const char* user_created = "user_created";
constexpr const char* user_changed = "user_changed";
constexpr const char* drone_registered = "drone_registered";
constexpr const char* drone_changed = "drone_changed";   ///< moved to another group
constexpr const char* drone_deleted = "drone_deleted";
constexpr const char* credential_rotated = "credential_rotated";
constexpr const char* credential_revoked = "credential_revoked";
constexpr const char* user_disabled = "user_disabled";
constexpr const char* user_enabled = "user_enabled";
constexpr const char* password_changed = "password_changed";
constexpr const char* login_limited = "login_limited";   ///< refused by the failed-login limits
} // namespace audit_action

/// The actor of anything done before anyone authenticated.
constexpr const char* anonymous_actor = "anonymous";

/// The actor for a drone: "drone:<id>".
std::string drone_actor(std::string_view drone_id);

enum class audit_outcome : std::uint8_t { ok, refused, error };

/// "ok", "refused", "error".
const char* to_string(audit_outcome o);
std::optional<audit_outcome> parse_audit_outcome(std::string_view text);

/// One entry of the audit log.
struct audit_entry {
  std::int64_t id = 0;                         ///< set by the database (query_audit); ignored by write_audit
  std::chrono::system_clock::time_point at{};  ///< the database's clock; ignored by write_audit
  std::string actor;                           ///< user name, drone_actor(id) or anonymous_actor; empty: anonymous
  std::string action;                          ///< an audit_action
  std::optional<std::string> drone_id;         ///< the drone concerned, if any
  std::string address;                         ///< the peer's address (ip or ip:port), or empty
  audit_outcome outcome = audit_outcome::ok;
  nlohmann::json detail = nlohmann::json::object(); ///< a JSON object; never a secret (see above)
};

/// Longest actor, drone id and address stored, in bytes (longer ones are cut at a character boundary and end
/// in "...").
constexpr std::size_t audit_max_field_bytes = 256;
/// Longest `detail` stored, serialized, in bytes: a bigger one is replaced by {"truncated":true,"bytes":N}.
constexpr std::size_t audit_max_detail_bytes = 8192;

/// Appends an entry in its own transaction; returns its id. Throws std::invalid_argument for an action that is
/// not 1-64 of [a-z0-9_] starting with a letter, or a detail that is not a JSON object (programming errors); never
/// for the strings that come from outside (see above).
std::int64_t write_audit(pqxx::connection& conn, const audit_entry& entry);

/// The same within the caller's transaction (the entry commits, or not, with the change it records).
std::int64_t write_audit(pqxx::transaction_base& tx, const audit_entry& entry);

/// Which entries query_audit returns: every field set must match (exactly); `from` inclusive, `to` exclusive.
struct audit_filter {
  std::optional<std::string> actor;
  std::optional<std::string> drone_id;
  std::optional<std::string> action;
  std::optional<audit_outcome> outcome;
  std::optional<std::chrono::system_clock::time_point> from;
  std::optional<std::chrono::system_clock::time_point> to;
  std::size_t limit = 100;                ///< page size, clamped to 1..audit_max_page
  std::optional<std::int64_t> before_id;  ///< cursor: only entries with a smaller id (the previous page's next_before_id)
};

constexpr std::size_t audit_max_page = 1000;

/// The filter of `GET /api/v1/audit` from its query string (without '?'): `actor`, `drone`, `action`, `outcome`,
/// `from`, `to` (RFC 3339 or milliseconds since the epoch), `limit` (an integer >= 1, capped at audit_max_page) and
/// `before` (an entry id >= 1: the previous page's next_before). Query strings are parsed as the history API's
/// (runtime::parse_query: UTF-8 text without NUL, no repeats) and integers strictly (no sign '+', nothing
/// past 64 bits). Throws runtime::parameter_error naming the first bad or unknown parameter.
audit_filter parse_audit_query(std::string_view query);

/// One page of entries, newest (greatest id) first.
struct audit_page {
  std::vector<audit_entry> entries;
  /// The cursor for the next page (the last entry's id) when there are more entries, else nothing.
  std::optional<std::int64_t> next_before_id;
};

/// Entries matching the filter, newest first, paged by id (keyset: pages never repeat or skip an entry, whatever
/// is written meanwhile; new entries appear only on a fresh first page).
audit_page query_audit(pqxx::connection& conn, const audit_filter& filter);

} // namespace dccs::auth
