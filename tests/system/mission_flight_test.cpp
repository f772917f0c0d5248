// Missions flown end to end (docs/protocol.md "Missions"): a node in-process with its own PostgreSQL database, REST
// over HTTP and drones and operators over real WebSockets on 127.0.0.1. A mission is uploaded item by item (each
// acknowledged, an unanswered item sent again), started atomically on every drone or on none, paused, resumed and
// aborted through the command journal, its progress stored and pushed to operators; simulated drones (dccs-sim)
// fly one to its end, and a flight that cannot start fails the mission and raises mission_failed.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/child.hpp"
#include "tests/support/audit.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

json item(double lat, double lon, double alt) { return json{{"lat", lat}, {"lon", lon}, {"alt", alt}}; }

http_result post(const test_node& node, const std::string& path, const json& body, const headers& h = {}) {
  return http_request(node.port(), "POST", path, body.dump(), h.empty() ? node.admin() : h);
}

json mission(const test_node& node, const std::string& id) {
  auto r = http_get(node.port(), "/api/v1/missions/" + id, node.admin());
  REQUIRE(r.status == 200);
  return r.json();
}

/// A validated mission of `items` in group default with `drones` assigned; its id.
std::string planned(const test_node& node, const json& items, const std::vector<std::string>& drones,
                    const std::string& final_action = "land") {
  auto made = post(node, "/api/v1/missions",
                   json{{"name", "survey"}, {"group", "default"}, {"items", items}, {"final_action", final_action},
                        {"cruise_speed", 8}});
  INFO(made.body);
  REQUIRE(made.status == 201);
  REQUIRE(made.json()["state"] == "validated");
  auto id = made.json()["id"].get<std::string>();
  auto assigned = post(node, "/api/v1/missions/" + id + "/assign", json{{"drones", drones}});
  INFO(assigned.body);
  REQUIRE(assigned.status == 200);
  return id;
}

/// The next frame on a scripted drone's socket of `type` (others skipped).
json expect_frame(ws_client& drone, const std::string& type) {
  auto j = next_of_type(drone, type);
  INFO("waiting for a " << type << " frame: " << drone.last_error());
  REQUIRE(j.is_object());
  return j;
}

/// A scripted drone acknowledges every item of an upload of `count` items as it comes.
void accept_items(ws_client& drone, std::size_t count) {
  for (std::size_t seq = 0; seq < count; ++seq) {
    auto f = expect_frame(drone, "mission_item");
    REQUIRE(f["seq"] == seq);
    drone.send(json{{"type", "mission_ack"}, {"mission_id", f["mission_id"]}, {"seq", seq}, {"result", "accepted"}});
  }
}

/// Reads the operator socket until a mission frame about (mission, drone) shows `state` for the drone.
json mission_frame(ws_client& op, const std::string& mission_id, const std::string& drone, const std::string& state) {
  // A bound on a failing test (the socket carries updates too, so reads alone would not end it).
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < give_up) {
    auto j = next_of_type(op, "mission");
    if (!j.is_object())
      return j;
    if (j["mission_id"] == mission_id && j["drone"]["drone_id"] == drone && j["drone"]["state"] == state)
      return j;
  }
  return json{};
}

/// The drone's commands of `kind` in the journal.
json commands_of(const test_node& node, const std::string& drone, const std::string& kind) {
  auto r = http_get(node.port(), "/api/v1/drones/" + drone + "/commands", node.admin());
  REQUIRE(r.status == 200);
  json out = json::array();
  for (auto& c : r.json()["commands"])
    if (c["kind"] == kind)
      out.push_back(c);
  return out;
}

} // namespace

