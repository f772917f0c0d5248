// Who may do what (docs/security.md, "Permission matrix"): every REST route and the operator WebSocket, for every
// role, on drones of the caller's own group and of another group; operator socket authentication (tickets,
// tokens, origins); logout and user changes closing live sockets; drone credentials.

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

constexpr const char* password = "correct horse battery staple";

/// A drone registered by an admin into `group`; returns its secret.
std::string register_drone(const test_node& node, const std::string& id, const std::string& group) {
  auto r = http_request(node.port(), "POST", "/api/v1/drones", json{{"id", id}, {"group", group}}.dump(), node.admin());
  INFO(r.body);
  REQUIRE(r.status == 201);
  return r.json()["secret"].get<std::string>();
}

/// The ids in a GET /api/v1/drones answer.
std::set<std::string> listed_ids(const http_result& r) {
  UNSCOPED_INFO(r.status << " " << r.body);
  std::set<std::string> out;
  auto j = r.json(); // kept: a range-for over a member of a temporary would read freed memory
  for (auto& d : j["drones"])
    out.insert(d["id"].get<std::string>());
  return out;
}

/// Creates a user directly in the node's database (as `dccs user add` would).
void add_user(const test_node& node, const std::string& name, auth::role r, std::vector<std::string> groups) {
  pqxx::connection conn{node.db_url()};
  runtime::migrate(conn, "auth");
  auth::create_user(conn, name, password, r, std::move(groups));
}

json login(const test_node& node, const std::string& name) {
  auto r = http_request(node.port(), "POST", "/api/v1/auth/login", json{{"name", name}, {"password", password}}.dump());
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json();
}

std::string ticket(const test_node& node, const std::string& token) {
  auto r = http_request(node.port(), "POST", "/api/v1/auth/ticket", {}, test_node::bearer(token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["expires_in"].get<int>() > 0);
  return r.json()["ticket"].get<std::string>();
}

} // namespace

