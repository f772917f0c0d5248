// Refresh tokens in a real PostgreSQL (pg_virtualenv; the connection from the PG* environment variables), a
// scratch database per test.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <pqxx/pqxx>

#include "auth/base64url.hpp"
#include "auth/refresh.hpp"
#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs::auth;
using dccs::test::scratch_database;
using namespace std::chrono_literals;

namespace {

/// A scratch database with the auth schema.
struct auth_db {
  scratch_database db;
  pqxx::connection conn{db.url()};
  auth_db() { dccs::runtime::migrate(conn, "auth"); }

  /// A user without hashing a password (the hash is never checked here).
  std::int64_t add_user(const std::string& name) {
    pqxx::work tx{conn};
    auto id = tx.exec_params("INSERT INTO auth.users (name, password_hash, role) VALUES ($1, 'x', 'viewer')"
                             " RETURNING id",
                             name)[0][0]
                .as<std::int64_t>();
    tx.commit();
    return id;
  }

  std::string scalar(const std::string& sql) {
    pqxx::work tx{conn};
    auto r = tx.exec(sql);
    tx.commit();
    return r[0][0].is_null() ? "NULL" : r[0][0].as<std::string>();
  }

  void exec(const std::string& sql) {
    pqxx::work tx{conn};
    tx.exec(sql);
    tx.commit();
  }
};

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

/// The token's row, by hash: "used revoked" flags as "u r" / "- -".
std::string state_of(auth_db& a, const std::string& token) {
  return a.scalar("SELECT CASE WHEN used_at IS NULL THEN '-' ELSE 'u' END || ' ' ||"
                  " CASE WHEN revoked_at IS NULL THEN '-' ELSE 'r' END"
                  " FROM auth.refresh_tokens WHERE hash = '\\x"
                  + hex(refresh_token_hash(token)) + "'");
}

} // namespace

TEST_CASE("refresh: issue makes a 256-bit opaque token stored only as its SHA-256", "[refresh]") {
  auth_db a;
  auto uid = a.add_user("ann");
  auto before = std::chrono::system_clock::now();
  auto t = issue_refresh(a.conn, uid, 3600s);
  CHECK(t.token.size() == 43);
  auto raw = base64url_decode(t.token);
  REQUIRE(raw);
  CHECK(raw->size() == 32);
  CHECK(t.family.size() == 36);
  CHECK(t.expires_at > before + 3590s);
  CHECK(t.expires_at < before + 3610s);

  CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens") == "1");
  CHECK(a.scalar("SELECT encode(hash, 'hex') FROM auth.refresh_tokens") == hex(refresh_token_hash(t.token)));
  CHECK(refresh_token_hash(t.token).size() == 32);
  // Neither the token text nor its raw bytes are anywhere in the row.
  auto row = a.scalar("SELECT row_to_json(t)::text FROM auth.refresh_tokens t");
  CHECK(row.find(t.token) == std::string::npos);
  CHECK(row.find(hex(*raw)) == std::string::npos);
  CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens WHERE hash = convert_to('" + t.token + "', 'UTF8')")
        == "0");
  CHECK(a.scalar("SELECT family::text FROM auth.refresh_tokens") == t.family);
  CHECK(a.scalar("SELECT user_id FROM auth.refresh_tokens") == std::to_string(uid));
  CHECK(state_of(a, t.token) == "- -");

  // Every token and family is new.
  auto t2 = issue_refresh(a.conn, uid, 3600s);
  CHECK(t2.token != t.token);
  CHECK(t2.family != t.family);

  CHECK_THROWS_AS(issue_refresh(a.conn, uid, 0s), std::invalid_argument);
  CHECK_THROWS_AS(issue_refresh(a.conn, uid + 1000, 60s), pqxx::foreign_key_violation);
}

TEST_CASE("refresh: rotation consumes the token, keeps the family and its absolute expiry", "[refresh]") {
  auth_db a;
  auto uid = a.add_user("bea");
  auto t0 = issue_refresh(a.conn, uid, 3600s);
  auto r1 = rotate_refresh(a.conn, t0.token);
  REQUIRE(r1.ok());
  CHECK(r1.status == refresh_status::ok);
  CHECK(r1.user_id == uid);
  CHECK(r1.user_name == "bea");
  CHECK(r1.family == t0.family);
  CHECK(r1.next.family == t0.family);
  CHECK(r1.next.token.size() == 43);
  CHECK(r1.next.token != t0.token);
  CHECK(r1.next.expires_at == t0.expires_at);
  CHECK(state_of(a, t0.token) == "u -");
  CHECK(state_of(a, r1.next.token) == "- -");

  auto r2 = rotate_refresh(a.conn, r1.next.token);
  REQUIRE(r2.ok());
  CHECK(r2.next.expires_at == t0.expires_at);
  CHECK(r2.family == t0.family);
  CHECK(a.scalar("SELECT count(DISTINCT expires_at) FROM auth.refresh_tokens") == "1");
  CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens WHERE family = '" + t0.family + "'") == "3");
  CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens WHERE used_at IS NULL") == "1");
}

