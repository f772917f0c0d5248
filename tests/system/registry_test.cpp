// The drone registry over real sockets: REST CRUD and validation of /api/v1/drones, the admission policy at
// hello, last_seen written to PostgreSQL, and a restarted node restoring the fleet from Redis and the
// registry. Nodes run in-process against a real PostgreSQL (a scratch database per node; the test command
// starts a throwaway server with pg_virtualenv) and, where needed, a throwaway redis-server of their own.

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "runtime/redis.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

constexpr const char* drones_path = "/api/v1/drones";

/// A request with a JSON body, made as an admin of `node`.
http_result send_json(const test_node& node, const std::string& method, const std::string& target, const json& body) {
  return http_request(node.port(), method, target, body.dump(), node.admin());
}

std::string drone_path(const std::string& id) {
  return std::string{drones_path} + "/" + id;
}

/// A 400 whose JSON error names `field`.
void check_field_error(const http_result& r, const std::string& field) {
  INFO("field " << field << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 400);
  CHECK(r.content_type == "application/json");
  auto e = r.json()["error"];
  CHECK(e["code"] == "invalid_field");
  CHECK(e["message"].is_string());
  CHECK(e.value("field", "") == field);
}

/// The row of fleet.drones for `id` as JSON (row_to_json), or null when there is none.
json db_row(const std::string& url, const std::string& id) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  auto rows = tx.exec_params("SELECT row_to_json(d)::text FROM fleet.drones d WHERE id = $1", id);
  if (rows.empty())
    return nullptr;
  return json::parse(rows[0][0].as<std::string>());
}

/// Every row of fleet.drones, in id order, as one JSON text.
std::string db_dump(const std::string& url) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  return tx.exec1("SELECT coalesce(json_agg(d ORDER BY d.id)::text, '[]') FROM fleet.drones d")[0].as<std::string>();
}

/// Whether the node has migrated its database (the fleet schema exists).
bool registry_ready(const std::string& url) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  return !tx.exec1("SELECT to_regclass('fleet.drones') IS NULL")[0].as<bool>();
}

/// The drone with `id` in a GET /api/v1/drones answer, or null.
json find_drone(const json& list, const std::string& id) {
  for (auto& d : list["drones"])
    if (d["id"] == id)
      return d;
  return nullptr;
}

