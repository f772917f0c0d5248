// User management over REST (/api/v1/users), against a node over real sockets: an admin lists, creates, reads
// and changes users; bad fields are refused and named; the last enabled admin stays; other roles get 403;
// changes end the user's sessions (refresh tokens); every change and refusal is audited, without secrets.
//
// Each test seeds its users into a scratch database before the node starts, so that the node finds users and
// creates no bootstrap admin of its own (that admin would count as another enabled admin).

#include <catch2/catch.hpp>

#include <atomic>
#include <regex>
#include <thread>

#include <pqxx/pqxx>

#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/client.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

constexpr const char* password = "correct horse battery staple";
constexpr const char* other_password = "a different long password";

/// A scratch database holding the given users (name, role), all with `password`.
struct seeded_db {
  explicit seeded_db(std::initializer_list<std::pair<const char*, auth::role>> users) {
    pqxx::connection conn{db.url()};
    runtime::migrate(conn, "auth");
    for (auto& [name, r] : users)
      auth::create_user(conn, name, password, r, {});
  }
  scratch_database db;
  std::string url() const { return db.url(); }
};

/// Logs in; the access and refresh tokens, or a failed test.
struct login_tokens {
  std::string access;
  std::string refresh;
};

login_tokens login(std::uint16_t port, const std::string& name, const std::string& pw = password) {
  auto r = http_request(port, "POST", "/api/v1/auth/login", json{{"name", name}, {"password", pw}}.dump());
  INFO("login " << name << ": " << r.body);
  REQUIRE(r.status == 200);
  auto j = r.json();
  return {j["access_token"].get<std::string>(), j["refresh_token"].get<std::string>()};
}

int login_status(std::uint16_t port, const std::string& name, const std::string& pw) {
  return http_request(port, "POST", "/api/v1/auth/login", json{{"name", name}, {"password", pw}}.dump()).status;
}

/// The status of a refresh with `token`.
int refresh_status(std::uint16_t port, const std::string& token) {
  return http_request(port, "POST", "/api/v1/auth/refresh", json{{"refresh_token", token}}.dump()).status;
}

/// Requests with a bearer token.
struct caller {
  std::uint16_t port;
  std::string token;

  http_result call(const std::string& method, const std::string& target, const std::string& body = {}) const {
    return http_request(port, method, target, body, {{"Authorization", "Bearer " + token}});
  }
  http_result get(const std::string& target) const { return call("GET", target); }
  http_result post(const std::string& target, const json& body) const { return call("POST", target, body.dump()); }
  http_result patch(const std::string& target, const json& body) const { return call("PATCH", target, body.dump()); }
};

caller as(std::uint16_t port, const std::string& name) { return caller{port, login(port, name).access}; }

bool rfc3339(const json& v) {
  static const std::regex re{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"};
  return v.is_string() && std::regex_match(v.get<std::string>(), re);
}

/// Checks the shape of a user as the API shows it: exactly these fields, never a hash.
void check_user_shape(const json& u) {
  INFO(u.dump());
  CHECK(u.size() == 7);
  CHECK(u["name"].is_string());
  CHECK(u["role"].is_string());
  CHECK(u["groups"].is_array());
  CHECK(u["enabled"].is_boolean());
  CHECK(rfc3339(u["created_at"]));
  CHECK(rfc3339(u["updated_at"]));
  CHECK(rfc3339(u["password_changed_at"]));
  CHECK(u.dump().find("argon2") == std::string::npos);
}

/// Expects a 400 invalid_field naming `field`.
void check_field_error(const http_result& r, const std::string& field) {
  INFO(r.body);
  CHECK(r.status == 400);
  auto e = r.json()["error"];
  CHECK(e["code"] == "invalid_field");
  CHECK(e["field"] == field);
  CHECK(e["message"].is_string());
}

json audit_entries(const caller& admin, const std::string& action) {
  auto r = admin.get("/api/v1/audit?action=" + action);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json()["entries"];
}

} // namespace

