// Commands end to end (docs/protocol.md "Commands"): a node in-process with its own PostgreSQL database, a drone and
// an operator over real WebSockets on 127.0.0.1, REST over HTTP. Every command is journaled before the answer,
// delivered to the drone, acknowledged, tracked to a final state, pushed to operators and readable over REST.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

http_result post_command(const test_node& node, const std::string& drone, const json& body,
                         const headers& h = {}, const std::string& key = {}) {
  auto hh = h.empty() ? node.admin() : h;
  if (!key.empty())
    hh.emplace_back("Idempotency-Key", key);
  return http_request(node.port(), "POST", "/api/v1/drones/" + drone + "/commands", body.dump(), hh);
}

json get_command(const test_node& node, const std::string& id) {
  auto r = http_get(node.port(), "/api/v1/commands/" + id, node.admin());
  REQUIRE(r.status == 200);
  return r.json();
}

json ack(const std::string& id, const std::string& result, double progress = -1, const std::string& reason = {}) {
  json a{{"type", "command_ack"}, {"command_id", id}, {"result", result}};
  if (progress >= 0)
    a["progress"] = progress;
  if (!reason.empty())
    a["reason"] = reason;
  return a;
}

/// The journal's transitions of a command, in order.
std::vector<std::string> transitions(const test_node& node, const std::string& id) {
  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  std::vector<std::string> out;
  for (auto r : tx.exec("SELECT state FROM commands.transitions WHERE command_id = " + tx.quote(id)
                        + "::uuid ORDER BY at, ctid"))
    out.push_back(r[0].as<std::string>());
  return out;
}

/// An operator socket subscribed to every drone; `commands` collects its command frames.
struct operator_socket {
  operator_socket(std::uint16_t port, const headers& h) : ws(port, "/ws/operator", h) {
    ws.send(json{{"type", "subscribe"}, {"drones", "*"}});
  }
  /// Reads until a command frame with `id` in `state` came.
  bool saw(const std::string& id, const std::string& state) {
    for (auto& c : commands)
      if (c["id"] == id && c["state"] == state)
        return true;
    while (auto text = ws.read()) {
      auto j = json::parse(*text);
      if (j.value("type", "") != "command")
        continue;
      commands.push_back(j["command"]);
      if (j["command"]["id"] == id && j["command"]["state"] == state)
        return true;
    }
    return false;
  }
  ws_client ws;
  std::vector<json> commands;
};

} // namespace

TEST_CASE("commands: a command is journaled, delivered, acknowledged to succeeded, pushed to operators and read back") {
  test_node node;
  auto drone = connect_drone(node.port(), "cmd-1");
  operator_socket op{node.port(), node.admin()};
  auto r = post_command(node, "cmd-1", {{"kind", "takeoff"}, {"params", {{"alt", 30}}}});
  INFO(r.body);
  REQUIRE(r.status == 202);
  auto issued = r.json();
  auto id = issued["id"].get<std::string>();
  CHECK(issued["kind"] == "takeoff");
  CHECK(issued["drone_id"] == "cmd-1");
  CHECK(issued["params"]["alt"] == 30);
  CHECK(issued["issued_by"] == "test-admin");
  CHECK(issued["expires_at"].get<double>() > issued["created_at"].get<double>());
  // Times are whole milliseconds: the journal's microseconds never show as 1796104865123.456.
  for (auto key : {"created_at", "updated_at", "expires_at"})
    CHECK(issued[key].is_number_integer());

  auto frame = next_of_type(*drone, "command");
  REQUIRE(frame.is_object());
  CHECK(frame["command_id"] == id);
  CHECK(frame["kind"] == "takeoff");
  CHECK(frame["params"]["alt"] == 30);
  CHECK(frame["attempt"] == 1);
  CHECK(frame["expires_at"] == issued["expires_at"]);

  drone->send(ack(id, "accepted"));
  CHECK(op.saw(id, "accepted"));
  drone->send(ack(id, "in_progress", 50));
  CHECK(op.saw(id, "in_progress"));
  drone->send(ack(id, "succeeded"));
  CHECK(op.saw(id, "succeeded"));
  auto done = get_command(node, id);
  CHECK(done["state"] == "succeeded");
  CHECK(done["final"] == true);
  CHECK(done["progress"] == 100);
  CHECK(done["attempt"] == 1);
  CHECK(transitions(node, id) == std::vector<std::string>{"queued", "sent", "accepted", "in_progress", "succeeded"});

  auto list = http_get(node.port(), "/api/v1/drones/cmd-1/commands", node.admin());
  REQUIRE(list.status == 200);
  REQUIRE(list.json()["commands"].size() == 1);
  CHECK(list.json()["commands"][0]["id"] == id);
  CHECK(http_get(node.port(), "/api/v1/drones/cmd-1/commands?state=succeeded", node.admin()).json()["commands"].size() == 1);
  CHECK(http_get(node.port(), "/api/v1/drones/cmd-1/commands?state=failed", node.admin()).json()["commands"].empty());
  CHECK(node.metric("dccs_commands_issued_total") == 1);
  CHECK(node.metric("dccs_commands_finished_total{state=\"succeeded\"}") == 1);
}