TEST_CASE("refresh: a used token presented again revokes its whole family, and only that family", "[refresh]") {
  auth_db a;
  auto uid = a.add_user("cid");
  auto other = issue_refresh(a.conn, uid, 3600s); // another device of the same user
  auto t0 = issue_refresh(a.conn, uid, 3600s);
  auto r1 = rotate_refresh(a.conn, t0.token);
  REQUIRE(r1.ok());
  auto r2 = rotate_refresh(a.conn, r1.next.token);
  REQUIRE(r2.ok());

  // The thief replays t0: reused, and the legitimate holder's newest token dies with the family.
  auto reuse = rotate_refresh(a.conn, t0.token);
  CHECK(reuse.status == refresh_status::reused);
  CHECK_FALSE(reuse.ok());
  CHECK(reuse.user_id == uid);
  CHECK(reuse.user_name == "cid");
  CHECK(reuse.family == t0.family);
  CHECK(reuse.next.token.empty());
  CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens WHERE family = '" + t0.family
                 + "' AND revoked_at IS NULL")
        == "0");
  CHECK(rotate_refresh(a.conn, r2.next.token).status == refresh_status::revoked);
  CHECK(rotate_refresh(a.conn, r1.next.token).status == refresh_status::reused); // still a replay
  CHECK(rotate_refresh(a.conn, t0.token).status == refresh_status::reused);

  // The other family goes on.
  CHECK(state_of(a, other.token) == "- -");
  CHECK(rotate_refresh(a.conn, other.token).ok());
}

TEST_CASE("refresh: expired, unknown and malformed tokens are refused with their status", "[refresh]") {
  auth_db a;
  auto uid = a.add_user("dan");
  auto t = issue_refresh(a.conn, uid, 3600s);
  auto r = rotate_refresh(a.conn, t.token);
  REQUIRE(r.ok());

  a.exec("UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second'");
  auto e = rotate_refresh(a.conn, r.next.token);
  CHECK(e.status == refresh_status::expired);
  CHECK(e.user_id == uid);
  CHECK(e.family == t.family);
  CHECK(state_of(a, r.next.token) == "- -"); // nothing changed
  CHECK(rotate_refresh(a.conn, t.token).status == refresh_status::expired); // expiry before reuse

  // Unknown: well formed but never issued, one character changed, malformed, empty, huge.
  std::string changed = r.next.token;
  changed[5] = changed[5] == 'A' ? 'B' : 'A';
  std::string not_b64 = r.next.token;
  not_b64[0] = '+';
  for (const std::string& bad : {std::string(43, 'A'), changed, not_b64, std::string{}, std::string{"abc"},
                                 r.next.token + "A", r.next.token.substr(1), std::string(1 << 16, 'x'),
                                 std::string(43, '\0'), std::string{"'; DROP TABLE auth.refresh_tokens; --"}}) {
    auto u = rotate_refresh(a.conn, bad);
    CHECK(u.status == refresh_status::unknown);
    CHECK(u.user_id == 0);
    CHECK(u.family.empty());
  }
  CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens") == "2");

  // Purge drops families expired longer ago than the grace: then the token is unknown.
  CHECK(purge_refresh(a.conn, 3600s) == 0);
  CHECK(purge_refresh(a.conn, 0s) == 2);
  CHECK(rotate_refresh(a.conn, r.next.token).status == refresh_status::unknown);
}

