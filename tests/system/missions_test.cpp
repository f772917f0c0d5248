// Mission planning end to end (docs/protocol.md "Missions"): a node in-process with its own PostgreSQL database,
// REST over HTTP on 127.0.0.1. A plan is checked and validated before anything is sent — every problem listed, the
// geofences of its group and the battery included — and drones are assigned only when the caller may command them
// and they belong to the mission's group.

#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

json item(double lat, double lon, double alt = 60) { return json{{"lat", lat}, {"lon", lon}, {"alt", alt}}; }

// Three waypoints about 700 m apart around lat 50, lon 10.
json plan(const std::string& group = "default") {
  return json{{"name", "survey"},
              {"group", group},
              {"items", json::array({item(50.001, 10.001), item(50.001, 10.011), item(50.008, 10.011)})},
              {"final_action", "rtl"}};
}

http_result post(const test_node& node, const std::string& path, const json& body, const headers& h = {}) {
  return http_request(node.port(), "POST", path, body.dump(), h.empty() ? node.admin() : h);
}

http_result patch(const test_node& node, const std::string& path, const json& body, const headers& h = {}) {
  return http_request(node.port(), "PATCH", path, body.dump(), h.empty() ? node.admin() : h);
}

json created(const test_node& node, const json& body, const headers& h = {}) {
  auto r = post(node, "/api/v1/missions", body, h);
  INFO(r.body);
  REQUIRE(r.status == 201);
  return r.json();
}

} // namespace

TEST_CASE("missions: a valid plan is validated at once, read back, listed, changed and deleted") {
  test_node node;
  auto m = created(node, plan());
  auto id = m["id"].get<std::string>();
  CHECK(m["state"] == "validated");
  CHECK(m["problems"] == json::array());
  CHECK(m["items"].size() == 3);
  CHECK(m["items"][1]["lon"] == 10.011);
  CHECK(m["items"][0]["action"] == "none");
  CHECK(m["final_action"] == "rtl");
  CHECK(m["drones"] == json::array());
  CHECK(m["created_by"] == "test-admin");

  auto got = http_get(node.port(), "/api/v1/missions/" + id, node.admin());
  REQUIRE(got.status == 200);
  CHECK(got.json()["items"] == m["items"]);
  auto list = http_get(node.port(), "/api/v1/missions?state=validated", node.admin()).json();
  REQUIRE(list["missions"].size() == 1);
  CHECK(list["missions"][0]["id"] == id);

  // A change that breaks it: every problem is listed, by item and field, and the mission is a draft again.
  auto items = m["items"];
  items[0]["alt"] = -600; // below the -500 m limit (missions.min_alt)
  items[2]["speed"] = 500;
  auto broken = patch(node, "/api/v1/missions/" + id, {{"items", items}, {"name", "survey 2"}});
  INFO(broken.body);
  REQUIRE(broken.status == 200);
  auto b = broken.json();
  CHECK(b["state"] == "draft");
  CHECK(b["name"] == "survey 2");
  REQUIRE(b["problems"].size() == 2);
  CHECK(b["problems"][0]["index"] == 0);
  CHECK(b["problems"][0]["field"] == "items[0].alt");
  CHECK(b["problems"][1]["index"] == 2);
  CHECK(b["problems"][1]["field"] == "items[2].speed");
  // Fixed: validated again.
  auto fixed = patch(node, "/api/v1/missions/" + id, {{"items", plan()["items"]}});
  REQUIRE(fixed.status == 200);
  CHECK(fixed.json()["state"] == "validated");

  CHECK(http_request(node.port(), "DELETE", "/api/v1/missions/" + id, {}, node.admin()).status == 204);
  CHECK(http_get(node.port(), "/api/v1/missions/" + id, node.admin()).status == 404);
  CHECK(eventually([&] {
    auto audit = http_get(node.port(), "/api/v1/audit?action=mission_deleted", node.admin());
    return audit.status == 200 && audit.json()["entries"].size() == 1;
  }));
}

