// Geofences and alarms end to end (docs/protocol.md "Geofences" and "Alarms"): a node in-process with its own
// PostgreSQL database, drones and operators over real WebSockets on 127.0.0.1, REST over HTTP. A breach raises an
// alarm and, when its fence says so, the node commands the drone itself; operators see alarms live, acknowledge and
// clear them; every route refuses bad input with a clear error.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/audit.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

// A 0.01° square (about 700 m by 1.1 km) with its south-west corner at lat 50, lon 10.
json square(double lat = 50, double lon = 10, double size = 0.01) {
  return json{{"type", "Polygon"},
              {"coordinates", json::array({json::array({json::array({lon, lat}), json::array({lon + size, lat}),
                                                        json::array({lon + size, lat + size}),
                                                        json::array({lon, lat + size}), json::array({lon, lat})})})}};
}

json fence_body(const std::string& group, const std::string& kind = "inclusion", const std::string& action = "alert") {
  return json{{"name", "yard"}, {"group", group}, {"kind", kind}, {"polygon", square()}, {"action", action}};
}

http_result post(const test_node& node, const std::string& path, const json& body, const headers& h = {}) {
  return http_request(node.port(), "POST", path, body.dump(), h.empty() ? node.admin() : h);
}

/// The alarms the admin sees for `query` (e.g. "drone=x&kind=low_battery").
json alarms(const test_node& node, const std::string& query) {
  auto r = http_get(node.port(), "/api/v1/alarms?" + query, node.admin());
  REQUIRE(r.status == 200);
  auto j = r.json();
  return j["alarms"];
}

/// Sends telemetry from `drone` until the admin sees an alarm of `kind` on it in `state` (or gives up).
bool raises(const test_node& node, ws_client& drone, const std::string& id, const std::string& kind,
            const std::string& state, std::uint64_t& seq, const std::function<json(std::uint64_t)>& frame) {
  return eventually([&] {
    drone.send(frame(++seq));
    for (auto& a : alarms(node, "drone=" + id + "&kind=" + kind))
      if (a["state"] == state)
        return true;
    return false;
  });
}

/// Reads `ws` until an alarm frame for (drone, kind) in `state` came.
json alarm_frame(ws_client& ws, const std::string& drone, const std::string& kind, const std::string& state) {
  while (true) {
    auto j = next_of_type(ws, "alarm");
    if (!j.is_object())
      return j;
    if (j["drone_id"] == drone && j["kind"] == kind && j["state"] == state)
      return j;
  }
}


} // namespace

TEST_CASE("geofences: created, listed, read, changed and deleted by the operators of their group, viewers read") {
  test_node node;
  auto red_op = test_node::bearer(node.token("operator", {"red"}));
  auto red_viewer = test_node::bearer(node.token("viewer", {"red"}));
  auto blue_viewer = test_node::bearer(node.token("viewer", {"blue"}));

  auto created = post(node, "/api/v1/geofences", fence_body("red", "exclusion", "land"), red_op);
  INFO(created.body);
  REQUIRE(created.status == 201);
  auto f = created.json();
  auto id = f["id"].get<std::string>();
  CHECK(f["kind"] == "exclusion");
  CHECK(f["action"] == "land");
  CHECK(f["group"] == "red");
  CHECK(f["floor"].is_null());
  CHECK(f["polygon"] == square());
  CHECK(f["created_by"] == "test-operator");

  CHECK(post(node, "/api/v1/geofences", fence_body("blue"), red_op).status == 403); // not their group
  CHECK(post(node, "/api/v1/geofences", fence_body("red"), red_viewer).status == 403);
  REQUIRE(post(node, "/api/v1/geofences", fence_body("blue")).status == 201); // admin: any group

  auto listed = http_get(node.port(), "/api/v1/geofences", red_viewer);
  REQUIRE(listed.status == 200);
  auto red_list = listed.json();
  REQUIRE(red_list["geofences"].size() == 1);
  CHECK(red_list["geofences"][0]["id"] == id);
  auto all = http_get(node.port(), "/api/v1/geofences?group=blue", node.admin()).json();
  CHECK(all["geofences"].size() == 1);
  CHECK(http_get(node.port(), "/api/v1/geofences/" + id, red_viewer).status == 200);
  CHECK(http_get(node.port(), "/api/v1/geofences/" + id, blue_viewer).status == 404);

  auto patched = http_request(node.port(), "PATCH", "/api/v1/geofences/" + id,
                              json{{"ceiling", 120}, {"name", "school"}}.dump(), red_op);
  INFO(patched.body);
  REQUIRE(patched.status == 200);
  auto p = patched.json();
  CHECK(p["ceiling"] == 120);
  CHECK(p["name"] == "school");
  CHECK(p["kind"] == "exclusion"); // untouched fields stay
  CHECK(http_request(node.port(), "PATCH", "/api/v1/geofences/" + id, json{{"group", "blue"}}.dump(), red_op).status
        == 403); // moving it out of their groups
  CHECK(http_request(node.port(), "PATCH", "/api/v1/geofences/" + id, json{{"floor", 200}}.dump(), red_op).status
        == 400); // floor above the ceiling
  CHECK(http_request(node.port(), "DELETE", "/api/v1/geofences/" + id, {}, red_viewer).status == 403);
  CHECK(http_request(node.port(), "DELETE", "/api/v1/geofences/" + id, {}, red_op).status == 204);
  CHECK(http_get(node.port(), "/api/v1/geofences/" + id, red_op).status == 404);
  CHECK(eventually([&] { return audit_rows(node, "geofence_created") == 2; }));
  CHECK(eventually([&] { return audit_rows(node, "geofence_changed") == 1; }));
  CHECK(eventually([&] { return audit_rows(node, "geofence_deleted") == 1; }));
}

