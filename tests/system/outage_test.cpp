// Outages of the node's dependencies, for real: PostgreSQL cut away behind a TCP proxy (lost connections,
// refused reconnects) and a redis-server killed and restarted. Each test has its own scratch database and its
// own in-process node; the test command starts a throwaway PostgreSQL with pg_virtualenv.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "runtime/redis.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/operator_view.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/telemetry_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// GET /readyz: (HTTP status, body).
std::pair<int, json> readyz(std::uint16_t port) {
  auto res = http_get(port, "/readyz");
  return {res.status, json::parse(res.body)};
}

std::string dependency(const json& ready, const std::string& name) {
  return ready["dependencies"].value(name, "");
}

long long buffer_rows(std::uint16_t port) {
  return readyz(port).second["telemetry_buffer"]["rows"].get<long long>();
}

/// Seq of the drone as GET /api/v1/drones/{id} shows it (-1 on an error answer or without seq).
long long rest_seq(const test_node& node, const std::string& id) {
  auto res = http_get(node.port(), "/api/v1/drones/" + id, node.admin());
  if (res.status != 200)
    return -1;
  return res.json().value("seq", -1LL);
}

/// A drone that asked for acknowledgements and got its welcome.
std::unique_ptr<ws_client> connect_acked_drone(std::uint16_t port, const std::string& id) {
  return connect_acked(port, id, {{"model", "test-quad"}, {"fw", "1.2.3"}});
}

std::vector<long long> range(long long from, long long to) {
  std::vector<long long> out;
  for (auto s = from; s <= to; ++s)
    out.push_back(s);
  return out;
}

/// Options shared by the PostgreSQL outage tests: the node reaches its database through `proxy`, reconnects
/// quickly, writes telemetry every 20 ms, and lets drones send fast.
#define OUTAGE_NODE_OPTIONS(proxy, db)                                                                        \
  {"db.url", (proxy).pg_url((db).name)}, {"db.retry_min_ms", "50"}, {"db.retry_max_ms", "500"},              \
    {"telemetry.flush_ms", "20"}, {"drone.max_rate", "100000"}, {"drone.burst", "100000"}

} // namespace