TEST_CASE("commands: an unanswered command is sent again with the same id, then timed out, and a refusal ends one") {
  test_node node{{"commands.retry_ms", "200"}, {"commands.max_attempts", "3"}};
  auto drone = connect_drone(node.port(), "cmd-2");
  auto r = post_command(node, "cmd-2", {{"kind", "arm"}});
  REQUIRE(r.status == 202);
  auto id = r.json()["id"].get<std::string>();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto f = next_of_type(*drone, "command");
    REQUIRE(f.is_object());
    CHECK(f["command_id"] == id);
    CHECK(f["attempt"] == attempt);
  }
  REQUIRE(eventually([&] { return get_command(node, id)["state"] == "timed_out"; }));
  CHECK(get_command(node, id)["attempt"] == 3);
  drone->send(ack(id, "succeeded")); // too late: final is final
  auto arm = post_command(node, "cmd-2", {{"kind", "arm"}});
  REQUIRE(arm.status == 202); // the timed-out one is final: a new arm is taken
  auto id2 = arm.json()["id"].get<std::string>();
  REQUIRE(next_of_type(*drone, "command")["command_id"] == id2);
  drone->send(ack(id2, "temporarily_rejected", -1, "battery below 20 %"));
  REQUIRE(eventually([&] { return get_command(node, id2)["state"] == "rejected"; }));
  CHECK(get_command(node, id2)["reason"] == "battery below 20 %");
  CHECK(get_command(node, id)["state"] == "timed_out");
}

TEST_CASE("commands: a command to an offline drone waits until it connects, and one that expires first is never sent") {
  test_node node;
  std::map<std::string, std::string> secrets;
  for (auto id : {"off-1", "off-2"}) {
    auto reg = http_request(node.port(), "POST", "/api/v1/drones", json{{"id", id}}.dump(), node.admin());
    REQUIRE(reg.status == 201);
    secrets[id] = reg.json()["secret"].get<std::string>();
  }
  auto waiting = post_command(node, "off-1", {{"kind", "takeoff"}, {"params", {{"alt", 12}}}, {"ttl_s", 600}});
  REQUIRE(waiting.status == 202);
  auto wid = waiting.json()["id"].get<std::string>();
  CHECK(get_command(node, wid)["state"] == "queued");
  auto expiring = post_command(node, "off-2", {{"kind", "arm"}, {"ttl_s", 1}});
  REQUIRE(expiring.status == 202);
  auto eid = expiring.json()["id"].get<std::string>();
  REQUIRE(eventually([&] { return get_command(node, eid)["state"] == "expired"; }));
  CHECK(get_command(node, eid)["attempt"] == 0);

  auto d1 = connect_drone(node.port(), "off-1", secrets["off-1"]);
  auto f = next_of_type(*d1, "command");
  REQUIRE(f.is_object());
  CHECK(f["command_id"] == wid);
  REQUIRE(eventually([&] { return get_command(node, wid)["state"] == "sent"; }));

  auto d2 = connect_drone(node.port(), "off-2", secrets["off-2"]);
  auto fresh = post_command(node, "off-2", {{"kind", "disarm"}});
  REQUIRE(fresh.status == 202);
  auto first = next_of_type(*d2, "command"); // the expired arm never comes: the first command is the new one
  REQUIRE(first.is_object());
  CHECK(first["command_id"] == fresh.json()["id"]);
  CHECK(first["kind"] == "disarm");
}

