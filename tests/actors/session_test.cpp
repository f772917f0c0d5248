// The operator session's bounded outbound queue, on CAF's deterministic test coordinator.

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <nlohmann/json.hpp>

#include "actors/actors.hpp"
#include "tests/support/deterministic.hpp"
#include "actors/drone_json.hpp"

using namespace dccs::actors;
namespace auth = dccs::auth;
using nlohmann::json;

namespace {

/// What the operator's socket was handed.
struct recording_operator {
  std::vector<json> frames;
};

/// Stands in for the bridge's link actor of the operator's socket: keeps every frame the session delivers.
operator_link_actor::behavior_type recording_link(operator_link_actor::pointer self,
                                                  std::shared_ptr<recording_operator> rec) {
  return {
    [rec](deliver_atom, const std::string& frame) { rec->frames.push_back(json::parse(frame)); },
    [](hangup_atom, std::uint16_t, const std::string&) {},
    [self](detach_atom) { self->quit(); },
  };
}

fragment_batch batch_of(std::vector<std::pair<std::string, std::uint64_t>> drones) {
  auto out = std::make_shared<std::vector<fragment>>();
  for (auto& [id, seq] : drones) {
    drone_state st;
    st.info.id = id;
    st.has_telemetry = true;
    st.last.seq = seq;
    st.last.mode = "M";
    fragment f{id, {}, {}};
    append_drone_json(f.json, st);
    out->push_back(std::move(f));
  }
  return out;
}

fragment_batch event_batch(const std::string& id, link_status s) {
  auto out = std::make_shared<std::vector<fragment>>();
  fragment f{id, {}, {}};
  append_event_json(f.json, status_event{id, s, link_status::online, 1.0});
  out->push_back(std::move(f));
  return out;
}

struct fixture : dccs::test::deterministic_system {
  fixture() {
    metrics.operator_updates_dropped = &updates_dropped;
    metrics.operator_events_dropped = &events_dropped;
    metrics.operator_notices_dropped = &notices_dropped;
    hub = sys.spawn(hub_impl, std::int64_t{100}, 5, std::int64_t{0}, 20, actor_metrics{});
    session = sys.spawn(session_impl, sys.spawn(recording_link, link), hub, std::size_t{3}, metrics);
    self->send(session, subscribe_atom::value, subscription{true, {}, auth::scope{true, {}}});
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void to_session(caf::message msg) {
    self->send(caf::actor_cast<caf::actor>(session), std::move(msg));
    sched.run();
  }

  std::shared_ptr<recording_operator> link = std::make_shared<recording_operator>();
  dccs::runtime::counter updates_dropped;
  dccs::runtime::counter events_dropped;
  dccs::runtime::counter notices_dropped;
  actor_metrics metrics;
  hub_actor hub;
  session_actor session;
};

} // namespace

TEST_CASE_METHOD(fixture, "a slow operator gets only the newest state per drone, one frame at a time") {
  REQUIRE(link->frames.size() == 1);
  CHECK(link->frames[0]["type"] == "snapshot");
  // The socket has not written the snapshot yet: updates pile up.
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    to_session(caf::make_message(update_atom::value, batch_of({{"a", seq}})));
  to_session(caf::make_message(update_atom::value, batch_of({{"b", 1}})));
  CHECK(link->frames.size() == 1); // nothing more until the socket is ready
  to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 2);
  auto& update = link->frames[1];
  CHECK(update["type"] == "update");
  REQUIRE(update["drones"].size() == 2);
  for (auto& d : update["drones"])
    CHECK(d["seq"] == (d["id"] == "a" ? 5 : 1));
  CHECK(updates_dropped.value() == 4);
  // Once caught up, a batch goes out as it is.
  to_session(caf::make_message(ready_atom::value));
  to_session(caf::make_message(update_atom::value, batch_of({{"a", 6}})));
  REQUIRE(link->frames.size() == 3);
  CHECK(link->frames[2]["drones"][0]["seq"] == 6);
}

