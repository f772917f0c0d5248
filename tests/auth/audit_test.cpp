// The audit log in a real PostgreSQL (pg_virtualenv; the connection from the PG* environment variables), a
// scratch database per test.

#include <catch2/catch.hpp>

#include <chrono>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "actors/history.hpp"
#include "auth/audit.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs::auth;
using dccs::test::scratch_database;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// A scratch database with the auth schema.
struct auth_db {
  scratch_database db;
  pqxx::connection conn{db.url()};
  auth_db() { dccs::runtime::migrate(conn, "auth"); }

  void exec(const std::string& sql) {
    pqxx::work tx{conn};
    tx.exec(sql);
    tx.commit();
  }
};

audit_entry entry(std::string actor, std::string action, std::optional<std::string> drone = std::nullopt,
                  audit_outcome outcome = audit_outcome::ok) {
  audit_entry e;
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.drone_id = std::move(drone);
  e.address = "192.0.2.7:50123";
  e.outcome = outcome;
  return e;
}

std::vector<std::int64_t> ids(const audit_page& p) {
  std::vector<std::int64_t> out;
  for (auto& e : p.entries)
    out.push_back(e.id);
  return out;
}

/// Every id the filter matches, page by page (checking each page is newest first and the cursor is consistent).
std::vector<std::int64_t> all_pages(pqxx::connection& conn, audit_filter f, std::size_t page_size,
                                    int* pages = nullptr) {
  std::vector<std::int64_t> out;
  f.limit = page_size;
  f.before_id.reset();
  int n = 0;
  while (true) {
    auto p = query_audit(conn, f);
    ++n;
    CHECK(p.entries.size() <= page_size);
    for (std::size_t i = 1; i < p.entries.size(); ++i)
      CHECK(p.entries[i - 1].id > p.entries[i].id);
    auto got = ids(p);
    out.insert(out.end(), got.begin(), got.end());
    if (!p.next_before_id)
      break;
    CHECK(p.entries.size() == page_size);
    CHECK(*p.next_before_id == p.entries.back().id);
    f.before_id = p.next_before_id;
    REQUIRE(n < 1000);
  }
  if (pages)
    *pages = n;
  return out;
}

} // namespace

TEST_CASE("audit: an entry is written and read back with every field", "[audit]") {
  auth_db a;
  auto before = std::chrono::system_clock::now() - 5s;
  audit_entry e = entry("bob", audit_action::login, std::nullopt, audit_outcome::ok);
  e.detail = {{"role", "operator"}, {"family", "2b0f6a9e-0000-4000-8000-000000000000"}, {"n", 3}};
  auto id = write_audit(a.conn, e);
  CHECK(id > 0);
  auto d = entry(drone_actor("d-17"), audit_action::drone_registered, "d-17", audit_outcome::refused);
  d.address = "";
  auto id2 = write_audit(a.conn, d);
  CHECK(id2 > id);
  auto anon = entry("", audit_action::token_refused, std::nullopt, audit_outcome::refused);
  anon.detail = {{"reason", "expired"}};
  auto id3 = write_audit(a.conn, anon);

  auto p = query_audit(a.conn, {});
  REQUIRE(p.entries.size() == 3);
  CHECK_FALSE(p.next_before_id);
  CHECK(ids(p) == std::vector<std::int64_t>{id3, id2, id});
  auto& got = p.entries[2];
  CHECK(got.id == id);
  CHECK(got.at > before);
  CHECK(got.at < std::chrono::system_clock::now() + 5s);
  CHECK(got.actor == "bob");
  CHECK(got.action == "login");
  CHECK_FALSE(got.drone_id);
  CHECK(got.address == "192.0.2.7:50123");
  CHECK(got.outcome == audit_outcome::ok);
  CHECK(got.detail == e.detail);
  CHECK(p.entries[1].actor == "drone:d-17");
  CHECK(p.entries[1].drone_id == std::optional<std::string>{"d-17"});
  CHECK(p.entries[1].outcome == audit_outcome::refused);
  CHECK(p.entries[1].address.empty());
  CHECK(p.entries[1].detail == json::object());
  CHECK(p.entries[0].actor == anonymous_actor);
  CHECK(p.entries[0].detail == json{{"reason", "expired"}});

  CHECK(std::string{to_string(audit_outcome::error)} == "error");
  CHECK(parse_audit_outcome("refused") == audit_outcome::refused);
  CHECK_FALSE(parse_audit_outcome("fine"));
}