TEST_CASE("commands: the same Idempotency-Key returns the first command, and reused for another command it is 409") {
  test_node node;
  auto drone = connect_drone(node.port(), "idem-1");
  json body{{"kind", "goto"}, {"params", {{"lat", 47.4}, {"lon", 8.5}, {"alt", 450}}}};
  auto a = post_command(node, "idem-1", body, {}, "key-42");
  auto b = post_command(node, "idem-1", body, {}, "key-42");
  REQUIRE(a.status == 202);
  REQUIRE(b.status == 202);
  CHECK(a.json()["id"] == b.json()["id"]);
  auto other = post_command(node, "idem-1", {{"kind", "land"}}, {}, "key-42");
  CHECK(other.status == 409);
  CHECK(other.json()["error"]["code"] == "idempotency_key_reused");
  CHECK(node.metric("dccs_commands_issued_total") == 1);
  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  CHECK(tx.exec1("SELECT count(*) FROM commands.commands")[0].as<int>() == 1);
}

TEST_CASE("commands: one command per kind in flight (409 naming it), and land supersedes the movement in flight") {
  test_node node{{"commands.retry_ms", "60000"}};
  auto drone = connect_drone(node.port(), "flight-1");
  auto go = post_command(node, "flight-1", {{"kind", "goto"}, {"params", {{"lat", 47.4}, {"lon", 8.5}, {"alt", 450}}}});
  REQUIRE(go.status == 202);
  auto gid = go.json()["id"].get<std::string>();
  REQUIRE(next_of_type(*drone, "command")["command_id"] == gid);
  drone->send(ack(gid, "accepted"));
  REQUIRE(eventually([&] { return get_command(node, gid)["state"] == "accepted"; }));
  auto again = post_command(node, "flight-1", {{"kind", "goto"}, {"params", {{"lat", 47.5}, {"lon", 8.5}, {"alt", 450}}}});
  CHECK(again.status == 409);
  CHECK(again.json()["error"]["code"] == "command_in_flight");
  CHECK(again.json()["error"]["command_id"] == gid);
  auto arm = post_command(node, "flight-1", {{"kind", "set_speed"}, {"params", {{"speed", 5}}}});
  CHECK(arm.status == 202); // another kind is taken

  auto land = post_command(node, "flight-1", {{"kind", "land"}});
  REQUIRE(land.status == 202);
  auto lid = land.json()["id"].get<std::string>();
  CHECK(get_command(node, gid)["state"] == "cancelled");
  CHECK(get_command(node, gid)["reason"].get<std::string>().find("superseded by land") != std::string::npos);
  // The drone is told to stop the goto, and gets the land.
  std::set<std::string> seen;
  while (seen.size() < 2) {
    auto text = drone->read();
    REQUIRE(text);
    auto j = json::parse(*text);
    if (j["type"] == "command_cancel" && j["command_id"] == gid)
      seen.insert("cancel");
    if (j["type"] == "command" && j["command_id"] == lid)
      seen.insert("land");
  }
  auto land2 = post_command(node, "flight-1", {{"kind", "land"}});
  CHECK(land2.status == 202); // land is always taken
  CHECK(get_command(node, lid)["state"] == "cancelled");
}

TEST_CASE("commands: an operator cancels a command, and a final one cannot be cancelled") {
  test_node node{{"commands.retry_ms", "60000"}};
  auto drone = connect_drone(node.port(), "cancel-1");
  auto r = post_command(node, "cancel-1", {{"kind", "takeoff"}, {"params", {{"alt", 20}}}});
  REQUIRE(r.status == 202);
  auto id = r.json()["id"].get<std::string>();
  REQUIRE(next_of_type(*drone, "command")["command_id"] == id);
  auto del = http_request(node.port(), "DELETE", "/api/v1/commands/" + id, {}, node.admin());
  INFO(del.body);
  REQUIRE(del.status == 200);
  CHECK(del.json()["state"] == "cancelled");
  auto cancel = next_of_type(*drone, "command_cancel");
  REQUIRE(cancel.is_object());
  CHECK(cancel["command_id"] == id);
  auto again = http_request(node.port(), "DELETE", "/api/v1/commands/" + id, {}, node.admin());
  CHECK(again.status == 409);
  CHECK(again.json()["error"]["code"] == "command_final");
  drone->send(ack(id, "succeeded")); // the drone's late word changes nothing
  CHECK(http_request(node.port(), "DELETE", "/api/v1/commands/0f8fad5b-d9cb-469f-a165-70867728950e", {}, node.admin())
          .status == 404);
  CHECK(http_request(node.port(), "DELETE", "/api/v1/commands/not-a-uuid", {}, node.admin()).status == 404);
  CHECK(http_request(node.port(), "PUT", "/api/v1/commands/" + id, "{}", node.admin()).status == 405);
  CHECK(get_command(node, id)["state"] == "cancelled");
  CHECK(transitions(node, id) == std::vector<std::string>{"queued", "sent", "cancelled"});
}

