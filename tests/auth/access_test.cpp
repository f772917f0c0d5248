// The permission function (auth/access.hpp) and the revocation table (auth/revocations.hpp), without a node.

#include <catch2/catch.hpp>

#include "auth/access.hpp"
#include "auth/revocations.hpp"

using namespace dccs::auth;

namespace {

principal user(const std::string& role, std::vector<std::string> groups, const std::string& name = "u") {
  principal p;
  p.name = name;
  p.role = role;
  p.groups = std::move(groups);
  p.jti = name + "-jti";
  p.iat = 1000;
  p.exp = 2000;
  return p;
}

} // namespace

TEST_CASE("allows: the permission matrix, role by role, own group and other group") {
  auto admin = user("admin", {});
  auto op = user("operator", {"red"});
  auto viewer = user("viewer", {"red", "green"});
  for (auto p : {permission::read_drones, permission::manage_drones, permission::command}) {
    INFO(to_string(p));
    CHECK(allows(admin, p, "red"));
    CHECK(allows(admin, p, "blue"));
    CHECK(allows(op, p, "red"));
    CHECK_FALSE(allows(op, p, "blue"));
  }
  CHECK(allows(viewer, permission::read_drones, "red"));
  CHECK(allows(viewer, permission::read_drones, "green"));
  CHECK_FALSE(allows(viewer, permission::read_drones, "blue"));
  CHECK_FALSE(allows(viewer, permission::manage_drones, "red"));
  CHECK_FALSE(allows(viewer, permission::command, "red"));
  for (auto p : {permission::read_audit, permission::manage_users, permission::manage_keys}) {
    INFO(to_string(p));
    CHECK(allows(admin, p));
    CHECK_FALSE(allows(op, p));
    CHECK_FALSE(allows(viewer, p));
  }
  // analytics: reads drones and analytics of its groups, changes nothing; viewers read no analytics.
  auto analyst = user("analytics", {"red"});
  CHECK(allows(analyst, permission::read_drones, "red"));
  CHECK_FALSE(allows(analyst, permission::read_drones, "blue"));
  CHECK(allows(analyst, permission::read_analytics, "red"));
  CHECK_FALSE(allows(analyst, permission::read_analytics, "blue"));
  for (auto p : {permission::manage_drones, permission::command, permission::read_audit, permission::manage_users,
                 permission::manage_keys}) {
    INFO(to_string(p));
    CHECK_FALSE(allows(analyst, p, "red"));
  }
  CHECK(allows(admin, permission::read_analytics, "blue"));
  CHECK(allows(op, permission::read_analytics, "red"));
  CHECK_FALSE(allows(op, permission::read_analytics, "blue"));
  CHECK_FALSE(allows(viewer, permission::read_analytics, "red"));
  CHECK_FALSE(role_allows("viewer", permission::read_analytics));
  // A drone whose group is unknown (empty): admins only.
  CHECK(allows(admin, permission::read_drones, ""));
  CHECK_FALSE(allows(op, permission::read_drones, ""));
  CHECK_FALSE(allows(viewer, permission::read_drones, ""));
  // An unknown role, or a role spelled differently, grants nothing.
  for (auto role : {"", "root", "Admin", "operator "}) {
    INFO(role);
    auto odd = user(role, {"red"});
    CHECK_FALSE(allows(odd, permission::read_drones, "red"));
    CHECK_FALSE(allows(odd, permission::read_audit));
    CHECK_FALSE(read_scope(odd).covers("red"));
  }
}

TEST_CASE("read_scope: every group for admins, the listed ones for others, nothing for no group") {
  CHECK(read_scope(user("admin", {})).covers("anything"));
  auto s = read_scope(user("viewer", {"red"}));
  CHECK_FALSE(s.all);
  CHECK(s.covers("red"));
  CHECK_FALSE(s.covers("blue"));
  CHECK_FALSE(s.covers(""));
  CHECK_FALSE(read_scope(user("operator", {})).covers("red"));
}

TEST_CASE("revocations: denied tokens, disabled users, and tokens issued before (or in the second of) a change") {
  revocations r;
  auto a = user("viewer", {"red"}, "ann");
  auto b = user("viewer", {"red"}, "bob");
  CHECK_FALSE(r.revoked(a));
  r.deny(a.jti, a.exp);
  CHECK(r.revoked(a));
  CHECK_FALSE(r.revoked(b));

  r.user_changed("bob", 999);
  CHECK_FALSE(r.revoked(b)); // issued after the change
  r.user_changed("bob", 1000);
  CHECK(r.revoked(b)); // issued in the second of the change: it may predate it
  auto later = b;
  later.iat = 1001;
  later.jti = "bob-2";
  CHECK_FALSE(r.revoked(later));

  r.set_users({"carl"}, {});
  auto c = user("viewer", {"red"}, "carl");
  c.iat = 5000;
  CHECK(r.revoked(c)); // disabled: every token, whenever issued
  r.set_users({}, {});
  CHECK_FALSE(r.revoked(c)); // enabled again

  // Purge forgets what no valid token can need any more.
  r.purge(2001, 900);
  CHECK(r.denied_count() == 0);
  CHECK_FALSE(r.revoked(a)); // (its exp has passed: verification refuses it anyway)
  r.purge(1000 + 900 + 1, 900);
  CHECK_FALSE(r.revoked(b));
}
