#pragma once
/// The roles a node runs (`node.roles`): the original plan's services, each a set of actors and the routes that
/// reach them (docs/cluster.md, "Roles"). Plain logic: parsing and membership tests, no actors.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dccs::runtime {

/// One role. `all` is not a role but every one of them (node_roles::all()).
enum class role : std::uint8_t {
  telemetry = 1, ///< drone sockets, drone actors, the registry, telemetry storage and history
  commands = 2,  ///< commands and missions (reserved: nothing runs for it yet)
  auth = 4,      ///< logins, refresh, logout, users, the audit log
  dashboard = 8, ///< the dashboard's files, operator sockets and their tickets
  analytics = 16, ///< the daily flight analytics: the rollup job and /api/v1/analytics
};

/// Every role, in the order they are listed.
inline constexpr role every_role[] = {role::telemetry, role::commands, role::auth, role::dashboard, role::analytics};

/// The role's name as `node.roles` and member_info::roles spell it.
std::string_view to_string(role r);

/// The role named `name` (exact, lower case); nothing for an unknown name.
std::optional<role> role_from_string(std::string_view name);

/// A set of roles.
class node_roles {
public:
  /// No role.
  node_roles() = default;

  /// Every role (`all`).
  static node_roles all();

  /// Parses `node.roles`: `all`, or a comma-separated list of role names (spaces around names ignored,
  /// repetitions allowed). False, with `error` naming the problem, for an empty list, an unknown name, or `all`
  /// together with other names.
  static bool parse(const std::string& text, node_roles& out, std::string& error);

  bool runs(role r) const { return (bits_ & static_cast<std::uint8_t>(r)) != 0; }
  bool is_all() const { return bits_ == all().bits_; }
  void add(role r) { bits_ = static_cast<std::uint8_t>(bits_ | static_cast<std::uint8_t>(r)); }

  /// What a member announces (member_info::roles): {"all"} for every role, else the role names in every_role
  /// order.
  std::vector<std::string> names() const;

  bool operator==(const node_roles& o) const { return bits_ == o.bits_; }
  bool operator!=(const node_roles& o) const { return bits_ != o.bits_; }

private:
  std::uint8_t bits_ = 0;
};

/// Whether a member announcing `announced` (member_info::roles) runs `r`: it names `r` or `all`.
bool announces(const std::vector<std::string>& announced, role r);

} // namespace dccs::runtime
