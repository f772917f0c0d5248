// The telemetry history API against a real PostgreSQL (the test command starts a throwaway one with
// pg_virtualenv): the history actor answering http_query messages directly, and the same answers over HTTP
// through a node ([http]).

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "actors/actors.hpp"
#include "actors/history.hpp"
#include "bridges/api_status.hpp"
#include "runtime/http_error.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/client.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::actors;
using dccs::test::scratch_database;
using nlohmann::json;

namespace {

/// 2026-11-26T10:00:00Z in ms since the epoch.
constexpr std::int64_t t0_ms = 1795687200000;
constexpr const char* range = "from=2026-11-26T10:00:00Z&to=2026-11-26T10:01:00Z";

/// A scratch database with the telemetry schema and a connection to it.
struct telemetry_db {
  telemetry_db() : conn(db.url()) { runtime::migrate(conn, "telemetry"); }

  /// Inserts one sample at t0 + `offset_ms` (or at `at_ms` when absolute).
  void insert(const std::string& drone, std::int64_t at_ms, std::int64_t seq, double lat, double lon, double alt,
              double battery, bool armed, const std::string& mode, std::optional<double> roll = {},
              std::optional<double> voltage = {}, std::optional<int> sats = {}) {
    pqxx::work tx{conn};
    tx.exec_params("INSERT INTO telemetry.samples (drone_id, time, seq, received, lat, lon, alt, heading, speed,"
                   " vspeed, battery, armed, mode, roll, voltage, sats) VALUES ($1,"
                   " timestamptz 'epoch' + $2::int8 * interval '1 millisecond', $3,"
                   " timestamptz 'epoch' + ($2::int8 + 40) * interval '1 millisecond', $4, $5, $6, 90, 2.5, -0.5,"
                   " $7, $8, $9, $10, $11, $12)",
                   drone, at_ms, seq, lat, lon, alt, battery, armed, mode, roll, voltage, sats);
    tx.commit();
  }

  /// Ten samples of drone "d1", one a second from t0: lat i, lon 10 + i, alt 100 + i, battery 100 - i, armed
  /// when i is even, roll only when i is even, voltage 12 + i / 10 for i < 5; and one sample of drone "d2".
  void fill() {
    for (int i = 0; i < 10; ++i) {
      std::optional<double> roll;
      std::optional<double> voltage;
      std::optional<int> sats;
      if (i % 2 == 0)
        roll = i * 1.5;
      if (i < 5) {
        voltage = 12 + i / 10.0;
        sats = 10 + i;
      }
      insert("d1", t0_ms + i * 1000, i + 1, i, 10 + i, 100 + i, 100 - i, i % 2 == 0,
             i == 9 ? "LOITER, \"hold\"" : "AUTO", roll, voltage, sats);
    }
    insert("d2", t0_ms + 500, 1, 50, 50, 50, 50, true, "AUTO");
  }

  scratch_database db;
  pqxx::connection conn;
};

/// A cursor key, 32 bytes as a node derives them.
const std::string key_a(32, 'a');
const std::string key_b(32, 'b');

/// The history actor in its own actor system, signing cursors with `keys` (the first signs).
/// An answer as a client gets it over HTTP.
struct answered {
  unsigned status = 0;
  std::string content_type = "application/json";
  std::string body;
};

struct history_client {
  explicit history_client(const std::string& url, std::int64_t max_rows = 10000,
                          history::cursor_keys keys = {key_a})
    : sys((add_message_types(cfg), cfg)), self(sys) {
    runtime::log::configure(runtime::log::level::error, runtime::log::format::text);
    runtime::pg_settings s;
    s.role = "telemetry";
    s.url = url;
    actor = sys.spawn<caf::detached>(history_impl, s, max_rows, std::move(keys));
  }
  ~history_client() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }

  /// The history actor's answer, as the bridge makes HTTP of it (status and body).
  answered ask(const std::string& query, const std::string& kind = "telemetry", const std::string& id = "d1",
               const std::string& accept = "application/json") {
    http_query q{"GET", id, kind, query, "", accept, {}, {}, {}, {}};
    answered out;
    self->request(actor, std::chrono::seconds(30), history_atom::value, q)
      .receive(
        [&](const api_result& r) {
          out.status = bridges::status_of(r.outcome);
          out.content_type = r.content_type;
          out.body = r.body;
        },
        [&](const caf::error& e) {
          auto p = problem_of(e);
          if (!p)
            FAIL("history actor failed: " << sys.render(e));
          out.status = bridges::status_of(p->kind);
          out.body = runtime::error_body(p->code, p->message, p->key, p->value);
        });
    return out;
  }

