// Failed-login limits (auth/login_limits.hpp): the counters on their own (in memory, then in Redis), then
// against nodes over real sockets: per account, per address, the same answer for known and unknown names, one
// counter shared by two nodes through one Redis, the lock lifting after the window, the known-address pass,
// and the limits holding while Redis is down.
//
// The node tests start a redis-server of their own (tests/support/redis_server.hpp) rather than using the
// shared DCCS_TEST_REDIS_URL: every node counts under the same keys (dccs:auth:fail:addr:127.0.0.1 for every
// test), and tests run in parallel. The counter tests use the shared server under a prefix of their own.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <pqxx/pqxx>
#include <sys/socket.h>
#include <sys/time.h>

#include "auth/login_limits.hpp"
#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "runtime/redis.hpp"
#include "tests/support/client.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs;
using namespace dccs::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = auth::login_limits::clock;

constexpr const char* password = "correct horse battery staple";

/// An HTTP answer with the header these tests look at.
struct reply {
  int status = 0;
  std::string body;
  std::string retry_after; ///< empty when absent
  json json_body() const { return json::parse(body); }
};

/// POST from a chosen local address of the loopback network (127.0.0.0/8: every address is this host), so that
/// the node sees different clients.
reply post_from(std::uint16_t port, const std::string& from, const std::string& target, const std::string& body) {
  net::io_context ioc;
  tcp::socket sock{ioc};
  sock.open(tcp::v4());
  sock.bind(tcp::endpoint{net::ip::make_address(from), 0});
  sock.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  timeval tv{10, 0};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  reply out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  if (res.find(http::field::retry_after) != res.end())
    out.retry_after = std::string{res[http::field::retry_after]};
  return out;
}

reply login(std::uint16_t port, const std::string& name, const std::string& pw, const std::string& from = "127.0.0.1") {
  return post_from(port, from, "/api/v1/auth/login", json{{"name", name}, {"password", pw}}.dump());
}

/// The users every node test starts with.
void add_users(const std::string& db_url) {
  pqxx::connection conn{db_url};
  runtime::migrate(conn, "auth");
  auth::create_user(conn, "vera", password, auth::role::viewer, {});
  auth::create_user(conn, "walt", password, auth::role::viewer, {});
  auth::create_user(conn, "ada", password, auth::role::admin, {});
}

/// Audit rows of an action (read straight from the database).
int audit_count(const std::string& db_url, const std::string& action, const std::string& actor) {
  pqxx::connection conn{db_url};
  pqxx::work tx{conn};
  return tx.exec1("SELECT count(*) FROM auth.audit WHERE action = " + tx.quote(action) + " AND actor = "
                  + tx.quote(actor))[0]
    .as<int>();
}

/// The shared test server, or a failed test when DCCS_TEST_REDIS_URL is not set.
runtime::redis_endpoint shared_redis() {
  const char* url = std::getenv("DCCS_TEST_REDIS_URL");
  if (!url || !*url)
    FAIL("DCCS_TEST_REDIS_URL is not set: run the tests through run-tests.sh, or start a redis-server and set "
         "DCCS_TEST_REDIS_URL=redis://127.0.0.1:PORT");
  runtime::redis_endpoint ep;
  std::string error;
  if (!runtime::parse_redis_url(url, ep, error))
    FAIL("DCCS_TEST_REDIS_URL is not a valid redis URL: " << error);
  return ep;
}

std::string random_prefix() {
  std::random_device rd;
  return "dccs-test:" + std::to_string(rd()) + ":" + std::to_string(rd()) + ":";
}

auth::login_limit_settings small_limits() {
  auth::login_limit_settings s;
  s.per_account = 3;
  s.per_address = 5;
  s.window_s = 60;
  return s;
}

} // namespace

// -- the counters --------------------------------------------------------------------------------------------