TEST_CASE("commands: operators command their groups' drones, viewers and other groups may not") {
  test_node node;
  for (auto [id, group] : {std::pair{"red-c", "red"}, std::pair{"blue-c", "blue"}})
    REQUIRE(http_request(node.port(), "POST", "/api/v1/drones", json{{"id", id}, {"group", group}}.dump(), node.admin())
              .status == 201);
  auto red_op = test_node::bearer(node.token("operator", {"red"}));
  auto red_viewer = test_node::bearer(node.token("viewer", {"red"}));
  json arm{{"kind", "arm"}};
  auto ok = post_command(node, "red-c", arm, red_op);
  CHECK(ok.status == 202);
  CHECK(post_command(node, "blue-c", arm, red_op).status == 404); // a drone they do not see
  auto viewer = post_command(node, "red-c", {{"kind", "disarm"}}, red_viewer);
  CHECK(viewer.status == 403);
  CHECK(http_get(node.port(), "/api/v1/drones/red-c/commands", red_viewer).status == 200);
  CHECK(http_get(node.port(), "/api/v1/drones/blue-c/commands", red_viewer).status == 404);
  auto id = ok.json()["id"].get<std::string>();
  CHECK(http_get(node.port(), "/api/v1/commands/" + id, red_viewer).status == 200);
  CHECK(http_request(node.port(), "DELETE", "/api/v1/commands/" + id, {}, red_viewer).status == 403);
  auto blue_viewer = test_node::bearer(node.token("viewer", {"blue"}));
  CHECK(http_get(node.port(), "/api/v1/commands/" + id, blue_viewer).status == 404);
  CHECK(post_command(node, "red-c", arm, {{"Authorization", "Bearer nope"}}).status == 401);
  // An operator of another group does not see the command on their socket.
  operator_socket blue{node.port(), blue_viewer};
  operator_socket red{node.port(), red_viewer};
  auto cancel = http_request(node.port(), "DELETE", "/api/v1/commands/" + id, {}, red_op);
  REQUIRE(cancel.status == 200);
  CHECK(red.saw(id, "cancelled"));
  auto marker = post_command(node, "blue-c", arm);
  REQUIRE(marker.status == 202);
  CHECK(blue.saw(marker.json()["id"].get<std::string>(), "queued"));
  for (auto& c : blue.commands)
    CHECK(c["drone_id"] == "blue-c");
}

TEST_CASE("commands: with several I/O threads for the drones and for the rest, and several journal connections, every drone's command goes end to end in order") {
  // Drone sockets move to their own I/O context after the upgrade (strands when it has several threads); the
  // journal spreads drones over its connections, each drone's steps on one of them, in order.
  test_node node{{"http.threads", "2"}, {"http.control_threads", "2"}, {"commands.journal_connections", "3"}};
  operator_socket op{node.port(), node.admin()};
  std::vector<std::unique_ptr<ws_client>> drones;
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i)
    drones.push_back(connect_drone(node.port(), "threads-" + std::to_string(i)));
  for (int i = 0; i < 8; ++i) {
    auto r = post_command(node, "threads-" + std::to_string(i), {{"kind", "takeoff"}, {"params", {{"alt", 10 + i}}}});
    INFO(r.body);
    REQUIRE(r.status == 202);
    ids.push_back(r.json()["id"].get<std::string>());
  }
  for (int i = 0; i < 8; ++i) {
    auto frame = next_of_type(*drones[i], "command");
    REQUIRE(frame.is_object());
    CHECK(frame["command_id"] == ids[i]);
    CHECK(frame["params"]["alt"] == 10 + i);
    drones[i]->send(ack(ids[i], "accepted"));
    drones[i]->send(ack(ids[i], "succeeded"));
  }
  for (int i = 0; i < 8; ++i) {
    CHECK(op.saw(ids[i], "succeeded"));
    CHECK(transitions(node, ids[i]) == std::vector<std::string>{"queued", "sent", "accepted", "succeeded"});
  }
  CHECK(node.metric("dccs_commands_issued_total") == 8);
}