TEST_CASE("missions: uploaded item by item (resent when unanswered), started, paused, resumed, flown and completed") {
  test_node node{{"missions.retry_ms", "300"}};
  auto drone = connect_drone(node.port(), "fly-1");
  std::uint64_t seq = 0;
  drone->send(telemetry_frame(++seq, 50.0, 10.0, 400));
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", json::array({"fly-1"})}});
  json items = json::array({item(50.001, 10.001, 430), item(50.002, 10.001, 430), item(50.002, 10.0, 430)});
  auto id = planned(node, items, {"fly-1"});

  // Nothing flies before it is uploaded.
  auto early = post(node, "/api/v1/missions/" + id + "/start", json::object());
  CHECK(early.status == 409);
  CHECK(early.json()["error"]["code"] == "not_ready");

  auto up = post(node, "/api/v1/missions/" + id + "/upload", json::object());
  INFO(up.body);
  REQUIRE(up.status == 202);
  CHECK(up.json()["state"] == "uploading");
  CHECK(up.json()["drones"][0]["state"] == "uploading");
  // The first item goes unanswered: the same item comes again after missions.retry_ms.
  auto first = expect_frame(*drone, "mission_item");
  CHECK(first["mission_id"] == id);
  CHECK(first["seq"] == 0);
  CHECK(first["count"] == 3);
  CHECK(first["final_action"] == "land");
  CHECK(first["item"]["lat"] == 50.001);
  CHECK(first["item"]["alt"] == 430);
  CHECK(first["item"]["speed"] == 8); // the mission's cruise speed, for an item without its own
  CHECK(first["item"]["action"] == "none");
  auto again = expect_frame(*drone, "mission_item");
  CHECK(again == first);
  drone->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"seq", 0}, {"result", "accepted"}});
  auto second = expect_frame(*drone, "mission_item");
  CHECK(second["seq"] == 1);
  // An ack of an earlier item again changes nothing.
  drone->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"seq", 0}, {"result", "accepted"}});
  drone->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"seq", 1}, {"result", "accepted"}});
  auto third = expect_frame(*drone, "mission_item");
  CHECK(third["seq"] == 2);
  drone->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"seq", 2}, {"result", "accepted"}});
  CHECK(mission_frame(op, id, "fly-1", "ready")["state"] == "ready");
  CHECK(mission(node, id)["state"] == "ready");
  CHECK(post(node, "/api/v1/missions/" + id + "/pause", json::object()).status == 409); // not flying yet
  // Ready, nothing flies yet: it may still change, and a change must be uploaded again.
  CHECK(http_request(node.port(), "PATCH", "/api/v1/missions/" + id, json{{"name", "x"}}.dump(), node.admin()).status
        == 200);
  CHECK(mission(node, id)["drones"][0]["state"] == "assigned");
  REQUIRE(post(node, "/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  accept_items(*drone, 3);
  REQUIRE(eventually([&] { return mission(node, id)["state"] == "ready"; }));

  auto started = post(node, "/api/v1/missions/" + id + "/start", json::object());
  INFO(started.body);
  REQUIRE(started.status == 200);
  auto s = started.json();
  CHECK(s["state"] == "active");
  CHECK(s["drones"][0]["state"] == "active");
  REQUIRE(s["commands"].size() == 1);
  auto start_cmd = s["commands"][0]["command_id"].get<std::string>();
  auto cmd = expect_frame(*drone, "command");
  CHECK(cmd["command_id"] == start_cmd);
  CHECK(cmd["kind"] == "mission_start");
  CHECK(cmd["params"]["mission_id"] == id);
  drone->send(json{{"type", "command_ack"}, {"command_id", start_cmd}, {"result", "succeeded"}}); // as MISSION_START
  CHECK(http_request(node.port(), "DELETE", "/api/v1/missions/" + id, {}, node.admin()).status == 409);

  // Progress: stored and pushed.
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "current"}, {"seq", 0}});
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "reached"}, {"seq", 0}});
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "current"}, {"seq", 1}});
  REQUIRE(eventually([&] { return mission(node, id)["drones"][0]["current_seq"] == 1; }));
  auto m = mission(node, id);
  REQUIRE(m["drones"][0]["reached"].size() == 1);
  CHECK(m["drones"][0]["reached"][0]["seq"] == 0);
  CHECK(m["drones"][0]["reached"][0]["at"].get<double>() > 0);
  CHECK(m["drones"][0]["reached"][0]["at"].is_number_integer());
  CHECK(m["created_at"].is_number_integer());

  // Pause and resume: a hold and a resume command, journaled.
  auto paused = post(node, "/api/v1/missions/" + id + "/pause", json::object());
  INFO(paused.body);
  REQUIRE(paused.status == 200);
  CHECK(paused.json()["state"] == "paused");
  auto hold = expect_frame(*drone, "command");
  CHECK(hold["kind"] == "hold");
  drone->send(json{{"type", "command_ack"}, {"command_id", hold["command_id"]}, {"result", "succeeded"}});
  CHECK(mission_frame(op, id, "fly-1", "paused")["state"] == "paused");
  CHECK(post(node, "/api/v1/missions/" + id + "/pause", json::object()).status == 409);
  auto resumed = post(node, "/api/v1/missions/" + id + "/resume", json::object());
  REQUIRE(resumed.status == 200);
  CHECK(resumed.json()["state"] == "active");
  auto resume = expect_frame(*drone, "command");
  CHECK(resume["kind"] == "resume");
  drone->send(json{{"type", "command_ack"}, {"command_id", resume["command_id"]}, {"result", "succeeded"}});

  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "reached"}, {"seq", 1}});
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "reached"}, {"seq", 2}});
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "completed"}});
  auto done = mission_frame(op, id, "fly-1", "completed");
  CHECK(done["state"] == "completed");
  CHECK(done["drone"]["reached"].size() == 3);
  m = mission(node, id);
  CHECK(m["state"] == "completed");
  CHECK(m["drones"][0]["reached"].size() == 3);
  // Over: it may be changed, uploaded and flown again.
  CHECK(post(node, "/api/v1/missions/" + id + "/resume", json::object()).status == 409);
  CHECK(eventually([&] {
    return audit_rows(node, "mission_uploaded") == 2 && audit_rows(node, "mission_started") == 1 &&
           audit_rows(node, "mission_paused") == 1 && audit_rows(node, "mission_resumed") == 1;
  }));
}