TEST_CASE("geofences: a bad body, id, parameter or method is refused with the problem named, and nothing changes") {
  test_node node;
  auto refused = [&](const json& body, const std::string& field) {
    auto r = post(node, "/api/v1/geofences", body);
    INFO(r.body);
    CHECK(r.status == 400);
    auto j = r.json();
    CHECK(j["error"]["field"] == field);
  };
  auto with = [](json b, const char* k, json v) {
    b[k] = std::move(v);
    return b;
  };
  auto ok = fence_body("red");
  refused(with(ok, "kind", "maybe"), "kind");
  refused(with(ok, "action", "shoot"), "action");
  refused(with(ok, "extra", 1), "extra");
  refused(with(ok, "polygon", json{{"type", "Point"}, {"coordinates", {10, 50}}}), "polygon.type");
  auto open = square();
  open["coordinates"][0].erase(4);
  refused(with(ok, "polygon", open), "polygon.coordinates");
  auto far = square();
  far["coordinates"][0][1] = json::array({10, 95});
  refused(with(ok, "polygon", far), "polygon.coordinates[0][1]");
  auto nameless = ok;
  nameless.erase("name");
  refused(nameless, "name");
  auto malformed = http_request(node.port(), "POST", "/api/v1/geofences", "{not json", node.admin());
  CHECK(malformed.status == 400);
  CHECK(http_get(node.port(), "/api/v1/geofences/not-a-uuid", node.admin()).status == 404);
  CHECK(http_get(node.port(), "/api/v1/geofences/0f8fad5b-d9cb-469f-a165-70867728950e", node.admin()).status == 404);
  CHECK(http_get(node.port(), "/api/v1/geofences?limit=0", node.admin()).status == 400);
  CHECK(http_get(node.port(), "/api/v1/geofences?colour=red", node.admin()).status == 400);
  CHECK(http_request(node.port(), "PUT", "/api/v1/geofences", ok.dump(), node.admin()).status == 405);
  CHECK(http_get(node.port(), "/api/v1/geofences", {}).status == 401);
  auto list = http_get(node.port(), "/api/v1/geofences", node.admin()).json();
  CHECK(list["geofences"].empty());
}

