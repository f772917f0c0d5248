// What one client's bad input must never cost the others (docs/protocol.md): a frame or a body the database
// would refuse is refused at the edge; a row the database refuses anyway is dropped alone, never acknowledged,
// and its drone is told; a new drone the database refuses to register costs no other drone its registration;
// drone actors of drones gone for drone.passivate_after_s leave memory; the drone list is paged; /readyz tells
// the truth about PostgreSQL from the start. Real node, real PostgreSQL, real sockets.

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/telemetry_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

void exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  tx.exec0(sql);
  tx.commit();
}

/// A drone registered by an admin into `group`; returns its secret.
std::string register_drone(const test_node& node, const std::string& id, const std::string& group) {
  auto r = http_request(node.port(), "POST", "/api/v1/drones", json{{"id", id}, {"group", group}}.dump(), node.admin());
  INFO(r.body);
  REQUIRE(r.status == 201);
  return r.json()["secret"].get<std::string>();
}

/// What an acknowledged drone heard after sending: every frame, in order.
struct heard {
  std::vector<json> frames;
  long long last_ack = -1;
};

/// Reads until an ack of `seq` or more arrives (or the connection gives up).
heard read_until_acked(ws_client& c, long long seq) {
  heard h;
  while (h.last_ack < seq) {
    auto text = c.read();
    if (!text)
      break;
    auto j = json::parse(*text);
    h.frames.push_back(j);
    if (j.value("type", "") == "ack")
      h.last_ack = j["seq"].get<long long>();
  }
  return h;
}

std::set<std::string> listed_ids(const json& page) {
  std::set<std::string> out;
  for (auto& d : page["drones"])
    out.insert(d["id"].get<std::string>());
  return out;
}

} // namespace

TEST_CASE("a string the database would refuse is refused at the edge with invalid_field, and the drone goes on",
          "[hardening]") {
  test_node node{{"telemetry.flush_ms", "20"}};
  REQUIRE(partitions_ready(node.db_url()));
  auto secret = register_drone(node, "edge-1", "alpha");
  auto d = connect_acked(node.port(), "edge-1", {{"secret", secret}});
  d->send(telemetry_frame(1, 47.1, 8.1));
  auto poisoned = telemetry_frame(2, 47.1, 8.1);
  poisoned["mode"] = std::string{"A\0B", 3}; // "A\u0000B" on the wire
  d->send(poisoned);
  d->send(telemetry_frame(3, 47.1, 8.1));
  auto h = read_until_acked(*d, 3); // the error frame and acks, in whatever order the writer's commits fall
  CHECK(h.last_ack == 3);
  int errors = 0;
  for (auto& f : h.frames)
    if (f["type"] == "error") {
      ++errors;
      CHECK(f["code"] == "invalid_field");
      CHECK(f["message"].get<std::string>().find("mode") != std::string::npos);
    }
  CHECK(errors == 1);
  CHECK(stored_seqs(node.db_url(), "edge-1") == std::vector<long long>{1, 3});
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"refused\"}") == 0);

  // A hello with a NUL in its model is refused the same way: it never reaches the registry.
  ws_client bad{node.port(), "/ws/drone"};
  bad.send(std::string{R"({"type":"hello","drone_id":"edge-2","model":"X\u0000"})"});
  auto err = json::parse(bad.read().value_or("{}"));
  CHECK(err["code"] == "invalid_field");
  CHECK(err["message"].get<std::string>().find("model") != std::string::npos);
  CHECK(http_get(node.port(), "/api/v1/drones/edge-2", node.admin()).status == 404);

  // REST bodies too: registry text fields and metadata (jsonb refuses \u0000 in keys and strings).
  auto post = [&](const std::string& body) {
    return http_request(node.port(), "POST", "/api/v1/drones", body, node.admin());
  };
  for (auto body : {R"({"id":"edge-3","name":"a\u0000b"})", R"({"id":"edge-3","model":"\u0000"})",
                    R"({"id":"edge-3","firmware":"x\u0000"})", R"({"id":"edge-3","metadata":{"k":"v\u0000"}})",
                    R"({"id":"edge-3","metadata":{"k\u0000":1}})", R"({"id":"edge-3","metadata":{"a":[{"b":"\u0000"}]}})"}) {
    INFO(body);
    auto r = post(body);
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["code"] == "invalid_field");
  }
  CHECK(http_get(node.port(), "/api/v1/drones/edge-3", node.admin()).status == 404);
  CHECK(post(R"({"id":"edge-3","name":"caf\u00e9 \ud83d\ude81","metadata":{"k":"v"}})").status == 201);
}

