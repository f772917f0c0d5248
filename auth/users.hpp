#pragma once
/// Users of the auth role (table auth.users, runtime/migrations/auth/): a unique name, an argon2id password hash,
/// a role, the drone groups they may reach, enabled or not, and timestamps.
///
/// Every function here is blocking and runs its own transaction on the connection it is given (the auth schema
/// must be migrated): they are meant for a dedicated thread (a detached actor) or the command line. Failures the
/// caller can act on throw user_error; database failures throw pqxx exceptions (pg_link::run turns those into
/// db_error, and lets user_error, a db_error, through unchanged). No password, and no hash, is ever logged.

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include "auth/password.hpp"
#include "runtime/pg.hpp"

namespace dccs::auth {

/// What a user may do (docs/security.md, the permission matrix). `analytics` reads the fleet like a viewer, and
/// the daily flight analytics.
enum class role : std::uint8_t { viewer = 0, operator_ = 1, admin = 2, analytics = 3 };

/// "viewer", "operator", "admin".
const char* to_string(role r);

/// Parses "viewer", "operator" or "admin".
std::optional<role> parse_role(std::string_view text);

/// Why a user call was refused.
enum class user_errc : std::uint8_t {
  invalid = 1,       ///< a bad name (1-64 of [A-Za-z0-9_.@-]) or group name (1-64 of [A-Za-z0-9_.-])
  weak_password = 2, ///< the password breaks the rules of auth/password.hpp
  duplicate = 3,     ///< a user with that name exists
  not_found = 4,     ///< no user with that name
  last_admin = 5,    ///< the change would leave no enabled admin
};

const char* to_string(user_errc e);

/// A refused user call. A db_error too (duplicate, last_admin: conflict; the others: invalid), so that pg_link::run passes
/// it through; `reason()` tells which. `what()` names the problem and the user, never a password.
class user_error : public runtime::db_error {
public:
  user_error(user_errc reason, const std::string& what);
  user_errc reason() const { return reason_; }

private:
  user_errc reason_;
};

/// One row of auth.users.
struct user {
  std::int64_t id = 0;
  std::string name;
  auth::role role = role::viewer;
  std::vector<std::string> groups; ///< sorted, without duplicates
  bool enabled = true;
  std::string password_hash; ///< PHC string: never log it, never send it
  std::chrono::system_clock::time_point created_at;
  std::chrono::system_clock::time_point updated_at;
  std::chrono::system_clock::time_point password_changed_at;
};

/// True for 1-64 characters of [A-Za-z0-9_.@-].
bool valid_user_name(std::string_view name);

/// True for 1-64 characters of [A-Za-z0-9_.-] (as drone ids are spelled).
bool valid_group_name(std::string_view name);

/// Runs inside the transaction of a change, after the change and before the commit: what must commit with it
/// or not at all (the audit row, the revocation of the user's refresh tokens). `before` is the user as it was
/// (for create_user: the new user, as `after`). An exception rolls the whole change back.
using user_change_hook = std::function<void(pqxx::transaction_base& tx, const user& before, const user& after)>;

/// Creates a user (enabled) and returns it. Throws user_error: invalid (name, group), weak_password, duplicate.
/// `in_tx`, when set, runs in the creating transaction (see user_change_hook).
user create_user(pqxx::connection& conn, const std::string& name, std::string_view password, role r,
                 std::vector<std::string> groups = {}, const user_change_hook& in_tx = {});

/// Changes to one user (update_user): each field that is set replaces the user's.
struct user_patch {
  std::optional<std::string> password; ///< the new password (hashed by update_user; never logged)
  std::optional<auth::role> role;
  std::optional<std::vector<std::string>> groups;
  std::optional<bool> enabled;
};

/// Applies `patch` to the user `name` in one transaction and returns the user after it. Only what differs
/// is written (a password always differs: a new salt); when nothing differs nothing is written (updated_at
/// stays). A change of role, groups, enabled or password sets updated_at (and password_changed_at for the
/// password). Changes that could leave no enabled admin are serialized by a transaction-scoped advisory lock,
/// so two admins demoting each other at once on two nodes cannot both succeed. `in_tx`, when set, runs in the
/// same transaction when something changed. Throws user_error: invalid (group), weak_password, not_found,
/// last_admin (demoting or disabling the last enabled admin; nothing is changed).
user update_user(pqxx::connection& conn, const std::string& name, user_patch patch,
                 const user_change_hook& in_tx = {});

/// Replaces the password (hashed with the recommended parameters), sets password_changed_at. Throws user_error:
/// weak_password, not_found.
void set_password(pqxx::connection& conn, const std::string& name, std::string_view password);

/// Enables or disables a user (a disabled user cannot authenticate). Throws user_error(not_found).
void set_enabled(pqxx::connection& conn, const std::string& name, bool enabled);

/// Replaces the role and the groups. Throws user_error: invalid (group), not_found.
void set_role_groups(pqxx::connection& conn, const std::string& name, role r, std::vector<std::string> groups);

/// The user called `name`, or nothing.
std::optional<user> find_by_name(pqxx::connection& conn, const std::string& name);

/// Every user, by name.
std::vector<user> list_users(pqxx::connection& conn);

std::int64_t count_users(pqxx::connection& conn);

/// The user when `password` is theirs and they are enabled; nothing otherwise. Takes about the same time whether
/// the user exists or not (an unknown name costs a dummy_verify()), and whether they are enabled or not (the
/// password is checked first). A match whose stored hash is weaker than `params` is re-hashed with them and
/// stored (unless the password changed meanwhile; updated_at stays: nothing about the user changed, and the
/// revocation watcher must not end their sessions for it); the returned user carries the new hash.
std::optional<user> authenticate(pqxx::connection& conn, const std::string& name, std::string_view password,
                                 const argon2_params& params = recommended());

/// Environment variable that sets the first admin's password (bootstrap_admin).
constexpr const char* admin_password_env = "DCCS_ADMIN_PASSWORD";

/// First start: when auth.users is empty, creates the user `admin` (role admin, no groups). Its password comes
/// from DCCS_ADMIN_PASSWORD when that is set and not empty (then it must follow the password rules: weak_password
/// otherwise, and nothing is created), else it is a random 24-character password written to `out` once, with a
/// message saying so; the password never goes to the log. Safe from several nodes at once (a transaction-scoped
/// advisory lock): exactly one call creates the admin. Returns true when this call created it.
bool bootstrap_admin(pqxx::connection& conn, std::ostream& out);

} // namespace dccs::auth