TEST_CASE("users over REST: an admin lists, creates, reads and changes users", "[users]") {
  seeded_db db{{"ada", auth::role::admin}};
  test_node node{{"db.url", db.url()}};
  auto p = node.port();
  auto admin = as(p, "ada");

  auto list = admin.get("/api/v1/users");
  REQUIRE(list.status == 200);
  auto users = list.json()["users"];
  REQUIRE(users.size() == 1);
  check_user_shape(users[0]);
  CHECK(users[0]["name"] == "ada");
  CHECK(users[0]["role"] == "admin");
  CHECK(users[0]["enabled"] == true);

  auto created = admin.post("/api/v1/users", {{"name", "bob"}, {"password", password}, {"role", "viewer"},
                                              {"groups", {"north", "east", "north"}}});
  INFO(created.body);
  REQUIRE(created.status == 201);
  auto bob = created.json();
  check_user_shape(bob);
  CHECK(bob["name"] == "bob");
  CHECK(bob["role"] == "viewer");
  CHECK(bob["groups"] == json{"east", "north"}); // sorted, without duplicates
  CHECK(bob["enabled"] == true);
  CHECK(bob["created_at"] == bob["updated_at"]);
  CHECK(admin.get("/api/v1/users/bob").json() == bob);
  CHECK(login_status(p, "bob", password) == 200);

  auto dup = admin.post("/api/v1/users", {{"name", "bob"}, {"password", other_password}, {"role", "admin"}});
  CHECK(dup.status == 409);
  CHECK(dup.json()["error"]["code"] == "conflict");
  CHECK(admin.get("/api/v1/users/bob").json()["role"] == "viewer"); // untouched

  auto changed = admin.patch("/api/v1/users/bob", {{"role", "operator"}, {"groups", {"west"}}});
  REQUIRE(changed.status == 200);
  auto bob2 = changed.json();
  check_user_shape(bob2);
  CHECK(bob2["role"] == "operator");
  CHECK(bob2["groups"] == json{"west"});
  CHECK(bob2["updated_at"].get<std::string>() > bob["updated_at"].get<std::string>());
  CHECK(bob2["password_changed_at"] == bob["password_changed_at"]);

  auto disabled = admin.patch("/api/v1/users/bob", {{"enabled", false}});
  REQUIRE(disabled.status == 200);
  CHECK(disabled.json()["enabled"] == false);
  CHECK(login_status(p, "bob", password) == 401);

  auto back = admin.patch("/api/v1/users/bob", {{"enabled", true}, {"password", other_password}});
  REQUIRE(back.status == 200);
  auto bob3 = back.json();
  CHECK(bob3["enabled"] == true);
  CHECK(bob3["password_changed_at"].get<std::string>() > bob2["password_changed_at"].get<std::string>());
  CHECK(login_status(p, "bob", password) == 401);
  CHECK(login_status(p, "bob", other_password) == 200);

  // Nothing asked, nothing changed: updated_at stays.
  auto same = admin.patch("/api/v1/users/bob", json::object());
  REQUIRE(same.status == 200);
  CHECK(same.json() == bob3);
  auto same2 = admin.patch("/api/v1/users/bob", {{"role", "operator"}, {"enabled", true}});
  REQUIRE(same2.status == 200);
  CHECK(same2.json() == bob3);

  auto all = admin.get("/api/v1/users").json()["users"];
  REQUIRE(all.size() == 2);
  CHECK(all[0]["name"] == "ada");
  CHECK(all[1]["name"] == "bob");

  auto missing = admin.get("/api/v1/users/nobody");
  CHECK(missing.status == 404);
  CHECK(missing.json()["error"]["code"] == "not_found");
  CHECK(admin.patch("/api/v1/users/nobody", {{"enabled", false}}).status == 404);
  CHECK(admin.get("/api/v1/users/not%20a%20name").status == 404);
  CHECK(admin.call("DELETE", "/api/v1/users/bob").status == 405);
  CHECK(admin.call("PUT", "/api/v1/users").status == 405);
  CHECK(admin.post("/api/v1/users/bob", {{"enabled", false}}).status == 405);
  CHECK(admin.get("/api/v1/users/bob").json()["enabled"] == true);

  // The analytics role: reads the fleet and the analytics of its groups, manages nothing.
  auto made = admin.post("/api/v1/users", {{"name", "cy"}, {"password", password}, {"role", "analytics"},
                                           {"groups", {"east"}}});
  INFO(made.body);
  REQUIRE(made.status == 201);
  CHECK(made.json()["role"] == "analytics");
  auto cy = as(p, "cy");
  CHECK(cy.get("/api/v1/auth/me").json()["role"] == "analytics");
  CHECK(cy.get("/api/v1/drones").status == 200);
  CHECK(cy.get("/api/v1/analytics/daily").status == 200);
  CHECK(cy.get("/api/v1/analytics/fleet?group=east").status == 200);
  CHECK(cy.get("/api/v1/analytics/fleet?group=west").status == 403);
  CHECK(cy.get("/api/v1/users").status == 403);
  CHECK(cy.post("/api/v1/drones", {{"id", "cy-1"}}).status == 403);
  CHECK(admin.patch("/api/v1/users/bob", {{"role", "analyst"}}).status == 400);
}

