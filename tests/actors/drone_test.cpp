// Drone actor and supervisor tests on CAF's deterministic test coordinator.

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/actors.hpp"
#include "tests/support/deterministic.hpp"
#include "runtime/log.hpp"
#include "runtime/placement.hpp"

using namespace dccs::actors;

namespace {

/// What the drone actor did to a connection, as its link actor saw it.
struct link_record {
  drone_actor actor;                      ///< the drone actor serving it (the last `attached`)
  std::vector<bool> attach_calls;         ///< `first` of every `attached`
  std::vector<std::uint16_t> close_codes; ///< every `hangup`
  int reroutes = 0;                       ///< every `reroute` (the drone's owner moved)
  std::vector<std::string> frames;        ///< every `deliver` (command frames)
};

/// Stands in for the bridge's link actor of one drone socket.
drone_link_actor::behavior_type recording_link(drone_link_actor::pointer self, std::shared_ptr<link_record> rec) {
  return {
    [self, rec](attached_atom, bool first) {
      rec->actor = caf::actor_cast<drone_actor>(self->current_sender());
      rec->attach_calls.push_back(first);
    },
    [rec](hangup_atom, std::uint16_t code, const std::string&) { rec->close_codes.push_back(code); },
    [self](detach_atom) { self->quit(); },
    [rec](reroute_atom) { ++rec->reroutes; },
    [rec](deliver_atom, const std::string& frame) { rec->frames.push_back(frame); },
  };
}

/// One test connection: its link actor, its id and what it saw.
struct test_link {
  drone_link_actor handle;
  link_id id;
  std::shared_ptr<link_record> rec = std::make_shared<link_record>();
  link_record* operator->() const { return rec.get(); }
};

struct fixture : dccs::test::deterministic_system {
  fixture() {
    settings.max_restarts = 2;
    settings.restart_window_ms = 60000;
    settings.publish_interval_ms = 0; // every change goes to the hub at once (coalescing: its own test)
    metrics.drone_restarts = &restarts;
    metrics.drone_escalations = &escalations;
    start();
  }

  void start() {
    hub = sys.spawn(hub_impl, std::int64_t{100}, 5, std::int64_t{0}, 20, actor_metrics{});
    dir = sys.spawn(directory_impl, hub, settings, metrics);
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    sched.run();
  }

  test_link connect(const std::string& id, std::uint64_t n) {
    test_link link;
    link.handle = sys.spawn(recording_link, link.rec);
    link.id = link_id{sys.node(), n};
    self->send(dir, connect_atom::value, drone_info{id, "quad-x", "2.1", "default", {}, false}, link.handle, link.id);
    sched.run();
    return link;
  }

  /// The socket closed: its link actor stops.
  void close(const test_link& link) {
    self->send(link.handle, detach_atom::value);
    sched.run();
  }

  void send_telemetry(const drone_actor& drone, std::uint64_t seq, double lat, const test_link& link) {
    telemetry t;
    t.seq = seq;
    t.lat = lat;
    t.lon = 8.5;
    t.mode = "MISSION";
    self->send(drone, telemetry_atom::value, t, 1000.0 + static_cast<double>(seq), link.id);
    sched.run();
  }

  /// The drone's actor as the directory knows it, or an invalid handle.
  drone_actor lookup(const std::string& id) {
    drone_actor result;
    self->send(dir, get_atom::value, id);
    sched.run();
    self->receive([&](drone_actor& a) { result = a; }, [&](caf::error&) {});
    return result;
  }

  drone_state state_of(const drone_actor& drone) {
    drone_state result;
    self->send(drone, get_atom::value);
    sched.run();
    self->receive([&](drone_state& st) { result = st; });
    return result;
  }

  /// The drone as the hub (what operators and REST see) has it; id empty when the hub does not know it.
  drone_state at_hub(const std::string& id) {
    drone_state result;
    self->send(hub, get_atom::value, id);
    sched.run();
    self->receive([&](drone_state& st) { result = st; }, [&](caf::error&) {});
    return result;
  }

  void crash(const drone_actor& drone) {
    self->send(drone, fault_atom::value);
    sched.run();
  }

  drone_settings settings;
  dccs::runtime::counter restarts;
  dccs::runtime::counter escalations;
  actor_metrics metrics;
  hub_actor hub;
  directory_actor dir;
};

} // namespace