TEST_CASE("the permission matrix over REST: every route x admin, operator, viewer x own group, other group") {
  test_node node;
  auto p = node.port();
  register_drone(node, "red-1", "red");
  register_drone(node, "blue-1", "blue");
  for (auto id : {"red-del", "blue-del"})
    register_drone(node, id, id[0] == 'r' ? "red" : "blue");
  std::map<std::string, headers> as{
    {"admin", node.admin()},
    {"operator", test_node::bearer(node.token("operator", {"red"}))},
    {"viewer", test_node::bearer(node.token("viewer", {"red"}))},
  };
  auto status = [&](const std::string& role, const std::string& method, const std::string& target,
                    const json& body = nullptr) {
    return http_request(p, method, target, body.is_null() ? std::string{} : body.dump(), as[role]).status;
  };

  // Lists: admins see every group, the others only theirs.
  CHECK(listed_ids(http_get(p, "/api/v1/drones", as["admin"])) == std::set<std::string>{"red-1", "blue-1", "red-del", "blue-del"});
  for (auto role : {"operator", "viewer"})
    CHECK(listed_ids(http_get(p, "/api/v1/drones", as[role])) == std::set<std::string>{"red-1", "red-del"});
  CHECK(listed_ids(http_get(p, "/api/v1/drones", test_node::bearer(node.token("operator", {}))))
          .empty()); // an operator of no group sees nothing

  struct row {
    const char* method;
    std::string target;
    json body;
    int admin, op_own, op_other, viewer_own, viewer_other;
  };
  // A drone of another group answers as a missing drone does (404): nothing tells the caller it exists.
  std::vector<row> matrix{
    {"GET", "/api/v1/drones/{d}", nullptr, 200, 200, 404, 200, 404},
    {"GET", "/api/v1/drones/{d}/telemetry", nullptr, 200, 200, 404, 200, 404},
    {"GET", "/api/v1/drones/{d}/track", nullptr, 200, 200, 404, 200, 404},
    {"PATCH", "/api/v1/drones/{d}", json{{"name", "renamed"}}, 200, 200, 404, 403, 404},
    {"POST", "/api/v1/drones/{d}/secret", nullptr, 200, 200, 404, 403, 404},
  };
  for (auto& r : matrix) {
    auto at = [&](const std::string& id) {
      auto t = r.target;
      return t.replace(t.find("{d}"), 3, id);
    };
    INFO(r.method << " " << r.target);
    CHECK(status("admin", r.method, at("red-1"), r.body) == r.admin);
    CHECK(status("admin", r.method, at("blue-1"), r.body) == r.admin);
    CHECK(status("operator", r.method, at("red-1"), r.body) == r.op_own);
    CHECK(status("operator", r.method, at("blue-1"), r.body) == r.op_other);
    CHECK(status("viewer", r.method, at("red-1"), r.body) == r.viewer_own);
    CHECK(status("viewer", r.method, at("blue-1"), r.body) == r.viewer_other);
  }
  // Registering: into one's own group only; viewers never.
  CHECK(status("operator", "POST", "/api/v1/drones", {{"id", "op-red"}, {"group", "red"}}) == 201);
  CHECK(status("operator", "POST", "/api/v1/drones", {{"id", "op-blue"}, {"group", "blue"}}) == 403);
  CHECK(status("operator", "POST", "/api/v1/drones", {{"id", "op-default"}}) == 403); // default group: not theirs
  CHECK(status("viewer", "POST", "/api/v1/drones", {{"id", "v-red"}, {"group", "red"}}) == 403);
  CHECK(status("admin", "POST", "/api/v1/drones", {{"id", "a-blue"}, {"group", "blue"}}) == 201);
  // Moving a drone: only into a group one manages.
  CHECK(status("operator", "PATCH", "/api/v1/drones/red-1", {{"group", "blue"}}) == 403);
  // Revoking a credential and deleting.
  CHECK(status("viewer", "DELETE", "/api/v1/drones/red-del/secret") == 403);
  CHECK(status("operator", "DELETE", "/api/v1/drones/blue-del/secret") == 404);
  CHECK(status("operator", "DELETE", "/api/v1/drones/red-del/secret") == 204);
  CHECK(status("viewer", "DELETE", "/api/v1/drones/red-del") == 403);
  CHECK(status("operator", "DELETE", "/api/v1/drones/blue-del") == 404);
  CHECK(status("operator", "DELETE", "/api/v1/drones/red-del") == 204);
  CHECK(status("admin", "DELETE", "/api/v1/drones/blue-del") == 204);
  // Admin-only routes.
  for (auto target : {"/api/v1/audit", "/api/v1/users", "/metrics"}) {
    INFO(target);
    CHECK(status("admin", "GET", target) == 200);
    CHECK(status("operator", "GET", target) == 403);
    CHECK(status("viewer", "GET", target) == 403);
  }
  // Everyone: who am I.
  auto me = http_get(p, "/api/v1/auth/me", as["viewer"]);
  REQUIRE(me.status == 200);
  CHECK(me.json()["role"] == "viewer");
  CHECK(me.json()["groups"] == json::array({"red"}));
  // Anonymous: only the public routes answer.
  for (auto target : {"/api/v1/drones", "/api/v1/drones/red-1", "/api/v1/drones/red-1/telemetry", "/api/v1/audit",
                      "/api/v1/users", "/api/v1/auth/me", "/metrics"}) {
    INFO(target);
    auto r = http_get(p, target);
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate").find("Bearer") == 0);
  }
  CHECK(http_request(p, "POST", "/api/v1/auth/ticket").status == 401);
  CHECK(http_get(p, "/healthz").status == 200);
  CHECK(eventually([&] { return http_get(p, "/readyz").status == 200; })); // 503 only while starting
  CHECK(http_get(p, "/.well-known/jwks.json").status == 200);
  // A token of another issuer's key, or a garbled one: 401, nothing else.
  CHECK(http_get(p, "/api/v1/drones", test_node::bearer(node.token("admin") + "x")).status == 401);
}

