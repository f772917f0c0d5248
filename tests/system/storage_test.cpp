// Telemetry history as stored in PostgreSQL: the writer's batches land with the values the drones sent, a full
// batch is written without waiting for the timer, and partition maintenance creates, fills and drops partitions.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "actors/messages.hpp"
#include "actors/telemetry_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

/// A count, or -1 while the node has not created the schema yet.
long long count(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn{url};
    pqxx::work tx{conn};
    return tx.exec1(sql)[0].as<long long>();
  } catch (const pqxx::undefined_table&) {
    return -1;
  }
}

bool run_maintenance(test_node& node) {
  caf::scoped_actor self{node.node().system()};
  bool ok = false;
  self->request(node.node().telemetry_maintenance(), std::chrono::seconds(30), actors::flush_atom::value)
    .receive([&](bool x) { ok = x; }, [](caf::error&) {});
  return ok;
}

std::int64_t today() {
  return static_cast<std::int64_t>(runtime::wall_ms() / 86400000.0);
}

} // namespace

TEST_CASE("the writer stores every telemetry frame with the values the drone sent") {
  test_node node{{"telemetry.flush_ms", "20"}};
  auto drone = connect_drone(node.port(), "store-1");
  constexpr int n = 30;
  for (int i = 1; i <= n; ++i) {
    auto f = telemetry_frame(static_cast<std::uint64_t>(i), 47.0 + i * 0.001, 8.0 - i * 0.001, 100 + i);
    f["armed"] = i % 2 == 0;
    f["mode"] = i % 3 == 0 ? "RTL" : "MISSION";
    if (i % 5 == 0) {
      f.erase("sats");
      f.erase("fix");
    } else {
      f["voltage"] = 15.5;
    }
    drone->send(f);
  }
  auto url = node.db_url();
  REQUIRE(eventually([&] { return count(url, "SELECT count(*) FROM telemetry.samples") == n; }));
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  auto rows = tx.exec("SELECT seq, lat, lon, alt, armed, mode, sats, fix, voltage,"
                      " extract(epoch from time) * 1000, drone_id, received > time - interval '1 day'"
                      " FROM telemetry.samples ORDER BY seq");
  REQUIRE(rows.size() == n);
  for (const auto& r : rows) {
    auto i = r[0].as<int>();
    INFO("seq " << i);
    CHECK(r[1].as<double>() == Approx(47.0 + i * 0.001).epsilon(1e-12));
    CHECK(r[2].as<double>() == Approx(8.0 - i * 0.001).epsilon(1e-12));
    CHECK(r[3].as<double>() == 100 + i);
    CHECK(r[4].as<bool>() == (i % 2 == 0));
    CHECK(r[5].as<std::string>() == (i % 3 == 0 ? "RTL" : "MISSION"));
    CHECK(r[6].is_null() == (i % 5 == 0));
    CHECK(r[7].is_null() == (i % 5 == 0));
    CHECK(r[8].is_null() == (i % 5 == 0));
    CHECK(r[9].as<double>() == Approx(telemetry_epoch_ms + i).margin(0.01));
    CHECK(r[10].as<std::string>() == "store-1");
    CHECK(r[11].as<bool>());
  }
  CHECK(node.metric("dccs_telemetry_rows_committed_total") == n);
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 0);
}

TEST_CASE("a full batch is written at once, without waiting for the flush interval") {
  // The timer fires after a minute (the longest interval allowed): only the batch size makes these rows land
  // within the test's 20-second wait.
  test_node node{{"telemetry.flush_ms", "60000"}, {"telemetry.batch_rows", "10"}};
  auto drone = connect_drone(node.port(), "batch-1");
  for (int i = 1; i <= 10; ++i)
    drone->send(telemetry_frame(static_cast<std::uint64_t>(i), 47, 8));
  REQUIRE(eventually([&] { return count(node.db_url(), "SELECT count(*) FROM telemetry.samples") == 10; }));
  CHECK(node.metric("dccs_telemetry_batches_total") >= 1);
}

TEST_CASE("a resent frame (same drone, ts and seq) is stored once") {
  test_node node{{"telemetry.flush_ms", "20"}};
  auto drone = connect_drone(node.port(), "dup-1");
  for (int i = 1; i <= 5; ++i)
    drone->send(telemetry_frame(static_cast<std::uint64_t>(i), 47, 8));
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_committed_total") == 5; }));
  // New rows go straight into the table with one COPY.
  CHECK(node.metric("dccs_telemetry_batches_by_path_total{path=\"copy\"}") >= 1);
  CHECK(node.metric("dccs_telemetry_batches_by_path_total{path=\"staging\"}") == 0);
  for (int i = 3; i <= 7; ++i) // 3..5 again, then 6 and 7
    drone->send(telemetry_frame(static_cast<std::uint64_t>(i), 47, 8));
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_committed_total") == 7; }));
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_duplicate_total") == 3; }));
  CHECK(count(node.db_url(), "SELECT count(*) FROM telemetry.samples") == 7);
  CHECK(count(node.db_url(), "SELECT count(DISTINCT seq) FROM telemetry.samples") == 7);
  // A batch holding a row already stored fails its COPY and goes through the staging table, which skips it.
  CHECK(node.metric("dccs_telemetry_batches_by_path_total{path=\"staging\"}") >= 1);
}