/// One request on a new connection; returns (status, Allow header).
std::pair<int, std::string> status_and_allow(const test_node& node, const std::string& method, const std::string& target) {
  auto port = node.port();
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket sock{ioc};
  sock.connect({net::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  req.set(http::field::authorization, node.admin().front().second);
  req.prepare_payload();
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return {static_cast<int>(res.result_int()), std::string{res[http::field::allow]}};
}

} // namespace

TEST_CASE("registry CRUD: create, read, change, clear home, delete, a second create of an id is a conflict") {
  test_node node;
  auto p = node.port();
  json home{{"lat", 47.5}, {"lon", 8.25}, {"alt", 410.5}};
  json metadata{{"team", "north"}, {"tags", {"survey", "night"}}, {"serial", 1234}};
  auto created = send_json(node, "POST", drones_path,
                           {{"id", "reg-1"}, {"name", "Alpha"}, {"model", "X8"}, {"firmware", "4.2.0"},
                            {"home", home}, {"metadata", metadata}});
  INFO(created.body);
  REQUIRE(created.status == 201);
  CHECK(created.content_type == "application/json");
  auto c = created.json();
  // The drone's secret is in this answer only (docs/security.md, drone credentials).
  REQUIRE(c["secret"].is_string());
  CHECK(c["credential"] == "active");
  c.erase("secret");
  CHECK(c["id"] == "reg-1");
  CHECK(c["name"] == "Alpha");
  CHECK(c["model"] == "X8");
  CHECK(c["firmware"] == "4.2.0");
  CHECK(c["home"] == home);
  CHECK(c["metadata"] == metadata);
  REQUIRE(c["created_at"].is_string());
  auto created_at = c["created_at"].get<std::string>();
  CHECK(created_at.size() == 24); // 2026-11-26T10:00:00.000Z
  CHECK(created_at.back() == 'Z');
  CHECK(c["last_seen"].is_null());

  auto got = http_get(p, drone_path("reg-1"), node.admin());
  INFO(got.body);
  REQUIRE(got.status == 200);
  auto g = got.json();
  CHECK(g["id"] == "reg-1");
  CHECK(g["registered"] == true);
  CHECK(g["connected"] == false);
  REQUIRE(g["registry"].is_object());
  CHECK(g["registry"] == c);

  // The list has it too, registered.
  auto listed = find_drone(http_get(p, drones_path, node.admin()).json(), "reg-1");
  REQUIRE(listed.is_object());
  CHECK(listed["registered"] == true);
  CHECK(listed["registry"]["name"] == "Alpha");

  // PATCH changes what it names and keeps the rest.
  json new_home{{"lat", -33.85}, {"lon", 151.2}};
  auto patched = send_json(node, "PATCH", drone_path("reg-1"),
                           {{"name", "Beta"}, {"metadata", {{"team", "south"}}}, {"home", new_home}});
  INFO(patched.body);
  REQUIRE(patched.status == 200);
  auto pj = patched.json();
  CHECK(pj["name"] == "Beta");
  CHECK(pj["model"] == "X8");
  CHECK(pj["firmware"] == "4.2.0");
  CHECK(pj["metadata"] == json{{"team", "south"}});
  CHECK(pj["home"]["lat"] == -33.85);
  CHECK(pj["home"]["lon"] == 151.2);
  CHECK(pj["home"]["alt"].is_null());
  CHECK(pj["created_at"] == created_at);
  CHECK(http_get(p, drone_path("reg-1"), node.admin()).json()["registry"] == pj);
  auto row = db_row(node.db_url(), "reg-1");
  INFO(row.dump());
  CHECK(row["name"] == "Beta");
  CHECK(row["home_lat"] == -33.85);
  CHECK(row["home_alt"].is_null());
  CHECK(row["metadata"] == json{{"team", "south"}});

  // home: null clears it; nothing else changes.
  auto cleared = http_request(p, "PATCH", drone_path("reg-1"), R"({"home":null})", node.admin());
  INFO(cleared.body);
  REQUIRE(cleared.status == 200);
  CHECK(cleared.json()["home"].is_null());
  CHECK(cleared.json()["name"] == "Beta");
  CHECK(http_get(p, drone_path("reg-1"), node.admin()).json()["registry"]["home"].is_null());
  row = db_row(node.db_url(), "reg-1");
  CHECK(row["home_lat"].is_null());
  CHECK(row["home_lon"].is_null());
  CHECK(row["name"] == "Beta");

  // PATCH of an unknown drone: 404.
  CHECK(send_json(node, "PATCH", drone_path("ghost"), {{"name", "x"}}).status == 404);

  // A second POST of the same id: 409 naming the id, and the row is unchanged.
  auto again = send_json(node, "POST", drones_path, {{"id", "reg-1"}, {"name", "Impostor"}});
  INFO(again.body);
  CHECK(again.status == 409);
  CHECK(again.json()["error"]["code"] == "conflict");
  CHECK(again.json()["error"]["field"] == "id");
  CHECK(db_row(node.db_url(), "reg-1")["name"] == "Beta");

  // A minimal POST: defaults.
  auto minimal = send_json(node, "POST", drones_path, {{"id", "reg-2"}});
  INFO(minimal.body);
  REQUIRE(minimal.status == 201);
  auto m = minimal.json();
  CHECK(m["name"] == "");
  CHECK(m["model"] == "");
  CHECK(m["home"].is_null());
  CHECK(m["metadata"] == json::object());
  CHECK(m["last_seen"].is_null());
  // Its operator view: never seen is null, not 0 (1970).
  auto view = http_get(p, drone_path("reg-2"), node.admin());
  REQUIRE(view.status == 200);
  CHECK(view.json()["registered"] == true);
  CHECK(view.json()["last_seen"].is_null());

  // DELETE: 204, then 404 on GET and on a second DELETE; the row is gone.
  auto deleted = http_request(p, "DELETE", drone_path("reg-1"), {}, node.admin());
  CHECK(deleted.status == 204);
  CHECK(deleted.body.empty());
  auto gone = http_get(p, drone_path("reg-1"), node.admin());
  CHECK(gone.status == 404);
  CHECK(gone.json()["error"]["code"] == "not_found");
  CHECK(http_request(p, "DELETE", drone_path("reg-1"), {}, node.admin()).status == 404);
  CHECK(db_row(node.db_url(), "reg-1").is_null());
  CHECK(find_drone(http_get(p, drones_path, node.admin()).json(), "reg-1").is_null());
  CHECK(db_row(node.db_url(), "reg-2").is_object());
}

TEST_CASE("registry validation: each bad request is a 400 naming the field, and the database is unchanged") {
  test_node node;
  auto p = node.port();
  REQUIRE(send_json(node, "POST", drones_path,
                    {{"id", "val-1"}, {"name", "Keep"}, {"home", {{"lat", 1.0}, {"lon", 2.0}, {"alt", 3.0}}},
                     {"metadata", {{"k", "v"}}}})
            .status == 201);
  REQUIRE(registry_ready(node.db_url()));
  auto before = db_dump(node.db_url());
  INFO("registry before: " << before);

  SECTION("malformed bodies") {
    for (auto* body : {"{not json", "[1,2,3]", "\"val-9\"", "42"}) {
      for (auto* method : {"POST", "PATCH"}) {
        auto r = http_request(p, method, std::string{method} == "POST" ? drones_path : drone_path("val-1"), body, node.admin());
        INFO(method << " " << body << ": " << r.status << " " << r.body);
        CHECK(r.status == 400);
        CHECK(r.json()["error"]["code"] == "malformed");
      }
    }
  }

  SECTION("bad POST fields") {
    std::vector<std::pair<json, std::string>> cases{
      {{{"name", "no id"}}, "id"},
      {json::object(), "id"},
      {{{"id", "bad id!"}}, "id"},
      {{{"id", "caf\xc3\xa9"}}, "id"},
      {{{"id", ""}}, "id"},
      {{{"id", std::string(65, 'a')}}, "id"},
      {{{"id", 42}}, "id"},
      {{{"id", "val-9"}, {"colour", "red"}}, "colour"},
      {{{"id", "val-9"}, {"home", {{"lat", 91}, {"lon", 0}}}}, "home.lat"},
      {{{"id", "val-9"}, {"home", {{"lat", -90.5}, {"lon", 0}}}}, "home.lat"},
      {{{"id", "val-9"}, {"home", {{"lat", 0}, {"lon", -181}}}}, "home.lon"},
      {{{"id", "val-9"}, {"home", {{"lat", 0}}}}, "home"},
      {{{"id", "val-9"}, {"home", {{"lon", 0}}}}, "home"},
      {{{"id", "val-9"}, {"home", "here"}}, "home"},
      {{{"id", "val-9"}, {"home", {{"lat", "47"}, {"lon", 8}}}}, "home.lat"},
      {{{"id", "val-9"}, {"home", {{"lat", 47}, {"lon", 8}, {"height", 1}}}}, "home.height"},
      {{{"id", "val-9"}, {"home", {{"lat", 47}, {"lon", 8}, {"alt", 200000}}}}, "home.alt"},
      {{{"id", "val-9"}, {"metadata", "x"}}, "metadata"},
      {{{"id", "val-9"}, {"metadata", {1, 2}}}, "metadata"},
      {{{"id", "val-9"}, {"metadata", nullptr}}, "metadata"},
      {{{"id", "val-9"}, {"name", std::string(129, 'n')}}, "name"},
      {{{"id", "val-9"}, {"name", 5}}, "name"},
      {{{"id", "val-9"}, {"name", nullptr}}, "name"},
      {{{"id", "val-9"}, {"model", true}}, "model"},
      {{{"id", "val-9"}, {"model", std::string(65, 'm')}}, "model"},
      {{{"id", "val-9"}, {"firmware", {{"v", 1}}}}, "firmware"},
    };
    for (auto& [body, field] : cases) {
      INFO("POST " << body.dump());
      check_field_error(send_json(node, "POST", drones_path, body), field);
    }
  }

  SECTION("bad PATCH fields") {
    std::vector<std::pair<json, std::string>> cases{
      {{{"id", "val-2"}}, "id"},
      {{{"id", "val-1"}}, "id"},
      {{{"name", "ok"}, {"colour", "red"}}, "colour"},
      {{{"name", std::string(129, 'n')}}, "name"},
      {{{"name", 5}}, "name"},
      {{{"home", {{"lat", 91}, {"lon", 0}}}}, "home.lat"},
      {{{"home", {{"lat", 0}, {"lon", -181}}}}, "home.lon"},
      {{{"home", {{"lat", 0}}}}, "home"},
      {{{"metadata", "x"}}, "metadata"},
      {{{"metadata", {1}}}, "metadata"},
      {{{"firmware", 1.5}}, "firmware"},
    };
    for (auto& [body, field] : cases) {
      INFO("PATCH " << body.dump());
      check_field_error(send_json(node, "PATCH", drone_path("val-1"), body), field);
    }
  }

  SECTION("wrong methods are 405 with an Allow header") {
    for (auto* m : {"PUT", "PATCH", "DELETE"}) {
      auto [status, allow] = status_and_allow(node, m, drones_path);
      INFO(m << " " << drones_path);
      CHECK(status == 405);
      CHECK(allow == "GET, HEAD, POST");
    }
    for (auto* m : {"PUT", "POST"}) {
      auto [status, allow] = status_and_allow(node, m, drone_path("val-1"));
      INFO(m << " " << drone_path("val-1"));
      CHECK(status == 405);
      CHECK(allow == "GET, HEAD, PATCH, DELETE");
    }
  }

  CHECK(db_dump(node.db_url()) == before);
  auto got = http_get(p, drone_path("val-1"), node.admin()).json()["registry"];
  CHECK(got["name"] == "Keep");
  CHECK(got["home"] == json{{"lat", 1.0}, {"lon", 2.0}, {"alt", 3.0}});
  CHECK(got["metadata"] == json{{"k", "v"}});

  // The limits themselves are accepted.
  auto edge = send_json(node, "POST", drones_path,
                        {{"id", std::string(64, 'e')}, {"name", std::string(128, 'n')},
                         {"home", {{"lat", -90}, {"lon", 180}, {"alt", -1000}}}});
  INFO(edge.body);
  CHECK(edge.status == 201);
}

TEST_CASE("fleet.unregistered=refuse: an unregistered drone is refused (4001) until it is registered") {
  test_node node{{"fleet.unregistered", "refuse"}};
  auto p = node.port();
  CHECK(hello_close_code(p, "pol-1") == 4001);
  REQUIRE(registry_ready(node.db_url()));
  CHECK(db_row(node.db_url(), "pol-1").is_null());
  CHECK(node.metric("dccs_drones_refused_total") == 1);
  CHECK(node.metric("dccs_drones_registered_total") == 0);
  CHECK(http_get(p, drone_path("pol-1"), node.admin()).status == 404);

  auto created = send_json(node, "POST", drones_path, {{"id", "pol-1"}, {"name", "Allowed"}});
  REQUIRE(created.status == 201);
  auto secret = created.json()["secret"].get<std::string>();
  auto drone = connect_drone(p, "pol-1", secret); // throws unless welcomed
  // The registry keeps model and firmware as the drone reports them at hello (written just after the welcome).
  json row;
  CHECK(eventually([&] {
    row = db_row(node.db_url(), "pol-1");
    return row["model"] == "test-quad";
  }));
  INFO(row.dump());
  CHECK(row["model"] == "test-quad");
  CHECK(row["firmware"] == "1.2.3");
  CHECK(row["name"] == "Allowed");
  CHECK(http_get(p, drone_path("pol-1"), node.admin()).json()["connected"] == true);

  // Removing it from the registry ends its connection, and it cannot come back.
  CHECK(http_request(p, "DELETE", drone_path("pol-1"), {}, node.admin()).status == 204);
  CHECK(drone->read_until_close() == 4003);
  CHECK(hello_close_code(p, "pol-1", secret) == 4001);
  CHECK(db_row(node.db_url(), "pol-1").is_null());
  CHECK(node.metric("dccs_drones_refused_total") == 2);
}

TEST_CASE("a registered drone whose hello names no model or firmware shows its registry's, live and from REST") {
  test_node node{{"fleet.unregistered", "refuse"}};
  auto p = node.port();
  auto created = send_json(node, "POST", drones_path, {{"id", "bare-1"}, {"model", "X4"}, {"firmware", "2.0"}});
  REQUIRE(created.status == 201);
  ws_client drone{p, "/ws/drone"};
  drone.send(json{{"type", "hello"}, {"drone_id", "bare-1"}, {"secret", created.json()["secret"]}});
  REQUIRE(drone.read_json()["type"] == "welcome");
  auto one = http_get(p, drone_path("bare-1"), node.admin()).json();
  INFO(one.dump());
  CHECK(one["connected"] == true);
  CHECK(one["model"] == "X4");
  CHECK(one["fw"] == "2.0");
  auto list = http_get(p, drones_path, node.admin()).json();
  auto listed = find_drone(list, "bare-1");
  CHECK(listed["model"] == "X4");
  CHECK(listed["fw"] == "2.0");
  // Nothing was reported, so the registry keeps what it had.
  CHECK(db_row(node.db_url(), "bare-1")["model"] == "X4");
}

TEST_CASE("node.mode=production refuses unregistered drones by default") {
  test_node node{{"node.mode", "production"}};
  auto p = node.port();
  CHECK(hello_close_code(p, "prod-1") == 4001);
  REQUIRE(registry_ready(node.db_url()));
  CHECK(db_row(node.db_url(), "prod-1").is_null());
  CHECK(node.metric("dccs_drones_refused_total") == 1);
  auto created = send_json(node, "POST", drones_path, {{"id", "prod-1"}});
  REQUIRE(created.status == 201);
  CHECK(hello_close_code(p, "prod-1") == 4001); // registered: now its secret is required
  CHECK_NOTHROW(connect_drone(p, "prod-1", created.json()["secret"].get<std::string>()));
}

TEST_CASE("fleet.unregistered=register overrides node.mode=production") {
  test_node node{{"node.mode", "production"}, {"fleet.unregistered", "register"}};
  CHECK_NOTHROW(connect_drone(node.port(), "prodreg-1"));
  CHECK(eventually([&] { return registry_ready(node.db_url()) && db_row(node.db_url(), "prodreg-1").is_object(); },
                   std::chrono::seconds(10)));
}

TEST_CASE("in development an unknown drone is registered at its first hello") {
  test_node node;
  auto p = node.port();
  auto drone = connect_drone(p, "dev-1");
  // Registration may follow the welcome by a moment (the registry may batch the drones admitted together).
  json row;
  REQUIRE(eventually([&] {
    row = registry_ready(node.db_url()) ? db_row(node.db_url(), "dev-1") : json{};
    return row.is_object();
  }, std::chrono::seconds(10)));
  INFO(row.dump());
  CHECK(row["model"] == "test-quad");
  CHECK(row["firmware"] == "1.2.3");
  CHECK(row["name"] == "");
  CHECK(eventually([&] { return node.metric("dccs_drones_registered_total") == 1; }, std::chrono::seconds(5)));
  CHECK(node.metric("dccs_drones_refused_total") == 0);
  auto got = http_get(p, drone_path("dev-1"), node.admin()).json();
  INFO(got.dump());
  CHECK(got["registered"] == true);
  CHECK(got["connected"] == true);
  CHECK(got["registry"]["model"] == "test-quad");
  // A second hello (reconnect) does not register it again.
  drone.reset();
  auto again = connect_drone(p, "dev-1");
  CHECK(node.metric("dccs_drones_registered_total") == 1);
}

TEST_CASE("last_seen reaches the registry within the sweep interval after telemetry") {
  test_node node{{"fleet.last_seen_ms", "200"}};
  auto p = node.port();
  auto drone = connect_drone(p, "seen-1");
  auto sent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  drone->send(telemetry_frame(1, 47.1, 8.1));
  json row;
  CHECK(eventually([&] {
    row = db_row(node.db_url(), "seen-1");
    return row.is_object() && !row["last_seen"].is_null();
  }));
  INFO(row.dump());
  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  auto seen_ms = tx.exec1("SELECT extract(epoch from last_seen) * 1000 FROM fleet.drones WHERE id = 'seen-1'")[0]
                   .as<double>();
  CHECK(seen_ms >= static_cast<double>(sent_ms) - 1000);
  CHECK(seen_ms <= static_cast<double>(sent_ms) + 60000);
  json got;
  CHECK(eventually([&] {
    got = http_get(p, drone_path("seen-1"), node.admin()).json();
    return got["registry"]["last_seen"].is_string();
  }, std::chrono::seconds(5)));
  INFO(got.dump());
  CHECK(got["registry"]["last_seen"].get<std::string>().back() == 'Z');
}

// The last_seen sweep sends the ids as a PostgreSQL array literal: an unquoted element spelled NULL (any case)
// would be an SQL NULL there, and a drone whose id is "null" (a valid id) would never get its last_seen.
TEST_CASE("last_seen is written for a drone whose id is 'null'") {
  test_node node{{"fleet.last_seen_ms", "200"}};
  auto ok = connect_drone(node.port(), "seen-ok");
  auto odd = connect_drone(node.port(), "null");
  ok->send(telemetry_frame(1, 47.1, 8.1));
  odd->send(telemetry_frame(1, 47.2, 8.2));
  // Once seen-ok's time has been written twice (two sweeps after both sent telemetry), a sweep has seen both.
  json first;
  REQUIRE(eventually([&] {
    first = db_row(node.db_url(), "seen-ok");
    return first.is_object() && !first["last_seen"].is_null();
  }));
  ok->send(telemetry_frame(2, 47.1, 8.1));
  odd->send(telemetry_frame(2, 47.2, 8.2));
  REQUIRE(eventually([&] { return db_row(node.db_url(), "seen-ok")["last_seen"] != first["last_seen"]; }));
  auto odd_row = db_row(node.db_url(), "null");
  INFO(odd_row.dump());
  REQUIRE(odd_row.is_object()); // registered at hello like any other drone
  CHECK_FALSE(odd_row["last_seen"].is_null());
}

TEST_CASE("a restarted node restores the fleet from Redis and the registry, and falls back without Redis") {
  redis_server redis;
  scratch_database db;
  std::initializer_list<std::pair<std::string, std::string>> options{
    {"db.url", db.url()}, {"redis.url", redis.url()}, {"redis.interval_ms", "50"}};
  constexpr double lat = 46.123456;
  constexpr double lon = 7.654321;
  runtime::redis_endpoint ep;
  std::string error;
  REQUIRE(runtime::parse_redis_url(redis.url(), ep, error));
  {
    test_node a{options};
    REQUIRE(send_json(a, "POST", drones_path, {{"id", "rs-parked"}, {"name", "Parked"}}).status == 201);
    auto drone = connect_drone(a.port(), "rs-live");
    drone->send(telemetry_frame(1, lat, lon));
    runtime::redis_client rc{ep, std::chrono::milliseconds(1000), std::chrono::milliseconds(20),
                             std::chrono::milliseconds(200)};
    json cached;
    REQUIRE(eventually([&] {
      if (!rc.ensure_connected())
        return false;
      auto r = rc.command({"GET", "dccs:drone:rs-live"});
      if (r.kind != runtime::redis_reply::kind_t::string)
        return false;
      cached = json::parse(r.str);
      return cached.value("lat", 0.0) == lat;
    }));
    CHECK(cached["lon"] == lon);
  } // node A stops

  json listed;
  {
    test_node b{options};
    auto list = http_get(b.port(), drones_path, b.admin());
    INFO(list.body);
    REQUIRE(list.status == 200);
    listed = list.json();
    CHECK(listed["drones"].size() == 2);
    auto live = find_drone(listed, "rs-live");
    REQUIRE(live.is_object());
    CHECK(live["connected"] == false);
    CHECK(live["lat"] == lat);
    CHECK(live["lon"] == lon);
    CHECK(live["registered"] == true);
    CHECK(live["model"] == "test-quad");
    auto parked = find_drone(listed, "rs-parked");
    REQUIRE(parked.is_object());
    CHECK(parked["connected"] == false);
    CHECK(parked["registered"] == true);
    CHECK(parked["registry"]["name"] == "Parked");
    CHECK_FALSE(parked.contains("lat"));
    auto one = http_get(b.port(), drone_path("rs-live"), b.admin());
    REQUIRE(one.status == 200);
    CHECK(one.json()["lat"] == lat);
    CHECK(b.metric("dccs_drones_restored_total") == 2);

    // Redis goes away while node B runs: readiness says so (still 200) and the list still answers.
    redis.kill();
    json ready;
    int ready_status = 0;
    CHECK(eventually([&] {
      auto r = http_get(b.port(), "/readyz");
      ready_status = r.status;
      ready = r.json();
      return ready["dependencies"]["redis"] == "down" && ready["status"] != "starting"; // 503 until PostgreSQL is reached once
    }));
    INFO(ready.dump());
    CHECK(ready_status == 200);
    CHECK(ready["status"] == "degraded");
    auto still = http_get(b.port(), drones_path, b.admin());
    REQUIRE(still.status == 200);
    CHECK(find_drone(still.json(), "rs-live").is_object());
    CHECK(find_drone(still.json(), "rs-parked").is_object());
  }

  // Node C starts while Redis is down: the registry alone lists both drones, without telemetry values.
  test_node c{options};
  auto list = http_get(c.port(), drones_path, c.admin());
  INFO(list.body);
  REQUIRE(list.status == 200);
  auto j = list.json();
  CHECK(j["drones"].size() == 2);
  auto live = find_drone(j, "rs-live");
  REQUIRE(live.is_object());
  CHECK(live["connected"] == false);
  CHECK(live["registered"] == true);
  CHECK_FALSE(live.contains("lat"));
  CHECK_FALSE(live.contains("seq"));
  auto parked = find_drone(j, "rs-parked");
  REQUIRE(parked.is_object());
  CHECK(parked["registry"]["name"] == "Parked");
  auto one = http_get(c.port(), drone_path("rs-parked"), c.admin());
  CHECK(one.status == 200);
  json ready;
  int ready_status = 0;
  CHECK(eventually([&] {
    auto r = http_get(c.port(), "/readyz");
    ready_status = r.status;
    ready = r.json();
    return ready["dependencies"]["redis"] == "down" && ready["status"] != "starting"; // 503 until PostgreSQL is reached once
  }));
  INFO(ready.dump());
  CHECK(ready_status == 200);
  CHECK(ready["status"] == "degraded");
}

TEST_CASE("db.enabled=false: the live list still works and the registry answers 503 storage_disabled") {
  test_node node{{"db.enabled", "false"}};
  auto p = node.port();
  auto drone = connect_drone(p, "nodb-1");
  drone->send(telemetry_frame(1, 45.5, 9.5));
  json d;
  CHECK(eventually([&] {
    auto list = http_get(p, drones_path, node.admin());
    d = list.status == 200 ? find_drone(list.json(), "nodb-1") : json{};
    return d.is_object() && d.value("lat", 0.0) == 45.5;
  }, std::chrono::seconds(10)));
  INFO(d.dump());
  CHECK(d["connected"] == true);
  CHECK(http_get(p, drone_path("nodb-1"), node.admin()).status == 200);
  auto post = send_json(node, "POST", drones_path, {{"id", "nodb-2"}});
  INFO(post.body);
  CHECK(post.status == 503);
  CHECK(post.json()["error"]["code"] == "storage_disabled");
  CHECK(send_json(node, "PATCH", drone_path("nodb-1"), {{"name", "x"}}).json()["error"]["code"] == "storage_disabled");
  CHECK(http_request(p, "DELETE", drone_path("nodb-1"), {}, node.admin()).json()["error"]["code"] == "storage_disabled");
}

TEST_CASE("a production node refuses to run without the registry (no way to authenticate drones or users)") {
  CHECK_THROWS_WITH((test_node{{"node.mode", "production"}, {"db.enabled", "false"}}),
                    Catch::Contains("production mode needs db.enabled = true"));
}