TEST_CASE("commands: a command is authorized against the registry as it stands: a drone moved or removed is refused at once") {
  test_node node;
  REQUIRE(http_request(node.port(), "POST", "/api/v1/drones", json{{"id", "moving-c"}, {"group", "red"}}.dump(),
                       node.admin())
            .status == 201);
  auto red_op = test_node::bearer(node.token("operator", {"red"}));
  auto first = post_command(node, "moving-c", {{"kind", "arm"}}, red_op);
  REQUIRE(first.status == 202);
  CHECK(first.json()["group"] == "red");
  // Moved to blue: the red operator no longer sees it (404), an admin's command is journaled in the new group.
  REQUIRE(http_request(node.port(), "PATCH", "/api/v1/drones/moving-c", json{{"group", "blue"}}.dump(), node.admin())
            .status == 200);
  auto refused = post_command(node, "moving-c", {{"kind", "takeoff"}, {"params", {{"alt", 10}}}}, red_op);
  CHECK(refused.status == 404);
  CHECK(refused.json()["error"]["code"] == "not_found");
  auto moved = post_command(node, "moving-c", {{"kind", "takeoff"}, {"params", {{"alt", 10}}}});
  REQUIRE(moved.status == 202);
  CHECK(moved.json()["group"] == "blue");
  // Removed: nobody commands it, and the refusal names the drone.
  REQUIRE(http_request(node.port(), "DELETE", "/api/v1/drones/moving-c", {}, node.admin()).status == 204);
  auto gone = post_command(node, "moving-c", {{"kind", "land"}});
  CHECK(gone.status == 404);
  CHECK(gone.json()["error"]["message"].get<std::string>().find("moving-c") != std::string::npos);
  CHECK(post_command(node, "never-registered", {{"kind", "land"}}).status == 404);
  // Every new command's request reached the journal, timed from its read; the two the registry allowed, in the
  // journal too. The two drones the journal did not find were asked of the fleet store, which refused them as well.
  CHECK(node.metric("dccs_command_accept_wait_ms_count") == 5);
  CHECK(node.metric("dccs_command_accept_db_ms_count") == 2);
  CHECK(node.metric("dccs_command_fleet_authorized_total") == 2);
}

TEST_CASE("commands: a command right after a new drone's welcome, before its registration is written, is authorized by the fleet store and journaled") {
  test_node node;
  REQUIRE(http_get(node.port(), "/api/v1/drones", node.admin()).status == 200); // the registry's schema exists
  // The registry's table locked against writes (reads go on): the fleet store's insert of a drone that registers
  // itself at its first hello waits, so the journal's own read cannot find the drone.
  pqxx::connection lock_conn{node.db_url()};
  pqxx::work lock{lock_conn};
  lock.exec0("LOCK TABLE fleet.drones IN SHARE MODE");
  auto drone = connect_drone(node.port(), "fresh-1");
  REQUIRE(eventually([&] {
    pqxx::connection c{node.db_url()};
    pqxx::work tx{c};
    return tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%fleet.drones%'")[0]
             .as<int>() > 0;
  }));
  auto answer = std::async(std::launch::async, [&] { return post_command(node, "fresh-1", {{"kind", "arm"}}); });
  // The journal did not find it and asked the fleet store, whose mailbox has the registration first.
  REQUIRE(eventually([&] { return node.metric("dccs_command_fleet_authorized_total") == 1; }));
  lock.abort();
  auto r = answer.get();
  INFO(r.body);
  REQUIRE(r.status == 202);
  CHECK(r.json()["drone_id"] == "fresh-1");
  auto frame = next_of_type(*drone, "command");
  REQUIRE(frame.is_object());
  CHECK(frame["command_id"] == r.json()["id"]);
}

