#include <catch2/catch.hpp>

#include "actors/link_watchdog.hpp"

using namespace dccs::actors;

TEST_CASE("link status goes online, stale, lost with silence and back with a frame") {
  link_watchdog wd{3000, 10000};
  CHECK(wd.status(0) == link_status::lost); // never heard from
  wd.on_frame(1000);
  CHECK(wd.status(1000) == link_status::online);
  CHECK(wd.status(3999) == link_status::online);
  CHECK(wd.next_change(3999) == 4000);
  CHECK(wd.status(4000) == link_status::stale);
  CHECK(wd.next_change(4000) == 11000);
  CHECK(wd.status(10999) == link_status::stale);
  CHECK(wd.status(11000) == link_status::lost);
  CHECK(wd.next_change(11000) == -1);
  wd.on_frame(20000);
  CHECK(wd.status(20000) == link_status::online);
  CHECK(wd.next_change(20000) == 23000);
}