TEST_CASE("geofences: leaving an inclusion fence raises an alarm and the node returns the drone home, past a lease") {
  test_node node;
  auto drone = connect_drone(node.port(), "gf-1");
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  std::uint64_t seq = 0;
  drone->send(telemetry_frame(++seq, 50.005, 10.005, 30)); // inside the fence to come
  // Another operator holds the drone's control lease: the node's own command goes past it (safety first).
  auto op_token = test_node::bearer(node.token("operator", {"default"}));
  REQUIRE(post(node, "/api/v1/drones/gf-1/control", json::object(), op_token).status == 200);
  // The fence is made while the drone flies: its actor learns it from the node's new geofence version.
  auto created = post(node, "/api/v1/geofences", fence_body("default", "inclusion", "rtl"));
  REQUIRE(created.status == 201);
  auto fence_id = created.json()["id"].get<std::string>();
  REQUIRE(raises(node, *drone, "gf-1", "geofence_breach", "active", seq,
                 [](std::uint64_t s) { return telemetry_frame(s, 50.02, 10.005, 30); }));
  auto a = alarms(node, "drone=gf-1&kind=geofence_breach")[0];
  CHECK(a["severity"] == "critical");
  CHECK(a["detail"]["action"] == "rtl");
  CHECK(a["detail"]["geofences"] == json::array({fence_id}));
  CHECK(a["group"] == "default");
  auto frame = alarm_frame(op, "gf-1", "geofence_breach", "active");
  REQUIRE(frame.is_object());
  CHECK(frame["id"] == a["id"]);

  // The drone is told to return, by the node itself, journaled as issued by `system`.
  auto cmd = next_of_type(*drone, "command");
  REQUIRE(cmd.is_object());
  CHECK(cmd["kind"] == "rtl");
  auto journaled = http_get(node.port(), "/api/v1/commands/" + cmd["command_id"].get<std::string>(), node.admin()).json();
  CHECK(journaled["issued_by"] == "system");
  CHECK(eventually([&] { return audit_rows(node, "command_issued") >= 1; }));

  // Still outside: no second alarm, no second command (the alarm counts on, it is not raised again).
  drone->send(telemetry_frame(++seq, 50.03, 10.005, 30));
  // An operator acknowledges it, then clears it: both pushed, both audited.
  auto id = a["id"].get<std::string>();
  auto acked = post(node, "/api/v1/alarms/" + id + "/acknowledge", json::object(), op_token);
  INFO(acked.body);
  REQUIRE(acked.status == 200);
  CHECK(acked.json()["state"] == "acknowledged");
  CHECK(acked.json()["acknowledged_by"] == "test-operator");
  for (auto key : {"raised_at", "updated_at", "acknowledged_at"})
    CHECK(acked.json()[key].is_number_integer());
  CHECK(alarm_frame(op, "gf-1", "geofence_breach", "acknowledged").is_object());
  auto cleared = post(node, "/api/v1/alarms/" + id + "/clear", json::object(), op_token);
  REQUIRE(cleared.status == 200);
  CHECK(cleared.json()["cleared_by"] == "test-operator");
  CHECK(alarm_frame(op, "gf-1", "geofence_breach", "cleared").is_object());
  CHECK(post(node, "/api/v1/alarms/" + id + "/clear", json::object(), op_token).status == 409);
  CHECK(post(node, "/api/v1/alarms/" + id + "/acknowledge", json::object(), op_token).status == 409);
  CHECK(eventually([&] { return audit_rows(node, "alarm_acknowledged") == 1; }));
  CHECK(eventually([&] { return audit_rows(node, "alarm_cleared") == 1; }));
  // Only one rtl was issued for the one breach.
  auto cmds = http_get(node.port(), "/api/v1/drones/gf-1/commands", node.admin()).json();
  CHECK(cmds["commands"].size() == 1);
}

