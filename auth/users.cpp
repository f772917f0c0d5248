#include "auth/users.hpp"

#include <algorithm>
#include <cstdlib>
#include <ostream>

#include <pqxx/pqxx>

namespace dccs::auth {

namespace {

constexpr const char* user_columns
  = "id, name, role, array_to_string(groups, ','), enabled, password_hash,"
    " (extract(epoch FROM created_at) * 1000000)::int8, (extract(epoch FROM updated_at) * 1000000)::int8,"
    " (extract(epoch FROM password_changed_at) * 1000000)::int8";

std::chrono::system_clock::time_point from_us(std::int64_t us) {
  return std::chrono::system_clock::time_point{
    std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds{us})};
}

user to_user(const pqxx::row& r) {
  user u;
  u.id = r[0].as<std::int64_t>();
  u.name = r[1].as<std::string>();
  u.role = parse_role(r[2].as<std::string>()).value_or(role::viewer); // the CHECK constraint allows no other
  auto groups = r[3].as<std::string>();
  std::size_t start = 0;
  while (start < groups.size()) {
    auto comma = groups.find(',', start);
    if (comma == std::string::npos)
      comma = groups.size();
    u.groups.push_back(groups.substr(start, comma - start));
    start = comma + 1;
  }
  u.enabled = r[4].as<bool>();
  u.password_hash = r[5].as<std::string>();
  u.created_at = from_us(r[6].as<std::int64_t>());
  u.updated_at = from_us(r[7].as<std::int64_t>());
  u.password_changed_at = from_us(r[8].as<std::int64_t>());
  return u;
}

bool valid_chars(std::string_view s, std::string_view extra) {
  if (s.empty() || s.size() > 64)
    return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || extra.find(c) != std::string_view::npos;
  });
}

void check_name(const std::string& name) {
  if (!valid_user_name(name))
    throw user_error(user_errc::invalid, "a user name is 1 to 64 characters of A-Z a-z 0-9 _ . @ -");
}

/// Checks, sorts and deduplicates groups; returns them joined with ',' (no group name holds one), as the queries
/// take them (string_to_array).
std::string checked_groups(std::vector<std::string>& groups) {
  for (auto& g : groups)
    if (!valid_group_name(g))
      throw user_error(user_errc::invalid, "a group name is 1 to 64 characters of A-Z a-z 0-9 _ . -");
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  std::string joined;
  for (auto& g : groups)
    joined += (joined.empty() ? "" : ",") + g;
  return joined;
}

std::string checked_hash(std::string_view password) {
  try {
    return hash_password(password);
  } catch (const weak_password& e) {
    throw user_error(user_errc::weak_password, e.what());
  }
}

[[noreturn]] void throw_not_found(const std::string& name) {
  throw user_error(user_errc::not_found, "no user named '" + name + "'");
}

} // namespace

const char* to_string(role r) {
  switch (r) {
    case role::viewer: return "viewer";
    case role::operator_: return "operator";
    case role::admin: return "admin";
    case role::analytics: return "analytics";
  }
  return "viewer";
}

std::optional<role> parse_role(std::string_view text) {
  if (text == "viewer")
    return role::viewer;
  if (text == "operator")
    return role::operator_;
  if (text == "analytics")
    return role::analytics;
  if (text == "admin")
    return role::admin;
  return std::nullopt;
}

const char* to_string(user_errc e) {
  switch (e) {
    case user_errc::invalid: return "invalid";
    case user_errc::weak_password: return "weak_password";
    case user_errc::duplicate: return "duplicate";
    case user_errc::not_found: return "not_found";
    case user_errc::last_admin: return "last_admin";
  }
  return "invalid";
}

user_error::user_error(user_errc reason, const std::string& what)
  : runtime::db_error(reason == user_errc::duplicate || reason == user_errc::last_admin ? runtime::db_errc::conflict
                                                                                        : runtime::db_errc::invalid,
                      what),
    reason_(reason) {
}

bool valid_user_name(std::string_view name) { return valid_chars(name, "_.@-"); }

bool valid_group_name(std::string_view name) { return valid_chars(name, "_.-"); }