TEST_CASE("missions: a drone that refuses or does not answer fails the upload, and then none starts") {
  test_node node{{"missions.retry_ms", "200"}, {"missions.max_attempts", "2"}};
  auto a = connect_drone(node.port(), "up-a");
  auto b = connect_drone(node.port(), "up-b");
  json items = json::array({item(50.001, 10.001, 430), item(50.002, 10.001, 430)});
  auto id = planned(node, items, {"up-a", "up-b"});
  REQUIRE(post(node, "/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  accept_items(*a, 2);
  auto f = expect_frame(*b, "mission_item");
  b->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"seq", 0}, {"result", "unsupported"},
               {"reason", "this drone flies no missions"}});
  REQUIRE(eventually([&] { return mission(node, id)["state"] == "validated"; }));
  auto m = mission(node, id);
  CHECK(m["reason"].get<std::string>().find("up-b") != std::string::npos);
  CHECK(m["reason"].get<std::string>().find("unsupported") != std::string::npos);
  for (auto& d : m["drones"])
    if (d["drone_id"] == "up-b")
      CHECK(d["state"] == "failed");
  // Atomic start: one drone is not ready, so none starts.
  auto start = post(node, "/api/v1/missions/" + id + "/start", json::object());
  CHECK(start.status == 409);
  CHECK(start.json()["error"]["code"] == "not_ready");
  CHECK(start.json()["error"]["message"].get<std::string>().find("up-b") != std::string::npos);
  CHECK(commands_of(node, "up-a", "mission_start").empty());
  CHECK(commands_of(node, "up-b", "mission_start").empty());

  // Uploaded again: this time b never answers; after max_attempts sends of its item the upload fails.
  REQUIRE(post(node, "/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  accept_items(*a, 2);
  CHECK(expect_frame(*b, "mission_item")["seq"] == 0);
  CHECK(expect_frame(*b, "mission_item")["seq"] == 0);
  REQUIRE(eventually([&] { return mission(node, id)["state"] == "validated"; }));
  CHECK(mission(node, id)["reason"].get<std::string>().find("no answer to item 0 after 2 attempts") != std::string::npos);

  // A drone that is not connected fails it at once.
  b->close();
  REQUIRE(eventually([&] {
    auto d = http_get(node.port(), "/api/v1/drones/up-b", node.admin());
    return d.status == 200 && d.json()["connected"] == false;
  }));
  REQUIRE(post(node, "/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  REQUIRE(eventually([&] { return mission(node, id)["state"] == "validated"; }));
  CHECK(mission(node, id)["reason"].get<std::string>().find("not connected") != std::string::npos);
  CHECK(commands_of(node, "up-a", "mission_start").empty());
}

TEST_CASE("missions: a start that the journal would refuse for one drone starts none, then all once it is free") {
  test_node node;
  auto a = connect_drone(node.port(), "st-a");
  auto b = connect_drone(node.port(), "st-b");
  auto id = planned(node, json::array({item(50.001, 10.001, 430)}), {"st-a", "st-b"});
  REQUIRE(post(node, "/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  accept_items(*a, 1);
  accept_items(*b, 1);
  REQUIRE(eventually([&] { return mission(node, id)["state"] == "ready"; }));
  // Another operator controls st-b: the admin's start would be refused there, so it goes to neither drone.
  auto holder = test_node::bearer(node.token("operator", {"default"}, "pilot"));
  REQUIRE(post(node, "/api/v1/drones/st-b/control", json::object(), holder).status == 200);
  auto refused = post(node, "/api/v1/missions/" + id + "/start", json::object());
  INFO(refused.body);
  CHECK(refused.status == 409);
  CHECK(refused.json()["error"]["code"] == "controlled_by_other");
  CHECK(refused.json()["error"]["drone_id"] == "st-b");
  CHECK(commands_of(node, "st-a", "mission_start").empty());
  CHECK(commands_of(node, "st-b", "mission_start").empty());
  CHECK(mission(node, id)["state"] == "ready");
  // Released: both start.
  REQUIRE(http_request(node.port(), "DELETE", "/api/v1/drones/st-b/control", {}, holder).status == 204);
  auto started = post(node, "/api/v1/missions/" + id + "/start", json::object());
  INFO(started.body);
  REQUIRE(started.status == 200);
  CHECK(started.json()["commands"].size() == 2);
  CHECK(expect_frame(*a, "command")["kind"] == "mission_start");
  CHECK(expect_frame(*b, "command")["kind"] == "mission_start");
}

TEST_CASE("missions: progress that comes while PostgreSQL is down is kept and written once it is back") {
  scratch_database db;
  auto proxy = tcp_proxy::to_postgres();
  test_node node{{"db.url", proxy->pg_url(db.name)}, {"db.retry_min_ms", "50"}, {"db.retry_max_ms", "500"}};
  auto drone = connect_drone(node.port(), "cut-1");
  auto id = planned(node, json::array({item(50.001, 10.001, 430), item(50.002, 10.001, 430)}), {"cut-1"});
  REQUIRE(post(node, "/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  accept_items(*drone, 2);
  REQUIRE(eventually([&] { return mission(node, id)["state"] == "ready"; }));
  REQUIRE(post(node, "/api/v1/missions/" + id + "/start", json::object()).status == 200);
  auto cmd = expect_frame(*drone, "command");
  drone->send(json{{"type", "command_ack"}, {"command_id", cmd["command_id"]}, {"result", "succeeded"}});
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "reached"}, {"seq", 0}});
  REQUIRE(eventually([&] { return mission(node, id)["drones"][0]["reached"].size() == 1; }));

  proxy->down();
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "reached"}, {"seq", 1}});
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "completed"}});
  REQUIRE(eventually([&] { return http_get(node.port(), "/api/v1/missions/" + id, node.admin()).status == 503; }));
  proxy->up();
  // Nothing is sent again by the drone: the node wrote what it kept, in order.
  REQUIRE(eventually([&] {
    auto r = http_get(node.port(), "/api/v1/missions/" + id, node.admin());
    return r.status == 200 && r.json()["state"] == "completed";
  }, std::chrono::seconds(20)));
  auto m = mission(node, id);
  CHECK(m["drones"][0]["reached"].size() == 2);
  CHECK(m["drones"][0]["state"] == "completed");
}