TEST_CASE("a row the database refuses is dropped alone: every other drone's rows, of every group, are stored and "
          "acknowledged, and no ack covers the refused row",
          "[hardening]") {
  // Rows wait 300 ms, so that the refused row shares its batch with the other drones' rows.
  test_node node{{"telemetry.flush_ms", "300"}, {"drone.max_rate", "100000"}, {"drone.burst", "100000"}};
  REQUIRE(partitions_ready(node.db_url()));
  // Content the edge lets through and this database refuses: a check constraint added for the test (any
  // refusal of a row's content takes the same path: a NUL once did, in production).
  exec(node.db_url(), "ALTER TABLE telemetry.samples ADD CONSTRAINT test_poison CHECK (mode <> 'POISON')");
  std::map<std::string, std::unique_ptr<ws_client>> drones;
  for (auto [id, group] : {std::pair{"alpha-1", "alpha"}, {"alpha-2", "alpha"}, {"bravo-1", "bravo"},
                           {"bravo-2", "bravo"}, {"poisoner", "bravo"}})
    drones[id] = connect_acked(node.port(), id, {{"secret", register_drone(node, id, group)}});
  constexpr long long frames = 60;
  const std::set<long long> poisoned{20, 21, 45};
  for (long long seq = 1; seq <= frames; ++seq)
    for (auto& [id, c] : drones) {
      auto f = telemetry_frame(static_cast<std::uint64_t>(seq), 47.0, 8.0);
      if (id == "poisoner" && poisoned.count(seq))
        f["mode"] = "POISON";
      c->send(f);
    }
  for (auto& [id, c] : drones) {
    INFO(id);
    auto h = read_until_acked(*c, frames);
    REQUIRE(h.last_ack == frames);
    auto stored_list = stored_seqs(node.db_url(), id);
    std::set<long long> stored(stored_list.begin(), stored_list.end());
    std::set<long long> refused_told;
    long long acked = 0;
    for (auto& f : h.frames) {
      INFO(f.dump());
      if (f["type"] == "error") {
        CHECK(f["code"] == "storage_refused");
        auto seq = f["seq"].get<long long>();
        CHECK(seq > acked); // told before any ack passes it
        refused_told.insert(seq);
      } else {
        REQUIRE(f["type"] == "ack");
        acked = f["seq"].get<long long>();
        // Every frame up to the ack that the node did not refuse by name is committed.
        for (long long s = 1; s <= acked; ++s)
          if (!refused_told.count(s))
            CHECK(stored.count(s) == 1);
      }
    }
    std::set<long long> expected;
    for (long long s = 1; s <= frames; ++s)
      if (id != "poisoner" || !poisoned.count(s))
        expected.insert(s);
    CHECK(stored == expected);
    CHECK(refused_told == (id == "poisoner" ? poisoned : std::set<long long>{}));
  }
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"refused\"}") == 3);
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 0);
  // The help text says what the counter counts.
  auto metrics = http_get(node.port(), "/metrics", node.admin()).body;
  CHECK(metrics.find("# HELP dccs_telemetry_rows_dropped_total telemetry rows never stored, by reason") != std::string::npos);
}