TEST_CASE("local counters: fixed windows that expire, bounded memory", "[login_limits]") {
  auth::local_counters c{3};
  auto t0 = clock_type::now();
  CHECK(c.get("a", t0).count == 0);
  CHECK(c.increment("a", 10s, t0) == 1);
  CHECK(c.increment("a", 10s, t0 + 4s) == 2); // a later failure does not extend the window
  auto v = c.get("a", t0 + 4s + 500ms);
  CHECK(v.count == 2);
  CHECK(v.ttl_s == 6); // 5.5 s left, rounded up
  CHECK(c.get("a", t0 + 10s).count == 0); // expired: the window started at the first failure
  CHECK(c.increment("a", 10s, t0 + 10s) == 1); // a new window
  c.erase("a");
  CHECK(c.get("a", t0 + 10s).count == 0);

  // Full: expired entries go first, then the one with the fewest failures.
  c.increment("x", 10s, t0);
  c.increment("x", 10s, t0);
  c.increment("y", 10s, t0);
  c.put("z", 5, 1s, t0);
  CHECK(c.size() == 3);
  c.increment("w", 10s, t0 + 2s); // z expired: it goes
  CHECK(c.size() == 3);
  CHECK(c.get("x", t0 + 2s).count == 2);
  CHECK(c.get("y", t0 + 2s).count == 1);
  CHECK(c.get("w", t0 + 2s).count == 1);
  c.increment("v", 10s, t0 + 3s); // none expired: y (1 failure, the oldest of the fewest) goes, x stays
  CHECK(c.size() == 3);
  CHECK(c.get("x", t0 + 3s).count == 2);
  CHECK(c.get("y", t0 + 3s).count == 0);
  CHECK(c.get("w", t0 + 3s).count == 1);
}