TEST_CASE("missions: the flight routes refuse what they cannot do, with clear errors") {
  test_node node;
  auto viewer = test_node::bearer(node.token("viewer", {"default"}));
  auto other = test_node::bearer(node.token("operator", {"red"}));
  json items = json::array({item(50.001, 10.001, 430)});
  auto made = post(node, "/api/v1/missions", json{{"name", "m"}, {"group", "default"}, {"items", items}});
  REQUIRE(made.status == 201);
  auto id = made.json()["id"].get<std::string>();
  auto none = post(node, "/api/v1/missions/" + id + "/upload", json::object());
  CHECK(none.status == 409);
  CHECK(none.json()["error"]["code"] == "no_drones");
  CHECK(post(node, "/api/v1/missions/" + id + "/upload", json::object(), viewer).status == 403);
  CHECK(post(node, "/api/v1/missions/" + id + "/start", json::object(), other).status == 404); // not its group
  for (auto action : {"pause", "resume", "abort"}) {
    auto r = post(node, "/api/v1/missions/" + id + "/" + action, json::object());
    CHECK(r.status == 409);
    CHECK(r.json()["error"]["code"] == "mission_state");
  }
  // Validated again at upload from where each drone is now, with the battery it has now: one 20 km away cannot
  // fly the first leg, one at 20.5 % would end below the 20 % reserve. Nothing is sent.
  auto far = connect_drone(node.port(), "far-1");
  far->send(telemetry_frame(1, 50.2, 10.0, 400));
  auto low = connect_drone(node.port(), "low-1");
  auto weak = telemetry_frame(1, 50.0, 10.0, 400);
  weak["battery"] = 20.5;
  low->send(weak);
  REQUIRE(eventually([&] {
    auto a = http_get(node.port(), "/api/v1/drones/far-1", node.admin());
    auto b = http_get(node.port(), "/api/v1/drones/low-1", node.admin());
    return a.status == 200 && a.json().value("lat", 0.0) == 50.2 && b.status == 200 &&
           b.json().value("battery", 0.0) == 20.5;
  }));
  for (auto [drone, mentions] : {std::pair{"far-1", "items[0]"}, std::pair{"low-1", "battery"}}) {
    REQUIRE(post(node, "/api/v1/missions/" + id + "/assign", json{{"drones", {drone}}}).status == 200);
    auto refused = post(node, "/api/v1/missions/" + id + "/upload", json::object());
    INFO(refused.body);
    CHECK(refused.status == 409);
    CHECK(refused.json()["error"]["code"] == "mission_invalid");
    CHECK(refused.json()["error"]["message"].get<std::string>().find(drone) != std::string::npos);
    CHECK(refused.json()["error"]["message"].get<std::string>().find(mentions) != std::string::npos);
    auto after = mission(node, id);
    CHECK(after["state"] == "validated");
    CHECK(after["drones"][0]["state"] == "assigned"); // nothing was sent
  }
  CHECK(http_request(node.port(), "GET", "/api/v1/missions/" + id + "/start", {}, node.admin()).status == 405);
  CHECK(post(node, "/api/v1/missions/" + id + "/fly", json::object()).status == 404);
  CHECK(post(node, "/api/v1/missions/not-a-uuid/start", json::object()).status == 404);

  // Bad mission frames from a drone: an error frame naming the field, the connection stays.
  auto drone = connect_drone(node.port(), "bad-1");
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "landed"}});
  auto e = expect_frame(*drone, "error");
  CHECK(e["code"] == "invalid_field");
  CHECK(e["message"].get<std::string>().find("event") != std::string::npos);
  drone->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"result", "accepted"}});
  e = expect_frame(*drone, "error");
  CHECK(e["code"] == "missing_field");
  CHECK(e["message"].get<std::string>().find("seq") != std::string::npos);
  drone->send(json{{"type", "mission_ack"}, {"mission_id", "m1"}, {"seq", 0}, {"result", "accepted"}});
  CHECK(expect_frame(*drone, "error")["code"] == "invalid_field");
  drone->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"seq", 0}, {"result", "succeeded"}});
  CHECK(expect_frame(*drone, "error")["code"] == "invalid_field");
  // A progress of a mission the drone does not fly changes nothing.
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "completed"}});
  drone->send(telemetry_frame(1, 50.0, 10.0, 400));
  CHECK(eventually([&] {
    auto d = http_get(node.port(), "/api/v1/drones/bad-1", node.admin());
    return d.status == 200 && d.json().value("lat", 0.0) == 50.0;
  }));
  CHECK(mission(node, id)["state"] == "validated");
}

