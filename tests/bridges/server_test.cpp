// The HTTP/WebSocket bridge over real sockets on 127.0.0.1.

#include <catch2/catch.hpp>

#include "tests/bridges/static_fixture.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs::test;
using nlohmann::json;

namespace {

void check_json_error(const http_result& r, int status, const std::string& code) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  auto j = r.json();
  CHECK(j["error"]["code"] == code);
  CHECK(j["error"]["message"].is_string());
}

} // namespace

TEST_CASE("health, readiness, metrics and JSON errors") {
  test_node node{{"node.name", "test-node"}};
  auto p = node.port();
  auto health = http_get(p, "/healthz");
  CHECK(health.status == 200);
  CHECK(health.json()["node"] == "test-node");
  // 503 "starting" until the node has reached its database once (at start, without waiting for a drone).
  http_result ready;
  CHECK(eventually([&] { return (ready = http_get(p, "/readyz")).status == 200; }));
  CHECK(ready.json()["status"] == "ready");
  check_json_error(http_get(p, "/metrics"), 401, "unauthorized"); // metrics are for admins (http.metrics_public)
  check_json_error(http_get(p, "/metrics", node.bearer(node.token("viewer", {"default"}))), 403, "forbidden");
  auto metrics = http_get(p, "/metrics", node.admin());
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("dccs_frames_accepted_total 0") != std::string::npos);
  auto& admin = node.admin();
  CHECK(http_get(p, "/api/v1/drones", admin).json()["drones"].empty());
  check_json_error(http_get(p, "/api/v1/drones/ghost", admin), 404, "not_found");
  check_json_error(http_get(p, "/api/v1/drones/bad%20id", admin), 400, "invalid_drone_id");
  check_json_error(http_get(p, "/api/v1/fleet", admin), 404, "not_found");
  check_json_error(http_request(p, "PUT", "/api/v1/drones", "{}", admin), 405, "method_not_allowed");
  // Nothing under /api answers without a token (not even with a 404 or a 405).
  for (auto target : {"/api/v1/drones", "/api/v1/drones/ghost", "/api/v1/fleet", "/api", "/api/v1/users"})
    check_json_error(http_get(p, target), 401, "unauthorized");
  check_json_error(http_request(p, "PUT", "/api/v1/drones", "{}"), 401, "unauthorized");
  check_json_error(http_request(p, "DELETE", "/healthz"), 405, "method_not_allowed");
  check_json_error(http_get(p, "/index.html"), 404, "not_found"); // no static folder configured
  check_json_error(http_request(p, "POST", "/api/v1/drones", std::string(2 << 20, 'x')), 413,
                   "payload_too_large");
  CHECK_THROWS(ws_client(p, "/ws/elsewhere"));
}

TEST_CASE("static files are served from the configured folder, and only from it") {
  static_fixture dir;
  test_node node{{"http.static_dir", dir.root.string()}, {"web.tile_url", ""}};
  auto index = http_get(node.port(), "/");
  CHECK(index.status == 200);
  CHECK(index.content_type.find("text/html") == 0);
  CHECK(index.body == "<html>index</html>");
  // No tile server: images from the node itself (and data: URLs) only.
  CHECK(index.header("content-security-policy") ==
        "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'");
  CHECK(index.header("cache-control") == "no-cache");
  CHECK(index.header("x-content-type-options") == "nosniff");
  CHECK(http_get(node.port(), "/app.js").content_type.find("text/javascript") == 0);
  check_json_error(http_get(node.port(), "/../CMakeLists.txt"), 404, "not_found");
  check_json_error(http_get(node.port(), "/nope.html"), 404, "not_found");
}

TEST_CASE("the dashboard's map settings: GET /api/v1/config/web, and the tile server's origin in the files' CSP") {
  static_fixture dir;
  test_node node{{"http.static_dir", dir.root.string()},
                 {"web.tile_url", "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"},
                 {"web.tile_attribution", "Example tiles"},
                 {"web.tile_max_zoom", "17"}};
  auto csp = http_get(node.port(), "/").header("content-security-policy");
  CHECK(csp.find("img-src 'self' data: https://tiles.example.org:8443;") != std::string::npos);
  check_json_error(http_get(node.port(), "/api/v1/config/web"), 401, "unauthorized");
  auto viewer = test_node::bearer(node.token("viewer", {"default"}, "vera"));
  auto web = http_get(node.port(), "/api/v1/config/web", viewer);
  INFO(web.body);
  REQUIRE(web.status == 200);
  CHECK(web.json() == json{{"tile_url", "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"},
                           {"tile_attribution", "Example tiles"},
                           {"tile_max_zoom", 17}});
  check_json_error(http_request(node.port(), "POST", "/api/v1/config/web", "{}", viewer), 405,
                   "method_not_allowed");
}

