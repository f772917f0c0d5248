// The command journal's SQL (actors/command_store.hpp) against a real PostgreSQL: a scratch database per test,
// migrated by the store's own connection. Fencing of the owners' reports by their ownership epoch.

#include <catch2/catch.hpp>

#include <string>

#include "actors/command_store.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs;
using namespace dccs::actors;

namespace {

struct journal_fixture {
  test::scratch_database db;
  runtime::pg_link link{runtime::pg_settings{"commands", db.url()}};
  command_store store{link, command_policy{}};

  command issue(const std::string& kind = "takeoff") {
    command_request r;
    r.drone_id = "d-1";
    r.group = "default";
    r.kind = kind;
    r.params = R"({"alt":20})";
    r.issued_by = "alice";
    auto out = store.issue(r);
    REQUIRE(out.outcome == command_store::issued::created);
    return out.cmd;
  }
};

command step(command c, command_state s, std::uint64_t epoch, std::uint32_t attempt = 1) {
  c.state = s;
  c.epoch = epoch;
  c.attempt = attempt;
  return c;
}

} // namespace

TEST_CASE("command journal: a report of a former owner (an older epoch) changes nothing once a newer one reported") {
  journal_fixture f;
  auto c = f.issue();
  // The first owner (epoch 3) sends it.
  auto sent = f.store.record(step(c, command_state::sent, 3), "sent to the drone");
  REQUIRE(sent);
  CHECK(sent->state == command_state::sent);
  // The drone moved: the new owner (epoch 5) sends it again and the drone accepts it there.
  REQUIRE(f.store.record(step(c, command_state::sent, 5, 2), "sent again")->state == command_state::sent);
  REQUIRE(f.store.record(step(c, command_state::accepted, 5, 2), "the drone answered accepted")->state
          == command_state::accepted);
  // The former owner, cut off and not hearing the drone, times it out: fenced, the journal's row stands.
  auto stale = f.store.record(step(c, command_state::timed_out, 3, 3), "ended: no answer in time");
  REQUIRE(stale);
  CHECK(stale->state == command_state::accepted);
  CHECK(f.store.find(c.id)->state == command_state::accepted);
  // A new owner whose claim is not recorded yet reports with epoch 0: taken (it is not a former owner).
  CHECK(f.store.record(step(c, command_state::in_progress, 0, 2), "the drone answered in_progress")->state
        == command_state::in_progress);
  // The former owner is still fenced: the journal remembers the highest epoch.
  CHECK(f.store.record(step(c, command_state::failed, 3, 3), "stale")->state == command_state::in_progress);
  // The current owner's reports still count, and so would a newer owner's.
  CHECK(f.store.record(step(c, command_state::succeeded, 5, 2), "the drone answered succeeded")->state
        == command_state::succeeded);
}

TEST_CASE("command journal: on a single node (epoch 0 throughout) every report counts") {
  journal_fixture f;
  auto c = f.issue("land");
  CHECK(f.store.record(step(c, command_state::sent, 0), "sent")->state == command_state::sent);
  CHECK(f.store.record(step(c, command_state::succeeded, 0), "done")->state == command_state::succeeded);
}
