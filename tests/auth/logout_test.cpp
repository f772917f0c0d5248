// Logout over HTTP (POST /api/v1/auth/logout): the caller's refresh token family is revoked, another user's token
// or an unknown one revokes nothing and gets the same answer, a malformed body is refused, and every logout is
// audited.

#include <catch2/catch.hpp>

#include <optional>

#include <pqxx/pqxx>

#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/client.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

constexpr const char* password = "correct horse battery staple";

struct login_tokens {
  std::string access;
  std::string refresh;
};

login_tokens login(std::uint16_t port, const std::string& name) {
  auto r = http_request(port, "POST", "/api/v1/auth/login", json{{"name", name}, {"password", password}}.dump());
  INFO("login " << name << ": " << r.body);
  REQUIRE(r.status == 200);
  auto j = r.json();
  return {j["access_token"].get<std::string>(), j["refresh_token"].get<std::string>()};
}

http_result logout(std::uint16_t port, const std::string& access, const std::string& body) {
  return http_request(port, "POST", "/api/v1/auth/logout", body, {{"Authorization", "Bearer " + access}});
}

/// A refresh; the new pair, or nothing when refused (401).
std::optional<login_tokens> refresh(std::uint16_t port, const std::string& token) {
  auto r = http_request(port, "POST", "/api/v1/auth/refresh", json{{"refresh_token", token}}.dump());
  if (r.status == 401)
    return std::nullopt;
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto j = r.json();
  return login_tokens{j["access_token"].get<std::string>(), j["refresh_token"].get<std::string>()};
}

/// The logout rows of the audit log, oldest first: (actor, detail).
std::vector<std::pair<std::string, json>> logouts(const std::string& db_url) {
  pqxx::connection conn{db_url};
  pqxx::work tx{conn};
  std::vector<std::pair<std::string, json>> out;
  for (const auto& r : tx.exec("SELECT actor, detail::text FROM auth.audit WHERE action = 'logout' AND outcome = 'ok'"
                               " ORDER BY id"))
    out.emplace_back(r[0].as<std::string>(), json::parse(r[1].as<std::string>()));
  return out;
}

void add_users(const std::string& db_url) {
  pqxx::connection conn{db_url};
  runtime::migrate(conn, "auth");
  auth::create_user(conn, "vera", password, auth::role::viewer, {});
  auth::create_user(conn, "walt", password, auth::role::viewer, {});
}

} // namespace

TEST_CASE("logout revokes the caller's refresh family and is audited", "[logout]") {
  test_node node;
  add_users(node.db_url());
  auto p = node.port();
  auto first = login(p, "vera");
  auto rotated = refresh(p, first.refresh); // the same family, one rotation on
  REQUIRE(rotated);
  auto other_login = login(p, "vera"); // another family (another device)

  auto r = logout(p, rotated->access, json{{"refresh_token", rotated->refresh}}.dump());
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK_FALSE(refresh(p, rotated->refresh)); // the family is over
  CHECK_FALSE(refresh(p, first.refresh));
  CHECK(refresh(p, other_login.refresh)); // the other login goes on

  auto rows = logouts(node.db_url());
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].first == "vera");
  CHECK(rows[0].second["family_revoked"] == true);
  CHECK(rows[0].second["family"].is_string());
  // No token in the audit trail.
  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  auto all = tx.exec1("SELECT string_agg(detail::text, ' ') FROM auth.audit")[0].as<std::string>();
  CHECK(all.find(rotated->refresh) == std::string::npos);
  CHECK(all.find(rotated->access) == std::string::npos);
}

TEST_CASE("logout with another user's token, an unknown one or none revokes nothing and answers the same",
          "[logout]") {
  test_node node;
  add_users(node.db_url());
  auto p = node.port();
  auto walt = login(p, "walt");

  // Each logout ends the access token it came with (the bridge denies it): a new login each time.
  auto foreign = logout(p, login(p, "vera").access, json{{"refresh_token", walt.refresh}}.dump());
  auto unknown = logout(p, login(p, "vera").access, json{{"refresh_token", std::string(43, 'A')}}.dump());
  auto garbage = logout(p, login(p, "vera").access, json{{"refresh_token", "not a token"}}.dump());
  auto empty = logout(p, login(p, "vera").access, "");
  auto empty_object = logout(p, login(p, "vera").access, "{}");
  for (auto* r : {&foreign, &unknown, &garbage, &empty, &empty_object}) {
    CHECK(r->status == 204);
    CHECK(r->body.empty());
  }
  CHECK(refresh(p, walt.refresh)); // walt's login was not touched

  auto rows = logouts(node.db_url());
  REQUIRE(rows.size() == 5);
  for (auto& [actor, detail] : rows) {
    CHECK(actor == "vera");
    CHECK(detail["family_revoked"] == false);
  }
}

TEST_CASE("logout refuses a malformed body and an anonymous caller", "[logout]") {
  test_node node;
  add_users(node.db_url());
  auto p = node.port();
  auto vera = login(p, "vera");
  for (auto body : {"{\"refresh_token\": 5}", "[1]", "not json", "{\"refresh_token\": \"x\", \"all\": true}",
                    "{\"other\": \"x\"}", "\"token\""}) {
    auto r = logout(p, login(p, "vera").access, body);
    INFO(body << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["code"] == "malformed");
  }
  auto anonymous = http_request(p, "POST", "/api/v1/auth/logout", json{{"refresh_token", vera.refresh}}.dump());
  CHECK(anonymous.status == 401);
  CHECK(refresh(p, vera.refresh)); // nothing was revoked
  CHECK(http_request(p, "GET", "/api/v1/auth/logout", "", {{"Authorization", "Bearer " + vera.access}}).status == 405);
  CHECK(logouts(node.db_url()).empty());
}