TEST_CASE("audit: every filter, alone and combined", "[audit]") {
  auth_db a;
  std::vector<std::int64_t> bob_login, bob_all, d1_all, refused, alice_d1;
  for (int i = 0; i < 3; ++i) {
    auto id = write_audit(a.conn, entry("bob", "login"));
    bob_login.push_back(id);
    bob_all.push_back(id);
  }
  auto id = write_audit(a.conn, entry("bob", "logout"));
  bob_all.push_back(id);
  id = write_audit(a.conn, entry("alice", "login_failed", std::nullopt, audit_outcome::refused));
  refused.push_back(id);
  for (int i = 0; i < 2; ++i) {
    id = write_audit(a.conn, entry(drone_actor("d1"), "credential_rotated", "d1"));
    d1_all.push_back(id);
  }
  id = write_audit(a.conn, entry("alice", "user_changed", "d1", audit_outcome::error));
  d1_all.push_back(id);
  alice_d1.push_back(id);
  id = write_audit(a.conn, entry(drone_actor("d2"), "drone_registered", "d2", audit_outcome::refused));
  refused.push_back(id);
  auto desc = [](std::vector<std::int64_t> v) {
    std::sort(v.rbegin(), v.rend());
    return v;
  };

  audit_filter f;
  f.actor = "bob";
  CHECK(ids(query_audit(a.conn, f)) == desc(bob_all));
  f.action = "login";
  CHECK(ids(query_audit(a.conn, f)) == desc(bob_login));
  f = {};
  f.action = "login";
  CHECK(ids(query_audit(a.conn, f)) == desc(bob_login));
  f = {};
  f.drone_id = "d1";
  CHECK(ids(query_audit(a.conn, f)) == desc(d1_all));
  f.actor = "alice";
  CHECK(ids(query_audit(a.conn, f)) == desc(alice_d1));
  f = {};
  f.outcome = audit_outcome::refused;
  CHECK(ids(query_audit(a.conn, f)) == desc(refused));
  f = {};
  f.actor = "nobody";
  CHECK(query_audit(a.conn, f).entries.empty());
  f = {};
  f.drone_id = "d9";
  CHECK(query_audit(a.conn, f).entries.empty());
  f = {};
  f.actor = "'; DELETE FROM auth.audit; --";
  CHECK(query_audit(a.conn, f).entries.empty());
  CHECK(query_audit(a.conn, {}).entries.size() == 9);

  // Time: spread the entries one hour apart, oldest first; `from` inclusive, `to` exclusive.
  a.exec("UPDATE auth.audit SET at = timestamptz '2024-01-01 00:00:00+00' + (id - (SELECT min(id) FROM auth.audit))"
         " * interval '1 hour'");
  auto t0 = std::chrono::system_clock::time_point{std::chrono::seconds{1704067200}}; // 2024-01-01T00:00:00Z
  auto all = desc(bob_all);
  auto everything = ids(query_audit(a.conn, {}));
  REQUIRE(everything.size() == 9);
  f = {};
  f.from = t0 + 2h;
  f.to = t0 + 5h;
  CHECK(ids(query_audit(a.conn, f)) == std::vector<std::int64_t>{everything[4], everything[5], everything[6]});
  f.from = t0 + 2h + 1us; // just after the third entry
  CHECK(ids(query_audit(a.conn, f)) == std::vector<std::int64_t>{everything[4], everything[5]});
  f = {};
  f.to = t0 + 1h; // only the first
  CHECK(ids(query_audit(a.conn, f)) == std::vector<std::int64_t>{everything[8]});
  f = {};
  f.from = t0 + 8h; // only the last
  CHECK(ids(query_audit(a.conn, f)) == std::vector<std::int64_t>{everything[0]});
  f.actor = "bob";
  CHECK(query_audit(a.conn, f).entries.empty());
  f = {};
  f.actor = "bob";
  f.from = t0 + 1h;
  f.to = t0 + 4h;
  CHECK(ids(query_audit(a.conn, f)) == std::vector<std::int64_t>{all[0], all[1], all[2]});
  auto p = query_audit(a.conn, f);
  CHECK(p.entries.back().at == t0 + 1h);
  f = {};
  f.from = t0 + 5h;
  f.to = t0 + 5h; // empty range
  CHECK(query_audit(a.conn, f).entries.empty());
}

