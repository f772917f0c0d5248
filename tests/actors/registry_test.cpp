// The registry's model without a database: what a POST or PATCH body may hold (actors/registry.hpp) and the
// shape of the registry object that clients read.

#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "actors/registry.hpp"
#include "bridges/api_status.hpp"

using namespace dccs::actors;
using nlohmann::json;

namespace {

/// The refusal of a body: its HTTP status (as the bridge makes it), error code and field.
struct refusal {
  unsigned status = 0;
  std::string code, field;
};

refusal refused(const std::string& body, bool creating) {
  registry_input in;
  auto error = parse_input(body, creating, in);
  REQUIRE(error);
  auto p = problem_of(*error);
  REQUIRE(p);
  CHECK(!p->message.empty());
  CHECK((p->key.empty() ? p->value.empty() : p->key == "field"));
  return {dccs::bridges::status_of(p->kind), p->code, p->value};
}

void check_invalid(const json& body, const std::string& field, bool creating = true) {
  INFO(body.dump());
  auto r = refused(body.dump(), creating);
  CHECK(r.status == 400);
  CHECK(r.code == "invalid_field");
  CHECK(r.field == field);
}

/// A registry row as a drone registered in group red reporting model X8, firmware 1.2 has it.
registry_row red_x8(const std::string& id) {
  registry_row r;
  r.id = id;
  r.model = "X8";
  r.firmware = "1.2";
  r.group = "red";
  return r;
}

} // namespace

TEST_CASE("registry input: a body that is not a JSON object is malformed") {
  for (const char* body : {"", "{", "[]", "\"id\"", "42", "null"}) {
    INFO(body);
    auto r = refused(body, true);
    CHECK(r.status == 400);
    CHECK(r.code == "malformed");
    CHECK(r.field.empty());
  }
}

TEST_CASE("registry input: each bad field is refused, naming the field") {
  check_invalid({{"name", "x"}}, "id"); // creating needs an id
  check_invalid({{"id", ""}}, "id");
  check_invalid({{"id", "has space"}}, "id");
  check_invalid({{"id", std::string(65, 'a')}}, "id");
  check_invalid({{"id", 7}}, "id");
  check_invalid({{"id", "d-1"}, {"group", "red team"}}, "group");
  check_invalid({{"id", "d-1"}, {"name", std::string(129, 'n')}}, "name");
  check_invalid({{"id", "d-1"}, {"name", 3}}, "name");
  check_invalid({{"id", "d-1"}, {"name", std::string("a\0b", 3)}}, "name"); // PostgreSQL's text holds no NUL
  check_invalid({{"id", "d-1"}, {"model", std::string(65, 'm')}}, "model");
  check_invalid({{"id", "d-1"}, {"firmware", std::string(65, 'f')}}, "firmware");
  check_invalid({{"id", "d-1"}, {"home", "here"}}, "home");
  check_invalid({{"id", "d-1"}, {"home", {{"lat", 1}}}}, "home");
  check_invalid({{"id", "d-1"}, {"home", {{"lat", 91}, {"lon", 0}}}}, "home.lat");
  check_invalid({{"id", "d-1"}, {"home", {{"lat", 0}, {"lon", -181}}}}, "home.lon");
  check_invalid({{"id", "d-1"}, {"home", {{"lat", 0}, {"lon", 0}, {"alt", 100001}}}}, "home.alt");
  check_invalid({{"id", "d-1"}, {"home", {{"lat", 0}, {"lon", 0}, {"height", 1}}}}, "home.height");
  check_invalid({{"id", "d-1"}, {"home", {{"lat", "0"}, {"lon", 0}}}}, "home.lat");
  check_invalid({{"id", "d-1"}, {"metadata", json::array()}}, "metadata");
  check_invalid({{"id", "d-1"}, {"metadata", {{"k", std::string("a\0", 2)}}}}, "metadata");
  check_invalid({{"id", "d-1"}, {"metadata", {{"k", std::string(16400, 'x')}}}}, "metadata");
  check_invalid({{"id", "d-1"}, {"colour", "red"}}, "colour");
  // A PATCH cannot rename a drone.
  check_invalid({{"id", "d-2"}}, "id", false);
}

TEST_CASE("registry input: lengths count characters, not bytes") {
  registry_input in;
  std::string name;
  for (int i = 0; i < 128; ++i)
    name += "\xc3\xa9"; // é: 128 characters, 256 bytes
  CHECK_FALSE(parse_input(json{{"id", "d-1"}, {"name", name}}.dump(), true, in));
  CHECK(in.name == name);
}

TEST_CASE("registry input: a valid body sets exactly the fields it names") {
  registry_input in;
  auto err = parse_input(R"({"id":"d-1","group":"red","home":{"lat":45.5,"lon":-73.5},"metadata":{"k":[1,2]}})",
                         true, in);
  REQUIRE_FALSE(err);
  CHECK(in.id == "d-1");
  CHECK(in.group == "red");
  CHECK_FALSE(in.name);
  CHECK_FALSE(in.model);
  CHECK(in.has_home);
  CHECK(in.home_lat == 45.5);
  CHECK(in.home_lon == -73.5);
  CHECK_FALSE(in.home_alt);
  CHECK(json::parse(*in.metadata) == json{{"k", {1, 2}}});

  registry_input clear;
  REQUIRE_FALSE(parse_input(R"({"home":null})", false, clear));
  CHECK(clear.has_home); // null clears the home position
  CHECK_FALSE(clear.home_lat);
  CHECK_FALSE(clear.id);
}

TEST_CASE("registry object: the shape a client reads, never the secret's hash") {
  auto r = red_x8("d-1");
  r.name = "Scout";
  r.credential = "active";
  r.secret_hash = std::string(64, 'a');
  r.metadata = R"({"team":"north"})";
  r.created_ms = 1700000000123;
  auto j = registry_json(r);
  CHECK(j["id"] == "d-1");
  CHECK(j["name"] == "Scout");
  CHECK(j["model"] == "X8");
  CHECK(j["firmware"] == "1.2");
  CHECK(j["group"] == "red");
  CHECK(j["credential"] == "active");
  CHECK(j["metadata"] == json{{"team", "north"}});
  CHECK(j["created_at"] == "2023-11-14T22:13:20.123Z");
  CHECK(j["home"].is_null());
  CHECK(j["last_seen"].is_null()); // never seen
  CHECK(j.dump().find(r.secret_hash) == std::string::npos);
  CHECK_FALSE(j.contains("secret_hash"));

  r.home_lat = 45.5;
  r.home_lon = -73.5;
  r.last_seen_ms = 1700000001000;
  j = registry_json(r);
  CHECK(j["home"] == json{{"lat", 45.5}, {"lon", -73.5}, {"alt", nullptr}});
  CHECK(j["last_seen"] == "2023-11-14T22:13:21.000Z");
  r.home_alt = 120;
  CHECK(registry_json(r)["home"]["alt"] == 120);
}

TEST_CASE("registry placeholder: a drone known only to the registry shows as not connected, link lost") {
  auto r = red_x8("d-1");
  r.last_seen_ms = 1700000001000;
  auto ds = placeholder(r);
  CHECK(ds.info.id == "d-1");
  CHECK(ds.info.model == "X8");
  CHECK(ds.info.fw == "1.2");
  CHECK(ds.info.group == "red");
  CHECK_FALSE(ds.connected);
  CHECK(ds.status == link_status::lost);
  CHECK(ds.last_seen == 1700000001000);
  CHECK_FALSE(ds.has_telemetry);
}
