// node.roles (runtime/roles.hpp): what a node accepts as its roles, and what a member announces.

#include <catch2/catch.hpp>

#include "runtime/roles.hpp"

#include <string>
#include <vector>

using dccs::runtime::announces;
using dccs::runtime::node_roles;
using dccs::runtime::role;

namespace {

using names = std::vector<std::string>;

node_roles parsed(const std::string& text) {
  node_roles r;
  std::string error;
  INFO(text);
  REQUIRE(node_roles::parse(text, r, error));
  CHECK(error.empty());
  return r;
}

std::string refusal(const std::string& text) {
  node_roles r = node_roles::all();
  std::string error;
  INFO(text);
  CHECK_FALSE(node_roles::parse(text, r, error));
  CHECK(r == node_roles::all()); // untouched
  return error;
}

} // namespace

TEST_CASE("node.roles: all is every role, announced as all", "[roles]") {
  auto all = parsed("all");
  CHECK(all.is_all());
  for (auto r : dccs::runtime::every_role)
    CHECK(all.runs(r));
  CHECK(all.names() == names{"all"});
  CHECK(parsed(" all ").is_all());
  CHECK(parsed("all,all").is_all());
  // Every role named one by one is all of them too.
  CHECK(parsed("dashboard,auth,commands,telemetry,analytics").names() == names{"all"});
  CHECK_FALSE(parsed("dashboard,auth,commands,telemetry").is_all()); // analytics left out
}

TEST_CASE("node.roles: a list runs exactly the roles it names", "[roles]") {
  auto r = parsed("dashboard, auth");
  CHECK(r.runs(role::dashboard));
  CHECK(r.runs(role::auth));
  CHECK_FALSE(r.runs(role::telemetry));
  CHECK_FALSE(r.runs(role::commands));
  CHECK_FALSE(r.is_all());
  CHECK(r.names() == names{"auth", "dashboard"}); // in the order of every_role, whatever the order given
  CHECK(parsed("telemetry").names() == names{"telemetry"});
  CHECK(parsed("commands").names() == names{"commands"}); // reserved, but accepted and announced
  CHECK(parsed("telemetry,telemetry,,auth").names() == names{"telemetry", "auth"});
  CHECK(parsed("analytics").names() == names{"analytics"});
  CHECK(parsed("analytics").runs(role::analytics));
  CHECK_FALSE(parsed("telemetry").runs(role::analytics));
}

TEST_CASE("node.roles: an unknown role, an empty list or all with others is refused, naming the problem", "[roles]") {
  auto unknown = refusal("dashboard,fleet");
  CHECK(unknown.find("'fleet'") != std::string::npos);
  CHECK(unknown.find("node.roles") != std::string::npos);
  CHECK(refusal("Telemetry").find("'Telemetry'") != std::string::npos); // names are lower case
  CHECK(refusal("telemetry auth").find("'telemetry auth'") != std::string::npos);
  CHECK(refusal("").find("empty") != std::string::npos);
  CHECK(refusal(" , ").find("empty") != std::string::npos);
  CHECK(refusal("all,auth").find("'all'") != std::string::npos);
}

TEST_CASE("a member runs a role when it announces it or all", "[roles]") {
  CHECK(announces({"all"}, role::auth));
  CHECK(announces({"auth", "dashboard"}, role::auth));
  CHECK_FALSE(announces({"auth", "dashboard"}, role::telemetry));
  CHECK_FALSE(announces({}, role::telemetry));
  CHECK_FALSE(announces({"drones"}, role::telemetry)); // an unknown name runs nothing
}