TEST_CASE("users over REST: bad fields are refused and named", "[users]") {
  seeded_db db{{"ada", auth::role::admin}, {"bob", auth::role::viewer}};
  test_node node{{"db.url", db.url()}};
  auto admin = as(node.port(), "ada");
  auto bob_before = admin.get("/api/v1/users/bob").json();

  struct bad_case {
    json body;
    const char* field;
  };
  const std::string weak = "tiny-pw";
  std::vector<bad_case> creates{
    {{{"password", password}, {"role", "viewer"}}, "name"},
    {{{"name", "no spaces allowed"}, {"password", password}, {"role", "viewer"}}, "name"},
    {{{"name", 5}, {"password", password}, {"role", "viewer"}}, "name"},
    {{{"name", std::string(65, 'c')}, {"password", password}, {"role", "viewer"}}, "name"},
    {{{"name", "carl"}, {"role", "viewer"}}, "password"},
    {{{"name", "carl"}, {"password", weak}, {"role", "viewer"}}, "password"},
    {{{"name", "carl"}, {"password", std::string(2000, 'p')}, {"role", "viewer"}}, "password"},
    {{{"name", "carl"}, {"password", 12345678901234}, {"role", "viewer"}}, "password"},
    {{{"name", "carl"}, {"password", password}}, "role"},
    {{{"name", "carl"}, {"password", password}, {"role", "root"}}, "role"},
    {{{"name", "carl"}, {"password", password}, {"role", "viewer"}, {"groups", "north"}}, "groups"},
    {{{"name", "carl"}, {"password", password}, {"role", "viewer"}, {"groups", {"ok", "not ok"}}}, "groups"},
    {{{"name", "carl"}, {"password", password}, {"role", "viewer"}, {"groups", {1}}}, "groups"},
    {{{"name", "carl"}, {"password", password}, {"role", "viewer"}, {"email", "c@example.org"}}, "email"},
    {{{"name", "carl"}, {"password", password}, {"role", "viewer"}, {"enabled", false}}, "enabled"},
  };
  for (auto& c : creates) {
    INFO("POST " << c.body.dump().substr(0, 200));
    auto r = admin.post("/api/v1/users", c.body);
    check_field_error(r, c.field);
    CHECK(r.body.find(weak) == std::string::npos); // the rule is named, never the password
  }
  for (auto body : {"[1]", "not json", "", "\"carl\""}) {
    auto r = admin.call("POST", "/api/v1/users", body);
    INFO(body << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["code"] == "malformed");
  }

  std::vector<bad_case> patches{
    {{{"name", "robert"}}, "name"},
    {{{"enabled", "yes"}}, "enabled"},
    {{{"role", 5}}, "role"},
    {{{"role", "superuser"}}, "role"},
    {{{"password", weak}}, "password"},
    {{{"groups", {1}}}, "groups"},
    {{{"groups", {"a/b"}}}, "groups"},
    {{{"role", "operator"}, {"colour", "blue"}}, "colour"}, // one bad field: nothing of the rest is applied
    {{{"enabled", false}, {"password", weak}}, "password"},
  };
  for (auto& c : patches) {
    INFO("PATCH " << c.body.dump());
    auto r = admin.patch("/api/v1/users/bob", c.body);
    check_field_error(r, c.field);
    CHECK(r.body.find(weak) == std::string::npos);
  }
  CHECK(admin.call("PATCH", "/api/v1/users/bob", "[]").status == 400);

  // Nothing was created or changed.
  auto users = admin.get("/api/v1/users").json()["users"];
  CHECK(users.size() == 2);
  CHECK(admin.get("/api/v1/users/bob").json() == bob_before);
  CHECK(admin.get("/api/v1/users/carl").status == 404);
}