TEST_CASE("a new drone the database refuses to register costs no other drone its registration", "[hardening]") {
  test_node node{{"fleet.last_seen_ms", "200"}};
  REQUIRE(eventually([&] {
    try {
      return count_rows(node.db_url(), "SELECT count(*) FROM fleet.drones") >= 0;
    } catch (const std::exception&) {
      return false;
    }
  }));
  exec(node.db_url(), "ALTER TABLE fleet.drones ADD CONSTRAINT test_poison CHECK (model <> 'POISON')");
  // New drones say hello together, so that they share one registration batch; one of them is refused.
  std::vector<std::unique_ptr<ws_client>> drones;
  for (int i = 0; i < 20; ++i) {
    auto c = std::make_unique<ws_client>(node.port(), "/ws/drone");
    c->send(json{{"type", "hello"}, {"drone_id", "new-" + std::to_string(i)}, {"model", i == 7 ? "POISON" : "quad"}});
    drones.push_back(std::move(c));
  }
  for (auto& c : drones)
    CHECK(c->read_json()["type"] == "welcome");
  CHECK(eventually([&] { return count_rows(node.db_url(), "SELECT count(*) FROM fleet.drones") == 19; }));
  CHECK(count_rows(node.db_url(), "SELECT count(*) FROM fleet.drones WHERE id = 'new-7'") == 0);
  CHECK(eventually([&] { return node.metric("dccs_drones_register_refused_total") == 1; }));
  // Registration goes on for later drones (nothing is stuck retrying the refused one).
  auto later = connect_drone(node.port(), "later-1");
  CHECK(eventually([&] { return count_rows(node.db_url(), "SELECT count(*) FROM fleet.drones WHERE id = 'later-1'") == 1; }));
}

TEST_CASE("drones gone for drone.passivate_after_s leave memory, connected ones stay, a passivated drone comes back",
          "[hardening]") {
  test_node node{{"drone.passivate_after_s", "1"}};
  constexpr int n = 40;
  {
    std::vector<std::unique_ptr<ws_client>> gone;
    for (int i = 0; i < n; ++i) {
      gone.push_back(connect_drone(node.port(), "once-" + std::to_string(i)));
      gone.back()->send(telemetry_frame(1, 46.0, 7.0));
    }
    CHECK(eventually([&] { return node.metric("dccs_drone_actors") == n; }));
  } // they leave
  auto stays = connect_drone(node.port(), "stays");
  CHECK(eventually([&] { return node.metric("dccs_drones_passivated_total") == n; }));
  CHECK(eventually([&] { return node.metric("dccs_drone_actors") == 1; }));
  // The one that stays connected keeps its actor past the passivation time, and is served.
  stays->send(telemetry_frame(5, 46.5, 7.5));
  CHECK(eventually([&] {
    auto r = http_get(node.port(), "/api/v1/drones/stays", node.admin());
    return r.status == 200 && r.json().value("seq", -1) == 5;
  }));
  CHECK(node.metric("dccs_drone_actors") == 1);
  // Passivated drones are still known to the registry (and listed), no longer live.
  auto list = http_get(node.port(), "/api/v1/drones?limit=1000", node.admin()).json();
  CHECK(list["drones"].size() == n + 1);
  for (auto& d : list["drones"])
    if (d["id"] != "stays")
      CHECK(d["connected"] == false);
  // A passivated drone that comes back gets a new actor and is live again.
  auto back = connect_drone(node.port(), "once-3");
  back->send(telemetry_frame(9, 46.9, 7.9));
  CHECK(eventually([&] {
    auto r = http_get(node.port(), "/api/v1/drones/once-3", node.admin());
    return r.status == 200 && r.json().value("seq", -1) == 9 && r.json().value("connected", false);
  }));
  CHECK(node.metric("dccs_drone_actors") == 2);
}