  json ask_json(const std::string& query, const std::string& kind = "telemetry", const std::string& id = "d1") {
    auto a = ask(query, kind, id);
    INFO(a.body);
    REQUIRE(a.status == 200);
    return json::parse(a.body);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  history_actor actor;
};

std::vector<std::string> lines(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find("\r\n", pos);
    REQUIRE(end != std::string::npos); // every line ends with CRLF
    out.push_back(body.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

/// base64url without padding (RFC 4648 §5), for editing cursors.
std::string b64url(const std::string& in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8)
                 | static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6)
      out += alphabet[(v >> k) & 63];
  }
  if (in.size() - i == 1) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::string unb64url(const std::string& in) {
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    auto pos = std::string{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"}.find(c);
    REQUIRE(pos != std::string::npos);
    v = (v << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xff);
    }
  }
  return out;
}

/// A cursor whose readable part ("r2:<time us>:<seq>") was edited by `edit`, its MAC kept.
template <class F>
std::string edited(const std::string& cursor, F edit) {
  auto dot = cursor.find('.');
  REQUIRE(dot != std::string::npos);
  auto payload = unb64url(cursor.substr(0, dot));
  auto first = payload.find(':');
  auto second = payload.find(':', first + 1);
  REQUIRE(second != std::string::npos);
  auto time = std::stoll(payload.substr(first + 1, second - first - 1));
  auto seq = std::stoll(payload.substr(second + 1));
  edit(time, seq);
  return b64url(payload.substr(0, first + 1) + std::to_string(time) + ":" + std::to_string(seq)) + "."
         + cursor.substr(dot + 1);
}

void check_bad(const answered& a, const std::string& parameter) {
  INFO(a.body);
  CHECK(a.status == 400);
  CHECK(a.content_type == "application/json");
  auto j = json::parse(a.body);
  CHECK(j["error"]["code"] == "invalid_parameter");
  CHECK(j["error"]["parameter"] == parameter);
  CHECK(j["error"]["message"].get<std::string>().find(parameter) != std::string::npos);
}

} // namespace