TEST_CASE("users over REST: the last enabled admin cannot be disabled or demoted", "[users]") {
  seeded_db db{{"ada", auth::role::admin}, {"carl", auth::role::operator_}};
  test_node node{{"db.url", db.url()}};
  auto p = node.port();
  auto ada = as(p, "ada");

  auto refused = ada.patch("/api/v1/users/ada", {{"enabled", false}});
  CHECK(refused.status == 409);
  CHECK(refused.json()["error"]["code"] == "last_admin");
  auto demoted = ada.patch("/api/v1/users/ada", {{"role", "operator"}});
  CHECK(demoted.status == 409);
  CHECK(demoted.json()["error"]["code"] == "last_admin");
  auto both = ada.patch("/api/v1/users/ada", {{"role", "viewer"}, {"groups", {"north"}}, {"enabled", false}});
  CHECK(both.status == 409);
  auto still = ada.get("/api/v1/users/ada").json();
  CHECK(still["role"] == "admin");
  CHECK(still["enabled"] == true);
  CHECK(still["groups"] == json::array());
  // Changes that keep ada an enabled admin are fine (and end her sessions: she logs in again).
  CHECK(ada.patch("/api/v1/users/ada", {{"groups", {"north"}}}).status == 200);
  ada = as(p, "ada");

  REQUIRE(ada.patch("/api/v1/users/carl", {{"role", "admin"}}).status == 200);
  REQUIRE(ada.patch("/api/v1/users/ada", {{"enabled", false}}).status == 200); // carl is an admin now
  CHECK(login_status(p, "ada", password) == 401);

  auto carl = as(p, "carl");
  // A disabled admin does not count.
  auto self_demote = carl.patch("/api/v1/users/carl", {{"role", "operator"}});
  CHECK(self_demote.status == 409);
  CHECK(self_demote.json()["error"]["code"] == "last_admin");
  CHECK(carl.patch("/api/v1/users/carl", {{"enabled", false}}).status == 409);
  REQUIRE(carl.patch("/api/v1/users/ada", {{"enabled", true}}).status == 200);
  CHECK(carl.patch("/api/v1/users/carl", {{"role", "operator"}}).status == 200);
  // Carl's token still says admin; he is not one any more: refused at once (by the node's revocation watcher,
  // 401, or else by the auth service, which checks the caller in the database, 403).
  auto stale = carl.get("/api/v1/users");
  CHECK((stale.status == 401 || stale.status == 403));

  pqxx::connection conn{db.url()};
  pqxx::work tx{conn};
  auto refusals = [&](const std::string& action) {
    return tx.exec1("SELECT count(*) FROM auth.audit WHERE action = " + tx.quote(action)
                    + " AND outcome = 'refused' AND detail->>'reason' = 'last_admin'")[0]
      .as<int>();
  };
  CHECK(refusals("user_disabled") == 3); // ada's own, ada's with a demotion, carl's
  CHECK(refusals("user_changed") == 2);
  CHECK(tx.exec1("SELECT count(*) FROM auth.users WHERE role = 'admin' AND enabled")[0].as<int>() == 1);
}