TEST_CASE("GET /api/v1/drones is paged in id order with limit and cursor, bad paging parameters are a 400",
          "[hardening]") {
  for (bool storage : {true, false}) {
    INFO("storage " << storage);
    auto node = storage ? std::make_unique<test_node>() : std::make_unique<test_node>(std::initializer_list<std::pair<std::string, std::string>>{{"db.enabled", "false"}});
    std::vector<std::unique_ptr<ws_client>> drones;
    std::set<std::string> ids;
    for (int i = 0; i < 25; ++i) {
      auto id = "page-" + std::string(i < 10 ? "0" : "") + std::to_string(i);
      drones.push_back(connect_drone(node->port(), id));
      ids.insert(id);
    }
    REQUIRE(eventually([&] { return listed_ids(http_get(node->port(), "/api/v1/drones", node->admin()).json()) == ids; }));
    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0;
    for (;;) {
      auto r = http_get(node->port(), "/api/v1/drones?limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor), node->admin());
      REQUIRE(r.status == 200);
      auto page = r.json();
      ++pages;
      CHECK(page["drones"].size() <= 10);
      for (auto& d : page["drones"])
        seen.push_back(d["id"].get<std::string>());
      if (page["next_cursor"].is_null())
        break;
      cursor = page["next_cursor"].get<std::string>();
      REQUIRE(pages < 10);
    }
    CHECK(pages == 3);
    CHECK(seen == std::vector<std::string>(ids.begin(), ids.end())); // in id order, each once
    for (auto bad : {"limit=0", "limit=10001", "limit=99999999999999999999", "limit=-1", "limit=%2B5", "limit=abc",
                     "limit=", "limit=05", "cursor=..", "cursor=a%2Fb", "cursor=", "colour=red", "limit=1&limit=2"}) {
      INFO(bad);
      auto r = http_get(node->port(), std::string{"/api/v1/drones?"} + bad, node->admin());
      CHECK(r.status == 400);
      CHECK(r.json()["error"].contains("code"));
    }
  }
}

TEST_CASE("/readyz tells the truth about PostgreSQL from the start: down when unreachable, up when reachable, with no "
          "drone connected",
          "[hardening]") {
  SECTION("unreachable") {
    // A port nothing listens on: every connection is refused.
    test_node node{{"db.url", "host=127.0.0.1 port=1 dbname=none connect_timeout=2"}, {"db.retry_max_ms", "500"}};
    CHECK(eventually([&] {
      auto r = http_get(node.port(), "/readyz");
      auto j = json::parse(r.body);
      return r.status == 200 && j["status"] == "degraded" && j["dependencies"]["postgres.fleet"] == "down"
             && j["dependencies"]["postgres.telemetry"] == "down";
    }, 20s));
  }
  SECTION("reachable") {
    test_node node;
    CHECK(eventually([&] {
      auto r = http_get(node.port(), "/readyz");
      auto j = json::parse(r.body);
      return r.status == 200 && j["status"] == "ready" && j["dependencies"]["postgres.fleet"] == "up"
             && j["dependencies"]["postgres.telemetry"] == "up";
    }, 20s));
  }
}

TEST_CASE("after PostgreSQL's connections are lost while the node is idle, the next request is answered, not a 503",
          "[hardening]") {
  scratch_database db;
  auto proxy = tcp_proxy::to_postgres();
  test_node node{{"db.url", proxy->pg_url(db.name)}, {"db.retry_min_ms", "50"}, {"db.retry_max_ms", "200"}};
  auto secret = register_drone(node, "idle-1", "alpha");
  REQUIRE(http_get(node.port(), "/api/v1/drones/idle-1/telemetry", node.admin()).status == 200);
  // Every open connection is cut (as a PostgreSQL restart does); new ones are accepted again at once.
  proxy->down();
  proxy->up();
  auto r = http_get(node.port(), "/api/v1/drones/idle-1/telemetry", node.admin());
  INFO(r.body);
  CHECK(r.status == 200);
  auto d = http_get(node.port(), "/api/v1/drones/idle-1", node.admin());
  CHECK(d.status == 200);
}