TEST_CASE("PostgreSQL cut during ingest: the live view goes on, rows wait, and after it is back every frame is "
          "stored exactly once",
          "[outage]") {
  constexpr int drones_n = 5;
  constexpr long long frames = 200; // per drone
  scratch_database db;
  auto proxy = tcp_proxy::to_postgres();
  test_node node{OUTAGE_NODE_OPTIONS(*proxy, db)};
  REQUIRE(partitions_ready(db.url()));
  auto port = node.port();
  auto id = [](int i) { return "cut-" + std::to_string(i); };

  std::vector<std::unique_ptr<ws_client>> drones;
  for (int i = 0; i < drones_n; ++i)
    drones.push_back(connect_drone(port, id(i)));
  ws_client op{port, "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", "*"}});
  operator_view view;
  auto send_range = [&](long long from, long long to) {
    for (auto s = from; s <= to; ++s)
      for (int i = 0; i < drones_n; ++i)
        drones[i]->send(telemetry_frame(static_cast<std::uint64_t>(s), 40 + i, 10 + s / 1000.0));
  };

  // First half, written while PostgreSQL is there.
  send_range(1, frames / 2);
  REQUIRE(eventually([&] {
    return node.metric("dccs_telemetry_rows_committed_total") == drones_n * frames / 2 && buffer_rows(port) == 0;
  }));
  {
    auto [status, ready] = readyz(port);
    CHECK(status == 200);
    CHECK(ready["status"] == "ready");
    CHECK(dependency(ready, "postgres.telemetry") == "up");
  }

  proxy->down();
  send_range(frames / 2 + 1, frames * 3 / 4);
  // The writer notices at its next batch: /readyz names the dependency, still 200 (the live view is served).
  json ready;
  REQUIRE(eventually([&] {
    auto [status, r] = readyz(port);
    ready = r;
    return status == 200 && r["status"] == "degraded" && dependency(r, "postgres.telemetry") == "down";
  }));
  INFO(ready.dump());
  send_range(frames * 3 / 4 + 1, frames);
  REQUIRE(eventually([&] { return buffer_rows(port) > 0; }));

  // Live view: the operator sees every drone's newest frame, REST answers with it too.
  REQUIRE(view.read_until(op, [&] {
    for (int i = 0; i < drones_n; ++i) {
      auto d = view.drones.find(id(i));
      if (d == view.drones.end() || d->second.value("seq", 0LL) != frames)
        return false;
    }
    return true;
  }));
  for (int i = 0; i < drones_n; ++i)
    CHECK(rest_seq(node, id(i)) == frames);
  {
    auto [status, r] = readyz(port);
    INFO(r.dump());
    CHECK(status == 200);
    CHECK(r["status"] == "degraded");
    CHECK(r["telemetry_buffer"]["rows"].get<long long>() > 0);
    CHECK(r["telemetry_buffer"]["bytes"].get<long long>() > 0);
  }
  CHECK(node.metric("dccs_telemetry_rows_committed_total") == drones_n * frames / 2);
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 0);

  proxy->up();
  long long committed = 0;
  bool drained = eventually([&] {
    committed = node.metric("dccs_telemetry_rows_committed_total");
    return committed == drones_n * frames && buffer_rows(port) == 0;
  });
  INFO("committed " << committed << ", duplicates " << node.metric("dccs_telemetry_rows_duplicate_total")
                    << ", dropped " << node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") << ", failures "
                    << node.metric("dccs_telemetry_write_failures_total"));
  REQUIRE(drained);
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 0);
  CHECK(node.metric("dccs_telemetry_write_failures_total") > 0);

  // Straight from the database, not through the proxy.
  CHECK(count_rows(db.url(), "SELECT count(*) FROM telemetry.samples") == drones_n * frames);
  CHECK(count_rows(db.url(), "SELECT count(DISTINCT (drone_id, seq)) FROM telemetry.samples") == drones_n * frames);
  for (int i = 0; i < drones_n; ++i)
    CHECK(stored_seqs(db.url(), id(i)) == range(1, frames));

  REQUIRE(eventually([&] {
    auto [status, r] = readyz(port);
    return status == 200 && r["status"] == "ready";
  }));
  auto [status, r] = readyz(port);
  CHECK(dependency(r, "postgres.telemetry") == "up");
  CHECK(dependency(r, "postgres.fleet") == "up");
}

TEST_CASE("a bounded buffer: past its bound the oldest best-effort rows are dropped, the newest are stored",
          "[outage]") {
  scratch_database db;
  auto proxy = tcp_proxy::to_postgres();
  test_node node{OUTAGE_NODE_OPTIONS(*proxy, db), {"telemetry.buffer_bytes", "65536"}};
  REQUIRE(partitions_ready(db.url()));
  auto port = node.port();
  auto drone = connect_drone(port, "bounded");
  auto send = [&](long long s) { drone->send(telemetry_frame(static_cast<std::uint64_t>(s), 45, 9)); };

  for (long long s = 1; s <= 10; ++s)
    send(s);
  REQUIRE(eventually([&] {
    return node.metric("dccs_telemetry_rows_committed_total") == 10 && buffer_rows(port) == 0;
  }));

  proxy->down();
  // One frame that the writer takes as its batch and fails to write: it keeps that batch (and retries it
  // first), outside the bounded buffer. Once /readyz says "down", that batch holds just this frame.
  send(11);
  REQUIRE(eventually([&] { return dependency(readyz(port).second, "postgres.telemetry") == "down"; }));

  constexpr long long last = 2011; // far more than 64 KiB of rows
  for (long long s = 12; s <= last; ++s)
    send(s);
  REQUIRE(eventually([&] { return rest_seq(node, "bounded") == last; })); // every frame handled
  auto dropped = node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}");
  CHECK(dropped > 0);
  {
    auto [status, r] = readyz(port);
    INFO(r.dump());
    CHECK(status == 200);
    auto& buf = r["telemetry_buffer"];
    CHECK(buf["max_bytes"].get<long long>() == 65536);
    CHECK(buf["bytes"].get<long long>() <= 65536);
    CHECK(buf["rows"].get<long long>() > 0);
    CHECK(buf["rows"].get<long long>() + dropped == last - 11);
  }
  CHECK(node.metric("dccs_telemetry_rows_committed_total") == 10);

  proxy->up();
  REQUIRE(eventually([&] {
    return node.metric("dccs_telemetry_rows_committed_total") + node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}")
             == last
           && buffer_rows(port) == 0;
  }));
  auto committed = node.metric("dccs_telemetry_rows_committed_total");
  dropped = node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}");
  CHECK(committed + dropped == last);
  CHECK(node.metric("dccs_telemetry_rows_duplicate_total") == 0);

  // Stored: everything before the cut, the batch the writer held, then the newest frames without a gap.
  auto seqs = stored_seqs(db.url(), "bounded");
  REQUIRE(static_cast<long long>(seqs.size()) == committed);
  REQUIRE(seqs.size() > 11);
  CHECK(std::vector<long long>(seqs.begin(), seqs.begin() + 11) == range(1, 11));
  auto first_kept = seqs[11];
  CHECK(first_kept > 12); // the oldest were dropped
  CHECK(std::vector<long long>(seqs.begin() + 11, seqs.end()) == range(first_kept, last));
}

