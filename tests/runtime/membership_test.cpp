#include <catch2/catch.hpp>

#include "runtime/membership.hpp"

#include <string>
#include <vector>

using dccs::runtime::member_info;
using dccs::runtime::membership;

namespace {

using ids = std::vector<std::string>;

constexpr std::int64_t timeout = 5000;

member_info node(const std::string& id, std::int64_t epoch, const std::string& port = "8080") {
  return member_info{id, "10.0.0.1:" + port, "10.0.0.1:4242", {"drones"}, epoch};
}

membership table() {
  return membership{node("b-self", 1000), timeout};
}

} // namespace

TEST_CASE("a new table holds self only", "[membership]") {
  auto m = table();
  CHECK(m.live() == ids{"b-self"});
  CHECK(m.size() == 1);
  CHECK(m.version() == 0);
  REQUIRE(m.find("b-self") != nullptr);
  CHECK(m.find("b-self")->epoch == 1000);
  CHECK(m.find("a") == nullptr);
  CHECK_FALSE(m.last_heard("b-self").has_value());
}

TEST_CASE("a member joins when first heard", "[membership]") {
  auto m = table();
  CHECK(m.heard(node("c", 2000), 100));
  CHECK(m.version() == 1);
  CHECK(m.heard(node("a", 3000), 150));
  CHECK(m.version() == 2);
  CHECK(m.live() == ids{"a", "b-self", "c"}); // sorted, self included
  CHECK(m.size() == 3);
  REQUIRE(m.find("c") != nullptr);
  CHECK(m.find("c")->http == "10.0.0.1:8080");
  CHECK(m.find("c")->roles == ids{"drones"});
  CHECK(m.last_heard("c") == 100);
}

TEST_CASE("a heartbeat refreshes a member without changing the view", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("c", 2000), 100));
  CHECK_FALSE(m.heard(node("c", 2000), 4000));
  CHECK(m.last_heard("c") == 4000);
  CHECK(m.version() == 1);
  // The refresh keeps it alive past the first deadline.
  CHECK(m.expire(100 + timeout + 1).empty());
  CHECK(m.live() == ids{"b-self", "c"});
}

TEST_CASE("a member expires only after more than the timeout without a heartbeat", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("c", 2000), 100));
  REQUIRE(m.heard(node("d", 2000), 600));
  CHECK(m.expire(100 + timeout - 1).empty());
  CHECK(m.expire(100 + timeout).empty()); // exactly the timeout: still live
  CHECK(m.version() == 2);
  CHECK(m.expire(100 + timeout + 1) == ids{"c"});
  CHECK(m.live() == ids{"b-self", "d"});
  CHECK(m.version() == 3);
  CHECK(m.find("c") == nullptr);
  CHECK_FALSE(m.last_heard("c").has_value());
  CHECK(m.expire(100 + timeout + 1).empty()); // once only
  CHECK(m.expire(600 + timeout + 1) == ids{"d"});
  CHECK(m.version() == 4);
  CHECK(m.live() == ids{"b-self"});
}

TEST_CASE("expire returns every expired member at once, sorted", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("z", 1), 0));
  REQUIRE(m.heard(node("a", 1), 0));
  REQUIRE(m.heard(node("m", 1), 10000));
  CHECK(m.expire(timeout + 1) == ids{"a", "z"});
  CHECK(m.live() == ids{"b-self", "m"});
}

TEST_CASE("self never expires and cannot be lost", "[membership]") {
  auto m = table();
  CHECK(m.expire(1'000'000'000).empty());
  CHECK_FALSE(m.lost("b-self", 10));
  CHECK(m.live() == ids{"b-self"});
  CHECK(m.version() == 0);
  // What others report about this node does not replace it.
  CHECK_FALSE(m.heard(node("b-self", 9999, "9090"), 20));
  CHECK(m.find("b-self")->epoch == 1000);
  CHECK(m.find("b-self")->http == "10.0.0.1:8080");
  CHECK(m.size() == 1);
  CHECK(m.version() == 0);
}

TEST_CASE("a lost member leaves at once", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("c", 2000), 100));
  REQUIRE(m.heard(node("d", 2000), 100));
  CHECK(m.lost("c", 200));
  CHECK(m.live() == ids{"b-self", "d"});
  CHECK(m.version() == 3);
  CHECK(m.find("c") == nullptr);
  CHECK_FALSE(m.lost("c", 300)); // already gone
  CHECK_FALSE(m.lost("unknown", 300));
  CHECK(m.version() == 3);
  CHECK(m.expire(100 + timeout + 1) == ids{"d"}); // c is not expired a second time
}