TEST_CASE("times parse from RFC 3339 and milliseconds, and format in UTC with milliseconds") {
  using history::format_time;
  using history::parse_time;
  CHECK(parse_time("2026-11-26T10:00:00Z") == t0_ms * 1000);
  CHECK(parse_time("2026-11-26t10:00:00.25z") == t0_ms * 1000 + 250000);
  CHECK(parse_time("2026-11-26T11:00:00.250+01:00") == t0_ms * 1000 + 250000);
  CHECK(parse_time("2026-11-26T11:00:00.250 01:00") == t0_ms * 1000 + 250000); // '+' unencoded in a URL
  CHECK(parse_time("2026-11-26T09:30:00-00:30") == t0_ms * 1000);
  CHECK(parse_time("2026-11-26T10:00:00.123456789Z") == t0_ms * 1000 + 123456);
  CHECK(parse_time(std::to_string(t0_ms)) == t0_ms * 1000);
  CHECK(parse_time("0") == 0);
  for (auto bad : {"", "x", "2026-11-26", "2026-11-26T10:00:00", "2026-02-29T10:00:00Z", "2026-11-26T24:00:00Z",
                   "2026-11-26T10:00:00.Z", "2026-11-26T10:00:00+0100", "2026-11-26T10:00:00Zx", "1e9", "--1",
                   "99999999999999999999"})
    CHECK_FALSE(parse_time(bad));
  CHECK(format_time(t0_ms * 1000 + 250999) == "2026-11-26T10:00:00.250Z");
  CHECK(format_time(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_time(-1000) == "1969-12-31T23:59:59.999Z");
  CHECK(history::parse_bucket("10s") == 10);
  CHECK(history::parse_bucket("15m") == 900);
  CHECK(history::parse_bucket("6h") == 21600);
  CHECK(history::parse_bucket("1d") == 86400);
  CHECK(history::parse_bucket("86400s") == 86400);
  for (auto bad : {"", "s", "0s", "2d", "25h", "10", "10S", "-1s", "1.5s", " 1s"})
    CHECK_FALSE(history::parse_bucket(bad));
}

TEST_CASE("raw rows come in time order with every stored value, optional columns only when stored") {
  telemetry_db db;
  db.fill();
  history_client h{db.db.url()};
  auto j = h.ask_json(range);
  CHECK(j["drone_id"] == "d1");
  CHECK(j["from"] == "2026-11-26T10:00:00.000Z");
  CHECK(j["to"] == "2026-11-26T10:01:00.000Z");
  CHECK(j["next_cursor"].is_null());
  REQUIRE(j["rows"].size() == 10);
  for (int i = 0; i < 10; ++i) {
    auto& r = j["rows"][static_cast<std::size_t>(i)];
    INFO(r.dump());
    CHECK(r["ts"] == t0_ms + i * 1000);
    CHECK(r["seq"] == i + 1);
    CHECK(r["lat"] == double(i));
    CHECK(r["lon"] == double(10 + i));
    CHECK(r["alt"] == double(100 + i));
    CHECK(r["battery"] == double(100 - i));
    CHECK(r["heading"] == 90.0);
    CHECK(r["speed"] == 2.5);
    CHECK(r["vspeed"] == -0.5);
    CHECK(r["armed"] == (i % 2 == 0));
    CHECK(r.contains("roll") == (i % 2 == 0));
    CHECK(r.contains("voltage") == (i < 5));
    CHECK(r.contains("sats") == (i < 5));
    CHECK_FALSE(r.contains("pitch"));
    CHECK_FALSE(r.contains("fix"));
  }
  auto& r2 = j["rows"][2];
  CHECK(r2["time"] == "2026-11-26T10:00:02.000Z");
  CHECK(r2["received"] == "2026-11-26T10:00:02.040Z");
  CHECK(r2["roll"] == 3.0);
  CHECK(r2["voltage"] == 12.2);
  CHECK(r2["sats"] == 12);
  CHECK(r2["mode"] == "AUTO");
  CHECK(j["rows"][9]["mode"] == "LOITER, \"hold\"");

  SECTION("the range is half-open, and takes offsets and milliseconds") {
    auto k = h.ask_json("from=2026-11-26T11:00:02%2B01:00&to=" + std::to_string(t0_ms + 5000));
    REQUIRE(k["rows"].size() == 3);
    CHECK(k["rows"][0]["seq"] == 3);
    CHECK(k["rows"][2]["seq"] == 5);
    CHECK(k["from"] == "2026-11-26T10:00:02.000Z");
    auto unencoded = h.ask_json("from=2026-11-26T11:00:02+01:00&to=2026-11-26T10:00:05Z");
    CHECK(unencoded["rows"] == k["rows"]);
  }
  SECTION("another drone's rows stay its own; an unknown drone has none") {
    auto k = h.ask_json(range, "telemetry", "d2");
    REQUIRE(k["rows"].size() == 1);
    CHECK(k["rows"][0]["lat"] == 50.0);
    auto none = h.ask_json(range, "telemetry", "nobody");
    CHECK(none["rows"].empty());
    CHECK(none["next_cursor"].is_null());
  }
  SECTION("limit is capped by max_rows") {
    history_client capped{db.db.url(), 4};
    auto k = capped.ask_json(std::string{range} + "&limit=50000");
    CHECK(k["rows"].size() == 4);
    CHECK(k["next_cursor"].is_string());
    auto d = capped.ask_json(range); // default: min(1000, max_rows)
    CHECK(d["rows"].size() == 4);
  }
}

TEST_CASE("the default range is the last hour") {
  telemetry_db db;
  auto now = static_cast<std::int64_t>(runtime::wall_ms());
  db.insert("d1", now - 2 * 3600 * 1000, 1, 1, 1, 1, 1, true, "AUTO");
  db.insert("d1", now - 10 * 60 * 1000, 2, 2, 2, 2, 2, true, "AUTO");
  db.insert("d1", now + 60 * 1000, 3, 3, 3, 3, 3, true, "AUTO");
  history_client h{db.db.url()};
  auto j = h.ask_json("");
  REQUIRE(j["rows"].size() == 1);
  CHECK(j["rows"][0]["seq"] == 2);
  auto k = h.ask_json("to=" + std::to_string(now - 2 * 3600 * 1000 + 1));
  REQUIRE(k["rows"].size() == 1);
  CHECK(k["rows"][0]["seq"] == 1);
}

TEST_CASE("paging with next_cursor returns every row exactly once, in order, across equal times") {
  telemetry_db db;
  // 20 rows, two per time: (t, 2k) and (t, 2k + 1).
  for (int i = 0; i < 20; ++i)
    db.insert("d1", t0_ms + (i / 2) * 1000, 100 + i, i, i, i, i, false, "AUTO");
  history_client h{db.db.url()};
  std::vector<std::int64_t> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    auto q = std::string{range} + "&limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor);
    auto j = h.ask_json(q);
    ++pages;
    CHECK(j["rows"].size() <= 3);
    for (auto& r : j["rows"])
      seen.push_back(r["seq"].get<std::int64_t>());
    if (j["next_cursor"].is_null())
      break;
    cursor = j["next_cursor"].get<std::string>();
    REQUIRE(pages < 20);
  }
  CHECK(pages == 7);
  REQUIRE(seen.size() == 20);
  for (int i = 0; i < 20; ++i)
    CHECK(seen[static_cast<std::size_t>(i)] == 100 + i);
  // Exactly a page's worth left: the last full page says so with a cursor, the next one is empty.
  auto j = h.ask_json(std::string{range} + "&limit=10");
  REQUIRE(j["next_cursor"].is_string());
  auto k = h.ask_json(std::string{range} + "&limit=10&cursor=" + j["next_cursor"].get<std::string>());
  CHECK(k["rows"].size() == 10);
  CHECK(k["next_cursor"].is_null());
}