TEST_CASE("login limit keys: names as they are, addresses by host (IPv6 by its /64)", "[login_limits]") {
  CHECK(auth::login_account_key("vera") == "vera");
  CHECK(auth::login_account_key("alice@example.org") == "alice@example.org");
  auto odd = auth::login_account_key(std::string(5000, 'x') + " with spaces");
  CHECK(odd.size() == 33);
  CHECK(odd[0] == '~');
  CHECK(odd != auth::login_account_key("another odd name"));
  CHECK(auth::login_account_key("a:b") != auth::login_account_key("a;b"));
  CHECK(auth::login_address_key("192.0.2.7") == "192.0.2.7");
  CHECK(auth::login_address_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(auth::login_address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(auth::login_address_key("2001:db8:1:2::1") == auth::login_address_key("2001:db8:1:2:ffff::9"));
  CHECK(auth::login_address_key("2001:db8:1:3::1") != auth::login_address_key("2001:db8:1:2::1"));
  CHECK(auth::login_address_key("") == "unknown");
  CHECK(auth::login_address_key("not an address")[0] == '~');
}

TEST_CASE("login limits without Redis: per account, per address, reset by a success, lifted by the window",
          "[login_limits]") {
  auth::login_limits limits{small_limits()};
  auto t0 = clock_type::now();
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(limits.check("vera", "192.0.2.1", t0).limited);
    limits.failed("vera", "192.0.2.1", t0);
  }
  CHECK_FALSE(limits.shared());
  auto v = limits.check("vera", "192.0.2.1", t0 + 10s);
  CHECK(v.limited);
  CHECK(v.limit == "account");
  CHECK(v.retry_after_s == 50);
  CHECK(limits.check("vera", "198.51.100.9", t0 + 10s).limited); // per account: from anywhere
  CHECK_FALSE(limits.check("walt", "192.0.2.1", t0 + 10s).limited); // another account: untouched
  CHECK_FALSE(limits.check("vera", "192.0.2.1", t0 + 60s).limited); // the window is over

  // Per address: 5 failures from one address over several names (unknown ones too).
  auth::login_limits by_address{small_limits()};
  for (auto name : {"a1", "a2", "a3", "nobody", "walt"})
    by_address.failed(name, "203.0.113.5", t0);
  auto a = by_address.check("vera", "203.0.113.5", t0 + 1s);
  CHECK(a.limited);
  CHECK(a.limit == "address");
  CHECK(a.retry_after_s == 59);
  CHECK_FALSE(by_address.check("vera", "203.0.113.6", t0 + 1s).limited);

  // A success clears the account, not the address.
  auth::login_limits reset{small_limits()};
  for (auto name : {"walt", "walt", "vera", "vera"})
    reset.failed(name, "192.0.2.1", t0);
  reset.succeeded("vera", "192.0.2.1", t0);
  reset.failed("vera", "192.0.2.2", t0);
  reset.failed("vera", "192.0.2.2", t0);
  CHECK_FALSE(reset.check("vera", "192.0.2.2", t0).limited); // 2 failures since the success, not 4
  reset.failed("nobody", "192.0.2.1", t0);
  auto still = reset.check("ada", "192.0.2.1", t0);
  CHECK(still.limited); // 5 failures from the address: the success did not clear it
  CHECK(still.limit == "address");
}

TEST_CASE("login limits: an address known for the account passes the account limit, a fresh one does not",
          "[login_limits]") {
  auth::login_limits limits{small_limits()};
  auto t0 = clock_type::now();
  limits.succeeded("vera", "192.0.2.1", t0); // vera's usual address
  for (int i = 0; i < 3; ++i)
    limits.failed("vera", "198.51.100.66", t0); // an attacker elsewhere
  auto attacker = limits.check("vera", "198.51.100.66", t0);
  CHECK(attacker.limited);
  auto fresh = limits.check("vera", "198.51.100.67", t0);
  CHECK(fresh.limited);
  CHECK_FALSE(fresh.known_address);
  auto usual = limits.check("vera", "192.0.2.1", t0);
  CHECK_FALSE(usual.limited);
  CHECK(usual.known_address);
  // Known for vera only.
  for (int i = 0; i < 3; ++i)
    limits.failed("walt", "198.51.100.66", t0 + 1s);
  CHECK(limits.check("walt", "192.0.2.1", t0 + 1s).limited);
  // The pass ends when the known address itself fails as often as the account limit allows.
  limits.failed("vera", "192.0.2.1", t0 + 2s);
  limits.failed("vera", "192.0.2.1", t0 + 2s);
  CHECK_FALSE(limits.check("vera", "192.0.2.1", t0 + 2s).limited);
  limits.failed("vera", "192.0.2.1", t0 + 2s);
  CHECK(limits.check("vera", "192.0.2.1", t0 + 2s).limited);
}

TEST_CASE("login limits in Redis: one counter for two nodes, every key with its window", "[login_limits][redis]") {
  auto s = small_limits();
  s.redis_enabled = true;
  s.redis = shared_redis();
  s.prefix = random_prefix();
  s.retry_min = 50ms;
  s.retry_max = 200ms;
  auth::login_limits a{s};
  auth::login_limits b{s};
  runtime::redis_client inspect{s.redis, 2000ms, 50ms, 500ms};
  REQUIRE(inspect.ensure_connected());
  auto t0 = clock_type::now();
  a.failed("vera", "192.0.2.1", t0);
  CHECK(a.shared());
  b.failed("vera", "192.0.2.2", t0);
  CHECK_FALSE(a.check("vera", "192.0.2.3", t0).limited);
  a.failed("vera", "192.0.2.3", t0);
  auto v = b.check("vera", "192.0.2.4", t0); // b counted one; a two: three in Redis
  CHECK(v.limited);
  CHECK(v.limit == "account");
  CHECK(v.retry_after_s >= 1);
  CHECK(v.retry_after_s <= 60);

  auto ttl = [&](const std::string& key) { return inspect.command({"TTL", s.prefix + key}).integer; };
  CHECK(inspect.command({"GET", s.prefix + "fail:acct:vera"}).str == "3");
  CHECK(ttl("fail:acct:vera") > 0);
  CHECK(ttl("fail:acct:vera") <= 60);
  CHECK(ttl("fail:addr:192.0.2.1") > 0);

  // A success on one node clears the account for every node (Redis decides while it answers).
  b.succeeded("vera", "192.0.2.9", t0);
  CHECK(inspect.command({"EXISTS", s.prefix + "fail:acct:vera"}).integer == 0);
  CHECK_FALSE(a.check("vera", "192.0.2.1", t0).limited);
  CHECK(ttl("known:vera:192.0.2.9") > 0);

  // A counter without expiry (not made by us) would lock for ever: it gets its window at the next check.
  inspect.command({"SET", s.prefix + "fail:acct:walt", "7"});
  CHECK(a.check("walt", "192.0.2.1", t0).limited);
  CHECK(ttl("fail:acct:walt") > 0);
  CHECK(ttl("fail:acct:walt") <= 60);
  // One with a longer expiry than the window (the window was lowered since) gets the window too.
  inspect.command({"SET", s.prefix + "fail:addr:192.0.2.77", "9", "EX", "86400"});
  auto far = a.check("ada", "192.0.2.77", t0);
  CHECK(far.limited);
  CHECK(far.retry_after_s <= 60);
  CHECK(ttl("fail:addr:192.0.2.77") <= 60);

  std::vector<std::string> del{"DEL"};
  for (auto& k : {"fail:acct:vera", "fail:acct:walt", "fail:addr:192.0.2.77", "fail:addr:192.0.2.1", "fail:addr:192.0.2.2",
                  "fail:addr:192.0.2.3", "known:vera:192.0.2.9"})
    del.push_back(s.prefix + k);
  inspect.command(del);
}

TEST_CASE("login limits while Redis is down: the node's own counters hold, and lift", "[login_limits][redis]") {
  redis_server redis;
  auto s = small_limits();
  s.redis_enabled = true;
  std::string error;
  REQUIRE(runtime::parse_redis_url(redis.url(), s.redis, error));
  s.retry_min = 20ms;
  s.retry_max = 50ms;
  s.io_timeout = 500ms;
  auth::login_limits limits{s};
  auto t0 = clock_type::now();
  limits.failed("vera", "192.0.2.1", t0);
  CHECK(limits.shared());
  redis.kill();
  limits.failed("vera", "192.0.2.1", t0);
  CHECK_FALSE(limits.shared());
  limits.failed("vera", "192.0.2.1", t0);
  // Three failures on this node, two of them while Redis was away: limited on this node's count.
  auto v = limits.check("vera", "192.0.2.1", t0 + 1s);
  CHECK_FALSE(limits.shared());
  CHECK(v.limited);
  CHECK(v.retry_after_s == 59);
  CHECK_FALSE(limits.check("vera", "192.0.2.1", t0 + 60s).limited); // not closed for ever
  // Back: Redis decides again (restarted without persistence, it holds nothing: see docs/security.md).
  redis.start();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!limits.shared() && std::chrono::steady_clock::now() < deadline) {
    limits.check("vera", "192.0.2.1", t0 + 1s);
    if (!limits.shared())
      std::this_thread::sleep_for(20ms); // the client's reconnect backoff
  }
  REQUIRE(limits.shared());
  CHECK_FALSE(limits.check("vera", "192.0.2.1", t0 + 1s).limited);
}