TEST_CASE("operator sockets carry only the drones of the user's groups: snapshot, updates, status events") {
  test_node node{{"drone.stale_after_ms", "300"}, {"drone.lost_after_ms", "600"}};
  auto p = node.port();
  auto red_secret = register_drone(node, "red-1", "red");
  auto blue_secret = register_drone(node, "blue-1", "blue");
  auto red = connect_drone(p, "red-1", red_secret);
  auto blue = connect_drone(p, "blue-1", blue_secret);
  red->send(telemetry_frame(1, 47, 8));
  blue->send(telemetry_frame(1, 46, 7));

  ws_client viewer{p, "/ws/operator", test_node::bearer(node.token("viewer", {"red"}))};
  viewer.send(json{{"type", "subscribe"}, {"drones", "*"}});
  ws_client listing{p, "/ws/operator", test_node::bearer(node.token("operator", {"red"}))};
  listing.send(json{{"type", "subscribe"}, {"drones", json::array({"blue-1", "red-1"})}}); // names another group's drone
  ws_client admin{p, "/ws/operator", node.admin()};
  admin.send(json{{"type", "subscribe"}, {"drones", "*"}});

  operator_view v, l, a;
  REQUIRE(a.read_until(admin, [&] { return a.drones.count("red-1") && a.drones.count("blue-1"); }));
  CHECK(a.drones["blue-1"]["group"] == "blue");
  // Both drones send more, then go quiet (stale, lost): the viewer hears only about red-1.
  red->send(telemetry_frame(2, 47.1, 8));
  blue->send(telemetry_frame(2, 46.1, 7));
  auto lost = [](operator_view& view, const std::string& id) {
    for (auto& e : view.events)
      if (e["drone_id"] == id && e["status"] == "lost")
        return true;
    return false;
  };
  REQUIRE(v.read_until(viewer, [&] { return v.drones.count("red-1") && v.drones["red-1"].value("seq", 0) == 2 && lost(v, "red-1"); }));
  REQUIRE(l.read_until(listing, [&] { return l.drones.count("red-1") && l.drones["red-1"].value("seq", 0) == 2 && lost(l, "red-1"); }));
  REQUIRE(a.read_until(admin, [&] { return lost(a, "blue-1") && lost(a, "red-1"); }));
  for (auto* view : {&v, &l}) {
    CHECK(view->drones.count("blue-1") == 0);
    CHECK_FALSE(lost(*view, "blue-1"));
    CHECK(view->drones["red-1"]["group"] == "red");
  }

  // Moving a drone to another group moves who sees it, at once and without touching its connection; a viewer of
  // its old group stops hearing about it.
  ws_client blue_viewer{p, "/ws/operator", test_node::bearer(node.token("viewer", {"blue"}))};
  blue_viewer.send(json{{"type", "subscribe"}, {"drones", "*"}});
  operator_view bv;
  REQUIRE(bv.read_until(blue_viewer, [&] { return bv.snapshots == 1; }));
  CHECK(bv.drones.count("blue-1") == 1);
  REQUIRE(http_request(p, "PATCH", "/api/v1/drones/blue-1", json{{"group", "red"}}.dump(), node.admin()).status == 200);
  REQUIRE(v.read_until(viewer, [&] { return v.drones.count("blue-1") && v.drones["blue-1"]["group"] == "red"; }));
  // The old group's viewer is told it is gone ({"type":"remove"}).
  REQUIRE(bv.read_until(blue_viewer, [&] { return !bv.removed.empty(); }));
  CHECK(bv.removed == std::vector<std::string>{"blue-1"});
  CHECK(bv.drones.count("blue-1") == 0);
  blue->send(telemetry_frame(3, 46.2, 7));
  REQUIRE(v.read_until(viewer, [&] { return v.drones["blue-1"].value("seq", 0) == 3; }));
  // The old group's viewer: a fresh subscription no longer has it.
  bv = operator_view{};
  blue_viewer.send(json{{"type", "subscribe"}, {"drones", "*"}});
  REQUIRE(bv.read_until(blue_viewer, [&] { return bv.snapshots == 1; }));
  CHECK(bv.drones.count("blue-1") == 0);
  CHECK(http_get(p, "/api/v1/drones/blue-1", test_node::bearer(node.token("viewer", {"blue"}))).status == 404);
}