TEST_CASE("a cursor is tamper-evident: edited, another drone's, another query's or another node's is a 400") {
  telemetry_db db;
  for (int i = 0; i < 6; ++i) {
    db.insert("d1", t0_ms + i * 1000, 100 + i, i, i, i, i, false, "AUTO");
    db.insert("d2", t0_ms + i * 1000, 100 + i, i, i, i, i, false, "AUTO");
  }
  history_client h{db.db.url()};
  std::string q = std::string{range} + "&limit=2";
  auto first = h.ask_json(q);
  REQUIRE(first["next_cursor"].is_string());
  auto cursor = first["next_cursor"].get<std::string>();
  // Untouched, it pages on.
  auto next = h.ask_json(q + "&cursor=" + cursor);
  REQUIRE(next["rows"].size() == 2);
  CHECK(next["rows"][0]["seq"] == 102);
  // The readable part is the position: an edit that keeps the MAC is refused.
  CHECK(edited(cursor, [](auto&, auto&) {}) == cursor); // the editor itself changes nothing
  check_bad(h.ask(q + "&cursor=" + edited(cursor, [](auto&, auto& seq) { seq += 1000; })), "cursor");
  check_bad(h.ask(q + "&cursor=" + edited(cursor, [](auto& t, auto&) { t -= 3600LL * 1000000; })), "cursor");
  check_bad(h.ask(q + "&cursor=" + edited(cursor, [](auto&, auto& seq) { seq = -1; })), "cursor");
  // One MAC bit flipped.
  auto flipped = cursor;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  check_bad(h.ask(q + "&cursor=" + flipped), "cursor");
  // Another drone's cursor, and the same cursor with another from, to or bucket.
  check_bad(h.ask(q + "&cursor=" + cursor, "telemetry", "d2"), "cursor");
  check_bad(h.ask("from=2026-11-26T09:00:00Z&to=2026-11-26T10:01:00Z&limit=2&cursor=" + cursor), "cursor");
  check_bad(h.ask("from=2026-11-26T10:00:00Z&to=2026-11-26T10:02:00Z&limit=2&cursor=" + cursor), "cursor");
  check_bad(h.ask("to=2026-11-26T10:01:00Z&limit=2&cursor=" + cursor), "cursor"); // `from` absent: to - 1 h
  check_bad(h.ask(q + "&bucket=1s&cursor=" + cursor), "cursor");
  // The same query written otherwise (milliseconds, an offset) is the same query.
  auto same = h.ask_json("from=" + std::to_string(t0_ms) + "&to=2026-11-26T11:01:00%2B01:00&limit=2&cursor=" + cursor);
  CHECK(same["rows"] == next["rows"]);
  // The page size and the format are not part of the query: change them between pages.
  CHECK(h.ask_json(std::string{range} + "&limit=10&cursor=" + cursor)["rows"].size() == 4);
  CHECK(h.ask(q + "&format=csv&cursor=" + cursor).status == 200);

  SECTION("a node with other keys refuses it; one that still holds the signing key after a rotation takes it") {
    history_client other{db.db.url(), 10000, {key_b}};
    check_bad(other.ask(q + "&cursor=" + cursor), "cursor");
    history_client rotated{db.db.url(), 10000, {key_b, key_a}};
    auto k = rotated.ask_json(q + "&cursor=" + cursor);
    CHECK(k["rows"] == next["rows"]);
    // It signs with its newest key: a node that dropped key_a still takes the new cursors.
    auto newer = k["next_cursor"].get<std::string>();
    CHECK(other.ask_json(q + "&cursor=" + newer)["rows"][0]["seq"] == 104);
  }
  SECTION("bucket cursors too") {
    auto b = h.ask_json(std::string{range} + "&bucket=2s&limit=1");
    auto bc = b["next_cursor"].get<std::string>();
    CHECK(h.ask_json(std::string{range} + "&bucket=2s&limit=1&cursor=" + bc)["rows"][0]["count"] == 2);
    check_bad(h.ask(std::string{range} + "&bucket=2s&limit=1&cursor=" + bc, "telemetry", "d2"), "cursor");
    check_bad(h.ask(std::string{range} + "&bucket=2s&limit=1&cursor="
                    + edited(bc, [](auto& t, auto&) { t -= 2000000; })),
              "cursor");
    check_bad(h.ask(std::string{range} + "&limit=1&cursor=" + bc), "cursor"); // not a raw cursor
  }
}

