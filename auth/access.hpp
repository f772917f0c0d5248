#pragma once
/// Who may do what: the permission matrix of docs/security.md, in one place. Every REST route, every history
/// query and every operator WebSocket subscription decides through `allows()` and `read_scope()`.
///
/// Header-only on purpose: the actors that filter what they answer (registry, fan-out) call it without
/// linking the auth library (which itself depends on the actors).

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dccs::auth {

/// An authenticated caller, as a verified access token describes it.
struct principal {
  std::string name;                ///< sub
  std::string role;                ///< "admin", "operator", "viewer" or "analytics"
  std::vector<std::string> groups; ///< the drone groups the user may reach (admins reach every group)
  std::string jti;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, principal& x) {
  return f(x.name, x.role, x.groups, x.jti, x.iat, x.exp);
}

/// What a request wants to do.
enum class permission {
  read_drones,   ///< see a drone: lists, details, live updates, telemetry history
  manage_drones, ///< register, change, delete a drone; rotate or revoke its credential
  command,       ///< commands, missions, geofences, alerts of a drone
  read_audit,    ///< the audit log
  manage_users,  ///< users, roles, groups
  manage_keys,   ///< signing keys
  read_analytics, ///< the daily flight analytics of a group's drones
};

inline const char* to_string(permission p) {
  switch (p) {
    case permission::read_drones: return "read_drones";
    case permission::manage_drones: return "manage_drones";
    case permission::command: return "command";
    case permission::read_audit: return "read_audit";
    case permission::manage_users: return "manage_users";
    case permission::manage_keys: return "manage_keys";
    case permission::read_analytics: return "read_analytics";
  }
  return "unknown";
}

/// Whether the role grants `p` at all (before groups are looked at).
inline bool role_allows(std::string_view role, permission p) {
  if (role == "admin")
    return true;
  if (role == "operator")
    return p == permission::read_drones || p == permission::manage_drones || p == permission::command
           || p == permission::read_analytics;
  if (role == "viewer")
    return p == permission::read_drones;
  if (role == "analytics")
    return p == permission::read_drones || p == permission::read_analytics;
  return false; // an unknown role grants nothing
}

/// Whether `who` reaches drones of `group` at all (admins reach every group).
inline bool reaches(const principal& who, std::string_view group) {
  if (who.role == "admin")
    return true;
  if (!role_allows(who.role, permission::read_drones))
    return false;
  return std::find(who.groups.begin(), who.groups.end(), group) != who.groups.end();
}

/// THE check: may `who` do `p` on something of drone group `group`. An empty group is a permission without a
/// drone (read_audit, manage_users, manage_keys) — or a drone whose group is unknown: either way, admins only.
inline bool allows(const principal& who, permission p, std::string_view group = {}) {
  if (!role_allows(who.role, p))
    return false;
  if (group.empty())
    return who.role == "admin";
  return reaches(who, group);
}

/// The drone groups whose drones `who` sees: every group, or a list.
struct scope {
  bool all = false;
  std::vector<std::string> groups;

  bool covers(std::string_view group) const {
    return all || std::find(groups.begin(), groups.end(), group) != groups.end();
  }
};

inline scope read_scope(const principal& who) {
  scope s;
  if (!role_allows(who.role, permission::read_drones))
    return s; // nothing
  if (who.role == "admin") {
    s.all = true;
    return s;
  }
  s.groups = who.groups;
  return s;
}

} // namespace dccs::auth