TEST_CASE("an acknowledged drone gets no ack while PostgreSQL is down, is closed with 1013 once its rows no "
          "longer fit, and after resending every seq is stored once",
          "[outage]") {
  scratch_database db;
  auto proxy = tcp_proxy::to_postgres();
  test_node node{OUTAGE_NODE_OPTIONS(*proxy, db), {"telemetry.buffer_bytes", "65536"}};
  REQUIRE(partitions_ready(db.url()));
  auto port = node.port();
  auto acked = connect_acked_drone(port, "acked");
  auto best = connect_drone(port, "best");

  acked->send(telemetry_frame(1, 45, 9));
  auto first = acked->read_json();
  REQUIRE(first == json{{"type", "ack"}, {"seq", 1}});
  for (long long s = 1; s <= 5; ++s)
    best->send(telemetry_frame(static_cast<std::uint64_t>(s), 46, 9));
  REQUIRE(eventually([&] {
    return node.metric("dccs_telemetry_rows_committed_total") == 6 && buffer_rows(port) == 0;
  }));

  proxy->down();
  acked->send(telemetry_frame(2, 45, 9)); // becomes the writer's failing batch
  REQUIRE(eventually([&] { return dependency(readyz(port).second, "postgres.telemetry") == "down"; }));
  // Best-effort rows in the buffer: they make room for acknowledged rows before any is refused.
  for (long long s = 6; s <= 105; ++s)
    best->send(telemetry_frame(static_cast<std::uint64_t>(s), 46, 9));
  REQUIRE(eventually([&] { return rest_seq(node, "best") == 105; }));
  REQUIRE(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 0);

  // The acknowledged drone sends until the node closes it (it keeps every frame not acknowledged).
  long long last_sent = 2;
  bool write_failed = false;
  while (last_sent < 5000 && !write_failed && node.metric("dccs_drone_backlog_closed_total") == 0) {
    for (int k = 0; k < 25; ++k) {
      try {
        acked->send(telemetry_frame(static_cast<std::uint64_t>(last_sent + 1), 45, 9));
      } catch (const std::exception&) {
        write_failed = true; // the node closed the connection
        break;
      }
      ++last_sent;
    }
  }
  std::vector<json> got;
  while (auto text = acked->read())
    got.push_back(json::parse(*text));
  INFO("last error: " << acked->last_error() << ", last seq sent " << last_sent);
  CHECK(acked->close_code() == 1013);
  for (auto& f : got)
    CHECK(f.value("type", "") != "ack"); // nothing is committed while the database is down
  CHECK(node.metric("dccs_drone_backlog_closed_total") == 1);
  CHECK(node.metric("dccs_telemetry_rows_refused_total") >= 1);
  // Every best-effort row was dropped before an acknowledged row was refused.
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 100);
  CHECK(node.metric("dccs_telemetry_rows_committed_total") == 6);

  proxy->up();
  REQUIRE(eventually([&] { return buffer_rows(port) == 0; }));

  // The drone comes back and resends everything after its last ack, a window at a time.
  auto again = connect_acked_drone(port, "acked");
  long long last_ack = 1;
  bool acks_grow = true;
  constexpr long long window = 50;
  for (long long from = 2; from <= last_sent; from += window) {
    auto to = std::min(last_sent, from + window - 1);
    for (auto s = from; s <= to; ++s)
      again->send(telemetry_frame(static_cast<std::uint64_t>(s), 45, 9));
    while (last_ack < to) {
      auto text = again->read();
      REQUIRE(text);
      auto f = json::parse(*text);
      REQUIRE(f.value("type", "") == "ack");
      auto seq = f["seq"].get<long long>();
      acks_grow = acks_grow && seq > last_ack;
      last_ack = seq;
    }
  }
  CHECK(acks_grow);
  CHECK(last_ack == last_sent);
  CHECK(stored_seqs(db.url(), "acked") == range(1, last_sent));
  CHECK(node.metric("dccs_telemetry_rows_duplicate_total") > 0); // rows held from the closed connection
  CHECK(stored_seqs(db.url(), "best") == range(1, 5));
}