TEST_CASE("audit: keyset paging returns each entry once, newest first, even while entries are written", "[audit]") {
  auth_db a;
  std::vector<std::int64_t> written;
  for (int i = 0; i < 25; ++i)
    written.push_back(write_audit(a.conn, entry(i % 2 ? "odd" : "even", i % 3 ? "login" : "logout")));
  std::vector<std::int64_t> expected(written.rbegin(), written.rend());

  int pages = 0;
  CHECK(all_pages(a.conn, {}, 7, &pages) == expected);
  CHECK(pages == 4);
  CHECK(all_pages(a.conn, {}, 25, &pages) == expected);
  CHECK(pages == 1); // exactly a page: no empty page after it
  CHECK(all_pages(a.conn, {}, 1, &pages) == expected);
  CHECK(pages == 25);

  audit_filter odd;
  odd.actor = "odd";
  std::vector<std::int64_t> odd_expected;
  for (auto id : expected)
    if ((std::find(written.begin(), written.end(), id) - written.begin()) % 2)
      odd_expected.push_back(id);
  CHECK(all_pages(a.conn, odd, 5) == odd_expected);
  CHECK(odd_expected.size() == 12);

  // Entries written between pages show up on no page of this walk, and none repeats.
  audit_filter f;
  f.limit = 10;
  auto p1 = query_audit(a.conn, f);
  REQUIRE(p1.next_before_id);
  for (int i = 0; i < 5; ++i)
    write_audit(a.conn, entry("late", "login"));
  std::vector<std::int64_t> seen = ids(p1);
  f.before_id = p1.next_before_id;
  while (true) {
    auto p = query_audit(a.conn, f);
    auto got = ids(p);
    seen.insert(seen.end(), got.begin(), got.end());
    if (!p.next_before_id)
      break;
    f.before_id = p.next_before_id;
  }
  CHECK(seen == expected);
  CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == seen.size());

  // The limit is clamped.
  f = {};
  f.limit = 0;
  CHECK(query_audit(a.conn, f).entries.size() == 1);
  for (int i = 0; i < 1000; ++i)
    write_audit(a.conn, entry("bulk", "login"));
  f.limit = std::numeric_limits<std::size_t>::max();
  auto big = query_audit(a.conn, f);
  CHECK(big.entries.size() == audit_max_page);
  CHECK(big.next_before_id);
  f.before_id = 1;
  CHECK(query_audit(a.conn, f).entries.empty());
}

TEST_CASE("audit: strings from the network are stored, cleaned, never refused", "[audit]") {
  auth_db a;
  // A failed login names whatever the client sent: invalid UTF-8, NUL, control characters, a megabyte.
  auto e = entry(std::string{"ev\xff\xfei\0l\n\x1b[31m", 13}, "login_failed", std::nullopt, audit_outcome::refused);
  e.address = std::string(1 << 20, 'a');
  e.drone_id = std::string{"dr\0one", 6};
  e.detail = {{"name", std::string{"x\0y", 3}}, {std::string{"k\xc3", 2}, "v"}, {"nan", std::nan("")},
              {"list", {1, "two\xc0\xaf", nullptr}}};
  auto id = write_audit(a.conn, e);
  audit_filter f;
  f.action = "login_failed";
  auto p = query_audit(a.conn, f);
  REQUIRE(p.entries.size() == 1);
  auto& got = p.entries[0];
  CHECK(got.id == id);
  CHECK(got.actor == "ev\xEF\xBF\xBD\xEF\xBF\xBDi\xEF\xBF\xBDl\xEF\xBF\xBD\xEF\xBF\xBD[31m");
  CHECK(got.address.size() == audit_max_field_bytes);
  CHECK(got.address.substr(got.address.size() - 3) == "...");
  CHECK(got.drone_id == std::optional<std::string>{"dr\xEF\xBF\xBDone"});
  CHECK(got.detail["name"] == "x\xEF\xBF\xBDy");
  CHECK(got.detail["k\xEF\xBF\xBD"] == "v");
  CHECK(got.detail["nan"].is_null());
  CHECK(got.detail["list"] == json::array({1, "two\xEF\xBF\xBD\xEF\xBF\xBD", nullptr}));
  // The raw (uncleaned) actor finds the entry too.
  f = {};
  f.actor = e.actor;
  CHECK(ids(query_audit(a.conn, f)) == std::vector<std::int64_t>{id});

  // A long multi-byte actor is cut at a character boundary.
  std::string long_actor;
  for (int i = 0; i < 200; ++i)
    long_actor += "\xC3\xA9"; // é
  auto id2 = write_audit(a.conn, entry(long_actor, "login_failed"));
  f = {};
  f.before_id = id2 + 1;
  f.limit = 1;
  auto cut = query_audit(a.conn, f).entries.at(0).actor;
  CHECK(cut.size() <= audit_max_field_bytes);
  CHECK(cut.substr(cut.size() - 3) == "...");
  CHECK((cut.size() - 3) % 2 == 0);

  // A huge detail becomes a marker.
  auto big = entry("bob", "user_changed");
  big.detail = {{"blob", std::string(100000, 'z')}};
  write_audit(a.conn, big);
  f = {};
  f.action = "user_changed";
  auto b = query_audit(a.conn, f).entries.at(0).detail;
  CHECK(b["truncated"] == true);
  CHECK(b.contains("bytes"));
  CHECK_FALSE(b.contains("blob"));

  // Programming errors are refused.
  CHECK_THROWS_AS(write_audit(a.conn, entry("bob", "")), std::invalid_argument);
  CHECK_THROWS_AS(write_audit(a.conn, entry("bob", "Login")), std::invalid_argument);
  CHECK_THROWS_AS(write_audit(a.conn, entry("bob", "log in")), std::invalid_argument);
  CHECK_THROWS_AS(write_audit(a.conn, entry("bob", std::string(65, 'a'))), std::invalid_argument);
  auto arr = entry("bob", "login");
  arr.detail = json::array();
  CHECK_THROWS_AS(write_audit(a.conn, arr), std::invalid_argument);
  CHECK(query_audit(a.conn, {}).entries.size() == 3);
}

