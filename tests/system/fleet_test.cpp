// A node on a free port with a fleet of drones and an operator, all over real sockets.

#include <catch2/catch.hpp>

#include <cstdio>
#include <thread>

#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs::test;
using nlohmann::json;

namespace {

std::string drone_id(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "sys-%03d", i);
  return buf;
}

double lat_of(int i) {
  return 47.0 + i * 0.001;
}

double lon_of(int i) {
  return 8.0 + i * 0.0005;
}

} // namespace

TEST_CASE("an operator sees 100 drones at the positions they sent, and the REST list agrees") {
  constexpr int n = 100;
  // The drones send two frames and fall silent: a stale bound longer than the test lets "online" be checked however
  // slowly a loaded machine connects them (the bound itself is tested in link_watchdog_test and the status-event tests).
  test_node node{{"drone.stale_after_ms", "60000"}, {"drone.lost_after_ms", "120000"}};
  std::vector<std::unique_ptr<ws_client>> drones;
  for (int i = 0; i < n; ++i) {
    drones.push_back(connect_drone(node.port(), drone_id(i)));
    drones.back()->send(telemetry_frame(1, lat_of(i) - 0.5, lon_of(i))); // an earlier position
    drones.back()->send(telemetry_frame(2, lat_of(i), lon_of(i), 100 + i));
  }
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  operator_view view;
  auto all_arrived = [&] {
    if (view.drones.size() < n)
      return false;
    for (auto& [id, d] : view.drones)
      if (d.value("seq", 0) != 2)
        return false;
    return true;
  };
  REQUIRE(view.read_until(op, all_arrived));
  CHECK(view.snapshots == 1);
  for (int i = 0; i < n; ++i) {
    auto& d = view.drones[drone_id(i)];
    INFO(d.dump());
    CHECK(d["lat"].get<double>() == lat_of(i));
    CHECK(d["lon"].get<double>() == lon_of(i));
    CHECK(d["alt"].get<double>() == 100 + i);
    CHECK(d["status"] == "online");
    CHECK(d["connected"] == true);
    CHECK(d["model"] == "test-quad");
    CHECK(d["recv"].get<double>() > 0);
    CHECK(d["ts"].get<double>() == telemetry_epoch_ms + 2);
  }
  auto list = http_get(node.port(), "/api/v1/drones", node.admin());
  REQUIRE(list.status == 200);
  auto api = list.json()["drones"];
  REQUIRE(api.size() == n);
  for (auto& d : api) {
    auto& seen = view.drones[d["id"].get<std::string>()];
    CHECK(d["lat"] == seen["lat"]);
    CHECK(d["lon"] == seen["lon"]);
    CHECK(d["seq"] == 2);
  }
  auto one = http_get(node.port(), "/api/v1/drones/" + drone_id(42), node.admin());
  REQUIRE(one.status == 200);
  CHECK(one.json()["lat"].get<double>() == lat_of(42));
  CHECK(node.metric("dccs_drone_connections") == n);
  CHECK(node.metric("dccs_drone_actors") == n);
}

TEST_CASE("a flood of malformed frames from one client does not disturb a well-behaved drone") {
  test_node node{{"drone.max_rate", "50"}, {"drone.burst", "100"}};
  auto good = connect_drone(node.port(), "good");
  ws_client op{node.port(), "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", json::array({"good"})}});
  operator_view view;
  REQUIRE(view.read_until(op, [&] { return view.snapshots == 1; }));
  // The attacker floods garbage from another thread while the good drone flies.
  std::uint16_t flood_close = 0;
  int flood_errors = 0;
  std::thread attacker{[&] {
    auto bad = connect_drone(node.port(), "bad");
    for (int i = 0; i < 2000; ++i) {
      try {
        bad->send(i % 2 ? std::string{"{\"type\":\"telemetry\",\"lat\":1e999"} : std::string{"\x01\x02garbage"});
      } catch (const std::exception&) {
        break; // closed by the node
      }
    }
    while (auto frame = bad->read())
      if (json::parse(*frame).value("type", "") == "error")
        ++flood_errors;
    flood_close = bad->close_code();
  }};
  constexpr int frames = 40;
  for (int seq = 1; seq <= frames; ++seq)
    good->send(telemetry_frame(static_cast<std::uint64_t>(seq), 47.0 + seq * 1e-4, 8.0));
  REQUIRE(view.read_until(op, [&] { return view.drones["good"].value("seq", 0) == frames; }));
  attacker.join();
  CHECK(view.drones["good"]["lat"].get<double>() == Approx(47.0 + frames * 1e-4));
  CHECK(flood_close == 1008);
  CHECK(flood_errors > 0);
  // The good drone is still connected and served.
  good->send(telemetry_frame(frames + 1, 46.0, 7.0));
  REQUIRE(view.read_until(op, [&] { return view.drones["good"].value("seq", 0) == frames + 1; }));
  // Ready (503 only while the node is still reaching its database for the first time).
  CHECK(eventually([&] { return http_get(node.port(), "/readyz").status == 200; }));
  CHECK(node.metric("dccs_frames_rejected_total") > 0);
}

TEST_CASE("the command kinds a drone's hello lists show in its drone object, null when it lists none") {
  test_node node;
  ws_client capable{node.port(), "/ws/drone"};
  capable.send(json{{"type", "hello"}, {"drone_id", "caps-1"}, {"commands", {"land", "arm", "teleport"}}});
  REQUIRE(capable.read_json()["type"] == "welcome");
  auto quiet = connect_drone(node.port(), "caps-2");
  auto drone = [&](const std::string& id) {
    auto r = http_get(node.port(), "/api/v1/drones/" + id, node.admin());
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  REQUIRE(eventually([&] { return drone("caps-1")["commands"].is_array(); }));
  CHECK(drone("caps-1")["commands"] == json{"arm", "land"}); // known kinds, in the protocol's order
  CHECK(drone("caps-2")["commands"].is_null());
}
