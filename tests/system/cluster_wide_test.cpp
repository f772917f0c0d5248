// State that is cluster-wide across real node processes (docs/security.md, "Cluster"): operator tickets redeemed on
// any member exactly once, registry changes made on one member (a group move, a secret rotated, a drone deleted)
// seen by the others within a second, including the drone's live connection on another member, and commands and
// missions issued on any member and carried out by the drone's owner.

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include <csignal>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/system/cluster_nodes.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs::test;
using nlohmann::json;

namespace {

headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

/// POST /api/v1/auth/ticket on port `port` with `token`.
std::string ticket(std::uint16_t port, const std::string& token) {
  auto r = http_request(port, "POST", "/api/v1/auth/ticket", {}, bearer(token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json()["ticket"].get<std::string>();
}

/// A refused upgrade: 401 with a JSON error.
void check_refused(const http_result& r) {
  INFO(r.status << " " << r.body);
  CHECK(r.status == 401);
  CHECK(r.content_type == "application/json");
  CHECK(r.json()["error"]["code"] == "unauthorized");
}

} // namespace

TEST_CASE("cluster-wide tickets: an operator ticket issued by one member opens a socket on another, once, unknown, spent, expired and "
          "revoked tickets are 401 on every member") {
  scratch_database db;
  cluster c{db.url()};
  c.start(0, {"--auth.ticket_ttl_s", "2"});
  c.start(1, {"--auth.ticket_ttl_s", "2"});
  REQUIRE(eventually([&] { return c.members(0) == 2 && c.members(1) == 2; }, std::chrono::seconds(20)));
  auto a = c.http(0);
  auto b = c.http(1);
  auto token = c.token("vera", "viewer", {"red"});

  // Issued on A, spent on B; then it works nowhere.
  auto t = ticket(a, token);
  CHECK(ws_upgrade(b, "/ws/operator?ticket=" + t).status == 101);
  check_refused(ws_upgrade(b, "/ws/operator?ticket=" + t));
  check_refused(ws_upgrade(a, "/ws/operator?ticket=" + t));
  // Issued on A, spent on A: then not on B.
  auto u = ticket(a, token);
  CHECK(ws_upgrade(a, "/ws/operator?ticket=" + u).status == 101);
  check_refused(ws_upgrade(b, "/ws/operator?ticket=" + u));
  // Issued on B, spent on A (the other way round), and the socket serves its user.
  auto v = ticket(b, token);
  {
    ws_client op{a, "/ws/operator?ticket=" + v, std::chrono::seconds(5)};
    op.send(json{{"type", "subscribe"}, {"drones", "*"}});
    CHECK(op.read_json()["type"] == "snapshot");
  }
  check_refused(ws_upgrade(b, "/ws/operator?ticket=" + v));

  // Unknown tickets: nonsense, a forged random part under a live member's name, a member that does not exist.
  check_refused(ws_upgrade(b, "/ws/operator?ticket=nonsense"));
  auto issuer = t.substr(0, t.find('.'));
  REQUIRE(issuer.size() == 16);
  check_refused(ws_upgrade(b, "/ws/operator?ticket=" + issuer + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  check_refused(ws_upgrade(a, "/ws/operator?ticket=ZZZZZZZZZZZZZZZZ." + t.substr(t.find('.') + 1)));

  // Expired (auth.ticket_ttl_s = 2 here): the time passing is the behaviour under test.
  auto late = ticket(a, token);
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  check_refused(ws_upgrade(b, "/ws/operator?ticket=" + late));

  // The access token behind a ticket logged out on the issuing member: the ticket is refused on the other member
  // at once (this cluster has no Redis: only the issuing member knows of the logout).
  auto olga = c.token("olga", "viewer", {"red"});
  auto w = ticket(a, olga);
  REQUIRE(http_request(a, "POST", "/api/v1/auth/logout", {}, bearer(olga)).status / 100 == 2);
  auto revoked = ws_upgrade(b, "/ws/operator?ticket=" + w);
  check_refused(revoked);
  CHECK(revoked.json()["error"]["message"].get<std::string>().find("revoked") != std::string::npos);
}

TEST_CASE("cluster-wide registry: changes on one member reach the others within a second: a group move, a rotated secret (the "
          "drone's socket on the other member closes), a deleted drone") {
  scratch_database db;
  cluster c{db.url()};
  c.start(0, {"--fleet.unregistered", "refuse"});
  c.start(1, {"--fleet.unregistered", "refuse"});
  REQUIRE(eventually([&] { return c.members(0) == 2 && c.members(1) == 2; }, std::chrono::seconds(20)));
  auto a = c.http(0);
  auto b = c.http(1);
  const std::string id = "wide-1";

  // Registered on A; its lists on B show it at once.
  auto created = http_request(a, "POST", "/api/v1/drones", json{{"id", id}, {"group", "red"}}.dump(), c.admin());
  INFO(created.body);
  REQUIRE(created.status == 201);
  auto secret = created.json()["secret"].get<std::string>();
  CHECK(eventually([&] { return c.fleet(1).count(id) == 1; }, std::chrono::seconds(1)));
  auto drone = connect_drone(b, id, secret);
  drone->send(telemetry_frame(1, 47.0, 8.0));

  // Viewers on B, one per group, see the drone where it is.
  auto red = bearer(c.token("rita", "viewer", {"red"}));
  auto blue = bearer(c.token("bob", "viewer", {"blue"}));
  CHECK(eventually([&] { return c.fleet(1, red).count(id) == 1; }, std::chrono::seconds(5)));
  ws_client red_op{b, "/ws/operator", red};
  red_op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  operator_view red_view;
  REQUIRE(red_view.read_until(red_op, [&] { return red_view.drones.count(id) == 1; }));

  // Moved to blue on A: within a second B lists it for blue and no longer for red (registry and live view), and
  // the red operator on B is told it is gone.
  auto moved = http_request(a, "PATCH", "/api/v1/drones/" + id, json{{"group", "blue"}}.dump(), c.admin());
  INFO(moved.body);
  REQUIRE(moved.status == 200);
  CHECK(eventually(
    [&] {
      auto all = c.fleet(1);
      return all.count(id) == 1 && all[id]["registry"]["group"] == "blue" && c.fleet(1, blue).count(id) == 1
             && c.fleet(1, red).count(id) == 0;
    },
    std::chrono::seconds(1)));
  CHECK(red_view.read_until(red_op, [&] { return red_view.drones.count(id) == 0; }));

  // Its secret rotated on A: the drone's socket on B closes with 4001; the old secret is refused on B, the new one
  // works there.
  auto rotated = http_request(a, "POST", "/api/v1/drones/" + id + "/secret", {}, c.admin());
  INFO(rotated.body);
  REQUIRE(rotated.status == 200);
  CHECK(drone->read_until_close() == 4001);
  CHECK(hello_close_code(b, id, secret) == 4001);
  auto fresh = rotated.json()["secret"].get<std::string>();
  CHECK(eventually([&] { return c.fleet(1).at(id)["registry"]["credential"] == "active"; }, std::chrono::seconds(1)));
  drone = connect_drone(b, id, fresh);

  // Deleted on A: its socket on B closes (4003: it left the registry), B refuses its hello, and both members drop it,
  // within a second.
  REQUIRE(http_request(a, "DELETE", "/api/v1/drones/" + id, {}, c.admin()).status == 204);
  CHECK(drone->read_until_close() == 4003);
  CHECK(hello_close_code(b, id, fresh) == 4001);
  std::string listed; // (what a member still lists, for the failure message)
  bool gone = eventually(
    [&] {
      listed.clear();
      for (std::size_t n : {0, 1})
        if (auto all = c.fleet(n); all.count(id) != 0)
          listed += "member " + std::to_string(n) + ": " + all[id].dump() + "\n";
      return listed.empty();
    },
    std::chrono::seconds(1));
  INFO(listed);
  CHECK(gone);
  CHECK(http_get(b, "/api/v1/drones/" + id, c.admin()).status == 404);
}

namespace {

/// The node id of member `i` (GET /api/v1/cluster: "self").
std::string node_id(const cluster& c, std::size_t i) {
  auto r = http_get(c.http(i), "/api/v1/cluster", c.admin());
  REQUIRE(r.status == 200);
  return r.json()["self"].get<std::string>();
}

/// The member the fleet database records as the drone's owner (-1: none yet).
int owner_of(const cluster& c, const std::string& db_url, const std::string& drone, std::size_t members) {
  pqxx::connection conn{db_url};
  pqxx::work tx{conn};
  auto rows = tx.exec("SELECT node_id FROM fleet.drone_owners WHERE drone_id = " + tx.quote(drone));
  if (rows.empty())
    return -1;
  auto id = rows[0][0].as<std::string>();
  for (std::size_t i = 0; i < members; ++i)
    if (node_id(c, i) == id)
      return static_cast<int>(i);
  return -1;
}

std::string command_state(std::uint16_t port, const headers& h, const std::string& id) {
  auto r = http_get(port, "/api/v1/commands/" + id, h);
  return r.status == 200 ? r.json()["state"].get<std::string>() : "";
}

/// A drone (ids `prefix`0, 1, ...) whose socket is on member 0 and whose owner is another member: its id, its socket
/// and its owner.
struct remote_drone {
  std::string id;
  std::unique_ptr<ws_client> socket;
  int owner = -1;
};

remote_drone drone_owned_elsewhere(const cluster& c, const std::string& db_url, const std::string& prefix) {
  remote_drone out;
  for (int k = 0; k < 40 && out.id.empty(); ++k) {
    auto id = prefix + std::to_string(k);
    auto d = connect_drone(c.http(0), id);
    REQUIRE(d != nullptr);
    int owner = -1;
    REQUIRE(eventually([&] { return (owner = owner_of(c, db_url, id, 3)) >= 0; }, std::chrono::seconds(10)));
    if (owner != 0)
      out = remote_drone{id, std::move(d), owner};
  }
  REQUIRE(!out.id.empty());
  return out;
}

} // namespace

TEST_CASE("cluster-wide commands: issued on any member, delivered by the drone's owner through the member that holds "
          "its socket, seen on every member, and resolved once when the owner is killed mid-command") {
  scratch_database db;
  cluster c{db.url()};
  for (std::size_t i = 0; i < 3; ++i)
    c.start(i);
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));
  // A drone whose socket is on a member that does not own it.
  auto remote = drone_owned_elsewhere(c, db.url(), "cmdc-");
  auto& drone_id = remote.id;
  auto& drone = remote.socket;
  int owner = remote.owner;
  auto other = owner == 1 ? 2 : 1; // neither the socket's member nor the owner
  ws_client op{c.http(other), "/ws/operator", c.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});

  auto r = http_request(c.http(other), "POST", "/api/v1/drones/" + drone_id + "/commands",
                        json{{"kind", "set_speed"}, {"params", {{"speed", 8}}}}.dump(), c.admin());
  INFO(r.body);
  REQUIRE(r.status == 202);
  auto id = r.json()["id"].get<std::string>();
  auto f = next_of_type(*drone, "command");
  REQUIRE(f.is_object());
  CHECK(f["command_id"] == id);
  drone->send(json{{"type", "command_ack"}, {"command_id", id}, {"result", "succeeded"}});
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(eventually([&] { return command_state(c.http(i), c.admin(), id) == "succeeded"; }));
  // The operator on the third member saw it end.
  bool seen = false;
  while (!seen) {
    auto frame = next_of_type(op, "command");
    REQUIRE(frame.is_object());
    seen = frame["command"]["id"] == id && frame["command"]["state"] == "succeeded";
  }

  // Mid-command, the owner is killed: the drone's socket (on member 0) is routed to a new owner, which reads the
  // journal and sends the command again under the same id; the drone executes it once and answers; it ends once.
  auto t = http_request(c.http(other), "POST", "/api/v1/drones/" + drone_id + "/commands",
                        json{{"kind", "takeoff"}, {"params", {{"alt", 25}}}, {"ttl_s", 120}}.dump(), c.admin());
  REQUIRE(t.status == 202);
  auto tid = t.json()["id"].get<std::string>();
  auto first = next_of_type(*drone, "command");
  REQUIRE(first.is_object());
  REQUIRE(first["command_id"] == tid);
  REQUIRE(eventually([&] { return command_state(c.http(0), c.admin(), tid) == "sent"; }));
  kill(c.process(static_cast<std::size_t>(owner)).pid, SIGKILL);
  c.process(static_cast<std::size_t>(owner)).wait_exit();
  c.forget(static_cast<std::size_t>(owner));
  // (The drone executed it at the first frame: a repeat of its id is answered from memory, as dccs-sim does.)
  json again;
  do {
    again = next_of_type(*drone, "command");
    REQUIRE(again.is_object());
  } while (again["command_id"] != tid);
  CHECK(again["attempt"].get<int>() >= 2);
  drone->send(json{{"type", "command_ack"}, {"command_id", tid}, {"result", "succeeded"}});
  CHECK(eventually([&] { return command_state(c.http(0), c.admin(), tid) == "succeeded"; }, std::chrono::seconds(15)));
  pqxx::connection conn{db.url()};
  pqxx::work tx{conn};
  CHECK(tx.exec1("SELECT count(*) FROM commands.transitions WHERE command_id = " + tx.quote(tid)
                 + "::uuid AND state = 'succeeded'")[0].as<int>() == 1);
  CHECK(tx.exec1("SELECT count(*) FROM commands.commands WHERE drone_id = " + tx.quote(drone_id))[0].as<int>() == 2);
}

TEST_CASE("cluster-wide missions: uploaded and started on a member that neither holds the drone's socket nor owns it, "
          "flown, its progress recorded once and seen on every member") {
  scratch_database db;
  cluster c{db.url()};
  for (std::size_t i = 0; i < 3; ++i)
    c.start(i);
  REQUIRE(eventually([&] { return c.members(0) == 3 && c.members(1) == 3 && c.members(2) == 3; },
                     std::chrono::seconds(20)));
  auto remote = drone_owned_elsewhere(c, db.url(), "misc-");
  auto& drone_id = remote.id;
  auto& drone = remote.socket;
  int owner = remote.owner;
  auto other = owner == 1 ? 2 : 1; // neither the socket's member nor the owner
  ws_client op{c.http(0), "/ws/operator", c.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", json::array({drone_id})}});
  auto post = [&](const std::string& path, const json& body) {
    return http_request(c.http(other), "POST", path, body.dump(), c.admin());
  };
  auto made = post("/api/v1/missions", json{{"name", "c"},
                                            {"group", "default"},
                                            {"items", json::array({json{{"lat", 50.001}, {"lon", 10.001}, {"alt", 430}},
                                                                   json{{"lat", 50.002}, {"lon", 10.001}, {"alt", 430}}})},
                                            {"final_action", "land"}});
  INFO(made.body);
  REQUIRE(made.status == 201);
  auto id = made.json()["id"].get<std::string>();
  REQUIRE(post("/api/v1/missions/" + id + "/assign", json{{"drones", {drone_id}}}).status == 200);
  REQUIRE(post("/api/v1/missions/" + id + "/upload", json::object()).status == 202);
  for (int seq = 0; seq < 2; ++seq) {
    auto item = next_of_type(*drone, "mission_item");
    REQUIRE(item.is_object());
    CHECK(item["seq"] == seq);
    drone->send(json{{"type", "mission_ack"}, {"mission_id", id}, {"seq", seq}, {"result", "accepted"}});
  }
  auto state_on = [&](std::size_t member) {
    auto r = http_get(c.http(member), "/api/v1/missions/" + id, c.admin());
    return r.status == 200 ? r.json()["state"].get<std::string>() : std::string{};
  };
  REQUIRE(eventually([&] { return state_on(other) == "ready"; }));
  auto started = post("/api/v1/missions/" + id + "/start", json::object());
  INFO(started.body);
  REQUIRE(started.status == 200);
  auto cmd = next_of_type(*drone, "command");
  REQUIRE(cmd.is_object());
  CHECK(cmd["kind"] == "mission_start");
  drone->send(json{{"type", "command_ack"}, {"command_id", cmd["command_id"]}, {"result", "succeeded"}});
  for (auto [event, seq] : {std::pair{"reached", 0}, std::pair{"reached", 1}})
    drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", event}, {"seq", seq}});
  drone->send(json{{"type", "mission_progress"}, {"mission_id", id}, {"event", "completed"}});
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(eventually([&] { return state_on(i) == "completed"; }));
  // The operator on the socket's member saw it end (the owner's hub told the others').
  bool seen = false;
  while (!seen) {
    auto frame = next_of_type(op, "mission");
    REQUIRE(frame.is_object());
    seen = frame["mission_id"] == id && frame["state"] == "completed";
  }
  auto m = http_get(c.http(0), "/api/v1/missions/" + id, c.admin()).json();
  CHECK(m["drones"][0]["reached"].size() == 2);
}