TEST_CASE("bucket averages are rounded: 0.1 and 0.2 average to 0.15, not 0.15000000000000002") {
  telemetry_db db;
  db.insert("n1", t0_ms, 1, 0.1, 10.1, 0.1, 0.1, true, "AUTO", {}, 0.1);
  db.insert("n1", t0_ms + 1000, 2, 0.2, 10.2, 0.2, 0.2, true, "AUTO", {}, 0.2);
  history_client h{db.db.url()};
  auto j = h.ask_json(std::string{range} + "&bucket=10s", "telemetry", "n1");
  REQUIRE(j["rows"].size() == 1);
  auto& b = j["rows"][0];
  CHECK(b["lat"] == 0.15);
  CHECK(b["lon"] == 10.15);
  CHECK(b["alt"] == 0.15);
  CHECK(b["battery"] == 0.15);
  CHECK(b["voltage"] == 0.15);
  CHECK(b["battery_min"] == 0.1); // minima and maxima are samples as they were
}

TEST_CASE("buckets average each interval aligned to the epoch") {
  telemetry_db db;
  db.fill();
  history_client h{db.db.url()};
  auto j = h.ask_json(std::string{range} + "&bucket=10s");
  CHECK(j["bucket"] == "10s");
  REQUIRE(j["rows"].size() == 1);
  auto& b = j["rows"][0];
  CHECK(b["time"] == "2026-11-26T10:00:00.000Z");
  CHECK(b["ts"] == t0_ms);
  CHECK(b["count"] == 10);
  CHECK(b["lat"] == 4.5);
  CHECK(b["lon"] == 14.5);
  CHECK(b["alt"] == 104.5);
  CHECK(b["battery"] == 95.5);
  CHECK(b["battery_min"] == 91.0);
  CHECK(b["alt_max"] == 109.0);
  CHECK(b["speed"] == 2.5);
  CHECK(b["voltage"] == 12.2); // averages are rounded: no float noise (12.200000000000001)
  CHECK(j["next_cursor"].is_null());

  SECTION("two buckets of 5 s, paged one at a time") {
    auto p1 = h.ask_json(std::string{range} + "&bucket=5s&limit=1");
    REQUIRE(p1["rows"].size() == 1);
    CHECK(p1["rows"][0]["lat"] == 2.0);
    CHECK(p1["rows"][0]["count"] == 5);
    REQUIRE(p1["next_cursor"].is_string());
    auto p2 = h.ask_json(std::string{range} + "&bucket=5s&limit=1&cursor=" + p1["next_cursor"].get<std::string>());
    REQUIRE(p2["rows"].size() == 1);
    CHECK(p2["rows"][0]["time"] == "2026-11-26T10:00:05.000Z");
    CHECK(p2["rows"][0]["lat"] == 7.0);
    CHECK_FALSE(p2["rows"][0].contains("voltage")); // no sample of the bucket has one
    CHECK(p2["next_cursor"].is_null());
    // A raw cursor is not a bucket cursor, nor one of another width.
    check_bad(h.ask(std::string{range} + "&bucket=10s&cursor=" + p1["next_cursor"].get<std::string>()), "cursor");
  }
  SECTION("a bucket starting before from counts only the rows in range") {
    auto k = h.ask_json("from=2026-11-26T10:00:03Z&to=2026-11-26T10:01:00Z&bucket=1m");
    REQUIRE(k["rows"].size() == 1);
    CHECK(k["rows"][0]["time"] == "2026-11-26T10:00:00.000Z");
    CHECK(k["rows"][0]["count"] == 7);
    CHECK(k["rows"][0]["lat"] == 6.0);
  }
}