TEST_CASE("telemetry times are stored as PostgreSQL converts them, and text fields as the drone sent them") {
  // The node converts a frame's ts (ms, a double) to the row's time itself, for both ways of writing a row (COPY
  // straight into the table, or through the staging table): a resent frame must meet its first copy's key, and
  // rows stored by earlier versions (converted by PostgreSQL's to_timestamp) too. Fractions that round either way.
  // Retention of 100 years: the calendar edges below include 1970, 2000 and 2024, which the node's partition
  // maintenance would delete as past a 30-day retention if its first run came after they were stored.
  test_node node{{"telemetry.flush_ms", "20"}, {"drone.max_rate", "1000"}, {"drone.burst", "1000"},
                 {"telemetry.retention_days", "36500"}};
  auto drone = connect_drone(node.port(), "ts-1");
  const double fractions[] = {0.0005, 0.0015, 0.0025, 0.0035, 0.9995, 0.4995, 0.123456789, 1.0 / 3, 2.0 / 3,
                              0.0000004, 0.0000005, 0.0000006, 0.5, 0.25, 0.999999, 0.1 + 0.2};
  // Text that COPY's text format would have to escape (the staging path uses it), and "\N", which must not become
  // NULL; the direct path sends them as binary.
  const std::string modes[] = {"A\\B", "TAB\tX", "NL\nX", "CR\rX", "\\N", "vol \xc3\xa9\xe2\x9c\x88", "MISSION"};
  std::vector<std::pair<int, double>> sent;
  int seq = 0;
  for (int k = 0; k < 8; ++k)
    for (double f : fractions) {
      ++seq;
      auto frame = telemetry_frame(static_cast<std::uint64_t>(seq), 47, 8);
      double ts = telemetry_epoch_ms + seq * 7 + k * 1000 + f;
      frame["ts"] = ts;
      frame["mode"] = modes[seq % 7];
      drone->send(frame);
      sent.emplace_back(seq, ts);
    }
  // Calendar edges (the node formats the date itself): the epoch, leap days, the last instant of a day, of a year
  // and of year 9999, and years past it (ts reaches 10^15 ms).
  const double edges[] = {0.0, 951782400000.0, 951868799999.9995, 1709251199999.0, 4107542399999.5, 1735689599999.9,
                          253402300799999.0, 253402300800000.0, 1e15};
  for (double ts : edges) {
    ++seq;
    auto frame = telemetry_frame(static_cast<std::uint64_t>(seq), 47, 8);
    frame["ts"] = ts;
    frame["mode"] = modes[seq % 7];
    drone->send(frame);
    sent.emplace_back(seq, ts);
  }
  REQUIRE(eventually([&] {
    return count(node.db_url(), "SELECT count(*) FROM telemetry.samples WHERE drone_id = 'ts-1'") == seq;
  }));
  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  for (auto& [n, ts] : sent) {
    char literal[64];
    std::snprintf(literal, sizeof literal, "%.17g", ts);
    auto row = tx.exec1("SELECT time = to_timestamp(" + std::string{literal} + "::float8 / 1000.0), time::text, to_timestamp("
                        + literal + "::float8 / 1000.0)::text, mode FROM telemetry.samples WHERE drone_id = 'ts-1' AND seq = "
                        + std::to_string(n));
    INFO("seq " << n << ", ts " << literal << ": stored " << row[1].as<std::string>() << ", PostgreSQL "
                << row[2].as<std::string>());
    CHECK(row[0].as<bool>());
    CHECK(row[3].as<std::string>() == modes[n % 7]);
  }
  // Each of them resent: stored once (the staging table's conflict check finds the first copy by the same key).
  for (auto& [n, ts] : sent) {
    auto frame = telemetry_frame(static_cast<std::uint64_t>(n), 47, 8);
    frame["ts"] = ts;
    frame["mode"] = modes[n % 7];
    drone->send(frame);
  }
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_duplicate_total") == seq; }));
  CHECK(count(node.db_url(), "SELECT count(*) FROM telemetry.samples WHERE drone_id = 'ts-1'") == seq);
}