TEST_CASE("operator socket authentication: single-use tickets, bearer tokens, and the origin allowlist") {
  test_node node{{"http.allowed_origins", "https://console.example, http://localhost:3000/"},
                 {"auth.ticket_ttl_s", "1"}};
  auto p = node.port();
  auto token = node.token("viewer", {"red"});
  auto status = [&](const std::string& path, const headers& h = {}) { return ws_upgrade(p, path, h).status; };

  // Nothing, a bad token, an unknown ticket: 401 before any socket opens.
  CHECK(status("/ws/operator") == 401);
  CHECK(status("/ws/operator", test_node::bearer(token + "x")) == 401);
  CHECK(status("/ws/operator?ticket=nonsense") == 401);
  // A token in the Authorization header (clients that can set headers).
  CHECK(status("/ws/operator", test_node::bearer(token)) == 101);
  // A ticket: works once.
  auto t = ticket(node, token);
  CHECK(status("/ws/operator?ticket=" + t) == 101);
  CHECK(status("/ws/operator?ticket=" + t) == 401);
  // A ticket expires (auth.ticket_ttl_s = 1 here): the time passing is the behaviour under test.
  auto late = ticket(node, token);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  CHECK(status("/ws/operator?ticket=" + late) == 401);

  // Origins: a browser page elsewhere may not open an operator socket, even with valid credentials.
  auto with_origin = [&](const std::string& origin) {
    auto h = test_node::bearer(token);
    h.emplace_back("Origin", origin);
    return ws_upgrade(p, "/ws/operator", h);
  };
  auto evil = with_origin("https://evil.example");
  CHECK(evil.status == 403);
  CHECK(evil.json()["error"]["code"] == "forbidden_origin");
  CHECK(with_origin("null").status == 403);
  CHECK(with_origin("https://console.example").status == 101);
  CHECK(with_origin("http://localhost:3000").status == 101);
  CHECK(with_origin("http://127.0.0.1").status == 101); // the node's own origin (the request's Host: 127.0.0.1)
  CHECK(with_origin("http://127.0.0.1.evil.example").status == 403);
  CHECK(with_origin("http://127.0.0.1:1").status == 403);
}

TEST_CASE("logout ends the access token at once and closes the sockets opened with it") {
  test_node node;
  add_user(node, "olga", auth::role::operator_, {"red"});
  auto session = login(node, "olga");
  auto token = session["access_token"].get<std::string>();
  auto t = ticket(node, token);
  ws_client op{node.port(), "/ws/operator?ticket=" + t, std::chrono::seconds(5)};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  CHECK(op.read_json()["type"] == "snapshot");

  auto out = http_request(node.port(), "POST", "/api/v1/auth/logout",
                          json{{"refresh_token", session["refresh_token"]}}.dump(), test_node::bearer(token));
  INFO(out.body);
  CHECK(out.status == 204);
  // The token was verified for the ticket and then found among the verified ones for the logout: the revocation
  // still ends it, remembered or not.
  CHECK(node.metric("dccs_auth_tokens_remembered_total") >= 1);
  CHECK(http_get(node.port(), "/api/v1/auth/me", test_node::bearer(token)).status == 401);
  CHECK(op.read_until_close() == 4001); // within the 5 s read timeout
  CHECK(ws_upgrade(node.port(), "/ws/operator", test_node::bearer(token)).status == 401);
  // The refresh token of that login is gone too.
  auto refreshed = http_request(node.port(), "POST", "/api/v1/auth/refresh",
                                json{{"refresh_token", session["refresh_token"]}}.dump());
  CHECK(refreshed.status == 401);
}