TEST_CASE("CSV has a header line and one line per row, quoted where needed") {
  telemetry_db db;
  db.fill();
  history_client h{db.db.url()};
  auto a = h.ask(range, "telemetry", "d1", "text/csv");
  CHECK(a.status == 200);
  CHECK(a.content_type == "text/csv; charset=utf-8");
  auto l = lines(a.body);
  REQUIRE(l.size() == 11);
  CHECK(l[0] == "time,ts,seq,received,lat,lon,alt,heading,speed,vspeed,battery,armed,mode,roll,pitch,yaw,voltage,"
                "sats,fix");
  CHECK(l[1] == "2026-11-26T10:00:00.000Z," + std::to_string(t0_ms)
                  + ",1,2026-11-26T10:00:00.040Z,0,10,100,90,2.5,-0.5,100,true,AUTO,0,,,12,10,");
  CHECK(l[10] == "2026-11-26T10:00:09.000Z," + std::to_string(t0_ms + 9000)
                   + ",10,2026-11-26T10:00:09.040Z,9,19,109,90,2.5,-0.5,91,false,\"LOITER, \"\"hold\"\"\",,,,,,");
  auto f = h.ask(std::string{range} + "&format=csv");
  CHECK(f.content_type == "text/csv; charset=utf-8");
  CHECK(f.body == a.body);
  auto j = h.ask(std::string{range} + "&format=json", "telemetry", "d1", "text/csv");
  CHECK(j.content_type == "application/json");
  auto b = h.ask(std::string{range} + "&bucket=10s&format=csv");
  auto bl = lines(b.body);
  REQUIRE(bl.size() == 2);
  CHECK(bl[0] == "time,ts,count,lat,lon,alt,speed,vspeed,battery,voltage,battery_min,alt_max");
  CHECK(bl[1].rfind("2026-11-26T10:00:00.000Z," + std::to_string(t0_ms) + ",10,4.5,14.5,104.5,2.5,-0.5,95.5,", 0)
        == 0);
  CHECK(bl[1].substr(bl[1].size() - 7) == ",91,109");
}

TEST_CASE("the track is a GeoJSON LineString of [lon, lat, alt] in time order, sampled evenly past max_rows") {
  telemetry_db db;
  db.fill();
  history_client h{db.db.url()};
  auto a = h.ask(range, "track");
  INFO(a.body);
  REQUIRE(a.status == 200);
  CHECK(a.content_type == "application/geo+json");
  auto j = json::parse(a.body);
  CHECK(j["type"] == "FeatureCollection");
  REQUIRE(j["features"].size() == 1);
  auto& f = j["features"][0];
  CHECK(f["type"] == "Feature");
  CHECK(f["geometry"]["type"] == "LineString");
  auto& c = f["geometry"]["coordinates"];
  REQUIRE(c.size() == 10);
  for (int i = 0; i < 10; ++i)
    CHECK(c[static_cast<std::size_t>(i)] == json::array({10.0 + i, double(i), 100.0 + i}));
  auto& p = f["properties"];
  CHECK(p["drone_id"] == "d1");
  CHECK(p["from"] == "2026-11-26T10:00:00.000Z");
  CHECK(p["to"] == "2026-11-26T10:01:00.000Z");
  CHECK(p["points"] == 10);
  CHECK(p["sampled"] == false);
  REQUIRE(p["times"].size() == 10);
  CHECK(p["times"][3] == t0_ms + 3000);

  SECTION("more points than max_rows: every n-th, first and last included") {
    history_client capped{db.db.url(), 4};
    auto k = json::parse(capped.ask(range, "track").body);
    auto& kp = k["features"][0]["properties"];
    CHECK(kp["points"] == 4);
    CHECK(kp["samples"] == 10);
    CHECK(kp["sampled"] == true);
    CHECK(kp["times"] == json::array({t0_ms, t0_ms + 3000, t0_ms + 6000, t0_ms + 9000}));
    CHECK(k["features"][0]["geometry"]["coordinates"].size() == 4);
  }
  SECTION("one point is a Point, none a null geometry") {
    auto one = json::parse(h.ask(range, "track", "d2").body);
    CHECK(one["features"][0]["geometry"]["type"] == "Point");
    CHECK(one["features"][0]["geometry"]["coordinates"] == json::array({50.0, 50.0, 50.0}));
    auto none = json::parse(h.ask(range, "track", "nobody").body);
    CHECK(none["features"][0]["geometry"].is_null());
    CHECK(none["features"][0]["properties"]["points"] == 0);
  }
}

