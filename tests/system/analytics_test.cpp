// Daily flight analytics against a real PostgreSQL: the rollup job's passes over telemetry.samples (a known
// flight counted as by hand, in one pass or in pieces, idempotent, marked days computed again), and, through a
// node over HTTP, the daily and fleet answers: late telemetry marked by the writer and counted again, alarms,
// CSV, groups and roles, and bad parameters.

#include <catch2/catch.hpp>

#include <cmath>
#include <ctime>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "actors/analytics.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using nlohmann::json;

namespace {

constexpr std::int64_t ms_per_day = 86400000;
/// 0.001 degree of latitude on the mean Earth sphere (R = 6371008.8 m), m.
const double step_m = 6371008.8 * 0.001 * M_PI / 180.0;

std::int64_t now_ms() {
  return static_cast<std::int64_t>(runtime::wall_ms());
}

/// Yesterday (UTC) at 10:00, ms.
std::int64_t yesterday_10h() {
  return (now_ms() / ms_per_day - 1) * ms_per_day + 10 * 3600 * 1000;
}

std::string day_text(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

struct point {
  std::int64_t ms;
  double lat, alt, battery;
  bool armed;
};

/// The known flight of tests/actors/analytics_model_test.cpp, one sample a second from `start_ms`: 30 samples,
/// armed 23 s, flying 19 s, 10 × 0.001 degree north, up to 450 m, 6 % of battery, one takeoff.
std::vector<point> known_flight(std::int64_t start_ms, std::int64_t step_ms = 1000) {
  std::vector<point> v;
  auto t = start_ms;
  auto add = [&](double lat, double alt, double battery, bool armed) {
    v.push_back({t, lat, alt, battery, armed});
    t += step_ms;
  };
  for (int i = 0; i < 5; ++i)
    add(47.0, 400, 100, false);
  for (int i = 0; i < 2; ++i)
    add(47.0, 400, 100, true);
  for (int k = 1; k <= 5; ++k)
    add(47.0, 400 + 10 * k, 99, true);
  for (int k = 1; k <= 10; ++k)
    add(47.0 + 0.001 * k, 450, 99 - 0.5 * k, true);
  for (double alt : {440.0, 430.0, 420.0, 410.0, 400.3})
    add(47.010, alt, 94, true);
  add(47.010, 400.3, 94, true);
  add(47.010, 400.3, 94, false);
  add(47.010, 400.3, 100, false);
  return v;
}

void insert(pqxx::connection& conn, const std::string& drone, const std::vector<point>& points, std::int64_t seq0 = 1) {
  pqxx::work tx{conn};
  auto seq = seq0;
  for (const auto& p : points)
    tx.exec_params("INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed, vspeed,"
                   " battery, armed, mode) VALUES ($1, timestamptz 'epoch' + $2::int8 * interval '1 millisecond', $3,"
                   " now(), $4, 8.0, $5, 0, 0, 0, $6, $7, 'AUTO')",
                   drone, p.ms, seq++, p.lat, p.alt, p.battery, p.armed);
  tx.commit();
}

struct rollup {
  double flight_s, armed_s, distance_m, max_alt_m, battery_used_pct;
  long long flights, samples;
};

std::optional<rollup> row_of(pqxx::connection& conn, const std::string& drone, const std::string& day) {
  pqxx::work tx{conn};
  auto r = tx.exec("SELECT flight_s, armed_s, distance_m, max_alt_m, battery_used_pct, flights, samples FROM"
                   " telemetry.daily_rollups WHERE drone_id = " + tx.quote(drone) + " AND day = " + tx.quote(day));
  if (r.empty())
    return std::nullopt;
  return rollup{r[0][0].as<double>(), r[0][1].as<double>(), r[0][2].as<double>(), r[0][3].as<double>(),
                r[0][4].as<double>(), r[0][5].as<long long>(), r[0][6].as<long long>()};
}

void check_known(const rollup& r, int times = 1) {
  CHECK(r.samples == 30 * times);
  CHECK(r.armed_s == Approx(23 * times));
  CHECK(r.flight_s == Approx(19 * times));
  CHECK(r.distance_m == Approx(10 * times * step_m).epsilon(1e-9));
  CHECK(r.max_alt_m == 450);
  CHECK(r.battery_used_pct == Approx(6 * times));
  CHECK(r.flights == times);
}

actors::analytics_settings test_settings() {
  actors::analytics_settings s;
  s.history_days = 2;
  s.window_s = 3 * 86400;
  s.settle_s = 0;
  return s;
}

/// Passes until the job has caught up with `now`.
actors::analytics::pass_result catch_up(pqxx::connection& conn, const actors::analytics_settings& s, std::int64_t now) {
  actors::analytics::pass_result r;
  for (int i = 0; i < 100; ++i) {
    r = actors::analytics::rollup_pass(conn, s, now);
    REQUIRE(r.ran);
    if (r.caught_up)
      return r;
  }
  FAIL("the rollup job did not catch up in 100 passes");
  return r;
}

struct telemetry_db {
  telemetry_db() : conn(db.url()) { runtime::migrate(conn, "telemetry"); }
  scratch_database db;
  pqxx::connection conn;
};

} // namespace

TEST_CASE("rollup pass: a known flight becomes the day's figures, as counted by hand") {
  telemetry_db t;
  auto start = yesterday_10h();
  insert(t.conn, "k1", known_flight(start));
  auto s = test_settings();
  auto r = catch_up(t.conn, s, now_ms());
  CHECK(r.samples == 30);
  auto row = row_of(t.conn, "k1", day_text(start));
  REQUIRE(row);
  check_known(*row);

  SECTION("a pass with nothing new changes nothing") {
    auto again = actors::analytics::rollup_pass(t.conn, s, now_ms() + 1000);
    CHECK(again.samples == 0);
    check_known(*row_of(t.conn, "k1", day_text(start)));
  }
  SECTION("a marked hour is computed again from all its samples (here: a second flight stored late)") {
    insert(t.conn, "k1", known_flight(start + 3600 * 1000), 100);
    {
      pqxx::work tx{t.conn};
      tx.exec0("INSERT INTO telemetry.rollup_dirty (drone_id, hour) VALUES ('k1', to_timestamp("
               + std::to_string((start + 3600 * 1000) / 1000) + "))");
      tx.commit();
    }
    auto again = actors::analytics::rollup_pass(t.conn, s, now_ms() + 1000);
    CHECK(again.recomputed == 1);
    check_known(*row_of(t.conn, "k1", day_text(start)), 2);
    pqxx::work tx{t.conn};
    CHECK(tx.exec1("SELECT count(*) FROM telemetry.rollup_dirty")[0].as<int>() == 0);
  }
  SECTION("another session holding the job's lock: the pass does not run") {
    pqxx::connection other{t.db.url()};
    pqxx::nontransaction nt{other};
    nt.exec("SELECT pg_advisory_lock(hashtext('dccs-analytics'))");
    CHECK_FALSE(actors::analytics::rollup_pass(t.conn, s, now_ms()).ran);
    nt.exec("SELECT pg_advisory_unlock(hashtext('dccs-analytics'))");
    CHECK(actors::analytics::rollup_pass(t.conn, s, now_ms()).ran);
  }
}

TEST_CASE("rollup pass: a first pass skips the empty days and hours before the first telemetry") {
  telemetry_db t;
  auto start = yesterday_10h() + 60 * 1000; // inside the hour (a sample at 10:00:00 ends the hour before)
  insert(t.conn, "k3", known_flight(start));
  auto s = test_settings();
  s.history_days = 30;
  s.window_s = 3600;
  // Without the skip: 30 days of one-hour windows, 700 passes and more. With it: the flight's hour, then the rest.
  auto first = actors::analytics::rollup_pass(t.conn, s, now_ms());
  CHECK(first.samples == 30);
  CHECK_FALSE(first.caught_up);
  auto second = actors::analytics::rollup_pass(t.conn, s, now_ms());
  CHECK(second.samples == 0);
  CHECK(second.caught_up);
  auto row = row_of(t.conn, "k3", day_text(start));
  REQUIRE(row);
  check_known(*row);
}

TEST_CASE("rollup pass: a flight counted in pieces by passes that run while it flies adds up to the whole") {
  telemetry_db t;
  auto start = yesterday_10h();
  auto flight = known_flight(start);
  auto s = test_settings();
  // Each pass sees the samples up to its `now` (settle 0): the flight arrives in 5 pieces, a pass after each.
  std::size_t sent = 0;
  for (std::size_t cut : {3u, 8u, 13u, 24u, 30u}) {
    std::vector<point> piece(flight.begin() + static_cast<std::ptrdiff_t>(sent),
                             flight.begin() + static_cast<std::ptrdiff_t>(cut));
    insert(t.conn, "k2", piece, static_cast<std::int64_t>(sent) + 1);
    sent = cut;
    catch_up(t.conn, s, flight[cut - 1].ms);
  }
  catch_up(t.conn, s, now_ms());
  auto row = row_of(t.conn, "k2", day_text(start));
  REQUIRE(row);
  check_known(*row);
  pqxx::work tx{t.conn};
  auto cursor = tx.exec1("SELECT time_us, airborne, ground_alt FROM telemetry.rollup_cursors WHERE drone_id = 'k2'");
  CHECK(cursor[0].as<std::int64_t>() == flight.back().ms * 1000);
  CHECK_FALSE(cursor[1].as<bool>());
  CHECK(cursor[2].as<double>() == Approx(400.3));
}

TEST_CASE("rollup pass: samples stored out of their time order count as if they had come in order") {
  // The pass reads the window as the rows are stored, unsorted; a drone with a sample out of (time, seq) order is
  // read again, sorted. k1 is stored in order, k2 (the same flight) in a shuffled order, k3 with two samples of the
  // same time stored with the higher seq first (its battery reading then depends on the order).
  telemetry_db t;
  auto start = yesterday_10h();
  auto flight = known_flight(start);
  insert(t.conn, "k1", flight);
  {
    std::vector<std::size_t> order(flight.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = (i * 7) % order.size(); // 7 and 30 are coprime: every sample once, far from time order
    pqxx::work tx{t.conn};
    for (auto i : order)
      tx.exec_params("INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed,"
                     " vspeed, battery, armed, mode) VALUES ('k2', timestamptz 'epoch' + $1::int8 * interval '1 millisecond',"
                     " $2, now(), $3, 8.0, $4, 0, 0, 0, $5, $6, 'AUTO')",
                     flight[i].ms, static_cast<std::int64_t>(i) + 1, flight[i].lat, flight[i].alt, flight[i].battery,
                     flight[i].armed);
    tx.commit();
  }
  // k3: on the ground, 100 %, then two readings at the same time: seq 3 (99 %) stored before seq 2 (98 %). In
  // (time, seq) order the battery goes 100 → 98 → 99: 2 % used; in storage order 100 → 99 → 98 would be 2 % as well,
  // so a third reading tells them apart: 97 % at the next second (sorted: 100 → 98 → 99 → 97, 4 % used; unsorted:
  // 100 → 99 → 98 → 97, 3 %).
  {
    pqxx::work tx{t.conn};
    auto row = [&](std::int64_t ms, std::int64_t seq, double battery) {
      tx.exec_params("INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed,"
                     " vspeed, battery, armed, mode) VALUES ('k3', timestamptz 'epoch' + $1::int8 * interval"
                     " '1 millisecond', $2, now(), 47.0, 8.0, 400, 0, 0, 0, $3, false, 'AUTO')",
                     ms, seq, battery);
    };
    row(start, 1, 100);
    row(start + 1000, 3, 99);
    row(start + 1000, 2, 98);
    row(start + 2000, 4, 97);
    tx.commit();
  }
  auto r = catch_up(t.conn, test_settings(), now_ms());
  CHECK(r.samples == 64);
  CHECK(r.drones == 3);
  CHECK(r.resorted == 2);
  auto k1 = row_of(t.conn, "k1", day_text(start));
  auto k2 = row_of(t.conn, "k2", day_text(start));
  REQUIRE(k1);
  REQUIRE(k2);
  check_known(*k1);
  check_known(*k2);
  auto k3 = row_of(t.conn, "k3", day_text(start));
  REQUIRE(k3);
  CHECK(k3->samples == 4);
  CHECK(k3->battery_used_pct == Approx(4));
  // The carried state is the newest sample's, as a sorted read leaves it.
  pqxx::work tx{t.conn};
  CHECK(tx.exec1("SELECT time_us FROM telemetry.rollup_cursors WHERE drone_id = 'k2'")[0].as<std::int64_t>()
        == flight.back().ms * 1000);
  CHECK(tx.exec1("SELECT battery FROM telemetry.rollup_cursors WHERE drone_id = 'k3'")[0].as<double>() == 97);
}

// -- through a node ---------------------------------------------------------------------------------------

namespace {

json frame_of(const point& p, std::uint64_t seq) {
  auto f = telemetry_frame(seq, p.lat, 8.0, p.alt);
  f["ts"] = p.ms;
  f["battery"] = p.battery;
  f["armed"] = p.armed;
  return f;
}

bool flush_analytics(test_node& node) {
  caf::scoped_actor self{node.node().system()};
  bool ok = false;
  self->request(node.node().analytics_job(), std::chrono::seconds(60), actors::flush_atom::value)
    .receive([&](bool x) { ok = x; }, [](caf::error&) {});
  return ok;
}

long long count(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  return tx.exec1(sql)[0].as<long long>();
}

} // namespace

TEST_CASE("analytics over HTTP: daily and fleet figures, late telemetry counted again, alarms, CSV", "[http]") {
  test_node node{{"telemetry.flush_ms", "20"},
                 {"telemetry.retention_days", "2"},
                 {"analytics.interval_s", "86400"},
                 {"analytics.settle_s", "0"},
                 {"analytics.window_s", "86400"},
                 {"alarms.battery_warn", "95"},
                 {"alarms.battery_critical", "10"}};
  auto start = yesterday_10h();
  auto yesterday = day_text(start);
  auto today = day_text(now_ms());
  auto drone = connect_drone(node.port(), "an-1");
  std::uint64_t seq = 0;
  for (const auto& p : known_flight(start))
    drone->send(frame_of(p, ++seq));
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_committed_total") == 30; }));
  REQUIRE(flush_analytics(node));

  auto daily = [&](const std::string& query, const headers& who) {
    auto r = http_get(node.port(), "/api/v1/analytics/daily?" + query, who);
    INFO(r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  auto range = "from=" + yesterday + "&to=" + today;
  auto body = daily(range + "&drone=an-1", node.admin());
  CHECK(body["from"] == yesterday);
  CHECK(body["to"] == today);
  REQUIRE(body["computed_through"].is_number());
  CHECK(body["computed_through"].get<std::int64_t>() >= start + 29000);
  auto find = [](const json& rows, const std::string& day) {
    for (const auto& r : rows)
      if (r["day"] == day)
        return r;
    return json{};
  };
  auto y = find(body["rows"], yesterday);
  REQUIRE(y.is_object());
  CHECK(y["drone_id"] == "an-1");
  CHECK(y["group"] == "default");
  CHECK(y["samples"] == 30);
  CHECK(y["flights"] == 1);
  CHECK(y["armed_s"].get<double>() == Approx(23));
  CHECK(y["flight_s"].get<double>() == Approx(19));
  CHECK(y["distance_m"].get<double>() == Approx(std::round(10 * step_m * 1000) / 1000));
  CHECK(y["max_alt_m"] == 450);
  CHECK(y["battery_used_pct"].get<double>() == Approx(6));

  SECTION("telemetry stored after its day was counted is marked by the writer and counted again") {
    // A second flight the same day, sent now (a drone that kept its frames while offline).
    for (const auto& p : known_flight(start + 3600 * 1000))
      drone->send(frame_of(p, ++seq));
    REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_committed_total") == 60; }));
    CHECK(count(node.db_url(), "SELECT count(*) FROM telemetry.rollup_dirty WHERE drone_id = 'an-1'") == 1);
    // Late rows, all new: copied straight into the table, their hour marked by the same transaction.
    CHECK(node.metric("dccs_telemetry_batches_by_path_total{path=\"staging\"}") == 0);
    REQUIRE(flush_analytics(node));
    auto again = find(daily(range + "&drone=an-1", node.admin())["rows"], yesterday);
    CHECK(again["samples"] == 60);
    CHECK(again["flights"] == 2);
    CHECK(again["flight_s"].get<double>() == Approx(38));
    CHECK(again["battery_used_pct"].get<double>() == Approx(12));
    CHECK(node.metric("dccs_analytics_days_recomputed_total") >= 1);
  }

  SECTION("alarms count on the day they were raised; the fleet sums per day and group") {
    // The battery went below alarms.battery_warn (95): a low_battery alarm, raised today by the node's clock.
    REQUIRE(eventually([&] {
      auto r = http_get(node.port(), "/api/v1/alarms?drone=an-1", node.admin());
      return r.status == 200 && json::parse(r.body)["alarms"].size() >= 1;
    }));
    auto rows = daily(range + "&drone=an-1", node.admin())["rows"];
    auto t = find(rows, today);
    REQUIRE(t.is_object());
    CHECK(t["alarms"].get<int>() >= 1);
    CHECK(t["samples"] == 0);
    CHECK(t["max_alt_m"].is_null());
    auto fleet = http_get(node.port(), "/api/v1/analytics/fleet?" + range, node.admin());
    REQUIRE(fleet.status == 200);
    auto f = json::parse(fleet.body);
    auto fy = find(f["days"], yesterday);
    REQUIRE(fy.is_object());
    CHECK(fy["group"] == "default");
    CHECK(fy["drones"] == 1);
    CHECK(fy["flights"] == 1);
    CHECK(fy["flight_s"].get<double>() == Approx(19));
    auto drones = http_get(node.port(), "/api/v1/analytics/drones?" + range, node.admin());
    REQUIRE(drones.status == 200);
    auto d = json::parse(drones.body)["drones"];
    REQUIRE(d.size() == 1);
    CHECK(d[0]["drone_id"] == "an-1");
    CHECK(d[0]["group"] == "default");
    CHECK(d[0]["days"] == 1); // the day with telemetry; the alarm's day has none
    CHECK(d[0]["flights"] == 1);
    CHECK(d[0]["flight_s"].get<double>() == Approx(19));
    CHECK(d[0]["samples"] == 30);
    CHECK(d[0]["alarms"].get<int>() >= 1);
    auto dcsv = http_get(node.port(), "/api/v1/analytics/drones?" + range + "&format=csv", node.admin());
    CHECK(dcsv.body.rfind("drone_id,group,days,flight_s,", 0) == 0);
    CHECK(http_get(node.port(), "/api/v1/analytics/drones?drone=an-1", node.admin()).status == 400);
    REQUIRE(f["totals"].size() == 1);
    CHECK(f["totals"][0]["group"] == "default");
    CHECK(f["totals"][0]["flights"] == 1);
    CHECK(f["totals"][0]["alarms"].get<int>() >= 1);
  }

  SECTION("CSV: a header and a line per drone-day") {
    auto r = http_get(node.port(), "/api/v1/analytics/daily?" + range + "&drone=an-1&format=csv", node.admin());
    REQUIRE(r.status == 200);
    CHECK(r.content_type.find("text/csv") == 0);
    CHECK(r.body.rfind("day,drone_id,group,flight_s,armed_s,distance_m,max_alt_m,battery_used_pct,flights,alarms,"
                       "samples\r\n", 0) == 0);
    CHECK(r.body.find(yesterday + ",an-1,default,19,23,") != std::string::npos);
    auto fleet = http_get(node.port(), "/api/v1/analytics/fleet?" + range + "&format=csv", node.admin());
    REQUIRE(fleet.status == 200);
    CHECK(fleet.body.rfind("day,group,drones,flight_s,", 0) == 0);
  }

  SECTION("groups and roles: who reads what") {
    auto analyst = test_node::bearer(node.token("analytics", {"default"}, "ana"));
    CHECK(daily(range, analyst)["rows"].size() >= 1);
    auto outsider = test_node::bearer(node.token("operator", {"elsewhere"}, "op"));
    CHECK(daily(range, outsider)["rows"].empty()); // nothing of the groups it reaches
    auto forbidden = http_get(node.port(), "/api/v1/analytics/daily?group=default", outsider);
    CHECK(forbidden.status == 403);
    auto hidden = http_get(node.port(), "/api/v1/analytics/daily?drone=an-1", outsider);
    CHECK(hidden.status == 404);
    auto viewer = http_get(node.port(), "/api/v1/analytics/daily", test_node::bearer(node.token("viewer", {"default"})));
    CHECK(viewer.status == 403);
    CHECK(json::parse(viewer.body)["error"]["code"] == "forbidden");
    CHECK(http_get(node.port(), "/api/v1/analytics/daily").status == 401);
  }

  SECTION("bad parameters: 400 naming the parameter, and nothing else changes") {
    for (auto [query, parameter] : std::vector<std::pair<std::string, std::string>>{
           {"from=2026-02-30", "from"},
           {"to=yesterday", "to"},
           {"from=2026-11-02&to=2026-11-01", "from"},
           {"from=2024-01-01&to=2026-01-01", "from"},
           {"group=no%20spaces", "group"},
           {"drone=" + std::string(65, 'x'), "drone"},
           {"format=xml", "format"},
           {"limit=5", "limit"}}) {
      INFO(query);
      auto r = http_get(node.port(), "/api/v1/analytics/daily?" + query, node.admin());
      CHECK(r.status == 400);
      auto e = json::parse(r.body)["error"];
      CHECK(e["code"] == "invalid_parameter");
      CHECK(e["parameter"] == parameter);
    }
    CHECK(http_get(node.port(), "/api/v1/analytics/fleet?drone=an-1", node.admin()).status == 400);
    CHECK(http_get(node.port(), "/api/v1/analytics/weekly", node.admin()).status == 404);
    CHECK(http_request(node.port(), "POST", "/api/v1/analytics/daily", "{}", node.admin()).status == 405);
  }
}

TEST_CASE("analytics over HTTP: a flight whose frames came newest first counts as the same flight", "[http]") {
  // A drone whose frames arrive in reverse time order (a clock stepping back, frames kept and sent late) next to one
  // that sends the same flight in order: the node stores the frames as they come, the pass finds the first drone's
  // samples out of order in its window, reads them again sorted, and both drones get the same figures; the metric
  // counts the drone read again.
  test_node node{{"telemetry.flush_ms", "20"},
                 {"telemetry.retention_days", "2"},
                 {"analytics.interval_s", "86400"},
                 {"analytics.settle_s", "0"},
                 {"analytics.window_s", "86400"}};
  // The node's first pass (at its start) has run: what is stored from now on is in the next pass's window.
  REQUIRE(eventually([&] { return node.metric("dccs_analytics_passes_total") >= 1; }));
  auto start = now_ms() + 1;
  auto flight = known_flight(start, 10); // 0.29 s
  auto in_order = connect_drone(node.port(), "an-fwd");
  auto reversed = connect_drone(node.port(), "an-rev");
  std::uint64_t seq = 0;
  for (const auto& p : flight)
    in_order->send(frame_of(p, ++seq));
  seq = 0;
  for (auto p = flight.rbegin(); p != flight.rend(); ++p)
    reversed->send(frame_of(*p, ++seq));
  REQUIRE(eventually([&] { return node.metric("dccs_telemetry_rows_committed_total") == 60; }));
  // The pass counts up to now: wait for the clock to pass the flight's last sample.
  REQUIRE(eventually([&] { return now_ms() > flight.back().ms; }));
  REQUIRE(flush_analytics(node));
  CHECK(node.metric("dccs_analytics_drones_resorted_total") == 1);
  auto rows_of = [&](const std::string& drone) {
    auto r = http_get(node.port(),
                      "/api/v1/analytics/daily?from=" + day_text(start) + "&to=" + day_text(flight.back().ms) +
                        "&drone=" + drone,
                      node.admin());
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto rows = json::parse(r.body)["rows"];
    for (auto& row : rows)
      row.erase("drone_id");
    return rows;
  };
  auto forward = rows_of("an-fwd");
  REQUIRE(!forward.empty());
  std::int64_t samples = 0, flights = 0;
  for (const auto& row : forward) {
    samples += row["samples"].get<std::int64_t>();
    flights += row["flights"].get<std::int64_t>();
  }
  CHECK(samples == 30);
  CHECK(flights >= 1);
  CHECK(rows_of("an-rev") == forward);
}

TEST_CASE("partition maintenance drops the analytics marks of hours past telemetry retention", "[http]") {
  test_node node{{"telemetry.retention_days", "2"}, {"analytics.interval_s", "86400"}};
  caf::scoped_actor self{node.node().system()};
  auto maintain = [&] {
    bool maintained = false;
    self->request(node.node().telemetry_maintenance(), std::chrono::seconds(30), actors::flush_atom::value)
      .receive([&](bool ok) { maintained = ok; }, [](caf::error&) {});
    return maintained;
  };
  // The node migrates its databases as it starts: the marks' table is there once a maintenance pass succeeded.
  REQUIRE(eventually([&] { return maintain(); }));
  REQUIRE(eventually([&] {
    return count(node.db_url(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'telemetry'"
                                " AND tablename = 'rollup_dirty'") == 1;
  }));
  auto day_ms = std::int64_t{86400} * 1000;
  {
    pqxx::connection conn{node.db_url()};
    pqxx::work tx{conn};
    for (auto [drone, ms] : {std::pair<const char*, std::int64_t>{"old-1", now_ms() - 5 * day_ms},
                             {"old-2", now_ms() - 3 * day_ms}, {"new-1", now_ms() - day_ms / 2}})
      tx.exec0("INSERT INTO telemetry.rollup_dirty (drone_id, hour) VALUES (" + tx.quote(drone)
               + ", date_trunc('hour', to_timestamp(" + std::to_string(ms / 1000) + ")))");
    tx.commit();
  }
  REQUIRE(maintain());
  CHECK(count(node.db_url(), "SELECT count(*) FROM telemetry.rollup_dirty WHERE drone_id LIKE 'old-%'") == 0);
  CHECK(count(node.db_url(), "SELECT count(*) FROM telemetry.rollup_dirty WHERE drone_id = 'new-1'") == 1);
}