TEST_CASE("partition maintenance: daily partitions ahead, waiting rows moved in, old partitions dropped") {
  scratch_database db;
  auto d = today();
  auto day_literal = [](std::int64_t day) {
    return "timestamptz 'epoch' + " + std::to_string(day) + " * interval '1 day'";
  };
  {
    pqxx::connection conn{db.url()};
    runtime::migrate(conn, "telemetry");
    pqxx::work tx{conn};
    // A partition 40 days old (past the 30-day retention), with a row.
    tx.exec0("CREATE TABLE telemetry." + actors::partition_name(d - 40) + " PARTITION OF telemetry.samples FOR VALUES FROM ("
             + day_literal(d - 40) + ") TO (" + day_literal(d - 39) + ")");
    auto insert = [&](std::int64_t day, int seq) {
      tx.exec0("INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed,"
               " battery, armed, mode) VALUES ('m-1', " + day_literal(day) + " + interval '1 hour', "
               + std::to_string(seq) + ", now(), 1, 2, 3, 4, 5, 6, 7, true, 'X')");
    };
    insert(d - 40, 1); // in the old partition
    insert(d - 35, 2); // in the default partition, past retention
    insert(d + 5, 3);  // in the default partition: a day that gets its partition below
    insert(d - 10, 4); // in the default partition, kept (no partition is made for that day)
    tx.commit();
  }
  test_node node{{"db.url", db.url()}, {"telemetry.partitions_ahead", "6"}, {"telemetry.retention_days", "30"}};
  REQUIRE(run_maintenance(node));
  auto url = db.url();
  auto exists = [&](std::int64_t day) {
    return count(url, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                      " WHERE n.nspname = 'telemetry' AND c.relname = '" + actors::partition_name(day) + "'") == 1;
  };
  for (auto day = d - 1; day <= d + 6; ++day) {
    INFO(actors::partition_name(day));
    CHECK(exists(day));
  }
  CHECK_FALSE(exists(d - 40));
  CHECK(count(url, "SELECT count(*) FROM telemetry.samples WHERE seq IN (1, 2)") == 0);
  CHECK(count(url, "SELECT count(*) FROM telemetry." + actors::partition_name(d + 5) + " WHERE seq = 3") == 1);
  CHECK(count(url, "SELECT count(*) FROM telemetry.samples_default WHERE seq = 4") == 1);
  CHECK(count(url, "SELECT count(*) FROM telemetry.samples_default WHERE seq = 3") == 0);
  // The new partitions carry the unique (drone_id, time, seq) index: a duplicate is refused there too.
  CHECK_THROWS([&] {
    pqxx::connection conn{url};
    pqxx::work tx{conn};
    tx.exec0("INSERT INTO telemetry.samples SELECT * FROM telemetry.samples WHERE seq = 3");
    tx.commit();
  }());
  // A second pass changes nothing.
  REQUIRE(run_maintenance(node));
  CHECK(node.metric("dccs_telemetry_partitions_dropped_total") == 1);
}

TEST_CASE("PostgreSQL stopped and restarted during ingest: the buffer drains and the counts add up") {
  pg_server pg;
  test_node node{{"db.url", pg.url()}, {"telemetry.flush_ms", "20"}, {"db.retry_min_ms", "50"},
                 {"db.retry_max_ms", "500"}, {"drone.max_rate", "100000"}, {"drone.burst", "100000"}};
  auto p = node.port();
  auto drone = connect_drone(p, "restart-1");
  auto ready_status = [&] { return http_get(p, "/readyz").json(); };
  int seq = 0;
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i)
      drone->send(telemetry_frame(static_cast<std::uint64_t>(++seq), 47, 8));
  };
  send(100);
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_committed_total") == 100; }));
  pg.stop();
  send(100); // PostgreSQL is down: these wait in the buffer
  REQUIRE(eventually([&] { return ready_status()["dependencies"]["postgres.telemetry"] == "down"; }));
  CHECK(ready_status()["status"] == "degraded");
  // The live view goes on.
  REQUIRE(eventually([&] { return http_get(p, "/api/v1/drones/restart-1", node.admin()).json().value("seq", 0) == 200; }));
  auto buffered = ready_status()["telemetry_buffer"];
  INFO(buffered.dump());
  CHECK(buffered["rows"].get<long long>() + buffered["writing"].get<long long>() == 100);
  pg.start();
  send(100);
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_committed_total") == 300; }));
  CHECK(node.metric("dccs_telemetry_rows_dropped_total{reason=\"buffer_full\"}") == 0);
  CHECK(node.metric("dccs_telemetry_write_failures_total") > 0);
  CHECK(count(pg.url(), "SELECT count(*) FROM telemetry.samples WHERE drone_id = 'restart-1'") == 300);
  CHECK(count(pg.url(), "SELECT count(DISTINCT seq) FROM telemetry.samples WHERE seq BETWEEN 1 AND 300") == 300);
  REQUIRE(eventually([&] { return ready_status()["status"] == "ready"; }));
  CHECK(ready_status()["telemetry_buffer"]["rows"] == 0);
}
