// Node roles (node.roles, docs/cluster.md "Roles"): real node processes of one cluster, each running some of the
// roles; a route of a role a node does not run is answered 421 naming the members that run it.

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/child.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/system/cluster_nodes.hpp"

using namespace dccs::test;
using nlohmann::json;

namespace {

std::string base(const cluster& c, std::size_t i) {
  return "http://127.0.0.1:" + std::to_string(c.http(i));
}

/// The members of node `i`'s view: node id -> its entry (GET /api/v1/cluster).
std::map<std::string, json> view(const cluster& c, std::size_t i) {
  std::map<std::string, json> out;
  auto r = http_get(c.http(i), "/api/v1/cluster", c.admin());
  REQUIRE(r.status == 200);
  auto j = r.json();
  for (auto& m : j["members"])
    out[m["http"].get<std::string>()] = m;
  return out;
}

/// Checks a 421 answer: the role and the nodes named (as a set: members are listed in node id order, and node ids
/// are random).
void check_misdirected(const http_result& r, const std::string& role, const std::set<std::string>& nodes) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 421);
  CHECK(r.content_type == "application/json");
  auto e = r.json()["error"];
  CHECK(e["code"] == "misdirected");
  CHECK(e["role"] == role);
  std::set<std::string> named;
  for (auto& n : e["nodes"])
    named.insert(n.get<std::string>());
  CHECK(named == nodes);
}

} // namespace

TEST_CASE("roles: a dashboard and auth node and a telemetry node beside an all node serve only their routes, "
          "and answer 421 naming the members that run the others") {
  scratch_database db;
  {
    // A user to log in with (as `dccs user add` would make it).
    pqxx::connection conn{db.url()};
    dccs::runtime::migrate(conn, "auth");
    dccs::auth::create_user(conn, "roles-admin", "roles test password 1", dccs::auth::role::admin, {});
  }
  cluster c{db.url()};
  c.start(0);
  c.start(1, {"--node.roles", "dashboard,auth"});
  c.start(2, {"--node.roles", "telemetry"});
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));

  // Every member announces its roles, and every node shows them.
  for (std::size_t i = 0; i < 3; ++i) {
    auto v = view(c, i);
    REQUIRE(v.size() == 3);
    CHECK(v["127.0.0.1:" + std::to_string(c.http(0))]["roles"] == json::array({"all"}));
    CHECK(v["127.0.0.1:" + std::to_string(c.http(1))]["roles"] == json::array({"auth", "dashboard"}));
    CHECK(v["127.0.0.1:" + std::to_string(c.http(2))]["roles"] == json::array({"telemetry"}));
  }

  // `dccs cluster status` lists them too.
  auto status = run_node_command({"cluster", "status", "--http.port", std::to_string(c.http(2)), "--auth.keys_dir",
                                  c.keys_dir()});
  INFO(status);
  CHECK(status.find(" roles ") != std::string::npos);
  CHECK(status.find(" auth,dashboard ") != std::string::npos);
  CHECK(status.find(" telemetry ") != std::string::npos);
  CHECK(status.find(" all ") != std::string::npos);

  // Drones: refused by the dashboard node before the upgrade, served by the others; their actors live on the
  // telemetry members only (placement leaves node 1 out).
  {
    auto refused = ws_upgrade(c.http(1), "/ws/drone");
    check_misdirected(refused, "telemetry", {base(c, 0), base(c, 2)});
    auto location = refused.header("location");
    CHECK((location == "ws://127.0.0.1:" + std::to_string(c.http(0)) + "/ws/drone"
           || location == "ws://127.0.0.1:" + std::to_string(c.http(2)) + "/ws/drone"));
  }
  std::vector<std::unique_ptr<ws_client>> drones;
  for (int k = 0; k < 12; ++k) {
    auto id = "role-" + std::to_string(k);
    drones.push_back(connect_drone(c.http(k % 2 == 0 ? 0 : 2), id));
    REQUIRE(drones.back() != nullptr);
    drones.back()->send(telemetry_frame(1, 47.0 + k * 0.001, 8.0));
  }
  CHECK(eventually([&] { return c.metric(0, "dccs_drone_actors") + c.metric(2, "dccs_drone_actors") == 12; },
                   std::chrono::seconds(10)));
  CHECK(c.metric(0, "dccs_drone_actors") > 0);
  CHECK(c.metric(2, "dccs_drone_actors") > 0);
  CHECK(c.metric(1, "dccs_drone_actors") == 0);

  // The dashboard node's operators see the whole fleet (its hub gets the telemetry members' drones).
  {
    watcher w{c.http(1), c.admin()};
    CHECK(w.view.read_until(w.op, [&] {
      if (w.view.drones.size() < 12)
        return false;
      for (auto& [id, d] : w.view.drones)
        if (d.value("connected", false) != true)
          return false;
      return true;
    }));
    CHECK(w.view.drones.size() == 12);
  }
  // ... and the telemetry node refuses operators, naming the dashboard members.
  check_misdirected(ws_upgrade(c.http(2), "/ws/operator", c.admin()), "dashboard", {base(c, 0), base(c, 1)});

  // Auth: logins on the auth node, refused on the telemetry node; the token works on every node.
  auto login_body = json{{"name", "roles-admin"}, {"password", "roles test password 1"}}.dump();
  auto login = http_request(c.http(1), "POST", "/api/v1/auth/login", login_body);
  INFO(login.body);
  REQUIRE(login.status == 200);
  headers bearer{{"Authorization", "Bearer " + login.json()["access_token"].get<std::string>()}};
  check_misdirected(http_request(c.http(2), "POST", "/api/v1/auth/login", login_body), "auth",
                    {base(c, 0), base(c, 1)});
  check_misdirected(http_get(c.http(2), "/api/v1/users", bearer), "auth", {base(c, 0), base(c, 1)});
  CHECK(http_get(c.http(1), "/api/v1/users", bearer).status == 200);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(i);
    CHECK(http_get(c.http(i), "/api/v1/auth/me", bearer).status == 200); // every node checks tokens
    CHECK(http_get(c.http(i), "/healthz").status == 200);
    CHECK(http_get(c.http(i), "/api/v1/cluster", bearer).status == 200);
  }

  // History and the registry: the telemetry members answer, the dashboard node names them (with or without a
  // token: the 421 comes before authentication), Location the same request on the first of them.
  auto history = "/api/v1/drones/role-0/telemetry?limit=10";
  CHECK(eventually([&] { return http_get(c.http(0), history, bearer).status == 200; }, std::chrono::seconds(10)));
  CHECK(http_get(c.http(2), history, bearer).status == 200);
  {
    auto r = http_get(c.http(1), history, bearer);
    check_misdirected(r, "telemetry", {base(c, 0), base(c, 2)});
    auto location = r.header("location");
    CHECK((location == base(c, 0) + history || location == base(c, 2) + history));
  }
  check_misdirected(http_get(c.http(1), "/api/v1/drones"), "telemetry", {base(c, 0), base(c, 2)});
  check_misdirected(http_request(c.http(1), "DELETE", "/api/v1/drones/role-1", {}, bearer), "telemetry",
                    {base(c, 0), base(c, 2)});
  CHECK(http_get(c.http(2), "/api/v1/drones/role-1", bearer).status == 200);
  // The dashboard's files: not on the telemetry node.
  check_misdirected(http_get(c.http(2), "/"), "dashboard", {base(c, 0), base(c, 1)});

  // When no live member runs a role: 421 naming nobody, no Location.
  c.forget(0);
  REQUIRE(eventually([&] { return c.members(1) == 2 && c.members(2) == 2; }, std::chrono::seconds(10)));
  auto orphan = http_get(c.http(1), "/api/v1/drones/role-0/track", bearer);
  check_misdirected(orphan, "telemetry", {base(c, 2)});
  c.forget(2);
  REQUIRE(eventually([&] { return c.members(1) == 1; }, std::chrono::seconds(10)));
  auto nobody = http_get(c.http(1), "/api/v1/drones/role-0/track", bearer);
  check_misdirected(nobody, "telemetry", {});
  CHECK(nobody.header("location").empty());
}

