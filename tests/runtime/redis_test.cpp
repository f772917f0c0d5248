// The Redis client against a real redis-server. The shared server comes from DCCS_TEST_REDIS_URL (run-tests.sh
// starts one); the tests that kill a server or need a password start their own (tests/support/redis_server.hpp).
// Run just these with `runtime_test "[redis]"`.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "runtime/redis.hpp"
#include "tests/support/redis_server.hpp"

using namespace dccs::runtime;
using namespace std::chrono_literals;
using kind = redis_reply::kind_t;

namespace {

/// The shared test server; fails the test (not skips it) when DCCS_TEST_REDIS_URL is not set.
redis_endpoint shared_endpoint() {
  const char* url = std::getenv("DCCS_TEST_REDIS_URL");
  if (!url || !*url)
    FAIL("DCCS_TEST_REDIS_URL is not set: run the tests through run-tests.sh, or start a redis-server and set "
         "DCCS_TEST_REDIS_URL=redis://127.0.0.1:PORT");
  redis_endpoint ep;
  std::string error;
  if (!parse_redis_url(url, ep, error))
    FAIL("DCCS_TEST_REDIS_URL is not a valid redis URL: " << error);
  return ep;
}

/// A connected client to the shared server.
struct shared_client {
  shared_client() : client(shared_endpoint(), 2000ms, 50ms, 500ms) {
    if (!client.ensure_connected())
      FAIL("cannot connect to DCCS_TEST_REDIS_URL: " << client.last_error());
    std::random_device rd;
    prefix = "dccs-test:" + std::to_string(rd()) + ":";
  }
  ~shared_client() {
    try {
      if (!keys.empty() && client.connected()) {
        std::vector<std::string> del{"DEL"};
        del.insert(del.end(), keys.begin(), keys.end());
        client.command(del);
      }
    } catch (...) {
    }
  }
  /// A key unique to this test run, deleted at the end.
  std::string key(const std::string& name) {
    keys.push_back(prefix + name);
    return keys.back();
  }
  redis_client client;
  std::string prefix;
  std::vector<std::string> keys;
};

/// Calls ensure_connected until it succeeds or `timeout` passes.
bool connect_within(redis_client& c, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!c.ensure_connected()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("redis URLs parse into an endpoint", "[redis]") {
  redis_endpoint ep;
  std::string error;
  SECTION("host only: the defaults") {
    REQUIRE(parse_redis_url("redis://10.0.0.5", ep, error));
    CHECK(ep.host == "10.0.0.5");
    CHECK(ep.port == 6379);
    CHECK(ep.db == 0);
    CHECK(ep.password.empty());
    CHECK(ep.user.empty());
  }
  SECTION("port and database") {
    REQUIRE(parse_redis_url("redis://cache.local:6380/2", ep, error));
    CHECK(ep.host == "cache.local");
    CHECK(ep.port == 6380);
    CHECK(ep.db == 2);
  }
  SECTION("password only, percent-encoded") {
    REQUIRE(parse_redis_url("redis://:p%40ss%3Aw0rd@127.0.0.1:7000/3", ep, error));
    CHECK(ep.password == "p@ss:w0rd");
    CHECK(ep.user.empty());
    CHECK(ep.port == 7000);
    CHECK(ep.db == 3);
  }
  SECTION("user and password; a password may hold '@' and '/'") {
    REQUIRE(parse_redis_url("redis://fleet:a/b@c@redis:6379", ep, error));
    CHECK(ep.user == "fleet");
    CHECK(ep.password == "a/b@c");
    CHECK(ep.host == "redis");
  }
  SECTION("IPv6 host, trailing slash, upper-case scheme") {
    REQUIRE(parse_redis_url("REDIS://[::1]:7001/", ep, error));
    CHECK(ep.host == "::1");
    CHECK(ep.port == 7001);
    CHECK(ep.db == 0);
  }
}

TEST_CASE("bad redis URLs are refused with a message naming the problem, never the password", "[redis]") {
  struct bad {
    const char* url;
    const char* says;
  };
  auto c = GENERATE(bad{"http://127.0.0.1", "redis://"}, bad{"127.0.0.1:6379", "redis://"},
                    bad{"rediss://host", "TLS"}, bad{"redis://", "missing host"},
                    bad{"redis://:6379", "missing host"}, bad{"redis://host:", "port"},
                    bad{"redis://host:0", "port"}, bad{"redis://host:65536", "port"},
                    bad{"redis://host:-1", "port"}, bad{"redis://host:63x9", "port"},
                    bad{"redis://host/one", "database"}, bad{"redis://host/-1", "database"},
                    bad{"redis://host/1/2", "database"}, bad{"redis://host?db=1", "query"},
                    bad{"redis://[::1:6379", "]"}, bad{"redis://[::1]x", "unexpected"},
                    bad{"redis://secretpw@host", "credentials"}, bad{"redis://:%zzsecret@host", "percent"},
                    bad{"redis://user:@host", "empty password"},
                    bad{"redis://:secretpw@host:port", "port"});
  redis_endpoint ep;
  ep.host = "untouched";
  std::string error;
  INFO(c.url);
  CHECK_FALSE(parse_redis_url(c.url, ep, error));
  CHECK(contains(error, c.says));
  CHECK_FALSE(contains(error, "secret"));
  CHECK(ep.host == "untouched");
}

TEST_CASE("SET with EX, GET and TTL round trip", "[redis]") {
  shared_client s;
  auto k = s.key("ttl");
  auto set = s.client.command({"SET", k, "hello", "EX", "100"});
  CHECK(set.kind == kind::status);
  CHECK(set.str == "OK");
  auto get = s.client.command({"GET", k});
  CHECK(get.kind == kind::string);
  CHECK(get.str == "hello");
  auto ttl = s.client.command({"TTL", k});
  REQUIRE(ttl.kind == kind::integer);
  CHECK(ttl.integer > 0);
  CHECK(ttl.integer <= 100);
  CHECK(s.client.command({"GET", s.key("missing")}).kind == kind::nil);

  // A short expiry really expires.
  auto short_lived = s.key("px");
  s.client.command({"SET", short_lived, "x", "PX", "30"});
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (s.client.command({"GET", short_lived}).kind != kind::nil && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(s.client.command({"EXISTS", short_lived}).integer == 0);
}

TEST_CASE("a pipeline of 1000 SETs, then one MGET", "[redis]") {
  shared_client s;
  std::vector<std::vector<std::string>> sets;
  std::vector<std::string> mget{"MGET"};
  for (int i = 0; i < 1000; ++i) {
    auto k = s.key("p" + std::to_string(i));
    sets.push_back({"SET", k, "value-" + std::to_string(i)});
    mget.push_back(k);
  }
  mget.push_back(s.prefix + "absent");
  auto replies = s.client.pipeline(sets);
  REQUIRE(replies.size() == 1000);
  for (auto& r : replies)
    REQUIRE((r.kind == kind::status && r.str == "OK"));
  auto values = s.client.command(mget);
  REQUIRE(values.kind == kind::array);
  REQUIRE(values.elements.size() == 1001);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(values.elements[i].kind == kind::string);
    REQUIRE(values.elements[i].str == "value-" + std::to_string(i));
  }
  CHECK(values.elements[1000].kind == kind::nil);
  CHECK(s.client.pipeline({}).empty());
}

TEST_CASE("binary keys and values with NUL bytes survive the round trip", "[redis]") {
  shared_client s;
  std::string key = s.key(std::string{"bin\0key", 7});
  std::string value;
  for (int i = 0; i < 256; ++i)
    value += static_cast<char>(i);
  value += std::string{"\r\n\0\0end", 7};
  REQUIRE(value.size() == 263);
  CHECK(s.client.command({"SET", key, value}).str == "OK");
  auto get = s.client.command({"GET", key});
  REQUIRE(get.kind == kind::string);
  CHECK(get.str.size() == value.size());
  CHECK(get.str == value);
  CHECK(s.client.command({"STRLEN", key}).integer == 263);
  CHECK(s.client.command({"GET", std::string{"bin"}}).kind == kind::nil); // the key was not cut at the NUL
}

TEST_CASE("an error reply comes back as a reply of kind error, and the connection goes on", "[redis]") {
  shared_client s;
  auto k = s.key("not-a-number");
  s.client.command({"SET", k, "abc"});
  redis_reply r;
  REQUIRE_NOTHROW(r = s.client.command({"INCR", k}));
  CHECK(r.kind == kind::error);
  CHECK(contains(r.str, "ERR"));
  CHECK(s.client.connected());
  // In a pipeline, the commands around a failing one are unaffected.
  auto counter = s.key("counter");
  auto replies = s.client.pipeline({{"INCR", counter}, {"INCR", k}, {"NOSUCHCOMMAND"}, {"INCR", counter}});
  REQUIRE(replies.size() == 4);
  CHECK(replies[0].integer == 1);
  CHECK(replies[1].kind == kind::error);
  CHECK(replies[2].kind == kind::error);
  CHECK(replies[3].integer == 2);
  CHECK(s.client.command({"PING"}).str == "PONG");
}

TEST_CASE("misuse: commands while disconnected and commands without arguments", "[redis]") {
  redis_endpoint ep;
  ep.port = dccs::test::redis_server::free_port();
  redis_client c{ep, 500ms, 50ms, 500ms};
  CHECK_FALSE(c.connected());
  CHECK_THROWS_AS(c.command({"PING"}), redis_error);
  CHECK_FALSE(c.ensure_connected()); // nothing listens there
  CHECK(contains(c.last_error(), "127.0.0.1:" + std::to_string(ep.port)));
  CHECK(contains(c.last_error(), "refused"));
  CHECK_THROWS_AS(c.pipeline({{"PING"}, {}}), std::invalid_argument);
}

TEST_CASE("a wrong password fails ensure_connected with a clear error that does not quote the password",
          "[redis]") {
  dccs::test::redis_server server{"Right-Horse-Battery-77"};
  redis_endpoint ep;
  ep.port = server.port();

  SECTION("wrong password") {
    ep.password = "Wrong-Staple-Pass-42";
    redis_client c{ep, 1000ms, 50ms, 500ms};
    CHECK_FALSE(c.ensure_connected());
    CHECK_FALSE(c.connected());
    INFO(c.last_error());
    CHECK(contains(c.last_error(), "authentication"));
    CHECK(contains(c.last_error(), "WRONGPASS"));
    CHECK_FALSE(contains(c.last_error(), ep.password));
    CHECK_FALSE(contains(c.last_error(), "Staple"));
    CHECK_FALSE(contains(c.last_error(), server.password()));
  }
  SECTION("wrong password with a user") {
    ep.user = "default";
    ep.password = "Wrong-Staple-Pass-42";
    redis_client c{ep, 1000ms, 50ms, 500ms};
    CHECK_FALSE(c.ensure_connected());
    CHECK(contains(c.last_error(), "WRONGPASS"));
    CHECK_FALSE(contains(c.last_error(), "Staple"));
  }
  SECTION("no password") {
    redis_client c{ep, 1000ms, 50ms, 500ms};
    CHECK_FALSE(c.ensure_connected());
    INFO(c.last_error());
    CHECK(contains(c.last_error(), "requires a password"));
  }
  SECTION("the right password, and a database") {
    ep.password = server.password();
    ep.db = 3;
    redis_client c{ep, 1000ms, 50ms, 500ms};
    REQUIRE(c.ensure_connected());
    c.command({"SET", "k", "in-db-3"});
    CHECK(c.command({"CLIENT", "INFO"}).str.find("db=3") != std::string::npos);
  }
  SECTION("a database that does not exist") {
    ep.password = server.password();
    ep.db = 99;
    redis_client c{ep, 1000ms, 50ms, 500ms};
    CHECK_FALSE(c.ensure_connected());
    INFO(c.last_error());
    CHECK(contains(c.last_error(), "SELECT 99"));
  }
}

TEST_CASE("after the server dies, commands throw, and the client reconnects once it is back", "[redis]") {
  dccs::test::redis_server server;
  redis_endpoint ep;
  ep.port = server.port();
  redis_client c{ep, 1000ms, 20ms, 200ms};
  REQUIRE(c.ensure_connected());
  CHECK(c.command({"SET", "before", "1"}).str == "OK");

  server.kill();
  CHECK_THROWS_AS(c.command({"GET", "before"}), redis_error);
  CHECK_FALSE(c.connected());
  INFO(c.last_error());
  CHECK(contains(c.last_error(), "127.0.0.1:" + std::to_string(ep.port)));

  // While the server is down, ensure_connected fails fast (refused, or still waiting out the backoff).
  auto until = std::chrono::steady_clock::now() + 400ms;
  while (std::chrono::steady_clock::now() < until) {
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(c.ensure_connected());
    CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);
    CHECK_THROWS_AS(c.command({"PING"}), redis_error);
    std::this_thread::sleep_for(5ms);
  }
  CHECK(contains(c.last_error(), "refused"));

  server.start();
  REQUIRE(connect_within(c, 5s));
  CHECK(c.last_error().empty());
  CHECK(c.command({"GET", "before"}).kind == kind::nil); // no persistence: a fresh server
  CHECK(c.command({"SET", "after", "2"}).str == "OK");
  CHECK(c.command({"GET", "after"}).str == "2");
}

TEST_CASE("between failed attempts the client waits out its backoff", "[redis]") {
  redis_endpoint ep;
  ep.port = dccs::test::redis_server::free_port();
  redis_client c{ep, 1000ms, 2000ms, 4000ms};
  auto failed_at = std::chrono::steady_clock::now();
  REQUIRE_FALSE(c.ensure_connected()); // refused: the next attempt is 1-2 s away (2 s, jittered down by <= half)
  // A server appears on that port at once, but the client does not try again before its backoff has passed.
  dccs::test::redis_server server{"", ep.port};
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(t0 - failed_at < 900ms);
  CHECK_FALSE(c.ensure_connected());
  CHECK(std::chrono::steady_clock::now() - t0 < 50ms); // no attempt: returns at once
  REQUIRE(connect_within(c, 5s));
  auto waited = std::chrono::steady_clock::now() - failed_at;
  CHECK(waited >= 1000ms);
  CHECK(waited < 2500ms);
  CHECK(c.command({"PING"}).str == "PONG");
}