TEST_CASE("acks come after the commit: each ack's seq grows, and every seq up to it is already stored",
          "[outage]") {
  test_node node{{"telemetry.flush_ms", "20"}, {"drone.max_rate", "100000"}, {"drone.burst", "100000"}};
  REQUIRE(partitions_ready(node.db_url()));
  auto drone = connect_acked_drone(node.port(), "acker");
  for (std::uint64_t s = 1; s <= 50; ++s)
    drone->send(telemetry_frame(s, 45, 9));
  pqxx::connection conn{node.db_url()};
  long long last = 0;
  int acks = 0;
  while (last < 50) {
    auto f = drone->read_json();
    REQUIRE(f.value("type", "") == "ack");
    auto seq = f["seq"].get<long long>();
    ++acks;
    CHECK(seq > last);
    last = seq;
    // Right after reading the ack: every seq up to it is in the table, once.
    pqxx::read_transaction tx{conn};
    auto r = tx.exec_params1("SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM telemetry.samples"
                             " WHERE drone_id = 'acker' AND seq <= $1",
                             seq);
    INFO("ack " << seq);
    CHECK(r[0].as<long long>() == seq);
    CHECK(r[1].as<long long>() == seq);
    CHECK(r[2].as<long long>() == seq);
  }
  CHECK(last == 50);
  CHECK(acks >= 1);
  CHECK(stored_seqs(node.db_url(), "acker") == range(1, 50));
}

TEST_CASE("Redis stopped: the live view goes on, /readyz says degraded, writes are skipped, and after a restart "
          "the state is written again",
          "[outage][redis]") {
  redis_server redis;
  test_node node{{"redis.url", redis.url()},       {"redis.interval_ms", "50"},  {"redis.retry_max_ms", "500"},
                 {"db.retry_min_ms", "50"},        {"db.retry_max_ms", "500"},   {"telemetry.flush_ms", "20"},
                 {"drone.max_rate", "100000"},     {"drone.burst", "100000"}};
  REQUIRE(partitions_ready(node.db_url()));
  auto port = node.port();
  const std::string id = "mirrored";
  const std::string key = "dccs:drone:" + id;
  auto drone = connect_drone(port, id);
  ws_client op{port, "/ws/operator", node.admin()};
  op.send(json{{"type", "subscribe"}, {"drones", json::array({id})}});
  operator_view view;
  long long seq = 0;
  auto send_next = [&] { drone->send(telemetry_frame(static_cast<std::uint64_t>(++seq), 47, 8)); };

  runtime::redis_endpoint ep;
  ep.port = redis.port();
  runtime::redis_client client{ep, 500ms, 20ms, 200ms};
  // The seq in the drone's Redis entry (-1: no entry, or Redis unreachable).
  auto redis_seq = [&]() -> long long {
    try {
      if (!client.ensure_connected())
        return -1;
      auto reply = client.command({"GET", key});
      if (reply.kind != runtime::redis_reply::kind_t::string)
        return -1;
      return json::parse(reply.str).value("seq", -1LL);
    } catch (const runtime::redis_error&) {
      return -1;
    }
  };

  send_next();
  REQUIRE(eventually([&] { return redis_seq() >= 1; }));
  {
    auto [status, r] = readyz(port);
    CHECK(dependency(r, "redis") == "up");
  }
  CHECK(node.metric("dccs_redis_writes_total") >= 1);

  redis.kill();
  REQUIRE(eventually([&] {
    send_next();
    auto [status, r] = readyz(port);
    return status == 200 && r["status"] == "degraded" && dependency(r, "redis") == "down";
  }));
  auto skipped = node.metric("dccs_redis_skipped_total");
  REQUIRE(eventually([&] {
    send_next();
    return node.metric("dccs_redis_skipped_total") > skipped;
  }));
  // The live view does not depend on Redis.
  send_next();
  auto newest = seq;
  REQUIRE(view.read_until(op, [&] {
    auto d = view.drones.find(id);
    return d != view.drones.end() && d->second.value("seq", 0LL) == newest;
  }));
  CHECK(rest_seq(node, id) == newest);
  {
    auto [status, r] = readyz(port);
    CHECK(status == 200);
    CHECK(r["status"] == "degraded");
    CHECK(dependency(r, "postgres.fleet") == "up");
    CHECK(dependency(r, "postgres.telemetry") == "up");
  }

  redis.start(); // same port, empty (no persistence)
  auto writes = node.metric("dccs_redis_writes_total");
  REQUIRE(eventually([&] {
    send_next();
    return redis_seq() > newest;
  }));
  CHECK(node.metric("dccs_redis_writes_total") > writes);
  REQUIRE(eventually([&] {
    auto [status, r] = readyz(port);
    return status == 200 && r["status"] == "ready" && dependency(r, "redis") == "up";
  }));
}