TEST_CASE_METHOD(fixture, "a hello spawns one actor per drone id and attaches the connection") {
  auto link = connect("d1", 1);
  REQUIRE(link->actor != nullptr);
  CHECK(link->attach_calls == std::vector<bool>{true});
  CHECK(lookup("d1") == link->actor);
  CHECK(lookup("nope") == nullptr);
  send_telemetry(link->actor, 5, 47.25, link);
  auto st = state_of(link->actor);
  CHECK(st.info.id == "d1");
  CHECK(st.info.model == "quad-x");
  CHECK(st.connected);
  CHECK(st.has_telemetry);
  CHECK(st.last.seq == 5);
  CHECK(st.last.lat == 47.25);
  CHECK(st.status == link_status::online);
}

TEST_CASE_METHOD(fixture, "a crashed drone actor comes back with its last state and its connection") {
  auto link = connect("d1", 1);
  auto first = link->actor;
  send_telemetry(first, 42, 47.5, link);
  crash(first);
  CHECK(restarts.value() == 1);
  auto second = lookup("d1");
  REQUIRE(second != nullptr);
  CHECK(second != first);
  // The connection now talks to the new incarnation.
  CHECK(link->attach_calls == std::vector<bool>{true, false});
  CHECK(link->actor == second);
  auto st = state_of(second);
  CHECK(st.last.seq == 42);
  CHECK(st.last.lat == 47.5);
  CHECK(st.info.model == "quad-x");
  CHECK(st.connected);
  // And it keeps serving the same connection.
  send_telemetry(second, 43, 47.6, link);
  CHECK(state_of(second).last.seq == 43);
  CHECK(link->close_codes.empty());
}

TEST_CASE_METHOD(fixture, "a crash loop is escalated, never restarted without bound") {
  auto link = connect("d1", 1);
  crash(link->actor); // restart 1
  crash(lookup("d1")); // restart 2
  CHECK(restarts.value() == 2);
  crash(lookup("d1")); // over the limit
  CHECK(restarts.value() == 2);
  CHECK(escalations.value() == 1);
  CHECK(lookup("d1") == nullptr);
  CHECK(link->close_codes == std::vector<std::uint16_t>{1011});
  // Nothing serves it now: operators see it offline and lost, not connected forever.
  auto seen = at_hub("d1");
  CHECK(seen.info.id == "d1");
  CHECK_FALSE(seen.connected);
  CHECK(seen.status == link_status::lost);
  // The drone reconnecting starts its actor afresh, with the state it had.
  auto again = connect("d1", 2);
  REQUIRE(again->actor != nullptr);
  CHECK(state_of(again->actor).info.id == "d1");
}

TEST_CASE_METHOD(fixture, "a second connection with the same id replaces the first") {
  auto a = connect("d1", 1);
  auto b = connect("d1", 2);
  CHECK(a->close_codes == std::vector<std::uint16_t>{4000});
  CHECK(b->close_codes.empty());
  CHECK(a->actor == b->actor);
  send_telemetry(b->actor, 10, 47.1, b);
  send_telemetry(b->actor, 99, 10.0, a); // late frame from the replaced connection: ignored
  auto st = state_of(b->actor);
  CHECK(st.last.seq == 10);
  // Closing the replaced connection does not mark the drone disconnected.
  close(a);
  CHECK(state_of(b->actor).connected);
  close(b);
  CHECK_FALSE(state_of(b->actor).connected);
  CHECK_FALSE(at_hub("d1").connected);
}

TEST_CASE_METHOD(fixture, "a drone actor publishes to the hub coalesced: at most once per interval, the newest state") {
  // A fresh directory whose drones publish at most once a minute: what changes sooner waits for the timer.
  caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
  sched.run();
  settings.publish_interval_ms = 60000;
  start();
  auto link = connect("d1", 1);
  CHECK(at_hub("d1").connected); // a connection change goes at once
  send_telemetry(link->actor, 1, 47.1, link);
  send_telemetry(link->actor, 2, 47.2, link);
  send_telemetry(link->actor, 3, 47.3, link);
  CHECK(state_of(link->actor).last.seq == 3);
  CHECK_FALSE(at_hub("d1").has_telemetry); // held back: one publication per interval
  sched.trigger_timeouts();
  sched.run();
  auto published = at_hub("d1");
  CHECK(published.has_telemetry);
  CHECK(published.last.seq == 3); // the newest only
  // The connection's end goes at once too.
  close(link);
  CHECK_FALSE(at_hub("d1").connected);
}