TEST_CASE("roles: a node refuses to start with an unknown role, an empty list, all among others, or commands without telemetry") {
  scratch_database db;
  cluster c{db.url()};
  for (auto [roles, says] : std::vector<std::pair<std::string, std::string>>{
         {"dashboard,fleet", "unknown role 'fleet'"}, {" , ", "node.roles is empty"}, {"all,auth", "'all'"},
         {"commands,dashboard", "commands needs telemetry"}}) {
    INFO(roles);
    child node{{DCCS_NODE_BIN, "--http.port", "0", "--node.roles", roles, "--auth.keys_dir", c.keys_dir(), "--db.url",
                db.url()}};
    CHECK(node.read_until(says));
    CHECK(node.wait_exit() == 1);
  }
}

TEST_CASE("roles: a node without drone actors shows the registry's group move of a drone that has no actor") {
  // A member running only the dashboard has no directory: the regroup of a drone with no actor (registered, never
  // connected: its registry placeholder) reaches its hub from the hub of a member that has one.
  scratch_database db;
  cluster c{db.url()};
  c.start(0);
  // Registered before node 0 restarts: the restarted node restores the placeholder into its live view.
  REQUIRE(http_request(c.http(0), "POST", "/api/v1/drones", json{{"id", "idle-1"}, {"group", "red"}}.dump(),
                       c.admin()).status == 201);
  c.forget(0);
  c.start(0);
  c.start(1, {"--node.roles", "dashboard"});
  REQUIRE(eventually([&] { return c.members(0) == 2 && c.members(1) == 2; }, std::chrono::seconds(20)));
  watcher w{c.http(1), c.admin()};
  REQUIRE(w.view.read_until(w.op, [&] {
    auto d = w.view.drones.find("idle-1");
    return d != w.view.drones.end() && d->second.value("group", "") == "red";
  }));
  CHECK(w.view.drones["idle-1"].value("connected", true) == false);

  REQUIRE(http_request(c.http(0), "PATCH", "/api/v1/drones/idle-1", json{{"group", "blue"}}.dump(), c.admin())
            .status == 200);
  CHECK(w.view.read_until(w.op, [&] {
    auto d = w.view.drones.find("idle-1");
    return d != w.view.drones.end() && d->second.value("group", "") == "blue";
  }));
  // An operator of the old group no longer sees it there; one of the new group does.
  watcher red{c.http(1), {{"Authorization", "Bearer " + c.token("red-op", "operator", {"red"})}}};
  watcher blue{c.http(1), {{"Authorization", "Bearer " + c.token("blue-op", "operator", {"blue"})}}};
  CHECK(blue.view.read_until(blue.op, [&] { return blue.view.drones.count("idle-1") == 1; }));
  REQUIRE(red.view.read_until(red.op, [&] { return red.view.snapshots == 1; }));
  CHECK(red.view.drones.count("idle-1") == 0);
}