TEST_CASE_METHOD(fixture, "a large backlog goes out in update frames of at most 1,000 drones, the longest waiting first") {
  REQUIRE(link->frames.size() == 1); // the snapshot, not written yet: updates pile up
  std::vector<std::pair<std::string, std::uint64_t>> many;
  for (int i = 0; i < 2500; ++i)
    many.emplace_back("d" + std::to_string(i), 1);
  to_session(caf::make_message(update_atom::value, batch_of(many)));
  to_session(caf::make_message(update_atom::value, batch_of({{"d0", 2}}))); // newer, keeps its place
  to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 2);
  auto& first = link->frames[1]["drones"];
  REQUIRE(first.size() == 1000);
  for (std::size_t i = 0; i < first.size(); ++i)
    CHECK(first[i]["id"] == "d" + std::to_string(i));
  CHECK(first[0]["seq"] == 2);
  // d5 changes again after it went out: it waits behind the 1,500 still waiting.
  to_session(caf::make_message(update_atom::value, batch_of({{"d5", 3}})));
  to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 3);
  CHECK(link->frames[2]["drones"].size() == 1000);
  CHECK(link->frames[2]["drones"][0]["id"] == "d1000");
  to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 4);
  auto& last = link->frames[3]["drones"];
  REQUIRE(last.size() == 501);
  CHECK(last[499]["id"] == "d2499");
  CHECK(last[500]["id"] == "d5");
  CHECK(last[500]["seq"] == 3);
  to_session(caf::make_message(ready_atom::value));
  CHECK(link->frames.size() == 4); // nothing left
  // A batch larger than a frame from the hub is cut the same way.
  to_session(caf::make_message(update_atom::value, batch_of(many)));
  REQUIRE(link->frames.size() == 5);
  CHECK(link->frames[4]["drones"].size() == 1000);
}

TEST_CASE_METHOD(fixture, "a drone removed while its update waits in a backlog is not sent after its remove frame") {
  std::vector<std::pair<std::string, std::uint64_t>> many;
  for (int i = 0; i < 1500; ++i)
    many.emplace_back("d" + std::to_string(i), 1);
  to_session(caf::make_message(update_atom::value, batch_of(many))); // waits: the snapshot is not written yet
  auto gone = std::make_shared<std::vector<fragment>>();
  gone->push_back(fragment{"d1", {}, "\"d1\""});
  to_session(caf::make_message(removed_atom::value, fragment_batch{gone}));
  for (int i = 0; i < 4; ++i)
    to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 4);
  CHECK(link->frames[1]["type"] == "remove");
  auto& first = link->frames[2]["drones"];
  REQUIRE(first.size() == 1000);
  CHECK(first[0]["id"] == "d0");
  CHECK(first[1]["id"] == "d2"); // d1 left the line with its remove frame
  CHECK(first[999]["id"] == "d1000");
  CHECK(link->frames[3]["drones"].size() == 499);
  // d1 may be seen again later: a new update of it goes out as any other.
  to_session(caf::make_message(update_atom::value, batch_of({{"d1", 2}})));
  REQUIRE(link->frames.size() == 5);
  CHECK(link->frames[4]["drones"][0]["id"] == "d1");
}

TEST_CASE_METHOD(fixture, "a slow operator keeps at most max_events status events, the newest") {
  const char* ids[] = {"e1", "e2", "e3", "e4", "e5"};
  for (auto id : ids)
    to_session(caf::make_message(events_atom::value, event_batch(id, link_status::stale)));
  to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 2);
  auto& status = link->frames[1];
  CHECK(status["type"] == "status");
  REQUIRE(status["events"].size() == 3);
  CHECK(status["events"][0]["drone_id"] == "e3");
  CHECK(status["events"][2]["drone_id"] == "e5");
  CHECK(events_dropped.value() == 2);
}