user create_user(pqxx::connection& conn, const std::string& name, std::string_view password, role r,
                 std::vector<std::string> groups, const user_change_hook& in_tx) {
  check_name(name);
  auto joined = checked_groups(groups);
  auto hash = checked_hash(password);
  pqxx::work tx{conn};
  auto res = tx.exec_params("INSERT INTO auth.users (name, password_hash, role, groups)"
                            " VALUES ($1, $2, $3, string_to_array($4, ',')) ON CONFLICT DO NOTHING"
                            " RETURNING "
                              + std::string{user_columns},
                            name, hash, std::string{to_string(r)}, joined);
  if (res.empty())
    throw user_error(user_errc::duplicate, "a user named '" + name + "' exists already (names are unique regardless of case)");
  auto u = to_user(res[0]);
  if (in_tx)
    in_tx(tx, u, u);
  tx.commit();
  return u;
}

user update_user(pqxx::connection& conn, const std::string& name, user_patch patch, const user_change_hook& in_tx) {
  std::optional<std::string> joined;
  if (patch.groups)
    joined = checked_groups(*patch.groups);
  std::optional<std::string> hash;
  if (patch.password) // hashed before the transaction: argon2id takes tens of milliseconds
    hash = checked_hash(*patch.password);
  pqxx::work tx{conn};
  // The row stays locked until the commit: a concurrent change of the same user waits, then sees this one.
  auto current = tx.exec_params("SELECT " + std::string{user_columns} + " FROM auth.users WHERE name = $1 FOR UPDATE",
                                name);
  if (current.empty())
    throw_not_found(name);
  auto before = to_user(current[0]);
  auto new_role = patch.role.value_or(before.role);
  auto new_groups = patch.groups.value_or(before.groups);
  auto new_enabled = patch.enabled.value_or(before.enabled);
  bool role_groups_change = new_role != before.role || new_groups != before.groups;
  bool enabled_change = new_enabled != before.enabled;
  if (!role_groups_change && !enabled_change && !hash)
    return before; // nothing to write: updated_at stays
  bool was_admin = before.enabled && before.role == role::admin;
  bool is_admin = new_enabled && new_role == role::admin;
  if (was_admin && !is_admin) {
    // Every change that takes an enabled admin away queues here, so the count below cannot go stale before
    // this transaction commits (a concurrent demotion of the other admin waits for it, then counts again).
    tx.exec("SELECT pg_advisory_xact_lock(hashtext('dccs-auth-admins'))");
    auto others = tx.exec_params1("SELECT count(*) FROM auth.users WHERE role = 'admin' AND enabled AND name <> $1",
                                  name)[0]
                    .as<std::int64_t>();
    if (others == 0)
      throw user_error(user_errc::last_admin, "'" + name + "' is the last enabled admin: make another admin first");
  }
  auto joined_all = joined ? *joined : checked_groups(new_groups);
  // One statement, every field, updated_at once.
  auto res = tx.exec_params("UPDATE auth.users SET role = $2, groups = string_to_array($3, ','), enabled = $4,"
                            " password_hash = COALESCE($5, password_hash),"
                            " password_changed_at = CASE WHEN $5::text IS NULL THEN password_changed_at ELSE now() END,"
                            " updated_at = now() WHERE name = $1 RETURNING "
                              + std::string{user_columns},
                            name, std::string{to_string(new_role)},
                            joined_all, new_enabled, hash);
  if (res.empty())
    throw_not_found(name); // deleted meanwhile
  auto after = to_user(res[0]);
  if (in_tx)
    in_tx(tx, before, after);
  tx.commit();
  return after;
}

void set_password(pqxx::connection& conn, const std::string& name, std::string_view password) {
  auto hash = checked_hash(password);
  pqxx::work tx{conn};
  auto res = tx.exec_params("UPDATE auth.users SET password_hash = $2, password_changed_at = now(), updated_at = now()"
                            " WHERE name = $1",
                            name, hash);
  if (res.affected_rows() == 0)
    throw_not_found(name);
  tx.commit();
}

void set_enabled(pqxx::connection& conn, const std::string& name, bool enabled) {
  pqxx::work tx{conn};
  auto res = tx.exec_params("UPDATE auth.users SET enabled = $2, updated_at = now() WHERE name = $1", name, enabled);
  if (res.affected_rows() == 0)
    throw_not_found(name);
  tx.commit();
}