// -- against nodes ---------------------------------------------------------------------------------------------

TEST_CASE("login limits per account: the 11th attempt is refused even with the right password", "[login][limits]") {
  redis_server redis;
  test_node node{{"redis.url", redis.url()}};
  add_users(node.db_url());
  auto p = node.port();
  for (int i = 0; i < 10; ++i) {
    auto r = login(p, "vera", "wrong password number " + std::to_string(i));
    INFO("attempt " << i + 1);
    REQUIRE(r.status == 401);
    CHECK(r.retry_after.empty());
  }
  auto locked = login(p, "vera", password);
  CHECK(locked.status == 429);
  CHECK(locked.json_body()["error"]["code"] == "too_many_attempts");
  REQUIRE_FALSE(locked.retry_after.empty());
  auto wait = std::stoll(locked.retry_after);
  CHECK(wait >= 1);
  CHECK(wait <= 900);
  CHECK(locked.body.find("vera") == std::string::npos);
  CHECK(login(p, "vera", password, "127.0.0.2").status == 429); // per account: from another address too
  CHECK(login(p, "walt", password).status == 200);              // another account: unaffected
  CHECK(audit_count(node.db_url(), "login_failed", "vera") == 10);
  CHECK(audit_count(node.db_url(), "login_limited", "vera") == 2);
  CHECK(audit_count(node.db_url(), "login", "vera") == 0);
}