TEST_CASE_METHOD(fixture, "error frames go out before queued updates") {
  to_session(caf::make_message(update_atom::value, batch_of({{"a", 1}})));
  to_session(caf::make_message(error_atom::value, std::string{"malformed"}, std::string{"bad"}));
  to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 2);
  CHECK(link->frames[1]["type"] == "error");
  to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 3);
  CHECK(link->frames[2]["type"] == "update");
}

TEST_CASE_METHOD(fixture, "subscriptions changed faster than the hub answers cost one snapshot: the newest") {
  for (auto id : {"a", "b", "c"}) {
    drone_state st;
    st.info.id = id;
    st.info.group = "default";
    self->send(hub, state_atom::value, st);
  }
  sched.run();
  to_session(caf::make_message(ready_atom::value)); // the first snapshot (empty: before the drones) is written
  REQUIRE(link->frames.size() == 1);
  // Three subscriptions before the hub answers any: the first goes, the next two wait and the newest wins.
  for (auto ids : {std::vector<std::string>{"a"}, std::vector<std::string>{"b"}, std::vector<std::string>{"c"}})
    self->send(session, subscribe_atom::value, subscription{false, ids, auth::scope{true, {}}});
  sched.run();
  REQUIRE(link->frames.size() == 2);
  auto& snap = link->frames[1];
  CHECK(snap["type"] == "snapshot");
  REQUIRE(snap["drones"].size() == 1);
  CHECK(snap["drones"][0]["id"] == "c");
  // Nothing else is on its way.
  to_session(caf::make_message(ready_atom::value));
  CHECK(link->frames.size() == 2);
}

TEST_CASE_METHOD(fixture, "a slow operator gets the newest state of every command and alarm, in the order they came") {
  auto notice = [](const std::string& key, const std::string& state) {
    return caf::make_message(notice_atom::value, key, json{{"type", "command"}, {"key", key}, {"state", state}}.dump());
  };
  // The snapshot is not written yet: a command's states pile up, with another command's and an alarm's between.
  to_session(notice("command:c1", "queued"));
  to_session(notice("alarm:a1", "active"));
  to_session(notice("command:c1", "sent"));
  to_session(notice("command:c2", "queued"));
  to_session(notice("command:c1", "succeeded"));
  to_session(caf::make_message(notice_atom::value, std::string{}, json{{"type", "authenticated"}}.dump()));
  to_session(caf::make_message(update_atom::value, batch_of({{"a", 1}})));
  for (int i = 0; i < 5; ++i)
    to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 6);
  CHECK(link->frames[1]["type"] == "authenticated"); // unkeyed control frames first, as errors
  CHECK(link->frames[2]["key"] == "command:c1");
  CHECK(link->frames[2]["state"] == "succeeded"); // in c1's place, its newest state
  CHECK(link->frames[3]["key"] == "alarm:a1");
  CHECK(link->frames[4]["key"] == "command:c2");
  CHECK(link->frames[5]["type"] == "update");
  CHECK(notices_dropped.value() == 2);
  // Caught up: each state goes out as it comes.
  to_session(caf::make_message(ready_atom::value));
  to_session(notice("command:c2", "sent"));
  REQUIRE(link->frames.size() == 7);
  CHECK(link->frames[6]["state"] == "sent");
}

TEST_CASE_METHOD(fixture, "news waiting about a drone goes out before its remove frame, never after it") {
  // The snapshot is not written yet: a command's news waits, then the operator may no longer see its drone.
  to_session(caf::make_message(notice_atom::value, std::string{"command:c1"},
                               json{{"type", "command"}, {"drone", "a"}}.dump()));
  auto gone = std::make_shared<std::vector<fragment>>();
  gone->push_back(fragment{"a", {}, "\"a\""});
  to_session(caf::make_message(removed_atom::value, fragment_batch{gone}));
  for (int i = 0; i < 3; ++i)
    to_session(caf::make_message(ready_atom::value));
  REQUIRE(link->frames.size() == 3);
  CHECK(link->frames[1]["type"] == "command");
  CHECK(link->frames[2]["type"] == "remove");
  CHECK(link->frames[2]["drones"] == json::array({"a"}));
}