TEST_CASE("disabling a user or changing their role closes their sockets within 5 s and refuses their tokens") {
  test_node node;
  add_user(node, "vera", auth::role::viewer, {"red"});
  add_user(node, "otto", auth::role::operator_, {"red"});
  auto vera = login(node, "vera")["access_token"].get<std::string>();
  auto otto = login(node, "otto")["access_token"].get<std::string>();
  ws_client vera_op{node.port(), "/ws/operator", test_node::bearer(vera), std::chrono::seconds(5)};
  ws_client otto_op{node.port(), "/ws/operator", test_node::bearer(otto), std::chrono::seconds(5)};
  for (auto* op : {&vera_op, &otto_op}) {
    op->send(json{{"type", "subscribe"}, {"drones", "*"}});
    CHECK(op->read_json()["type"] == "snapshot");
  }
  // As `dccs user disable` and an admin's role change would: straight in the database, from outside the node.
  {
    pqxx::connection conn{node.db_url()};
    auth::set_enabled(conn, "vera", false);
    auth::set_role_groups(conn, "otto", auth::role::viewer, {"red"});
  }
  CHECK(vera_op.read_until_close() == 4001);
  CHECK(otto_op.read_until_close() == 4001);
  CHECK(http_get(node.port(), "/api/v1/drones", test_node::bearer(vera)).status == 401);
  CHECK(http_get(node.port(), "/api/v1/drones", test_node::bearer(otto)).status == 401);
  // Otto logs in again and gets what his new role allows.
  auto again = login(node, "otto")["access_token"].get<std::string>();
  CHECK(eventually([&] { return http_get(node.port(), "/api/v1/drones", test_node::bearer(again)).status == 200; }));
  CHECK(http_request(node.port(), "POST", "/api/v1/drones", json{{"id", "x-1"}, {"group", "red"}}.dump(),
                     test_node::bearer(again)).status == 403);
}

TEST_CASE("drone credentials: a secret per drone, shown once, stored hashed, rotation and revocation close the "
          "connection, every refusal looks the same") {
  test_node node;
  auto p = node.port();
  auto secret = register_drone(node, "cred-1", "red");
  auto other = register_drone(node, "cred-2", "red");
  CHECK(secret.size() >= 22); // at least 128 bits of base64url
  CHECK(secret != other);
  // Never shown again, and only a hash is stored.
  auto got = http_get(p, "/api/v1/drones/cred-1", node.admin());
  CHECK(got.body.find(secret) == std::string::npos);
  CHECK(got.json()["registry"]["credential"] == "active");
  {
    pqxx::connection conn{node.db_url()};
    pqxx::work tx{conn};
    auto row = tx.exec1("SELECT encode(secret_hash, 'hex'), position(" + tx.quote(secret)
                        + " in row_to_json(d)::text) FROM fleet.drones d WHERE id = 'cred-1'");
    CHECK(row[0].as<std::string>().size() == 64);
    CHECK(row[1].as<int>() == 0);
  }
  // The secret works in the hello or in the upgrade's Authorization header, for its own drone only.
  CHECK_NOTHROW(connect_drone(p, "cred-1", secret));
  {
    ws_client c{p, "/ws/drone", test_node::bearer(secret)};
    c.send(json{{"type", "hello"}, {"drone_id", "cred-1"}});
    CHECK(c.read_json()["type"] == "welcome");
  }
  CHECK(hello_close_code(p, "cred-2", secret) == 4001);      // another drone's secret
  CHECK(hello_close_code(p, "cred-1", "") == 4001);          // no secret
  CHECK(hello_close_code(p, "cred-1", secret + "x") == 4001); // a wrong one
  CHECK(hello_close_code(p, "ghost-1", secret) == 4001);     // an unknown drone
  CHECK(hello_close_code(p, "cred-1", "", test_node::bearer("wrong")) == 4001);

  // Rotation: the live connection closes, the old secret stops working, the new one works.
  auto live = connect_drone(p, "cred-1", secret);
  auto rotated = http_request(p, "POST", "/api/v1/drones/cred-1/secret", {}, node.admin());
  REQUIRE(rotated.status == 200);
  auto fresh = rotated.json()["secret"].get<std::string>();
  CHECK(fresh != secret);
  CHECK(live->read_until_close() == 4001);
  CHECK(hello_close_code(p, "cred-1", secret) == 4001);
  live = connect_drone(p, "cred-1", fresh);
  // Revocation: closed, and refused from then on, with any secret.
  CHECK(http_request(p, "DELETE", "/api/v1/drones/cred-1/secret", {}, node.admin()).status == 204);
  CHECK(live->read_until_close() == 4001);
  CHECK(hello_close_code(p, "cred-1", fresh) == 4001);
  CHECK(http_get(p, "/api/v1/drones/cred-1", node.admin()).json()["registry"]["credential"] == "revoked");
  CHECK(node.metric("dccs_drones_refused_total") >= 7);

  // Each of these changes is in the audit log, with who did it.
  auto has = [&](const std::string& action) {
    auto r = http_get(p, "/api/v1/audit?action=" + action + "&drone=cred-1", node.admin());
    UNSCOPED_INFO(r.status << " " << r.body);
    if (r.status != 200)
      return false;
    auto j = r.json();
    for (auto& e : j["entries"])
      if (e["actor"] == "test-admin" && e["outcome"] == "ok")
        return true;
    return false;
  };
  CHECK(eventually([&] { return has("drone_registered") && has("credential_rotated") && has("credential_revoked"); }));
}