TEST_CASE("login limits per address: past the limit every name is refused from there, not elsewhere",
          "[login][limits]") {
  redis_server redis;
  test_node node{{"redis.url", redis.url()}, {"auth.login_failures_per_address", "5"}};
  add_users(node.db_url());
  auto p = node.port();
  for (auto name : {"nobody", "vera", "somebody", "walt", "x"})
    REQUIRE(login(p, name, "a wrong password, surely").status == 401);
  auto refused = login(p, "ada", password); // ada never failed
  CHECK(refused.status == 429);
  CHECK_FALSE(refused.retry_after.empty());
  CHECK(login(p, "ada", password, "127.0.0.2").status == 200);
  CHECK(login(p, "vera", password, "127.0.0.2").status == 200);
}

TEST_CASE("login limits answer the same for a known and an unknown name, in content and in time",
          "[login][limits]") {
  redis_server redis;
  test_node node{{"redis.url", redis.url()}, {"auth.login_failures_per_account", "5"}};
  add_users(node.db_url());
  auto p = node.port();
  using ms = std::chrono::duration<double, std::milli>;
  std::vector<double> known_ms, unknown_ms;
  std::vector<reply> known, unknown;
  for (int i = 0; i < 5; ++i) { // interleaved: a burst of load elsewhere hits both alike
    auto t = std::chrono::steady_clock::now();
    known.push_back(login(p, "vera", "a wrong password, surely"));
    known_ms.push_back(ms(std::chrono::steady_clock::now() - t).count());
    t = std::chrono::steady_clock::now();
    unknown.push_back(login(p, "nobody-at-all", "a wrong password, surely"));
    unknown_ms.push_back(ms(std::chrono::steady_clock::now() - t).count());
  }
  for (int i = 0; i < 5; ++i) {
    CHECK(known[i].status == 401);
    CHECK(unknown[i].status == 401);
    CHECK(known[i].body == unknown[i].body);
  }
  // Both pay a password check (argon2id, tens of ms). An unknown name answered without the dummy check would be
  // some 20 times faster; a factor of 5 between the fastest of each leaves room for a loaded machine.
  auto fastest_known = *std::min_element(known_ms.begin(), known_ms.end());
  auto fastest_unknown = *std::min_element(unknown_ms.begin(), unknown_ms.end());
  INFO("known " << fastest_known << " ms, unknown " << fastest_unknown << " ms");
  CHECK(fastest_unknown * 5 > fastest_known);
  auto k = login(p, "vera", password);
  auto u = login(p, "nobody-at-all", password);
  CHECK(k.status == 429);
  CHECK(u.status == 429);
  CHECK(k.body == u.body);
  CHECK_FALSE(k.retry_after.empty());
  CHECK_FALSE(u.retry_after.empty());
  CHECK(audit_count(node.db_url(), "login_limited", "nobody-at-all") == 1);
}

TEST_CASE("login limits: two nodes share the counters through one Redis", "[login][limits]") {
  redis_server redis;
  test_node a{{"redis.url", redis.url()}};
  add_users(a.db_url());
  test_node b{{"redis.url", redis.url()}, {"db.url", a.db_url()}};
  REQUIRE(login(b.port(), "vera", password, "127.0.0.2").status == 200); // vera's usual address
  for (int i = 0; i < 5; ++i) {
    REQUIRE(login(a.port(), "vera", "a wrong password, surely").status == 401);
    REQUIRE(login(b.port(), "vera", "a wrong password, surely").status == 401);
  }
  // Ten failures, five on each node: both refuse the eleventh.
  CHECK(login(a.port(), "vera", password).status == 429);
  CHECK(login(b.port(), "vera", password).status == 429);
  CHECK(login(a.port(), "vera", password, "127.0.0.3").status == 429);
  // Her success on b (from her known address) clears the account on a too.
  CHECK(login(b.port(), "vera", password, "127.0.0.2").status == 200);
  CHECK(login(a.port(), "vera", password, "127.0.0.3").status == 200);
}

