// The connection cap and its reserve, and the accept loop's throttled log (bridges/connection_gate.hpp).

#include <catch2/catch.hpp>

#include "bridges/connection_gate.hpp"
#include "runtime/metrics.hpp"

using namespace dccs::bridges;

TEST_CASE("connections are regular up to the cap, then in the reserve, then refused") {
  dccs::runtime::metrics m;
  auto& open = m.make_gauge("open", "open");
  connection_gate gate{2, 1, &open};
  using tier = connection_gate::tier;
  {
    CHECK(gate.admit() == tier::regular);
    connection_slot a{&gate};
    CHECK(gate.admit() == tier::regular);
    connection_slot b{&gate};
    CHECK(gate.admit() == tier::reserve);
    connection_slot c{&gate};
    CHECK(gate.admit() == tier::full); // not counted
    CHECK(gate.open() == 3);
    CHECK(open.value() == 3);
    gate.admit_anyway(); // in the place of an evicted one
    connection_slot d{&gate};
    CHECK(gate.open() == 4);
    connection_slot moved{std::move(d)}; // a connection that became a WebSocket keeps its place
    CHECK(gate.open() == 4);
  }
  CHECK(gate.open() == 0);
  CHECK(open.value() == 0);
  CHECK(gate.admit() == tier::regular);
  gate.release();
  connection_gate no_reserve{1, 0};
  CHECK(no_reserve.admit() == tier::regular);
  CHECK(no_reserve.admit() == tier::full);
}

TEST_CASE("the automatic cap leaves descriptors for everything else and for the reserve") {
  CHECK(reserved_descriptors(1024) == 102);
  CHECK(reserved_descriptors(256) == 64);
  CHECK(automatic_max_connections(1024, 32) == 1024 - 102 - 32);
  CHECK(automatic_max_connections(256, 32) == 256 - 64 - 32);
  CHECK(automatic_max_connections(1048576, 32) == 1048576 - 104857 - 32);
  CHECK(automatic_max_connections(64, 32) == 1);
  CHECK(descriptor_limit() > 0);
}

TEST_CASE("a burst of failures is logged once per interval, with how many there were") {
  log_throttle t{10000};
  CHECK(t.hit(1000) == 1); // the first is logged at once
  for (int i = 0; i < 999; ++i)
    CHECK(t.hit(1000 + i) == 0);
  CHECK(t.hit(10999) == 0);
  CHECK(t.hit(11000) == 1001); // the 1000 held back and this one
  CHECK(t.hit(11001) == 0);
  CHECK(t.hit(30000) == 2);
}