// At node start, partition maintenance (CREATE TABLE / ATTACH PARTITION next to the DEFAULT partition) runs while
// the writer inserts: the writer takes the maintenance advisory lock shared for each batch, so an attach never
// races an INSERT (which failed it with a partition constraint error and, before, dropped the batch).
TEST_CASE("telemetry sent while the node starts (and maintains partitions) is stored, none dropped",
          "[outage]") {
  test_node node{{"telemetry.flush_ms", "1"}, {"drone.max_rate", "100000"}, {"drone.burst", "100000"}};
  auto port = node.port();
  constexpr int drones_n = 3;
  std::vector<std::unique_ptr<ws_client>> drones;
  for (int i = 0; i < drones_n; ++i)
    drones.push_back(connect_drone(port, "early-" + std::to_string(i)));
  // Small batches, one round every millisecond or so, until maintenance has made its first pass.
  long long seq = 0;
  bool maintained = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!maintained && std::chrono::steady_clock::now() < deadline) {
    ++seq;
    for (auto& d : drones)
      d->send(telemetry_frame(static_cast<std::uint64_t>(seq), 45, 9));
    if (seq % 20 == 0) {
      try {
        maintained = count_rows(node.db_url(), "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                                               " ON n.oid = c.relnamespace WHERE n.nspname = 'telemetry'"
                                               " AND c.relname ~ '^samples_[0-9]{8}$'")
                     >= 5;
      } catch (const std::exception&) {
      }
    }
  }
  REQUIRE(maintained);
  REQUIRE(eventually([&] {
    return node.metric("dccs_telemetry_rows_committed_total") + node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}")
             == drones_n * seq
           && buffer_rows(port) == 0;
  }));
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 0);
  for (int i = 0; i < drones_n; ++i)
    CHECK(stored_seqs(node.db_url(), "early-" + std::to_string(i)) == range(1, seq));
}

TEST_CASE("a node without the telemetry role reports the Redis its logins and revocations use: /readyz shows it up, "
          "down when it stops, up when it is back",
          "[outage][redis]") {
  redis_server redis;
  test_node node{{"node.roles", "dashboard,auth"}, {"redis.url", redis.url()}, {"redis.retry_max_ms", "500"},
                 {"auth.revocation_poll_ms", "100"}};
  auto port = node.port();
  REQUIRE(eventually([&] { return dependency(readyz(port).second, "redis") == "up"; }));
  redis.kill();
  REQUIRE(eventually([&] {
    auto [status, r] = readyz(port);
    return status == 200 && r["status"] == "degraded" && dependency(r, "redis") == "down";
  }));
  redis.start();
  REQUIRE(eventually([&] {
    auto [status, r] = readyz(port);
    return status == 200 && dependency(r, "redis") == "up";
  }));
}