#ifdef DCCS_SIM_BIN
namespace {

/// The live position of a simulated drone once it streams.
json live(const test_node& node, const std::string& id) {
  json out;
  REQUIRE(eventually([&] {
    auto r = http_get(node.port(), "/api/v1/drones/" + id, node.admin());
    if (r.status != 200 || !r.json().contains("lat") || r.json()["connected"] != true)
      return false;
    out = r.json();
    return true;
  }));
  return out;
}

} // namespace

TEST_CASE("missions: simulated drones fly a mission to its end, and one that cannot take off fails it (mission_failed)") {
  // No battery reserve: the drone at 10 % passes the upload's estimate, and its autopilot refuses to arm.
  test_node node{{"missions.reserve_percent", "0"}};
  auto url = "ws://127.0.0.1:" + std::to_string(node.port());
  // Time runs 20 times faster in the simulator's flight model: a few hundred metres take seconds.
  child fleet{{DCCS_SIM_BIN, "--url", url, "--drones", "1", "--rate", "5", "--autopilot", "--time-scale", "20",
               "--prefix", "fly-", "--report-interval", "600"}};
  child weak{{DCCS_SIM_BIN, "--url", url, "--drones", "1", "--rate", "5", "--autopilot", "--battery", "10",
              "--prefix", "weak-", "--report-interval", "600", "--seed", "2"}};
  auto d = live(node, "fly-00000");
  double lat = d["lat"], lon = d["lon"], ground = d["alt"];
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  json items = json::array({item(lat + 0.001, lon, ground + 30), item(lat + 0.001, lon + 0.0015, ground + 40),
                            item(lat, lon + 0.0015, ground + 30)});
  items[1]["hold_s"] = 2;
  items[1]["action"] = "photo";
  auto id = planned(node, items, {"fly-00000"}, "rtl");
  REQUIRE(post(node, "/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  REQUIRE(eventually([&] { return mission(node, id)["state"] == "ready"; }));
  auto started = post(node, "/api/v1/missions/" + id + "/start", json::object());
  INFO(started.body);
  REQUIRE(started.status == 200);
  // Every item reached, in order, then back home and landed: completed, seen live.
  auto done = mission_frame(op, id, "fly-00000", "completed");
  INFO(done.dump());
  REQUIRE(done.is_object());
  auto m = mission(node, id);
  CHECK(m["state"] == "completed");
  auto reached = m["drones"][0]["reached"];
  REQUIRE(reached.size() == 3);
  for (int i = 0; i < 3; ++i)
    CHECK(reached[i]["seq"] == i);
  CHECK(reached[0]["at"].get<double>() <= reached[1]["at"].get<double>());
  CHECK(reached[1]["at"].get<double>() <= reached[2]["at"].get<double>());
  CHECK(m["drones"][0]["current_seq"] == 2);

  // A drone whose battery is too low refuses to arm: its start is rejected, the mission fails, an alarm is raised.
  auto w = live(node, "weak-00000");
  json near = json::array({item(w["lat"].get<double>() + 0.001, w["lon"], w["alt"].get<double>() + 30)});
  auto weak_id = planned(node, near, {"weak-00000"});
  REQUIRE(post(node, "/api/v1/missions/" + weak_id + "/upload", json::object()).status == 202);
  REQUIRE(eventually([&] { return mission(node, weak_id)["state"] == "ready"; }));
  REQUIRE(post(node, "/api/v1/missions/" + weak_id + "/start", json::object()).status == 200);
  REQUIRE(eventually([&] { return mission(node, weak_id)["state"] == "failed"; }));
  auto failed = mission(node, weak_id);
  CHECK(failed["drones"][0]["state"] == "failed");
  CHECK(failed["reason"].get<std::string>().find("weak-00000") != std::string::npos);
  CHECK(eventually([&] {
    auto r = http_get(node.port(), "/api/v1/alarms?drone=weak-00000&kind=mission_failed", node.admin());
    return r.status == 200 && r.json()["alarms"].size() == 1;
  }));
}
#endif
