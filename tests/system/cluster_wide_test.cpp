// State that is cluster-wide across real node processes (docs/security.md, "Cluster"): operator tickets redeemed on
// any member exactly once, and registry changes made on one member (a group move, a secret rotated, a drone deleted)
// seen by the others within a second, including the drone's live connection on another member.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

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