TEST_CASE("login limits: the lock lifts when the window is over", "[login][limits]") {
  redis_server redis;
  test_node node{{"redis.url", redis.url()}, {"auth.login_window_s", "2"}, {"auth.login_failures_per_account", "3"}};
  add_users(node.db_url());
  auto p = node.port();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i)
    REQUIRE(login(p, "vera", "a wrong password, surely").status == 401);
  auto locked = login(p, "vera", password);
  REQUIRE(locked.status == 429);
  auto wait = std::stoll(locked.retry_after);
  CHECK(wait >= 1);
  CHECK(wait <= 2);
  // Poll (each refused attempt counts nothing) until it lifts; it must, within the window.
  reply r;
  int polls = 0;
  auto deadline = start + 10s;
  do {
    r = login(p, "vera", password);
    ++polls;
    if (r.status == 429)
      std::this_thread::sleep_for(50ms);
  } while (r.status == 429 && std::chrono::steady_clock::now() < deadline);
  auto lifted_after = std::chrono::steady_clock::now() - start;
  CHECK(r.status == 200);
  CHECK(polls > 1); // it was locked for a while, not lifted by the first retry
  CHECK(lifted_after < 4s);
}

TEST_CASE("login limits: the real user passes from an address known for the account, a fresh one does not",
          "[login][limits]") {
  redis_server redis;
  test_node node{{"redis.url", redis.url()}};
  add_users(node.db_url());
  auto p = node.port();
  REQUIRE(login(p, "vera", password, "127.0.0.2").status == 200); // vera's usual address
  for (int i = 0; i < 10; ++i)
    REQUIRE(login(p, "vera", "the attacker's guess " + std::to_string(i)).status == 401);
  CHECK(login(p, "vera", password).status == 429);              // the attacker's address
  CHECK(login(p, "vera", password, "127.0.0.3").status == 429); // a fresh address
  CHECK(login(p, "vera", password, "127.0.0.2").status == 200); // vera, where she logs in
  // Her success cleared the account's counter: the lock is over everywhere (the attacker starts again).
  CHECK(login(p, "vera", password, "127.0.0.3").status == 200);
  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  CHECK(tx.exec1("SELECT count(*) FROM auth.audit WHERE action = 'login' AND actor = 'vera'"
                 " AND detail->>'past_account_limit' = 'true' AND address = '127.0.0.2'")[0]
          .as<int>()
        == 1);
}

TEST_CASE("login limits hold while Redis is down (the node's own counters) and lift", "[login][limits]") {
  redis_server redis;
  test_node node{{"redis.url", redis.url()}, {"auth.login_window_s", "2"}, {"auth.login_failures_per_account", "3"}};
  add_users(node.db_url());
  auto p = node.port();
  REQUIRE(login(p, "vera", "a wrong password, surely").status == 401); // counted in Redis (and here)
  redis.kill();
  REQUIRE(login(p, "vera", "a wrong password, surely").status == 401);
  REQUIRE(login(p, "vera", "a wrong password, surely").status == 401);
  auto locked = login(p, "vera", password);
  CHECK(locked.status == 429);
  CHECK_FALSE(locked.retry_after.empty());
  CHECK(login(p, "walt", password).status == 200);
  reply r;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    r = login(p, "vera", password);
    if (r.status == 429)
      std::this_thread::sleep_for(50ms);
  } while (r.status == 429 && std::chrono::steady_clock::now() < deadline);
  CHECK(r.status == 200); // never closed for ever
}
