// Logging in over HTTP against a node: access tokens that verify with the node's published keys, and the same
// refusal for an unknown user and a wrong password.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/pqxx>
#include <unistd.h>

#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "auth/keys.hpp"
#include "auth/keys_cli.hpp"
#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/client.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

constexpr const char* password = "correct horse battery staple";

json login(std::uint16_t port, const std::string& name, const std::string& pw, int& status) {
  auto r = http_request(port, "POST", "/api/v1/auth/login", json{{"name", name}, {"password", pw}}.dump());
  status = r.status;
  return json::parse(r.body);
}

} // namespace

TEST_CASE("login returns an access token that verifies with the node's JWKS keys", "[login]") {
  test_node node;
  {
    pqxx::connection conn{node.db_url()};
    runtime::migrate(conn, "auth");
    auth::create_user(conn, "olga", password, auth::role::operator_, {"alpha", "beta"});
  }
  int status = 0;
  auto ok = login(node.port(), "olga", password, status);
  REQUIRE(status == 200);
  CHECK(ok["token_type"] == "Bearer");
  CHECK(ok["expires_in"] == 900);
  auto token = ok["access_token"].get<std::string>();

  auto ring = auth::key_ring::load_directory((node.data_dir() / "keys").string());
  auth::verify_options opts;
  opts.iss = "dccs";
  opts.aud = "dccs-api";
  auto v = auth::verify(ring, token, opts);
  INFO(v.reason);
  REQUIRE(v.ok());
  CHECK(v.value.sub == "olga");
  CHECK(v.value.role == "operator");
  CHECK(v.value.groups == std::vector<std::string>{"alpha", "beta"});
  CHECK(v.value.exp - v.value.iat == 900);

  // The published JWKS holds the key that signed it (its kid), public parts only.
  auto jwks = http_get(node.port(), "/.well-known/jwks.json");
  REQUIRE(jwks.status == 200);
  CHECK(jwks.content_type == "application/jwk-set+json");
  auto header = json::parse(*auth::base64url_decode(token.substr(0, token.find('.'))));
  bool found = false;
  auto keys = json::parse(jwks.body)["keys"];
  for (auto& k : keys) {
    CHECK_FALSE(k.contains("d"));
    found = found || k["kid"] == header["kid"];
  }
  CHECK(found);
}

TEST_CASE("login refuses an unknown user and a wrong password with the same answer", "[login]") {
  test_node node;
  {
    pqxx::connection conn{node.db_url()};
    runtime::migrate(conn, "auth");
    auth::create_user(conn, "vera", password, auth::role::viewer, {});
    auth::create_user(conn, "gone", password, auth::role::viewer, {});
    auth::set_enabled(conn, "gone", false);
  }
  int s1 = 0, s2 = 0, s3 = 0;
  auto wrong = login(node.port(), "vera", "not the password at all", s1);
  auto unknown = login(node.port(), "nobody", password, s2);
  auto disabled = login(node.port(), "gone", password, s3);
  CHECK(s1 == 401);
  CHECK(s2 == 401);
  CHECK(s3 == 401);
  CHECK(wrong == unknown);
  CHECK(wrong == disabled);
  CHECK(wrong["error"]["code"] == "invalid_credentials");

  auto bad = http_request(node.port(), "POST", "/api/v1/auth/login", "{\"name\": 5}");
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["error"]["code"] == "malformed");
  CHECK(http_get(node.port(), "/api/v1/auth/login").status == 405);
}