TEST_CASE("geofences: entering an exclusion fence raises an alarm that the system clears once the drone is out again") {
  test_node node({{"geofences.clear_after_ms", "0"}});
  REQUIRE(post(node, "/api/v1/geofences", fence_body("default", "exclusion")).status == 201);
  auto drone = connect_drone(node.port(), "gf-2");
  std::uint64_t seq = 0;
  REQUIRE(raises(node, *drone, "gf-2", "geofence_breach", "active", seq,
                 [](std::uint64_t s) { return telemetry_frame(s, 50.005, 10.005, 30); }));
  CHECK(alarms(node, "drone=gf-2&kind=geofence_breach")[0]["severity"] == "warning"); // alert only
  REQUIRE(raises(node, *drone, "gf-2", "geofence_breach", "cleared", seq,
                 [](std::uint64_t s) { return telemetry_frame(s, 50.02, 10.005, 30); }));
  auto a = alarms(node, "drone=gf-2&kind=geofence_breach")[0];
  CHECK(a["cleared_by"] == "system");
  // A disarmed drone inside it breaks nothing: no new alarm.
  auto disarmed = [](std::uint64_t s) {
    auto f = telemetry_frame(s, 50.005, 10.005, 0);
    f["armed"] = false;
    return f;
  };
  for (int i = 0; i < 5; ++i)
    drone->send(disarmed(++seq));
  // The drone's state shows the last disarmed frame: the frames were taken, and no alarm was opened by them.
  REQUIRE(eventually([&] {
    auto d = http_get(node.port(), "/api/v1/drones/gf-2", node.admin()).json();
    return d.value("seq", std::uint64_t{0}) == seq;
  }));
  CHECK(alarms(node, "drone=gf-2&kind=geofence_breach&state=open").empty());
}

TEST_CASE("alarms: low battery is raised as a warning, escalated to critical, and cleared by a fresh battery") {
  test_node node;
  auto drone = connect_drone(node.port(), "bat-1");
  std::uint64_t seq = 0;
  auto at = [](double battery) {
    return [battery](std::uint64_t s) {
      auto f = telemetry_frame(s, 50, 10, 30);
      f["battery"] = battery;
      return f;
    };
  };
  REQUIRE(raises(node, *drone, "bat-1", "low_battery", "active", seq, at(20)));
  auto a = alarms(node, "drone=bat-1&kind=low_battery")[0];
  CHECK(a["severity"] == "warning");
  auto id = a["id"].get<std::string>();
  REQUIRE(post(node, "/api/v1/alarms/" + id + "/acknowledge", json::object()).status == 200);
  // Critical: the same alarm, more severe, active again for the operators.
  REQUIRE(eventually([&] {
    drone->send(at(10)(++seq));
    auto now = alarms(node, "drone=bat-1&kind=low_battery")[0];
    return now["severity"] == "critical" && now["state"] == "active";
  }));
  auto now = alarms(node, "drone=bat-1&kind=low_battery");
  CHECK(now.size() == 1);
  CHECK(now[0]["id"] == id);
  CHECK(now[0]["count"] == 2);
  REQUIRE(raises(node, *drone, "bat-1", "low_battery", "cleared", seq, at(95)));
  CHECK(alarms(node, "drone=bat-1&kind=low_battery")[0]["cleared_by"] == "system");
  // Low again later: a new alarm.
  REQUIRE(raises(node, *drone, "bat-1", "low_battery", "active", seq, at(5)));
  CHECK(alarms(node, "drone=bat-1&kind=low_battery").size() == 2);
}

TEST_CASE("alarms: a command the drone fails raises command_failed") {
  test_node node;
  auto drone = connect_drone(node.port(), "cf-1");
  auto r = post(node, "/api/v1/drones/cf-1/commands", json{{"kind", "takeoff"}, {"params", {{"alt", 20}}}});
  REQUIRE(r.status == 202);
  auto cmd = next_of_type(*drone, "command");
  REQUIRE(cmd.is_object());
  drone->send(json{{"type", "command_ack"}, {"command_id", cmd["command_id"]}, {"result", "failed"}, {"reason", "motor"}});
  REQUIRE(eventually([&] { return !alarms(node, "drone=cf-1&kind=command_failed").empty(); }));
  auto a = alarms(node, "drone=cf-1&kind=command_failed")[0];
  CHECK(a["detail"]["command_id"] == cmd["command_id"]);
  CHECK(a["severity"] == "warning");
  CHECK(a["message"].get<std::string>().find("motor") != std::string::npos);
}