TEST_CASE("every bad parameter is a 400 naming it") {
  telemetry_db db;
  history_client h{db.db.url()};
  std::string r = range;
  check_bad(h.ask("bogus=1"), "bogus");
  check_bad(h.ask(r + "&Limit=3"), "Limit");
  check_bad(h.ask("from=yesterday"), "from");
  check_bad(h.ask("to=2026-13-01T00:00:00Z"), "to");
  check_bad(h.ask("from="), "from");
  check_bad(h.ask("from=2026-11-26T10:01:00Z&to=2026-11-26T10:00:00Z"), "from");
  check_bad(h.ask("from=2026-11-26T10:00:00Z&to=2026-11-26T10:00:00Z"), "from");
  check_bad(h.ask("from=2026-10-01T00:00:00Z&to=2026-11-26T00:00:00Z"), "from");
  CHECK(h.ask("from=2026-10-26T00:00:00Z&to=2026-11-26T00:00:00Z").status == 200); // exactly 31 days
  check_bad(h.ask(r + "&limit=0"), "limit");
  check_bad(h.ask(r + "&limit=99999999999999999999"), "limit"); // past 64 bits: refused, never saturated
  check_bad(h.ask(r + "&limit=%2B5"), "limit");
  check_bad(h.ask(r + "&limit="), "limit");
  check_bad(h.ask(r + "&limit=%205"), "limit");
  check_bad(h.ask(r + "&bucket=99999999999999999999s"), "bucket");
  check_bad(h.ask("from=99999999999999999999"), "from");
  check_bad(h.ask(r + "&limit=-5"), "limit");
  check_bad(h.ask(r + "&limit=ten"), "limit");
  check_bad(h.ask(r + "&limit=1&limit=2"), "limit");
  check_bad(h.ask(r + "&from=2026-11-26T10:00:00Z"), "from");
  check_bad(h.ask(r + "&bucket=7x"), "bucket");
  check_bad(h.ask(r + "&bucket=2d"), "bucket");
  check_bad(h.ask(r + "&bucket=0s"), "bucket");
  check_bad(h.ask(r + "&cursor=not%20a%20cursor"), "cursor");
  check_bad(h.ask(r + "&cursor=cjE6MTIz"), "cursor"); // "r1:123": no seq
  check_bad(h.ask(r + "&cursor=cjE6MTJ4OjQ1Ng"), "cursor"); // "r1:12x:456"
  check_bad(h.ask(r + "&cursor=eDE6MToy"), "cursor");       // "x1:1:2"
  check_bad(h.ask(r + "&cursor=cjE6MTIzOjQ1Nh"), "cursor"); // non-canonical base64url
  check_bad(h.ask(r + "&cursor=cjE6MTc5NTY4NzIwMDAwMDAwMDox"), "cursor"); // an unsigned cursor of version 1
  // Text the database would refuse, and names that are not text: named (a bad name by its encoded form).
  check_bad(h.ask(r + "&format=%00"), "format");
  check_bad(h.ask(r + "&cursor=%C3%28"), "cursor");
  check_bad(h.ask(r + "&actor=%00"), "actor");
  check_bad(h.ask(r + "&%C3%28=1"), "%C3%28");
  check_bad(h.ask(r + "&\xff=1"), "%FF");
  check_bad(h.ask(r + "&a%00b=1"), "a%00b");
  check_bad(h.ask(r + "&format=xml"), "format");
  check_bad(h.ask(r + "&limit=%zz"), "limit");
  check_bad(h.ask(r + "&limit=5", "track"), "limit");
  check_bad(h.ask(r + "&bucket=10s", "track"), "bucket");
  check_bad(h.ask("from=x", "track"), "from");
}