TEST_CASE("signing keys: production refuses to start without one, development makes one, keys generate adds one",
          "[keys]") {
  auto dir = std::filesystem::temp_directory_path() / ("dccs-keys-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  runtime::config cfg;
  std::string error;
  REQUIRE(cfg.set("auth.keys_dir", dir.string(), error));
  REQUIRE(cfg.set("node.mode", "production", error));
  CHECK_THROWS_WITH(auth::load_node_keys(cfg), Catch::Contains("dccs keys generate"));
  CHECK_FALSE(std::filesystem::exists(dir)); // nothing was made
  REQUIRE(cfg.set("node.mode", "development", error));
  auto dev = auth::load_node_keys(cfg);
  REQUIRE(dev.size() == 1);
  CHECK((std::filesystem::status(dir).permissions() & std::filesystem::perms::others_all)
        == std::filesystem::perms::none);
  std::string kid;
  auth::generate_key_file(dir.string(), kid);
  REQUIRE(cfg.set("node.mode", "production", error));
  auto ring = auth::load_node_keys(cfg);
  CHECK(ring.size() == 2);
  REQUIRE(ring.signer() != nullptr);
  std::filesystem::remove_all(dir);
}

TEST_CASE("refresh over HTTP: single use, a spent token revokes its family, every step audited", "[login]") {
  test_node node;
  {
    pqxx::connection conn{node.db_url()};
    runtime::migrate(conn, "auth");
    auth::create_user(conn, "rita", password, auth::role::viewer, {"alpha"});
  }
  auto p = node.port();
  int status = 0;
  auto first = login(p, "rita", password, status);
  REQUIRE(status == 200);
  auto r1 = first["refresh_token"].get<std::string>();
  auto refresh = [&](const std::string& token) {
    auto r = http_request(p, "POST", "/api/v1/auth/refresh", json{{"refresh_token", token}}.dump());
    status = r.status;
    return json::parse(r.body);
  };
  auto second = refresh(r1);
  REQUIRE(status == 200);
  auto r2 = second["refresh_token"].get<std::string>();
  CHECK(r2 != r1);
  CHECK(second["access_token"].is_string());
  CHECK(second["refresh_expires_at"] == first["refresh_expires_at"]); // rotation keeps the absolute lifetime
  // r1 again: a stolen token. Refused, and its family (r2 too) is revoked.
  CHECK(refresh(r1)["error"]["code"] == "invalid_token");
  CHECK(status == 401);
  refresh(r2);
  CHECK(status == 401);
  refresh("not-a-token");
  CHECK(status == 401);
  login(p, "rita", "wrong password, long enough", status);
  CHECK(status == 401);

  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  auto count = [&](const std::string& action, const std::string& outcome) {
    return tx.exec1("SELECT count(*) FROM auth.audit WHERE actor = 'rita' AND action = " + tx.quote(action)
                    + " AND outcome = " + tx.quote(outcome))[0].as<int>();
  };
  CHECK(count("login", "ok") == 1);
  CHECK(count("refresh", "ok") == 1);
  CHECK(count("refresh_reused", "refused") == 1);
  CHECK(count("token_refused", "refused") == 1); // r2, revoked with its family
  CHECK(count("login_failed", "refused") == 1);
  // Nothing secret in the audit trail.
  auto all = tx.exec1("SELECT string_agg(detail::text || actor || address, ' ') FROM auth.audit")[0].as<std::string>();
  CHECK(all.find(r1) == std::string::npos);
  CHECK(all.find(password) == std::string::npos);
}

TEST_CASE("GET /api/v1/audit: admins only, filters, and refused tokens are audited", "[login]") {
  test_node node;
  {
    pqxx::connection conn{node.db_url()};
    runtime::migrate(conn, "auth");
    auth::create_user(conn, "ada", password, auth::role::admin, {});
    auth::create_user(conn, "otto", password, auth::role::operator_, {"alpha"});
  }
  auto p = node.port();
  int status = 0;
  auto admin_token = login(p, "ada", password, status)["access_token"].get<std::string>();
  REQUIRE(status == 200);
  auto operator_token = login(p, "otto", password, status)["access_token"].get<std::string>();
  REQUIRE(status == 200);
  login(p, "otto", "not otto's password at all", status);
  REQUIRE(status == 401);
  auto get = [&](const std::string& target, const std::string& token) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty())
      headers.emplace_back("Authorization", "Bearer " + token);
    return http_request(p, "GET", target, {}, headers);
  };
  CHECK(get("/api/v1/audit", "").status == 401);
  CHECK(get("/api/v1/audit", operator_token).status == 403);
  auto tampered = admin_token;
  tampered[tampered.find('.') + 5] ^= 1; // one payload character changed
  CHECK(get("/api/v1/audit", tampered).status == 401);
  auto all = get("/api/v1/audit", admin_token);
  REQUIRE(all.status == 200);
  auto failed = json::parse(get("/api/v1/audit?actor=otto&action=login_failed", admin_token).body);
  REQUIRE(failed["entries"].size() == 1);
  CHECK(failed["entries"][0]["outcome"] == "refused");
  CHECK(failed["entries"][0]["address"] == "127.0.0.1");
  // The tampered token was refused and audited (the audit write is asynchronous: poll).
  auto refused = [&] {
    return json::parse(get("/api/v1/audit?action=token_refused", admin_token).body)["entries"].size();
  };
  for (int i = 0; i < 200 && refused() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(refused() == 1);
  auto page1 = json::parse(get("/api/v1/audit?limit=2", admin_token).body);
  REQUIRE(page1["entries"].size() == 2);
  REQUIRE(page1["next_before"].is_number());
  auto page2 = json::parse(
    get("/api/v1/audit?limit=2&before=" + std::to_string(page1["next_before"].get<long long>()), admin_token).body);
  REQUIRE_FALSE(page2["entries"].empty());
  CHECK(page2["entries"][0]["id"].get<long long>() < page1["entries"][1]["id"].get<long long>());
  auto bad = get("/api/v1/audit?bogus=1", admin_token);
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["error"]["parameter"] == "bogus");
  CHECK(get("/api/v1/audit?outcome=maybe", admin_token).status == 400);
  auto twice = get("/api/v1/audit?action=login&action=logout", admin_token);
  CHECK(twice.status == 400);
  CHECK(json::parse(twice.body)["error"]["parameter"] == "action");
  // Strict integers (no saturation), text without NUL and valid UTF-8, names included: a 400 naming it.
  for (auto [query, parameter] : std::vector<std::pair<std::string, std::string>>{
         {"before=99999999999999999999", "before"}, {"limit=99999999999999999999", "limit"}, {"limit=%2B2", "limit"},
         {"before=", "before"}, {"actor=%00", "actor"}, {"actor=%C3%28", "actor"}, {"%C3%28=1", "%C3%28"},
         {"\xC3(=1", "%C3("}}) {
    auto r = get("/api/v1/audit?" + query, admin_token);
    INFO(query << " -> " << r.body);
    CHECK(r.status == 400);
    auto body = json::parse(r.body, nullptr, false);
    REQUIRE(body.is_object());
    CHECK(body["error"]["parameter"] == parameter);
  }
  CHECK(get("/api/v1/audit", admin_token).status == 200); // the service is still there
}
