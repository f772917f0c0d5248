#include <catch2/catch.hpp>

#include "runtime/rate_limiter.hpp"

using dccs::runtime::rate_limiter;

TEST_CASE("rate limiter allows the burst, then the sustained rate") {
  rate_limiter lim{10, 5}; // 10/s, burst 5
  for (int i = 0; i < 5; ++i)
    CHECK(lim.allow(1000));
  CHECK_FALSE(lim.allow(1000));
  CHECK_FALSE(lim.allow(1050)); // half a token
  CHECK(lim.allow(1100));       // one token after 100 ms
  CHECK_FALSE(lim.allow(1100));
  // A long silence refills to the burst, no further.
  for (int i = 0; i < 5; ++i)
    CHECK(lim.allow(60000));
  CHECK_FALSE(lim.allow(60000));
}

TEST_CASE("a steady sender at the limit is never refused") {
  rate_limiter lim{100, 200};
  for (int i = 0; i < 10000; ++i)
    REQUIRE(lim.allow(i * 10)); // exactly 100/s for 100 s
}