TEST_CASE("a lost member heard again with the same epoch rejoins (healed partition)", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("c", 2000), 100));
  REQUIRE(m.lost("c", 200));
  CHECK(m.heard(node("c", 2000), 300));
  CHECK(m.live() == ids{"b-self", "c"});
  CHECK(m.version() == 3);
  CHECK(m.last_heard("c") == 300);
  // The same after an expiry.
  REQUIRE(m.expire(300 + timeout + 1) == ids{"c"});
  CHECK(m.heard(node("c", 2000), 300 + timeout + 2));
  CHECK(m.live() == ids{"b-self", "c"});
  CHECK(m.version() == 5);
}

TEST_CASE("a member heard with an older epoch is ignored", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("c", 2000), 100));
  CHECK_FALSE(m.heard(node("c", 1500, "9090"), 200));
  CHECK(m.find("c")->epoch == 2000);
  CHECK(m.find("c")->http == "10.0.0.1:8080");
  CHECK(m.version() == 1);
  // Not even a refresh: a stale entry does not keep the member alive.
  CHECK(m.last_heard("c") == 100);
  CHECK(m.expire(100 + timeout + 1) == ids{"c"});
  // Nor does it bring back a member that left.
  CHECK_FALSE(m.heard(node("c", 1500), 100 + timeout + 2));
  CHECK(m.live() == ids{"b-self"});
  CHECK(m.find("c") == nullptr);
  CHECK(m.version() == 2);
}

TEST_CASE("a newer epoch (a restart) is a change of the view", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("c", 2000), 100));
  CHECK(m.heard(node("c", 5000), 200));
  CHECK(m.find("c")->epoch == 5000);
  CHECK(m.version() == 2);
  CHECK(m.live() == ids{"b-self", "c"});
  CHECK(m.last_heard("c") == 200);
  // The older run is now stale.
  CHECK_FALSE(m.heard(node("c", 2000), 300));
  CHECK(m.find("c")->epoch == 5000);
  // A restart after a loss rejoins too.
  REQUIRE(m.lost("c", 400));
  CHECK(m.heard(node("c", 6000), 500));
  CHECK(m.find("c")->epoch == 6000);
  CHECK(m.version() == 4);
}

TEST_CASE("new addresses or roles are a change of the view", "[membership]") {
  auto m = table();
  REQUIRE(m.heard(node("c", 2000), 100));
  CHECK(m.heard(node("c", 2000, "9090"), 200));
  CHECK(m.find("c")->http == "10.0.0.1:9090");
  CHECK(m.version() == 2);

  auto moved = node("c", 2000, "9090");
  moved.cluster = "10.0.0.2:4242";
  CHECK(m.heard(moved, 300));
  CHECK(m.find("c")->cluster == "10.0.0.2:4242");
  CHECK(m.version() == 3);

  auto more_roles = moved;
  more_roles.roles = {"drones", "missions"};
  CHECK(m.heard(more_roles, 400));
  CHECK(m.find("c")->roles == ids{"drones", "missions"});
  CHECK(m.version() == 4);

  CHECK_FALSE(m.heard(more_roles, 500));
  CHECK(m.version() == 4);
}

TEST_CASE("the version moves only with the live view", "[membership]") {
  auto m = table();
  std::uint64_t v = m.version();
  auto expect_change = [&](bool changed, bool expected) {
    CHECK(changed == expected);
    CHECK(m.version() == (expected ? v + 1 : v));
    v = m.version();
  };
  expect_change(m.heard(node("c", 2000), 0), true);       // join
  expect_change(m.heard(node("c", 2000), 1000), false);   // refresh
  expect_change(m.heard(node("c", 1000), 2000), false);   // stale
  expect_change(m.heard(node("b-self", 1), 2000), false); // about self
  expect_change(!m.expire(1000 + timeout).empty(), false); // exactly the timeout since the refresh
  expect_change(m.lost("b-self", 2000), false);
  expect_change(m.lost("nobody", 2000), false);
  expect_change(m.heard(node("c", 3000), 3000), true); // restart
  expect_change(m.lost("c", 3000), true);              // lost
  expect_change(m.lost("c", 3000), false);
  expect_change(m.heard(node("c", 3000), 4000), true); // back
  expect_change(!m.expire(4000 + timeout + 1).empty(), true);
  expect_change(!m.expire(4000 + timeout + 1).empty(), false);
}