TEST_CASE("commands: bad requests and bad acks are refused with a clear error and change nothing") {
  test_node node;
  auto drone = connect_drone(node.port(), "bad-1");
  struct bad {
    std::string body;
    std::string field;
  };
  for (auto& b : std::vector<bad>{{R"({"kind":"selfdestruct"})", "kind"},
                                  {R"({"params":{}})", "kind"},
                                  {R"({"kind":"takeoff"})", "params.alt"},
                                  {R"({"kind":"takeoff","params":{"alt":-5}})", "params.alt"},
                                  {R"({"kind":"goto","params":{"lat":95,"lon":8,"alt":400}})", "params.lat"},
                                  {R"({"kind":"arm","params":{"force":true}})", "params.force"},
                                  {R"({"kind":"arm","ttl_s":0})", "ttl_s"},
                                  {R"({"kind":"arm","ttl_s":999999})", "ttl_s"},
                                  {R"({"kind":"arm","priority":1})", "priority"},
                                  {R"({"kind":"arm","params":[]})", "params"}}) {
    INFO(b.body);
    auto r = http_request(node.port(), "POST", "/api/v1/drones/bad-1/commands", b.body, node.admin());
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["field"] == b.field);
  }
  CHECK(http_request(node.port(), "POST", "/api/v1/drones/bad-1/commands", "{not json", node.admin()).status == 400);
  CHECK(post_command(node, "bad-1", {{"kind", "arm"}}, {}, "has space").status == 400);
  CHECK(post_command(node, "nobody", {{"kind", "arm"}}).status == 404);
  CHECK(http_request(node.port(), "PATCH", "/api/v1/drones/bad-1/commands", "{}", node.admin()).status == 405);
  CHECK(http_get(node.port(), "/api/v1/drones/bad-1/commands?state=flying", node.admin()).status == 400);
  CHECK(http_get(node.port(), "/api/v1/drones/bad-1/commands?limit=0", node.admin()).status == 400);
  CHECK(http_get(node.port(), "/api/v1/drones/bad-1/commands?before=xyz", node.admin()).status == 400);
  CHECK(node.metric("dccs_commands_issued_total") == 0);

  // Bad acks: an error frame naming the field; an ack for a command the node does not know is ignored.
  drone->send(std::string{R"({"type":"command_ack","command_id":"nope","result":"accepted"})"});
  auto e = next_of_type(*drone, "error");
  REQUIRE(e.is_object());
  CHECK(e["code"] == "invalid_field");
  drone->send(std::string{R"({"type":"command_ack","command_id":"0f8fad5b-d9cb-469f-a165-70867728950e","result":"maybe"})"});
  e = next_of_type(*drone, "error");
  REQUIRE(e.is_object());
  CHECK(e["message"].get<std::string>().find("result") != std::string::npos);
  drone->send(std::string{R"({"type":"command_ack","result":"accepted"})"});
  e = next_of_type(*drone, "error");
  REQUIRE(e.is_object());
  CHECK(e["code"] == "missing_field");
  drone->send(ack("0f8fad5b-d9cb-469f-a165-70867728950e", "succeeded"));
  // The connection still serves: a command issued now arrives.
  auto r = post_command(node, "bad-1", {{"kind", "arm"}});
  REQUIRE(r.status == 202);
  CHECK(next_of_type(*drone, "command")["command_id"] == r.json()["id"]);
}

TEST_CASE("commands: after a node restart an open command is sent again when the drone reconnects, and ends") {
  scratch_database db;
  std::string id;
  {
    test_node a{{"db.url", db.url()}, {"commands.retry_ms", "60000"}};
    auto drone = connect_drone(a.port(), "restart-1");
    auto r = post_command(a, "restart-1", {{"kind", "takeoff"}, {"params", {{"alt", 40}}}, {"ttl_s", 600}});
    REQUIRE(r.status == 202);
    id = r.json()["id"].get<std::string>();
    REQUIRE(next_of_type(*drone, "command")["command_id"] == id);
    REQUIRE(eventually([&] { return get_command(a, id)["state"] == "sent"; }));
  } // the node stops without an answer from the drone
  test_node b{{"db.url", db.url()}};
  CHECK(get_command(b, id)["state"] == "sent");
  auto drone = connect_drone(b.port(), "restart-1");
  auto f = next_of_type(*drone, "command");
  REQUIRE(f.is_object());
  CHECK(f["command_id"] == id);
  CHECK(f["attempt"] == 2);
  drone->send(ack(id, "succeeded"));
  REQUIRE(eventually([&] { return get_command(b, id)["state"] == "succeeded"; }));
}

