// Drone actor and supervisor tests on CAF's deterministic test coordinator.

#include <catch2/catch.hpp>

#include <mutex>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/actors.hpp"
#include "tests/support/deterministic.hpp"
#include "runtime/log.hpp"

using namespace dccs::actors;

namespace {

/// Records what the drone actor does to its connection (stands in for the bridge's socket session).
class recording_link : public drone_link {
public:
  explicit recording_link(std::uint64_t id) : id_(id) {
  }
  void attached(caf::actor drone, bool first) override {
    std::lock_guard<std::mutex> g{mtx};
    actor = std::move(drone);
    attach_calls.push_back(first);
  }
  void close(std::uint16_t code, std::string reason) override {
    std::lock_guard<std::mutex> g{mtx};
    close_codes.push_back(code);
  }
  std::uint64_t id() const override { return id_; }

  std::mutex mtx;
  caf::actor actor;
  std::vector<bool> attach_calls;
  std::vector<std::uint16_t> close_codes;

private:
  std::uint64_t id_;
};

struct fixture : dccs::test::deterministic_system {
  fixture() {
    settings.max_restarts = 2;
    settings.restart_window_ms = 60000;
    metrics.drone_restarts = &restarts;
    metrics.drone_escalations = &escalations;
    hub = sys.spawn(hub_actor, board, 5);
    dir = sys.spawn(directory_actor, board, settings, metrics);
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    sched.run();
  }

  std::shared_ptr<recording_link> connect(const std::string& id, std::uint64_t link_id) {
    auto link = std::make_shared<recording_link>(link_id);
    self->send(dir, connect_atom::value, drone_info{id, "quad-x", "2.1", "default"}, drone_link_ptr{link});
    sched.run();
    return link;
  }

  void send_telemetry(const caf::actor& drone, std::uint64_t seq, double lat, std::uint64_t link_id) {
    telemetry t;
    t.seq = seq;
    t.lat = lat;
    t.lon = 8.5;
    t.mode = "MISSION";
    self->send(drone, telemetry_atom::value, t, 1000.0 + static_cast<double>(seq), link_id);
    sched.run();
  }

  /// The drone's actor as the directory knows it, or an invalid handle.
  caf::actor lookup(const std::string& id) {
    caf::actor result;
    self->send(dir, get_atom::value, id);
    sched.run();
    self->receive([&](caf::actor& a) { result = a; }, [&](caf::error&) {});
    return result;
  }

  drone_state state_of(const caf::actor& drone) {
    drone_state result;
    self->send(drone, get_atom::value);
    sched.run();
    self->receive([&](drone_state& st) { result = st; });
    return result;
  }

  void crash(const caf::actor& drone) {
    self->send(drone, fault_atom::value);
    sched.run();
  }

  drone_settings settings;
  dccs::runtime::counter restarts;
  dccs::runtime::counter escalations;
  actor_metrics metrics;
  board_ptr board = std::make_shared<dccs::actors::board>(100);
  caf::actor hub;
  caf::actor dir;
};

} // namespace

TEST_CASE_METHOD(fixture, "a hello spawns one actor per drone id and attaches the connection") {
  auto link = connect("d1", 1);
  REQUIRE(link->actor != nullptr);
  CHECK(link->attach_calls == std::vector<bool>{true});
  CHECK(lookup("d1") == link->actor);
  CHECK(lookup("nope") == nullptr);
  send_telemetry(link->actor, 5, 47.25, 1);
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
  send_telemetry(first, 42, 47.5, 1);
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
  send_telemetry(second, 43, 47.6, 1);
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
  send_telemetry(b->actor, 10, 47.1, 2);
  send_telemetry(b->actor, 99, 10.0, 1); // late frame from the replaced connection: ignored
  auto st = state_of(b->actor);
  CHECK(st.last.seq == 10);
  // Closing the replaced connection does not mark the drone disconnected.
  self->send(b->actor, detach_atom::value, std::uint64_t{1});
  sched.run();
  CHECK(state_of(b->actor).connected);
  self->send(b->actor, detach_atom::value, std::uint64_t{2});
  sched.run();
  CHECK_FALSE(state_of(b->actor).connected);
}