TEST_CASE("missions: validation checks every leg against the geofences of the mission's group, and the battery") {
  test_node node;
  // An exclusion fence between the first two waypoints: both ends are outside it, the leg crosses it.
  json fence{{"name", "school"},
             {"group", "default"},
             {"kind", "exclusion"},
             {"polygon",
              {{"type", "Polygon"},
               {"coordinates", json::array({json::array({json::array({10.005, 50.0}), json::array({10.006, 50.0}),
                                                         json::array({10.006, 50.002}), json::array({10.005, 50.002}),
                                                         json::array({10.005, 50.0})})})}}}};
  auto f = post(node, "/api/v1/geofences", fence);
  REQUIRE(f.status == 201);
  // The same fence for another group does not apply.
  fence["group"] = "elsewhere";
  REQUIRE(post(node, "/api/v1/geofences", fence).status == 201);
  auto m = created(node, plan());
  CHECK(m["state"] == "draft");
  REQUIRE(m["problems"].size() == 1);
  CHECK(m["problems"][0]["index"] == 1);
  CHECK(m["problems"][0]["reason"].get<std::string>().find("school") != std::string::npos);
  // The fence goes: validated again on request.
  REQUIRE(http_request(node.port(), "DELETE", "/api/v1/geofences/" + f.json()["id"].get<std::string>(), {},
                       node.admin())
            .status == 204);
  auto again = post(node, "/api/v1/missions/" + m["id"].get<std::string>() + "/validate", json::object());
  REQUIRE(again.status == 200);
  CHECK(again.json()["state"] == "validated");
  CHECK(again.json()["problems"] == json::array());

  // Ten legs of about 4.4 km use about 2 % per km: more than the battery minus its reserve.
  json far = plan();
  far["items"] = json::array();
  for (int i = 0; i < 10; ++i)
    far["items"].push_back(item(50.0 + 0.04 * (i % 2), 10.0, 60));
  auto heavy = created(node, far);
  CHECK(heavy["state"] == "draft");
  bool battery = false;
  for (auto& p : heavy["problems"])
    battery = battery || (p["index"].is_null() && p["field"] == "items");
  CHECK(battery);
}

TEST_CASE("missions: drones are assigned when the caller may command them and they are in the mission's group") {
  test_node node;
  for (auto [id, group] : {std::pair{"m-red-1", "red"}, std::pair{"m-red-2", "red"}, std::pair{"m-blue", "blue"}})
    REQUIRE(post(node, "/api/v1/drones", json{{"id", id}, {"group", group}}).status == 201);
  auto red_op = test_node::bearer(node.token("operator", {"red"}));
  auto red_viewer = test_node::bearer(node.token("viewer", {"red"}));
  auto m = created(node, plan("red"), red_op);
  auto id = m["id"].get<std::string>();
  auto path = "/api/v1/missions/" + id + "/assign";
  auto ok = post(node, path, {{"drones", {"m-red-1", "m-red-2"}}}, red_op);
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  auto a = ok.json();
  REQUIRE(a["drones"].size() == 2);
  CHECK(a["drones"][0]["drone_id"] == "m-red-1");
  CHECK(a["drones"][0]["state"] == "assigned");
  CHECK(a["drones"][0]["current_seq"].is_null());
  // A drone of another group: the admin sees it, but it is not the mission's group.
  auto wrong = post(node, path, {{"drones", {"m-red-1", "m-blue"}}});
  CHECK(wrong.status == 409);
  CHECK(wrong.json()["error"]["code"] == "wrong_group");
  // The operator of red does not see blue's drone at all; nobody sees an unknown one.
  CHECK(post(node, path, {{"drones", {"m-blue"}}}, red_op).status == 404);
  CHECK(post(node, path, {{"drones", {"nobody"}}}).status == 404);
  CHECK(post(node, path, {{"drones", {"m-red-1"}}}, red_viewer).status == 403);
  // None of the refusals changed the assignment.
  auto now = http_get(node.port(), "/api/v1/missions/" + id, red_viewer).json();
  CHECK(now["drones"].size() == 2);
  // Bad bodies.
  for (auto body : {json{{"drones", "m-red-1"}}, json{{"drones", {"m-red-1", "m-red-1"}}}, json{{"drones", {"a b"}}},
                    json{{"drone", {"m-red-1"}}}})
    CHECK(post(node, path, body, red_op).status == 400);
  // An empty list unassigns every drone.
  auto none = post(node, path, {{"drones", json::array()}}, red_op);
  REQUIRE(none.status == 200);
  CHECK(none.json()["drones"].empty());
}