void set_role_groups(pqxx::connection& conn, const std::string& name, role r, std::vector<std::string> groups) {
  auto joined = checked_groups(groups);
  pqxx::work tx{conn};
  auto res = tx.exec_params("UPDATE auth.users SET role = $2, groups = string_to_array($3, ','), updated_at = now()"
                            " WHERE name = $1",
                            name, std::string{to_string(r)}, joined);
  if (res.affected_rows() == 0)
    throw_not_found(name);
  tx.commit();
}

std::optional<user> find_by_name(pqxx::connection& conn, const std::string& name) {
  pqxx::work tx{conn};
  auto res = tx.exec_params("SELECT " + std::string{user_columns} + " FROM auth.users WHERE name = $1", name);
  tx.commit();
  if (res.empty())
    return std::nullopt;
  return to_user(res[0]);
}

std::vector<user> list_users(pqxx::connection& conn) {
  pqxx::work tx{conn};
  auto res = tx.exec("SELECT " + std::string{user_columns} + " FROM auth.users ORDER BY name");
  tx.commit();
  std::vector<user> out;
  out.reserve(res.size());
  for (const auto& r : res)
    out.push_back(to_user(r));
  return out;
}

std::int64_t count_users(pqxx::connection& conn) {
  pqxx::work tx{conn};
  auto n = tx.exec1("SELECT count(*) FROM auth.users")[0].as<std::int64_t>();
  tx.commit();
  return n;
}

std::optional<user> authenticate(pqxx::connection& conn, const std::string& name, std::string_view password,
                                 const argon2_params& params) {
  // Refused before any lookup or hashing, known user or not: the DoS guard reveals nothing.
  if (password.size() > max_password_bytes)
    return std::nullopt;
  auto u = find_by_name(conn, name);
  if (!u) {
    dummy_verify(password);
    return std::nullopt;
  }
  if (!verify_password(password, u->password_hash) || !u->enabled)
    return std::nullopt;
  if (needs_rehash(u->password_hash, params)) {
    std::string fresh;
    try {
      fresh = hash_password(password, params);
    } catch (const weak_password&) {
      return u; // a password from before the current rules: it still logs in, its hash stays until it changes
    }
    pqxx::work tx{conn};
    // Only over the hash just verified: a password changed in the meantime wins.
    // Not updated_at: the same password under a stronger hash changes nothing about the user, and a new
    // updated_at would make every node refuse the user's access tokens (actors/revocation_guard.hpp).
    auto res = tx.exec_params("UPDATE auth.users SET password_hash = $2"
                              " WHERE id = $1 AND password_hash = $3",
                              u->id, fresh, u->password_hash);
    tx.commit();
    if (res.affected_rows() == 1)
      u->password_hash = std::move(fresh);
  }
  return u;
}

bool bootstrap_admin(pqxx::connection& conn, std::ostream& out) {
  // Cheap check first: every start of every node comes here, and hashing costs tens of milliseconds.
  if (count_users(conn) > 0)
    return false;
  std::string password;
  bool from_env = false;
  if (auto env = std::getenv(admin_password_env); env != nullptr && *env != '\0') {
    password = env;
    from_env = true;
    if (auto problem = password_problem(password); !problem.empty())
      throw user_error(user_errc::weak_password, std::string{admin_password_env} + ": " + problem);
  } else {
    password = random_password(24);
  }
  auto hash = hash_password(password);
  pqxx::work tx{conn};
  // Nodes starting together queue here; the later ones find the admin created.
  tx.exec("SELECT pg_advisory_xact_lock(hashtext('dccs-auth-bootstrap'))");
  if (tx.exec1("SELECT count(*) FROM auth.users")[0].as<std::int64_t>() > 0)
    return false;
  auto res = tx.exec_params("INSERT INTO auth.users (name, password_hash, role) VALUES ('admin', $1, 'admin')"
                            " ON CONFLICT (name) DO NOTHING RETURNING id",
                            hash);
  if (res.empty())
    return false;
  tx.commit();
  if (from_env) {
    out << "dccs: no users yet: created user 'admin' (role admin) with the password from " << admin_password_env
        << "\n";
  } else {
    out << "dccs: no users yet: created user 'admin' (role admin) with this password, shown only this once:\n\n"
        << "    " << password << "\n\n"
        << "Store it now; change it with `dccs user passwd admin`, or set " << admin_password_env
        << " before the first start to choose it.\n";
  }
  out.flush();
  return true;
}

} // namespace dccs::auth