TEST_CASE("commands: a control lease lets one operator command a drone, an admin may take it over, and it is released or expires") {
  test_node node{{"commands.lease_ttl_s", "60"}};
  REQUIRE(http_request(node.port(), "POST", "/api/v1/drones", json{{"id", "lease-1"}, {"group", "red"}}.dump(),
                       node.admin()).status == 201);
  auto alice = test_node::bearer(node.token("operator", {"red"}, "alice"));
  auto bob = test_node::bearer(node.token("operator", {"red"}, "bob"));
  auto viewer = test_node::bearer(node.token("viewer", {"red"}, "vera"));
  auto control = "/api/v1/drones/lease-1/control";
  auto free = http_get(node.port(), control, viewer);
  REQUIRE(free.status == 200);
  CHECK(free.json()["holder"].is_null());
  // Nobody holds it: anyone who may command does.
  CHECK(post_command(node, "lease-1", {{"kind", "arm"}}, bob).status == 202);

  operator_socket watching{node.port(), viewer};
  auto took = http_request(node.port(), "POST", control, json{{"ttl_s", 30}}.dump(), alice);
  INFO(took.body);
  REQUIRE(took.status == 200);
  CHECK(took.json()["holder"] == "alice");
  auto expires = took.json()["expires_at"].get<double>();
  CHECK(http_get(node.port(), control, viewer).json()["holder"] == "alice");
  // Bob may not command it now, nor take the lease, nor release it.
  auto refused = post_command(node, "lease-1", {{"kind", "disarm"}}, bob);
  CHECK(refused.status == 409);
  CHECK(refused.json()["error"]["code"] == "controlled_by_other");
  CHECK(refused.json()["error"]["holder"] == "alice");
  CHECK(http_request(node.port(), "POST", control, {}, bob).status == 409);
  CHECK(http_request(node.port(), "DELETE", control, {}, bob).status == 409);
  CHECK(http_request(node.port(), "POST", control, json{{"force", true}}.dump(), bob).status == 403);
  CHECK(http_request(node.port(), "POST", control, {}, viewer).status == 403);
  // Alice's command renews her lease.
  auto takeoff = post_command(node, "lease-1", {{"kind", "takeoff"}, {"params", {{"alt", 10}}}}, alice);
  CHECK(takeoff.status == 202);
  CHECK(http_get(node.port(), control, viewer).json()["expires_at"].get<double>() > expires);

  // An admin takes over: the watchers of the drone are told.
  auto over = http_request(node.port(), "POST", control, json{{"force", true}}.dump(), node.admin());
  REQUIRE(over.status == 200);
  CHECK(over.json()["holder"] == "test-admin");
  bool told = false;
  while (!told) {
    auto text = watching.ws.read();
    REQUIRE(text);
    auto j = json::parse(*text);
    told = j["type"] == "control" && j["holder"] == "test-admin" && j["previous"] == "alice";
  }
  CHECK(post_command(node, "lease-1", {{"kind", "land"}}, alice).status == 409);
  CHECK(http_request(node.port(), "DELETE", control, {}, node.admin()).status == 204);
  CHECK(http_get(node.port(), control, viewer).json()["holder"].is_null());
  CHECK(http_request(node.port(), "DELETE", control, {}, alice).status == 404);
  CHECK(post_command(node, "lease-1", {{"kind", "land"}}, alice).status == 202);

  // A lease expires by itself.
  REQUIRE(http_request(node.port(), "POST", control, json{{"ttl_s", 1}}.dump(), bob).status == 200);
  CHECK(eventually([&] { return http_get(node.port(), control, viewer).json()["holder"].is_null(); }));
  CHECK(post_command(node, "lease-1", {{"kind", "set_speed"}, {"params", {{"speed", 3}}}}, alice).status == 202);
  CHECK(http_request(node.port(), "POST", control, json{{"ttl_s", 0}}.dump(), alice).status == 400);
  CHECK(http_request(node.port(), "POST", control, json{{"forever", true}}.dump(), alice).status == 400);
  CHECK(http_request(node.port(), "PUT", control, {}, alice).status == 405);
}