TEST_CASE("alarms: scoped by group, acknowledged only by those who command, bad parameters refused") {
  test_node node;
  std::map<std::string, std::string> secrets;
  for (auto [id, group] : {std::pair{"al-red", "red"}, std::pair{"al-blue", "blue"}}) {
    auto r = post(node, "/api/v1/drones", json{{"id", id}, {"group", group}});
    REQUIRE(r.status == 201);
    secrets[id] = r.json()["secret"].get<std::string>();
  }
  std::uint64_t seq = 0;
  for (auto id : {"al-red", "al-blue"}) {
    auto drone = connect_drone(node.port(), id, secrets[id]);
    REQUIRE(raises(node, *drone, id, "low_battery", "active", seq, [](std::uint64_t s) {
      auto f = telemetry_frame(s, 50, 10, 30);
      f["battery"] = 3;
      return f;
    }));
  }
  auto red_viewer = test_node::bearer(node.token("viewer", {"red"}));
  auto blue_op = test_node::bearer(node.token("operator", {"blue"}));
  auto seen = http_get(node.port(), "/api/v1/alarms", red_viewer).json();
  REQUIRE(seen["alarms"].size() == 1);
  CHECK(seen["alarms"][0]["drone_id"] == "al-red");
  auto red_id = seen["alarms"][0]["id"].get<std::string>();
  CHECK(post(node, "/api/v1/alarms/" + red_id + "/acknowledge", json::object(), red_viewer).status == 403);
  CHECK(post(node, "/api/v1/alarms/" + red_id + "/acknowledge", json::object(), blue_op).status == 404);
  CHECK(http_get(node.port(), "/api/v1/alarms/" + red_id, red_viewer).status == 200);
  CHECK(http_get(node.port(), "/api/v1/alarms/" + red_id, blue_op).status == 404);
  for (auto q : {"state=maybe", "kind=fire", "drone=a%20b", "limit=5000", "before=x", "colour=red"}) {
    auto r = http_get(node.port(), std::string{"/api/v1/alarms?"} + q, node.admin());
    INFO(q);
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["code"] == "invalid_parameter");
  }
  CHECK(http_get(node.port(), "/api/v1/alarms/" + red_id + "/snooze", node.admin()).status == 404);
  CHECK(http_get(node.port(), "/api/v1/alarms/" + red_id + "/clear", node.admin()).status == 405);
  CHECK(http_request(node.port(), "DELETE", "/api/v1/alarms/" + red_id, {}, node.admin()).status == 405);
  auto page = http_get(node.port(), "/api/v1/alarms?limit=1&state=active", node.admin()).json();
  REQUIRE(page["alarms"].size() == 1);
  REQUIRE(page["next_cursor"].is_string());
  auto next = http_get(node.port(), "/api/v1/alarms?limit=1&state=active&before=" + page["next_cursor"].get<std::string>(),
                       node.admin())
                .json();
  REQUIRE(next["alarms"].size() == 1);
  CHECK(next["alarms"][0]["id"] != page["alarms"][0]["id"]);
  // Nothing above changed an alarm.
  CHECK(alarms(node, "state=active").size() == 2);
}

TEST_CASE("alarms: a drone whose battery flaps at every frame causes at most alarms.max_per_minute events, the rest counted") {
  test_node node({{"alarms.max_per_minute", "4"}});
  auto drone = connect_drone(node.port(), "flap-1");
  std::uint64_t seq = 0;
  for (int i = 0; i < 40; ++i) {
    auto f = telemetry_frame(++seq, 50, 10, 30);
    f["battery"] = i % 2 == 0 ? 5 : 40; // critical, then a "fresh battery", forty times: forty alarm events
    drone->send(f);
  }
  REQUIRE(eventually([&] {
    auto d = http_get(node.port(), "/api/v1/drones/flap-1", node.admin()).json();
    return d.value("seq", std::uint64_t{0}) == seq;
  }));
  // Every frame was taken; four events went to the alarms (raised, cleared, raised, cleared), 36 were dropped.
  auto metrics = http_get(node.port(), "/metrics", node.admin());
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("\ndccs_alarm_events_limited_total 36\n") != std::string::npos);
  REQUIRE(eventually([&] { return alarms(node, "drone=flap-1&kind=low_battery").size() == 2; }));
  auto rows = alarms(node, "drone=flap-1&kind=low_battery");
  CHECK(rows[0]["state"] == "cleared");
  CHECK(rows[1]["state"] == "cleared");
}