TEST_CASE("refresh: revoke_family, revoke_user, disabled and deleted users", "[refresh]") {
  auth_db a;
  auto uid = a.add_user("eve");
  auto other_uid = a.add_user("fay");
  auto f1 = issue_refresh(a.conn, uid, 3600s);
  auto f2 = issue_refresh(a.conn, uid, 3600s);
  auto f3 = issue_refresh(a.conn, uid, 3600s);
  auto theirs = issue_refresh(a.conn, other_uid, 3600s);
  auto f1b = rotate_refresh(a.conn, f1.token);
  REQUIRE(f1b.ok());

  // Logout: the family's usable token is revoked (the used one is marked too, but was not usable).
  CHECK(revoke_family(a.conn, f1.family) == 1);
  CHECK(revoke_family(a.conn, f1.family) == 0); // already
  auto rv = rotate_refresh(a.conn, f1b.next.token);
  CHECK(rv.status == refresh_status::revoked);
  CHECK(rv.user_id == uid);
  CHECK(rv.family == f1.family);
  CHECK(revoke_family(a.conn, "00000000-0000-0000-0000-000000000000") == 0);
  CHECK(revoke_family(a.conn, "not a uuid") == 0);
  CHECK(revoke_family(a.conn, "") == 0);
  CHECK(rotate_refresh(a.conn, f2.token).ok()); // f2 still alive, now rotated
  CHECK(state_of(a, f2.token) == "u -");

  // Log out everywhere: every family of the user, nobody else's.
  CHECK(revoke_user(a.conn, uid) == 2); // f2's successor and f3
  CHECK(rotate_refresh(a.conn, f3.token).status == refresh_status::revoked);
  CHECK(revoke_user(a.conn, uid) == 0);
  CHECK(revoke_user(a.conn, 999999) == 0);
  auto t = rotate_refresh(a.conn, theirs.token);
  REQUIRE(t.ok());
  CHECK(t.user_name == "fay");

  // A disabled user's token is refused and its family revoked; enabling again does not bring it back.
  auto g = issue_refresh(a.conn, other_uid, 3600s);
  set_enabled(a.conn, "fay", false);
  auto d = rotate_refresh(a.conn, g.token);
  CHECK(d.status == refresh_status::disabled);
  CHECK(d.user_name == "fay");
  CHECK(state_of(a, g.token) == "- r");
  CHECK(rotate_refresh(a.conn, t.next.token).status == refresh_status::disabled); // same user, other family
  set_enabled(a.conn, "fay", true);
  CHECK(rotate_refresh(a.conn, g.token).status == refresh_status::revoked);
  CHECK(rotate_refresh(a.conn, t.next.token).status == refresh_status::revoked);

  // Deleting a user deletes their tokens.
  a.exec("DELETE FROM auth.users WHERE name = 'eve'");
  CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens WHERE user_id = " + std::to_string(uid)) == "0");
  CHECK(rotate_refresh(a.conn, f3.token).status == refresh_status::unknown);
}

TEST_CASE("refresh: two concurrent rotations of one token give one ok and one reused", "[refresh]") {
  auth_db a;
  auto uid = a.add_user("gus");
  pqxx::connection c1{a.db.url()};
  pqxx::connection c2{a.db.url()};
  pqxx::connection watcher{a.db.url()};
  for (int round = 0; round < 20; ++round) {
    auto t = issue_refresh(a.conn, uid, 3600s);
    std::atomic<int> ready{0};
    rotate_result r1, r2;
    std::atomic<int> failures{0};
    auto run = [&](pqxx::connection& c, rotate_result& out) {
      ++ready;
      while (ready < 2) {
      }
      try {
        out = rotate_refresh(c, t.token);
      } catch (const std::exception&) {
        ++failures;
      }
    };
    // Every other round, a third transaction holds the token's row until both rotations wait for it, so that
    // they certainly overlap; the other rounds race freely.
    std::optional<pqxx::work> blocker;
    if (round % 2 == 0) {
      blocker.emplace(a.conn);
      blocker->exec("SELECT 1 FROM auth.refresh_tokens WHERE hash = '\\x" + hex(refresh_token_hash(t.token))
                    + "' FOR UPDATE");
    }
    std::thread th1{run, std::ref(c1), std::ref(r1)};
    std::thread th2{run, std::ref(c2), std::ref(r2)};
    if (blocker) {
      auto deadline = std::chrono::steady_clock::now() + 10s;
      int waiting = 0;
      while (waiting < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
        pqxx::nontransaction q{watcher};
        waiting = q.exec("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND wait_event_type = 'Lock'")[0][0]
                    .as<int>();
      }
      CHECK(waiting == 2);
      blocker->commit();
      blocker.reset();
    }
    th1.join();
    th2.join();
    INFO("round " << round);
    REQUIRE(failures == 0);
    std::multiset<refresh_status> got{r1.status, r2.status};
    CHECK(got == std::multiset<refresh_status>{refresh_status::ok, refresh_status::reused});
    // The winner's new token went down with the family.
    auto& winner = r1.ok() ? r1 : r2;
    REQUIRE(winner.ok());
    CHECK(rotate_refresh(a.conn, winner.next.token).status == refresh_status::revoked);
    CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens WHERE family = '" + t.family + "'") == "2");
    CHECK(a.scalar("SELECT count(*) FROM auth.refresh_tokens WHERE family = '" + t.family
                   + "' AND revoked_at IS NULL")
          == "0");
  }
}

TEST_CASE("refresh: status names", "[refresh]") {
  CHECK(std::string{to_string(refresh_status::ok)} == "ok");
  CHECK(std::string{to_string(refresh_status::reused)} == "reused");
  CHECK(std::string{to_string(refresh_status::disabled)} == "disabled");
}