TEST_CASE("bad drone frames get an error frame, change nothing, and keep the connection") {
  test_node node;
  ws_client c{node.port(), "/ws/drone"};
  c.send(telemetry_frame(1, 47, 8));
  auto e = c.read_json();
  CHECK(e["type"] == "error");
  CHECK(e["code"] == "hello_required");
  c.send(std::string{"{\"type\":\"hello\",\"drone_id\":\"bad id\"}"});
  CHECK(c.read_json()["code"] == "invalid_field");
  c.send(json{{"type", "hello"}, {"drone_id", "d1"}});
  CHECK(c.read_json()["type"] == "welcome");
  c.send(json{{"type", "hello"}, {"drone_id", "d1"}});
  CHECK(c.read_json()["code"] == "duplicate_hello");
  auto bad = telemetry_frame(2, 95, 8); // latitude out of range
  c.send(bad);
  auto err = c.read_json();
  CHECK(err["code"] == "invalid_field");
  CHECK(err["message"].get<std::string>().find("lat") != std::string::npos);
  c.send(std::string{"{\"type\":\"telemetry\",\"seq\":3,\"battery\":-1}"});
  CHECK(c.read_json()["message"].get<std::string>().find("battery") != std::string::npos);
  c.send(std::string{"{\"type\":\"teleport\"}"});
  CHECK(c.read_json()["code"] == "unknown_type");
  c.send(std::string{"{oops"});
  CHECK(c.read_json()["code"] == "malformed");
  // Still connected: a good frame lands and is the drone's state.
  c.send(telemetry_frame(4, 47.5, 8.5));
  c.send(json{{"type", "heartbeat"}, {"ts", 1.0}});
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  operator_view view;
  REQUIRE(view.read_until(op, [&] { return view.drones.count("d1") && view.drones["d1"].value("seq", 0) == 4; }));
  CHECK(view.drones["d1"]["lat"] == 47.5);
  CHECK(node.metric("dccs_frames_rejected_total") == 7);
}

TEST_CASE("an oversized frame closes the connection with 1009") {
  test_node node{{"drone.max_frame", "1024"}};
  auto c = connect_drone(node.port(), "big");
  c->send(std::string(2048, ' '));
  auto code = c->read_until_close();
  INFO(c->last_error());
  CHECK(code == 1009);
}

TEST_CASE("a flooding drone is closed with 1008") {
  test_node node{{"drone.max_rate", "10"}, {"drone.burst", "20"}};
  auto c = connect_drone(node.port(), "flood");
  for (int i = 0; i < 100; ++i)
    c->send(telemetry_frame(static_cast<std::uint64_t>(i), 47, 8));
  CHECK(c->read_until_close() == 1008);
  CHECK(node.metric("dccs_drone_rate_limited_total") == 1);
}

TEST_CASE("a connection that never says hello is closed with 1008") {
  test_node node{{"drone.hello_timeout_ms", "200"}};
  ws_client c{node.port(), "/ws/drone"};
  CHECK(c.read_until_close() == 1008);
}

TEST_CASE("a second connection with the same drone id replaces the first, which is told why") {
  test_node node;
  auto first = connect_drone(node.port(), "twin");
  auto second = connect_drone(node.port(), "twin");
  CHECK(first->read_until_close() == 4000);
  second->send(telemetry_frame(9, 46.5, 7.5));
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  operator_view view;
  REQUIRE(view.read_until(op, [&] { return view.drones.count("twin") && view.drones["twin"].value("seq", 0) == 9; }));
  CHECK(view.drones["twin"]["connected"] == true);
}

TEST_CASE("operators see link status go stale, lost, and online again") {
  test_node node{{"drone.stale_after_ms", "300"}, {"drone.lost_after_ms", "600"}};
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  operator_view view;
  REQUIRE(view.read_until(op, [&] { return view.snapshots == 1; }));
  auto d = connect_drone(node.port(), "quiet");
  d->send(telemetry_frame(1, 47, 8));
  auto has_event = [&](const std::string& status) {
    for (auto& e : view.events)
      if (e["drone_id"] == "quiet" && e["status"] == status)
        return true;
    return false;
  };
  REQUIRE(view.read_until(op, [&] { return has_event("lost") && view.drones["quiet"]["status"] == "lost"; }));
  CHECK(has_event("stale"));
  CHECK(view.drones["quiet"]["status"] == "lost");
  auto api = http_get(node.port(), "/api/v1/drones/quiet", node.admin()).json();
  CHECK(api["status"] == "lost");
  d->send(json{{"type", "heartbeat"}});
  REQUIRE(view.read_until(op, [&] { return has_event("online"); }));
  CHECK(view.events.back()["previous"] == "lost");
}

TEST_CASE("an operator subscribed to a list sees only those drones") {
  test_node node;
  auto a = connect_drone(node.port(), "a");
  auto b = connect_drone(node.port(), "b");
  a->send(telemetry_frame(1, 47, 8));
  b->send(telemetry_frame(1, 46, 7));
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", json::array({"b"})}});
  operator_view view;
  REQUIRE(view.read_until(op, [&] { return view.drones.count("b") && view.drones["b"].value("seq", 0) == 1; }));
  b->send(telemetry_frame(2, 46, 7));
  a->send(telemetry_frame(2, 47, 8));
  REQUIRE(view.read_until(op, [&] { return view.drones["b"].value("seq", 0) == 2; }));
  CHECK(view.drones.count("a") == 0);
}

TEST_CASE("bad operator frames get error frames and change nothing") {
  test_node node;
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(std::string{"nonsense"});
  CHECK(op.read_json()["code"] == "malformed");
  op.send(json{{"type", "unsubscribe-everything"}});
  CHECK(op.read_json()["code"] == "unknown_type");
  op.send(json{{"type", "subscribe"}, {"drones", 5}});
  CHECK(op.read_json()["code"] == "invalid_field");
  op.send(json{{"type", "subscribe"}, {"drones", json::array({"ok", "not ok"})}});
  CHECK(op.read_json()["code"] == "invalid_field");
  op.send(json{{"type", "subscribe"}});
  CHECK(op.read_json()["type"] == "snapshot");
}

TEST_CASE("shutdown closes every socket with a close frame (1001)") {
  auto node = std::make_unique<test_node>(
    std::initializer_list<std::pair<std::string, std::string>>{{"shutdown.grace_ms", "300"}});
  auto d = connect_drone(node->port(), "d");
  ws_client op{node->port(), "/ws/operator", node->admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  CHECK(op.read_json()["type"] == "snapshot");
  node->node().stop();
  CHECK(d->read_until_close() == 1001);
  CHECK(op.read_until_close() == 1001);
}