TEST_CASE("update_user: two admins demoting each other at once leave one admin", "[users]") {
  scratch_database db;
  {
    pqxx::connection conn{db.url()};
    runtime::migrate(conn, "auth");
  }
  for (int round = 0; round < 10; ++round) {
    INFO("round " << round);
    auto a = "a" + std::to_string(round);
    auto b = "b" + std::to_string(round);
    pqxx::connection c1{db.url()};
    pqxx::connection c2{db.url()};
    {
      // Only these two are admins: the previous rounds' survivors are demoted.
      pqxx::work tx{c1};
      tx.exec("UPDATE auth.users SET role = 'viewer'");
      tx.commit();
    }
    auth::create_user(c1, a, password, auth::role::admin);
    auth::create_user(c1, b, password, auth::role::admin);
    std::atomic<int> ready{0};
    std::atomic<int> refused{0};
    auto demote = [&](pqxx::connection& conn, const std::string& name) {
      ++ready;
      while (ready < 2) {
      }
      try {
        auth::user_patch patch;
        patch.role = auth::role::viewer;
        auth::update_user(conn, name, patch);
      } catch (const auth::user_error& e) {
        if (e.reason() == auth::user_errc::last_admin)
          ++refused;
      }
    };
    std::thread t1{demote, std::ref(c1), a};
    std::thread t2{demote, std::ref(c2), b};
    t1.join();
    t2.join();
    CHECK(refused == 1);
    pqxx::work tx{c1};
    CHECK(tx.exec1("SELECT count(*) FROM auth.users WHERE role = 'admin' AND enabled")[0].as<int>() == 1);
  }
}

TEST_CASE("users over REST: only admins manage users", "[users]") {
  seeded_db db{{"ada", auth::role::admin}, {"otto", auth::role::operator_}, {"vera", auth::role::viewer}};
  test_node node{{"db.url", db.url()}};
  auto p = node.port();
  for (auto name : {"otto", "vera"}) {
    INFO(name);
    auto who = as(p, name);
    for (auto r : {who.get("/api/v1/users"), who.get("/api/v1/users/ada"),
                   who.post("/api/v1/users", {{"name", "eve"}, {"password", password}, {"role", "admin"}}),
                   who.patch("/api/v1/users/" + std::string{name}, {{"role", "admin"}}),
                   who.patch("/api/v1/users/ada", {{"enabled", false}})}) {
      CHECK(r.status == 403);
      CHECK(r.body.find("argon2") == std::string::npos);
    }
  }
  CHECK(http_get(p, "/api/v1/users").status == 401);
  CHECK(http_request(p, "PATCH", "/api/v1/users/otto", json{{"role", "admin"}}.dump()).status == 401);
  auto admin = as(p, "ada");
  CHECK(admin.get("/api/v1/users/otto").json()["role"] == "operator");
  CHECK(admin.get("/api/v1/users/ada").json()["enabled"] == true);
  CHECK(admin.get("/api/v1/users/eve").status == 404);
}

TEST_CASE("users over REST: disabling a user, or changing their role, groups or password, ends their sessions",
          "[users]") {
  seeded_db db{{"ada", auth::role::admin}, {"bob", auth::role::viewer}, {"walt", auth::role::viewer}};
  test_node node{{"db.url", db.url()}};
  auto p = node.port();
  auto admin = as(p, "ada");
  auto walt = login(p, "walt");
  auto updated = [&] { return admin.get("/api/v1/users/bob").json()["updated_at"].get<std::string>(); };

  auto t0 = updated();
  auto r1 = login(p, "bob").refresh;
  REQUIRE(admin.patch("/api/v1/users/bob", {{"enabled", false}}).status == 200);
  CHECK(refresh_status(p, r1) == 401);
  auto t1 = updated();
  CHECK(t1 > t0);

  REQUIRE(admin.patch("/api/v1/users/bob", {{"enabled", true}}).status == 200);
  auto r2 = login(p, "bob").refresh;
  REQUIRE(admin.patch("/api/v1/users/bob", {{"groups", {"north"}}}).status == 200);
  CHECK(refresh_status(p, r2) == 401);
  auto t2 = updated();
  CHECK(t2 > t1);

  auto r3 = login(p, "bob").refresh;
  REQUIRE(admin.patch("/api/v1/users/bob", {{"role", "operator"}}).status == 200);
  CHECK(refresh_status(p, r3) == 401);

  auto r4 = login(p, "bob").refresh;
  REQUIRE(admin.patch("/api/v1/users/bob", {{"password", other_password}}).status == 200);
  CHECK(refresh_status(p, r4) == 401);
  CHECK(updated() > t2);

  // A change that changes nothing ends nothing; and other users' sessions are never touched.
  auto r5 = login(p, "bob", other_password).refresh;
  REQUIRE(admin.patch("/api/v1/users/bob", {{"enabled", true}, {"role", "operator"}}).status == 200);
  CHECK(refresh_status(p, r5) == 200);
  CHECK(refresh_status(p, walt.refresh) == 200);
}

