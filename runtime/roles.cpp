#include "runtime/roles.hpp"

#include <algorithm>

#include "runtime/text.hpp"

namespace dccs::runtime {

std::string_view to_string(role r) {
  switch (r) {
    case role::telemetry:
      return "telemetry";
    case role::commands:
      return "commands";
    case role::auth:
      return "auth";
    case role::dashboard:
      return "dashboard";
    case role::analytics:
      return "analytics";
  }
  return "?";
}

std::optional<role> role_from_string(std::string_view name) {
  for (auto r : every_role)
    if (to_string(r) == name)
      return r;
  return std::nullopt;
}

node_roles node_roles::all() {
  node_roles out;
  for (auto r : every_role)
    out.add(r);
  return out;
}

bool node_roles::parse(const std::string& text, node_roles& out, std::string& error) {
  auto items = split_list(text, "");
  if (items.empty()) {
    error = "node.roles is empty: name all, or one or more of telemetry, commands, auth, dashboard, analytics";
    return false;
  }
  node_roles parsed;
  bool all_named = false;
  for (auto& item : items) {
    if (item == "all") {
      all_named = true;
      continue;
    }
    auto r = role_from_string(item);
    if (!r) {
      error = "node.roles: unknown role '" + item + "' (known: all, telemetry, commands, auth, dashboard, analytics)";
      return false;
    }
    parsed.add(*r);
  }
  if (all_named && items.size() > std::size_t(std::count(items.begin(), items.end(), "all"))) {
    error = "node.roles: 'all' already means every role; name either all or a list of roles";
    return false;
  }
  out = all_named ? all() : parsed;
  return true;
}

std::vector<std::string> node_roles::names() const {
  if (is_all())
    return {"all"};
  std::vector<std::string> out;
  for (auto r : every_role)
    if (runs(r))
      out.emplace_back(to_string(r));
  return out;
}

bool announces(const std::vector<std::string>& announced, role r) {
  for (auto& name : announced)
    if (name == "all" || name == to_string(r))
      return true;
  return false;
}

} // namespace dccs::runtime