TEST_CASE("query strings: percent-decoding, UTF-8 text without NUL, strict integers") {
  using history::parameter_error;
  using history::parse_query;
  auto args = parse_query("a=1&b=x%20y+z&&c&d=%C3%A9");
  CHECK(args == std::map<std::string, std::string>{{"a", "1"}, {"b", "x y z"}, {"c", ""}, {"d", "\xC3\xA9"}});
  auto refused = [](const std::string& query) -> std::string {
    try {
      parse_query(query);
    } catch (const parameter_error& e) {
      return e.parameter;
    }
    return "(accepted)";
  };
  CHECK(refused("actor=%00") == "actor");
  CHECK(refused("actor=%C3%28") == "actor");   // invalid UTF-8
  CHECK(refused("actor=%ED%A0%80") == "actor"); // a UTF-16 surrogate (U+D800) in UTF-8
  CHECK(refused("actor=%C0%AF") == "actor");   // overlong
  CHECK(refused("actor=\xff") == "actor");     // a raw byte, not an escape
  CHECK(refused("%C3%28=1") == "%C3%28");
  CHECK(refused("\xff\x01=1") == "%FF%01");
  CHECK(refused("x=%4") == "x");
  CHECK(refused("%4=1") == "%4");
  CHECK(refused("x=1&x=2") == "x");
  using history::parse_integer;
  CHECK(parse_integer("0") == 0);
  CHECK(parse_integer("-12") == -12);
  CHECK(parse_integer("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_integer("-9223372036854775808") == std::numeric_limits<std::int64_t>::min());
  for (auto bad : {"", "+5", " 5", "5 ", "9223372036854775808", "99999999999999999999", "-", "1e3", "0x10", "5a"})
    CHECK_FALSE(parse_integer(bad));
}

TEST_CASE("a database that is down is a 503") {
  history_client h{"host=127.0.0.1 port=1 dbname=x connect_timeout=1"};
  for (int i = 0; i < 2; ++i) { // the first try and one during the backoff
    auto a = h.ask(range);
    INFO(a.body);
    CHECK(a.status == 503);
    CHECK(a.content_type == "application/json");
    auto j = json::parse(a.body);
    CHECK(j["error"]["code"] == "unavailable");
    CHECK_FALSE(j["error"]["message"].get<std::string>().empty());
  }
  check_bad(h.ask("bogus=1"), "bogus"); // parameters are checked before the database is needed
}

// -- over HTTP through a node ----------------------------------------------------------------------------

TEST_CASE("history over HTTP: rows, CSV, track and errors", "[http]") {
  telemetry_db db;
  test::test_node node{{"db.url", db.db.url()}};
  // Partition maintenance first: rows then land in their day's partition, not in the default one that
  // maintenance empties while it attaches a new partition.
  {
    caf::scoped_actor self{node.node().system()};
    bool maintained = false;
    self->request(node.node().telemetry_maintenance(), std::chrono::seconds(30), actors::flush_atom::value)
      .receive([&](bool ok) { maintained = ok; }, [](caf::error&) {});
    REQUIRE(maintained);
  }
  db.fill();
  auto base = std::string{"/api/v1/drones/d1/"};
  auto rows = test::http_get(node.port(), base + "telemetry?" + range + "&limit=4", node.admin());
  INFO(rows.body);
  REQUIRE(rows.status == 200);
  CHECK(rows.content_type == "application/json");
  auto j = rows.json();
  REQUIRE(j["rows"].size() == 4);
  CHECK(j["rows"][1]["lat"] == 1.0);
  REQUIRE(j["next_cursor"].is_string());
  auto next = test::http_get(node.port(), base + "telemetry?" + range + "&limit=10&cursor="
                                            + j["next_cursor"].get<std::string>(), node.admin());
  REQUIRE(next.status == 200);
  CHECK(next.json()["rows"].size() == 6);
  CHECK(next.json()["rows"][0]["seq"] == 5);

  auto csv = test::http_request(node.port(), "GET", base + "telemetry?" + range, {},
                                {{"Accept", "text/csv"}, node.admin().front()});
  CHECK(csv.status == 200);
  CHECK(csv.content_type == "text/csv; charset=utf-8");
  CHECK(csv.body.rfind("time,ts,seq,received,lat,", 0) == 0);
  CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 11);

  auto buckets = test::http_get(node.port(), base + "telemetry?" + range + "&bucket=10s", node.admin());
  REQUIRE(buckets.status == 200);
  CHECK(buckets.json()["rows"][0]["lat"] == 4.5);

  auto track = test::http_get(node.port(), base + "track?" + range, node.admin());
  REQUIRE(track.status == 200);
  CHECK(track.content_type == "application/geo+json");
  CHECK(track.json()["features"][0]["geometry"]["coordinates"][0] == json::array({10.0, 0.0, 100.0}));

  auto bad = test::http_get(node.port(), base + "telemetry?" + range + "&limit=0", node.admin());
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["parameter"] == "limit");
}