TEST_CASE("audit: within the caller's transaction, and the schema's own checks", "[audit]") {
  auth_db a;
  {
    pqxx::work tx{a.conn};
    write_audit(tx, entry("bob", "user_created"));
    // no commit: rolled back with the change it recorded
  }
  CHECK(query_audit(a.conn, {}).entries.empty());
  {
    pqxx::work tx{a.conn};
    auto id = write_audit(tx, entry("bob", "user_created"));
    tx.commit();
    CHECK(ids(query_audit(a.conn, {})) == std::vector<std::int64_t>{id});
  }
  auto refused = [&](const std::string& values) {
    pqxx::work tx{a.conn};
    try {
      tx.exec("INSERT INTO auth.audit (actor, action, outcome, detail) VALUES " + values);
      return false;
    } catch (const pqxx::check_violation&) {
      return true;
    }
  };
  CHECK(refused("('bob', 'login', 'maybe', '{}')"));
  CHECK(refused("('', 'login', 'ok', '{}')"));
  CHECK(refused("('bob', 'Login', 'ok', '{}')"));
  CHECK(refused("('bob', 'login', 'ok', '[]')"));
  CHECK_FALSE(refused("('bob', 'login', 'ok', '{}')"));
}

TEST_CASE("audit: the query of GET /api/v1/audit, every parameter checked strictly", "[audit]") {
  auto f = parse_audit_query("actor=ada&drone=d1&action=login&outcome=refused&from=2026-11-26T10:00:00Z&to=0"
                             "&limit=5000&before=42");
  CHECK(f.actor == "ada");
  CHECK(f.drone_id == "d1");
  CHECK(f.action == "login");
  CHECK(f.outcome == audit_outcome::refused);
  CHECK(f.from == std::chrono::system_clock::time_point{std::chrono::milliseconds{1795687200000}});
  CHECK(f.to == std::chrono::system_clock::time_point{});
  CHECK(f.limit == audit_max_page); // capped
  CHECK(f.before_id == 42);
  CHECK(parse_audit_query("before=9223372036854775807").before_id == std::numeric_limits<std::int64_t>::max());
  // Times a time_point cannot hold (nanoseconds since 1970: 1678-2262) select what they mean, without overflow
  // (the fuzz target found it under UBSan; `to` then wrapped around to the year 1816 and selected nothing).
  auto wide = parse_audit_query("from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z");
  REQUIRE(wide.from);
  REQUIRE(wide.to);
  CHECK(*wide.from < std::chrono::system_clock::time_point{});
  CHECK(*wide.to > std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100));
  auto ms = parse_audit_query("from=-62135596800000&to=253402300799999");
  CHECK(*ms.from < *ms.to);
  auto refused = [](const std::string& query) -> std::string {
    try {
      parse_audit_query(query);
    } catch (const dccs::actors::history::parameter_error& e) {
      return e.parameter;
    }
    return "(accepted)";
  };
  // Out of 64 bits, signed, empty, spaced, zero, negative: refused, never saturated.
  for (auto name : {"limit", "before"})
    for (auto bad : {"99999999999999999999", "9223372036854775808", "%2B5", "", "%205", "5%20", "0", "-1", "1e3", "x"})
      CHECK(refused(std::string{name} + "=" + bad) == name);
  // Text the database would refuse.
  CHECK(refused("actor=%00") == "actor");
  CHECK(refused("actor=%C3%28") == "actor");
  CHECK(refused("drone=a%00") == "drone");
  CHECK(refused("action=%FF") == "action");
  CHECK(refused("%C3%28=x") == "%C3%28");
  CHECK(refused("outcome=maybe") == "outcome");
  CHECK(refused("from=yesterday") == "from");
  CHECK(refused("bogus=1") == "bogus");
  CHECK(refused("limit=1&limit=2") == "limit");
}