TEST_CASE("users over REST: every change and refusal is audited, without secrets", "[users]") {
  seeded_db db{{"ada", auth::role::admin}};
  test_node node{{"db.url", db.url()}};
  auto p = node.port();
  auto admin = as(p, "ada");
  REQUIRE(admin.post("/api/v1/users", {{"name", "bob"}, {"password", password}, {"role", "viewer"}}).status == 201);
  REQUIRE(admin.post("/api/v1/users", {{"name", "bob"}, {"password", other_password}, {"role", "viewer"}}).status
          == 409);
  REQUIRE(admin.post("/api/v1/users", {{"name", "eve"}, {"password", "tiny-pw"}, {"role", "viewer"}}).status == 400);
  REQUIRE(admin.patch("/api/v1/users/bob", {{"role", "operator"}, {"groups", {"north"}}}).status == 200);
  REQUIRE(admin.patch("/api/v1/users/bob", {{"enabled", false}}).status == 200);
  REQUIRE(admin.patch("/api/v1/users/bob", {{"enabled", true}}).status == 200);
  REQUIRE(admin.patch("/api/v1/users/bob", {{"password", other_password}}).status == 200);
  REQUIRE(admin.patch("/api/v1/users/ada", {{"enabled", false}}).status == 409);

  auto check_entry = [](const json& e, const char* outcome) {
    INFO(e.dump());
    CHECK(e["actor"] == "ada");
    CHECK(e["address"] == "127.0.0.1");
    CHECK(e["outcome"] == outcome);
  };
  auto created = audit_entries(admin, "user_created"); // newest first
  REQUIRE(created.size() == 3);
  check_entry(created[2], "ok");
  CHECK(created[2]["detail"]["user"] == "bob");
  CHECK(created[2]["detail"]["new"] == json{{"role", "viewer"}, {"groups", json::array()}});
  check_entry(created[1], "refused");
  CHECK(created[1]["detail"]["reason"] == "conflict");
  check_entry(created[0], "refused");
  CHECK(created[0]["detail"]["user"] == "eve");
  CHECK(created[0]["detail"]["field"] == "password");

  auto changed = audit_entries(admin, "user_changed");
  REQUIRE(changed.size() == 1);
  check_entry(changed[0], "ok");
  CHECK(changed[0]["detail"]["user"] == "bob");
  CHECK(changed[0]["detail"]["old"] == json{{"role", "viewer"}, {"groups", json::array()}});
  CHECK(changed[0]["detail"]["new"] == json{{"role", "operator"}, {"groups", {"north"}}});

  auto disabled = audit_entries(admin, "user_disabled");
  REQUIRE(disabled.size() == 2);
  check_entry(disabled[1], "ok");
  CHECK(disabled[1]["detail"]["user"] == "bob");
  check_entry(disabled[0], "refused");
  CHECK(disabled[0]["detail"]["user"] == "ada");
  CHECK(disabled[0]["detail"]["reason"] == "last_admin");

  auto enabled = audit_entries(admin, "user_enabled");
  REQUIRE(enabled.size() == 1);
  check_entry(enabled[0], "ok");
  CHECK(enabled[0]["detail"]["user"] == "bob");

  auto passwords = audit_entries(admin, "password_changed");
  REQUIRE(passwords.size() == 1);
  check_entry(passwords[0], "ok");
  CHECK(passwords[0]["detail"]["user"] == "bob");

  auto everything = admin.get("/api/v1/audit?limit=1000");
  REQUIRE(everything.status == 200);
  for (auto secret : {password, other_password, "tiny-pw", "argon2"})
    CHECK(everything.body.find(secret) == std::string::npos);
}