TEST_CASE("missions: roles, groups and bad requests") {
  test_node node;
  auto red_op = test_node::bearer(node.token("operator", {"red"}));
  auto red_viewer = test_node::bearer(node.token("viewer", {"red"}));
  auto blue_viewer = test_node::bearer(node.token("viewer", {"blue"}));
  CHECK(post(node, "/api/v1/missions", plan("red"), red_viewer).status == 403);
  CHECK(post(node, "/api/v1/missions", plan("blue"), red_op).status == 403);
  auto m = created(node, plan("red"), red_op);
  auto id = m["id"].get<std::string>();
  CHECK(http_get(node.port(), "/api/v1/missions/" + id, red_viewer).status == 200);
  CHECK(http_get(node.port(), "/api/v1/missions/" + id, blue_viewer).status == 404);
  CHECK(http_get(node.port(), "/api/v1/missions", blue_viewer).json()["missions"].empty());
  CHECK(patch(node, "/api/v1/missions/" + id, {{"name", "x"}}, red_viewer).status == 403);
  CHECK(patch(node, "/api/v1/missions/" + id, {{"group", "blue"}}, red_op).status == 403);
  CHECK(http_request(node.port(), "DELETE", "/api/v1/missions/" + id, {}, red_viewer).status == 403);

  auto field = [&](const json& body) {
    auto r = post(node, "/api/v1/missions", body);
    INFO(r.body);
    CHECK(r.status == 400);
    return r.json()["error"].value("field", "");
  };
  auto with = [](json b, const char* k, json v) {
    b[k] = std::move(v);
    return b;
  };
  CHECK(field(with(plan(), "items", json::array())) == "items");
  CHECK(field(with(plan(), "final_action", "crash")) == "final_action");
  CHECK(field(with(plan(), "colour", "red")) == "colour");
  auto bad_item = plan();
  bad_item["items"][1]["action"] = "fire";
  CHECK(field(bad_item) == "items[1].action");
  auto no_lat = plan();
  no_lat["items"][2].erase("lat");
  CHECK(field(no_lat) == "items[2].lat");
  CHECK(http_request(node.port(), "POST", "/api/v1/missions", "[1,2", node.admin()).status == 400);
  CHECK(http_get(node.port(), "/api/v1/missions?state=flying", node.admin()).status == 400);
  CHECK(http_get(node.port(), "/api/v1/missions?limit=0", node.admin()).status == 400);
  CHECK(http_get(node.port(), "/api/v1/missions/not-an-id", node.admin()).status == 404);
  CHECK(http_get(node.port(), "/api/v1/missions/" + id + "/fly", node.admin()).status == 404);
  CHECK(http_get(node.port(), "/api/v1/missions/" + id + "/assign", node.admin()).status == 405);
  CHECK(http_request(node.port(), "PUT", "/api/v1/missions/" + id, "{}", node.admin()).status == 405);
  CHECK(http_get(node.port(), "/api/v1/missions", {}).status == 401);
  // Nothing above made a mission.
  CHECK(http_get(node.port(), "/api/v1/missions", node.admin()).json()["missions"].size() == 1);
}
