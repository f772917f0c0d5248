// The fleet store as drones and other nodes meet it: hellos arriving together are each answered for their own
// drone (they are answered in batches), and a change made through another node — a group move, a secret
// rotated, a drone deleted — is seen at once by admission and details, and by lists within the refresh
// interval. Nodes run in-process over real sockets, sharing one scratch PostgreSQL database like a cluster.

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

std::string register_drone(const test_node& node, const std::string& id, const std::string& group) {
  auto r = http_request(node.port(), "POST", "/api/v1/drones", json{{"id", id}, {"group", group}}.dump(), node.admin());
  INFO(r.body);
  REQUIRE(r.status == 201);
  return r.json()["secret"].get<std::string>();
}

/// The registry group a node's drone list shows for `id`, or "" when the list holds no registered drone `id` (a
/// drone still live on the node but deleted from the registry is listed as not registered).
std::string listed_group(const test_node& node, const std::string& id) {
  auto r = http_get(node.port(), "/api/v1/drones", node.admin());
  UNSCOPED_INFO(r.status << " " << r.body);
  if (r.status != 200)
    return "?";
  auto j = r.json(); // kept: a range-for over a member of a temporary would read freed memory
  for (const auto& d : j["drones"])
    if (d["id"] == id && d.value("registered", false))
      return d["registry"]["group"].get<std::string>();
  return "";
}

} // namespace

TEST_CASE("fleet store: hellos arriving together are each answered for their own drone") {
  // Batches of at most 5 hellos: the 96 hellos below are answered over many queries, each hello in its own.
  test_node node{{"fleet.unregistered", "refuse"}, {"fleet.admission_batch", "5"}};
  constexpr int drones = 24;
  std::vector<std::string> secrets;
  for (int i = 0; i < drones; ++i)
    secrets.push_back(register_drone(node, "d-" + std::to_string(i), i % 2 ? "odd" : "even"));
  // Each drone says hello three times at once: with its secret, with its neighbour's, and with none; and as
  // many unknown drones with a secret.
  struct hello {
    std::string id, secret;
    std::uint16_t expected;
  };
  std::vector<hello> hellos;
  for (int i = 0; i < drones; ++i) {
    auto id = "d-" + std::to_string(i);
    hellos.push_back({id, secrets[i], 0});
    hellos.push_back({id, secrets[(i + 1) % drones], 4001});
    hellos.push_back({id, "", 4001});
    hellos.push_back({"ghost-" + std::to_string(i), secrets[i], 4001});
  }
  std::vector<std::uint16_t> got(hellos.size(), 9999);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (std::size_t i = 0; i < hellos.size(); ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < static_cast<int>(hellos.size()))
        std::this_thread::yield(); // start together, so that hellos queue up at the fleet store
      got[i] = hello_close_code(node.port(), hellos[i].id, hellos[i].secret);
    });
  for (auto& t : threads)
    t.join();
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    INFO(hellos[i].id << " with secret '" << hellos[i].secret << "'");
    CHECK(got[i] == hellos[i].expected);
  }
  CHECK(node.metric("dccs_drones_refused_total") >= 3 * drones);
}

TEST_CASE("fleet registry across nodes: admission and details see another node's change at once, lists soon") {
  scratch_database db;
  // Two nodes of one cluster: one registry database. Lists refresh every 200 ms here (fleet.last_seen_ms).
  test_node a{{"db.url", db.url()}, {"fleet.unregistered", "refuse"}, {"fleet.last_seen_ms", "200"}};
  test_node b{{"db.url", db.url()}, {"fleet.unregistered", "refuse"}, {"fleet.last_seen_ms", "200"}};
  auto secret = register_drone(a, "d-1", "red");
  CHECK(hello_close_code(b.port(), "d-1", secret) == 0);
  CHECK(eventually([&] { return listed_group(b, "d-1") == "red"; }, std::chrono::seconds(5)));

  // Moved to another group through a: b's details say so at once, its list within the refresh.
  auto moved = http_request(a.port(), "PATCH", "/api/v1/drones/d-1", json{{"group", "blue"}}.dump(), a.admin());
  REQUIRE(moved.status == 200);
  CHECK(http_get(b.port(), "/api/v1/drones/d-1", b.admin()).json()["registry"]["group"] == "blue");
  CHECK(eventually([&] { return listed_group(b, "d-1") == "blue"; }, std::chrono::seconds(5)));

  // A secret rotated through a: b refuses the old one at the next hello and admits the new one.
  auto rotated = http_request(a.port(), "POST", "/api/v1/drones/d-1/secret", {}, a.admin());
  REQUIRE(rotated.status == 200);
  auto fresh = rotated.json()["secret"].get<std::string>();
  CHECK(hello_close_code(b.port(), "d-1", secret) == 4001);
  CHECK(hello_close_code(b.port(), "d-1", fresh) == 0);

  // Deleted through a: b refuses the drone at once and drops it from its list within the refresh.
  REQUIRE(http_request(a.port(), "DELETE", "/api/v1/drones/d-1", {}, a.admin()).status == 204);
  CHECK(hello_close_code(b.port(), "d-1", fresh) == 4001);
  // (b's live view still holds the drone it served a moment ago: its details say it is no longer registered.)
  CHECK(http_get(b.port(), "/api/v1/drones/d-1", b.admin()).json()["registered"] == false);
  CHECK(eventually([&] { return listed_group(b, "d-1").empty(); }, std::chrono::seconds(5)));

  // Registered through a: b's list shows it within the refresh.
  register_drone(a, "d-2", "green");
  CHECK(eventually([&] { return listed_group(b, "d-2") == "green"; }, std::chrono::seconds(5)));
}