TEST_CASE("an operator socket ends with its token, unless the same user hands it a newer one (\"auth\" frame)") {
  test_node node;
  auto p = node.port();
  auto short_lived = [&] { return node.token("viewer", {"red"}, "vic", 2); };
  ws_client plain{p, "/ws/operator", test_node::bearer(short_lived()), std::chrono::seconds(8)};
  ws_client renewed{p, "/ws/operator", test_node::bearer(short_lived()), std::chrono::seconds(8)};
  for (auto* op : {&plain, &renewed}) {
    op->send(json{{"type", "subscribe"}, {"drones", "*"}});
    CHECK(op->read_json()["type"] == "snapshot");
  }
  // Wrong or malformed renewals are error frames; the socket stays.
  renewed.send(json{{"type", "auth"}});
  CHECK(renewed.read_json()["code"] == "missing_field");
  renewed.send(json{{"type", "auth"}, {"token", "not-a-token"}});
  CHECK(renewed.read_json()["code"] == "invalid_token");
  renewed.send(json{{"type", "auth"}, {"token", node.token("viewer", {"red"}, "vic")}});
  auto ok = renewed.read_json();
  CHECK(ok["type"] == "authenticated");
  CHECK(ok["expires_at"].get<std::int64_t>() > std::time(nullptr) + 600);
  // The socket that was not renewed closes when its token expires; the renewed one is still served.
  CHECK(plain.read_until_close() == 4001);
  renewed.send(json{{"type", "subscribe"}, {"drones", "*"}});
  CHECK(renewed.read_json()["type"] == "snapshot");
  // A token of another user (or role, or groups) is not a renewal: the socket closes, to be reopened with it.
  renewed.send(json{{"type", "auth"}, {"token", node.token("viewer", {"red", "blue"}, "vic")}});
  CHECK(renewed.read_until_close() == 4001);
}

TEST_CASE("X-Forwarded-For names the client only when the peer is a trusted proxy (audit, login limits)") {
  auto failed_login_address = [](test_node& node) {
    auto r = http_request(node.port(), "POST", "/api/v1/auth/login",
                          json{{"name", "nobody"}, {"password", "not the password at all"}}.dump(),
                          {{"X-Forwarded-For", "198.51.100.9, 203.0.113.7"}});
    CHECK(r.status == 401);
    std::string address;
    CHECK(eventually([&] {
      auto a = http_get(node.port(), "/api/v1/audit?action=login_failed", node.admin());
      auto j = a.json();
      if (a.status != 200 || j["entries"].empty())
        return false;
      address = j["entries"][0]["address"].get<std::string>();
      return true;
    }));
    return address;
  };
  test_node behind_proxy{{"http.trusted_proxies", "127.0.0.1"}};
  CHECK(failed_login_address(behind_proxy) == "203.0.113.7"); // the nearest hop our proxy saw
  test_node direct;
  CHECK(failed_login_address(direct) == "127.0.0.1"); // a client cannot choose its own address
}

TEST_CASE("one user cannot take every ticket: 16 outstanding per user, then 429, others are unaffected") {
  test_node node;
  auto alice = node.token("viewer", {"red"}, "alice");
  std::vector<std::string> issued;
  for (int i = 0; i < 16; ++i)
    issued.push_back(ticket(node, alice));
  auto refused = http_request(node.port(), "POST", "/api/v1/auth/ticket", {}, test_node::bearer(alice));
  CHECK(refused.status == 429);
  CHECK(refused.json()["error"]["code"] == "too_many_tickets");
  CHECK_NOTHROW(ticket(node, node.token("viewer", {"red"}, "bob")));
  // Using one frees its place.
  CHECK(ws_upgrade(node.port(), "/ws/operator?ticket=" + issued.front()).status == 101);
  CHECK_NOTHROW(ticket(node, alice));
}