TEST_CASE_METHOD(fixture, "a drone actor serves only through its link actor and learns of the socket's end by monitoring it") {
  auto link = connect("d1", 1);
  REQUIRE(link->actor != nullptr);
  send_telemetry(link->actor, 1, 47.0, link);
  // A frame that names another connection of this node is not this connection's.
  test_link stranger;
  stranger.id = link_id{sys.node(), 77};
  send_telemetry(link->actor, 2, 10.0, stranger);
  CHECK(state_of(link->actor).last.seq == 1);
  close(link);
  auto st = state_of(link->actor);
  CHECK_FALSE(st.connected);
  // A kick reaches nobody now, and a new connection is served again.
  self->send(dir, kick_atom::value, std::string{"d1"}, std::uint16_t{4001}, std::string{"credential changed"});
  sched.run();
  CHECK(link->close_codes.empty());
  auto again = connect("d1", 2);
  CHECK(again->actor == link->actor);
  CHECK(again->attach_calls == std::vector<bool>{true});
  self->send(dir, kick_atom::value, std::string{"d1"}, std::uint16_t{4001}, std::string{"credential changed"});
  sched.run();
  CHECK(again->close_codes == std::vector<std::uint16_t>{4001});
}

namespace {

/// A drone id that placement gives to `node` among the nodes "a" and "b".
std::string owned_by(const std::string& node) {
  for (int i = 0;; ++i) {
    auto id = "drone-" + std::to_string(i);
    if (dccs::runtime::owner_of("drone", id, {"a", "b"}) == node)
      return id;
  }
}

} // namespace

TEST_CASE_METHOD(fixture, "in a cluster a connection is served by the drone's owner, and a member that joins takes "
                          "its drones by handoff: the link reroutes, the old actor stops, the hubs share the state") {
  // A second member "b" in the same actor system: its directory and hub are reached only by messages.
  auto hub_b = sys.spawn(hub_impl, std::int64_t{100}, 5, std::int64_t{0}, 20, actor_metrics{});
  auto dir_b = sys.spawn(directory_impl, hub_b, settings, metrics);
  sched.run();
  auto mine = owned_by("a");
  auto theirs = owned_by("b");

  // Before "b" joins, node "a" serves every drone.
  auto moving = connect(theirs, 1);
  auto staying = connect(mine, 2);
  REQUIRE(moving->actor != nullptr);
  auto old_actor = moving->actor;
  CHECK(lookup(theirs) == old_actor);

  // "b" joins: both sides learn the view.
  cluster_view va{1, "a", {cluster_peer{"b", dir_b, hub_b, {}, {}, {}}}};
  cluster_view vb{1, "b", {cluster_peer{"a", dir, hub, {}, {}, {}}}};
  self->send(dir, view_atom::value, va);
  self->send(hub, view_atom::value, va);
  self->send(dir_b, view_atom::value, vb);
  self->send(hub_b, view_atom::value, vb);
  sched.run();
  // The drone "b" owns is handed off: its link is told to reroute and the actor on "a" stops; the other stays.
  CHECK(moving->reroutes == 1);
  CHECK(staying->reroutes == 0);
  CHECK(lookup(mine) == staying->actor);

  // The socket connects again through its node's directory ("a"), which sends it to "b": b's actor serves it.
  self->send(dir, connect_atom::value, drone_info{theirs, "quad-x", "2.1", "default", {}, false}, moving.handle, moving.id);
  sched.run();
  REQUIRE(moving->actor != nullptr);
  CHECK(moving->actor != old_actor);
  CHECK(moving->attach_calls.size() == 2);
  drone_actor at_b;
  self->send(dir_b, route_atom::value, theirs);
  sched.run();
  self->receive([&](drone_actor& a) { at_b = a; }, [](caf::error&) {});
  CHECK(at_b == moving->actor);
  CHECK(lookup(theirs) == moving->actor); // "a" finds it at its owner

  // Telemetry to the owner's actor reaches the owner's hub, and "a"'s hub through the replica stream.
  send_telemetry(moving->actor, 7, 46.5, moving);
  sched.trigger_timeouts(); // the sync timer
  sched.run();
  drone_state seen_at_a = at_hub(theirs);
  CHECK(seen_at_a.has_telemetry);
  CHECK(seen_at_a.last.seq == 7);
  CHECK(seen_at_a.connected);

  // "b" is lost: "a"'s hub shows b's drones lost (not connected) until a new owner publishes them.
  cluster_view alone{2, "a", {}};
  self->send(hub, view_atom::value, alone);
  self->send(dir, view_atom::value, alone);
  sched.run();
  auto after = at_hub(theirs);
  CHECK_FALSE(after.connected);
  CHECK(after.status == link_status::lost);
  caf::anon_send_exit(dir_b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(hub_b, caf::exit_reason::user_shutdown);
  sched.run();
}
