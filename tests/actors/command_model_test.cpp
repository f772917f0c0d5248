// The delivery of one command by its drone's owner (actors/command_model.hpp), time injected: every transition,
// the resends and their bound, expiry, timeouts, and what an ack can and cannot change. Parameter checks per kind.

#include <catch2/catch.hpp>

#include "actors/command_model.hpp"

using namespace dccs::actors;
using nlohmann::json;

namespace {

constexpr double t0 = 1'000'000;

command make(const std::string& kind = "takeoff", double ttl_ms = 30000) {
  command c;
  c.id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  c.drone_id = "d1";
  c.group = "default";
  c.kind = kind;
  c.params = R"({"alt":30})";
  c.created_at = t0;
  c.expires_at = t0 + ttl_ms;
  return c;
}

command_policy policy() {
  command_policy p;
  p.retry_ms = 1500;
  p.max_attempts = 3;
  p.progress_timeout_ms = 10000;
  return p;
}

} // namespace

TEST_CASE("a command is sent when its drone is connected, and tracked through accepted and in_progress to succeeded") {
  command_delivery d{make(), policy()};
  CHECK(d.next_due() == t0 + 30000); // queued: only its expiry is due
  auto s = d.connected(t0 + 10);
  CHECK(s.send);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::sent);
  CHECK(d.get().attempt == 1);
  CHECK(d.next_due() == t0 + 10 + 1500);
  s = d.ack(drone_result::accepted, -1, "", t0 + 20);
  CHECK_FALSE(s.send);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::accepted);
  s = d.ack(drone_result::in_progress, 40, "", t0 + 30);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::in_progress);
  CHECK(d.get().progress == 40);
  CHECK(d.ack(drone_result::in_progress, 40, "", t0 + 40).changed == false); // nothing new
  // ... but the same news after half the progress timeout is reported: the journal's sweep learns it is alive.
  CHECK(d.ack(drone_result::in_progress, 40, "", t0 + 30 + 5000).changed);
  CHECK(d.ack(drone_result::in_progress, 40, "", t0 + 30 + 5100).changed == false);
  CHECK(d.ack(drone_result::in_progress, 60, "", t0 + 50).changed);
  s = d.ack(drone_result::succeeded, -1, "", t0 + 60);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::succeeded);
  CHECK(is_final(d.get().state));
  CHECK(d.next_due() < 0);
  // Final is final.
  CHECK_FALSE(d.ack(drone_result::failed, -1, "late", t0 + 70).changed);
  CHECK_FALSE(d.cancel("too late", t0 + 80).changed);
  CHECK(d.get().state == command_state::succeeded);
}

TEST_CASE("an unanswered command is sent again after retry_ms, at most max_attempts times, then timed_out") {
  command_delivery d{make(), policy()};
  REQUIRE(d.connected(t0).send);
  CHECK_FALSE(d.due(t0 + 1499).send); // not yet
  auto s = d.due(t0 + 1500);
  CHECK(s.send);
  CHECK(d.get().attempt == 2);
  CHECK(d.get().state == command_state::sent);
  s = d.due(t0 + 3000);
  CHECK(s.send);
  CHECK(d.get().attempt == 3);
  s = d.due(t0 + 4500);
  CHECK_FALSE(s.send);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::timed_out);
  CHECK(d.get().attempt == 3);
}

TEST_CASE("a command past expires_at is never sent: expired") {
  command_delivery d{make("arm", 5000), policy()};
  auto s = d.due(t0 + 5000);
  CHECK_FALSE(s.send);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::expired);
  CHECK(d.get().attempt == 0);
  command_delivery late{make("arm", 5000), policy()};
  s = late.connected(t0 + 6000); // the drone connects after the command expired
  CHECK_FALSE(s.send);
  CHECK(late.get().state == command_state::expired);
}

TEST_CASE("a sent command is not sent again past expires_at: timed_out instead") {
  command_delivery d{make("arm", 2000), policy()};
  REQUIRE(d.connected(t0).send);
  auto s = d.due(t0 + 2100);
  CHECK_FALSE(s.send);
  CHECK(d.get().state == command_state::timed_out);
}

TEST_CASE("while the drone is disconnected nothing is resent, and at its reconnect an unanswered command goes again") {
  command_delivery d{make(), policy()};
  REQUIRE(d.connected(t0).send);
  d.disconnected();
  CHECK(d.next_due() < 0);
  CHECK_FALSE(d.due(t0 + 5000).send);
  CHECK(d.get().state == command_state::sent);
  auto s = d.connected(t0 + 6000);
  CHECK(s.send);
  CHECK(d.get().attempt == 2);
}

TEST_CASE("an accepted command times out without news for progress_timeout_ms, and each ack renews it") {
  command_delivery d{make(), policy()};
  d.connected(t0);
  d.ack(drone_result::accepted, -1, "", t0 + 100);
  d.disconnected(); // (connected, a quiet drone is asked again: next case)
  CHECK(d.next_due() == t0 + 100 + 10000);
  d.ack(drone_result::in_progress, 10, "", t0 + 9000);
  CHECK_FALSE(d.due(t0 + 10200).changed); // renewed at 9000
  auto s = d.due(t0 + 19000);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::timed_out);
}

TEST_CASE("an accepted command the drone is quiet about is sent again after retry_ms, so a lost final ack is recovered") {
  command_delivery d{make(), policy()};
  d.connected(t0);
  d.ack(drone_result::accepted, -1, "", t0 + 100);
  CHECK(d.next_due() == t0 + 100 + 1500);
  CHECK_FALSE(d.due(t0 + 1000).send);
  auto s = d.due(t0 + 1600);
  CHECK(s.send);
  CHECK_FALSE(s.changed); // a question, not a change of state
  CHECK(d.get().attempt == 2);
  CHECK(d.get().state == command_state::accepted);
  CHECK_FALSE(d.due(t0 + 2000).send); // not again before retry_ms
  CHECK(d.due(t0 + 3100).send);
  // The drone answers with its newest ack: the final one that was lost.
  CHECK(d.ack(drone_result::succeeded, -1, "", t0 + 3150).changed);
  CHECK(d.get().state == command_state::succeeded);
  // A drone that reports progress is never asked.
  command_delivery p{make(), policy()};
  p.connected(t0);
  for (int i = 1; i <= 20; ++i) {
    p.ack(drone_result::in_progress, i, "", t0 + i * 1000);
    CHECK_FALSE(p.due(t0 + i * 1000 + 999).send);
  }
  CHECK(p.get().attempt == 1);
}

TEST_CASE("the drone's refusals and failures end a command with its reason") {
  struct row {
    drone_result r;
    command_state s;
  };
  for (auto [r, s] : {row{drone_result::failed, command_state::failed},
                      row{drone_result::temporarily_rejected, command_state::rejected},
                      row{drone_result::denied, command_state::rejected},
                      row{drone_result::unsupported, command_state::rejected},
                      row{drone_result::cancelled, command_state::cancelled}}) {
    INFO(to_string(r));
    command_delivery d{make(), policy()};
    d.connected(t0);
    auto step = d.ack(r, -1, "battery below 20 %", t0 + 5);
    CHECK(step.changed);
    CHECK(d.get().state == s);
    CHECK(d.get().reason == "battery below 20 %");
  }
  command_delivery d{make(), policy()};
  d.connected(t0);
  d.ack(drone_result::unsupported, -1, "", t0 + 5);
  CHECK_FALSE(d.get().reason.empty()); // a reason even when the drone gave none
}

TEST_CASE("an ack for a command this owner never sent changes nothing, and a repeated accept is no change") {
  command_delivery d{make(), policy()};
  CHECK_FALSE(d.ack(drone_result::succeeded, -1, "", t0).changed);
  CHECK(d.get().state == command_state::queued);
  d.connected(t0);
  CHECK(d.ack(drone_result::accepted, -1, "", t0 + 1).changed);
  CHECK_FALSE(d.ack(drone_result::accepted, -1, "", t0 + 2).changed);
}

TEST_CASE("a cancel ends a command that is not final, and the journal's final word stands") {
  command_delivery d{make(), policy()};
  d.connected(t0);
  CHECK(d.was_sent());
  auto s = d.cancel("cancelled by alice", t0 + 10);
  CHECK(s.changed);
  CHECK(d.get().state == command_state::cancelled);
  command_delivery e{make(), policy()};
  e.finished(command_state::timed_out, "swept");
  CHECK(e.get().state == command_state::timed_out);
  CHECK(e.next_due() < 0);
}

TEST_CASE("command parameters are checked per kind, naming the parameter") {
  CHECK_FALSE(check_command_params("arm", json::object()));
  CHECK_FALSE(check_command_params("takeoff", json{{"alt", 30}}));
  CHECK(check_command_params("takeoff", json::object())->first == "params.alt");
  CHECK(check_command_params("takeoff", json{{"alt", 0}})->first == "params.alt");
  CHECK(check_command_params("takeoff", json{{"alt", "30"}})->first == "params.alt");
  CHECK(check_command_params("arm", json{{"force", true}})->first == "params.force");
  CHECK_FALSE(check_command_params("goto", json{{"lat", 47.4}, {"lon", 8.5}, {"alt", 450}}));
  CHECK_FALSE(check_command_params("goto", json{{"lat", 47.4}, {"lon", 8.5}, {"alt", 450}, {"speed", 12}}));
  CHECK(check_command_params("goto", json{{"lat", 91}, {"lon", 8.5}, {"alt", 450}})->first == "params.lat");
  CHECK(check_command_params("goto", json{{"lat", 47}, {"lon", 8.5}})->first == "params.alt");
  CHECK(check_command_params("set_speed", json{{"speed", 0}})->first == "params.speed");
  CHECK_FALSE(check_command_params("set_mode", json{{"mode", "LOITER"}}));
  CHECK(check_command_params("set_mode", json{{"mode", ""}})->first == "params.mode");
  CHECK(check_command_params("land", json::array())->first == "params");
  CHECK(valid_command_kind("rtl"));
  CHECK_FALSE(valid_command_kind("selfdestruct"));
  CHECK(valid_command_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
  CHECK_FALSE(valid_command_id("0f8fad5b-d9cb-469f-a165-70867728950"));
  CHECK_FALSE(valid_command_id("0f8fad5b_d9cb-469f-a165-70867728950e"));
  CHECK(is_safety("land"));
  CHECK(is_movement("goto"));
  CHECK_FALSE(is_movement("arm"));
}

TEST_CASE("the command frame carries id, kind, params, attempt and expiry") {
  command_delivery d{make(), policy()};
  d.connected(t0);
  auto f = json::parse(command_frame(d.get()));
  CHECK(f["type"] == "command");
  CHECK(f["command_id"] == "0f8fad5b-d9cb-469f-a165-70867728950e");
  CHECK(f["kind"] == "takeoff");
  CHECK(f["params"]["alt"] == 30);
  CHECK(f["attempt"] == 1);
  CHECK(f["expires_at"] == t0 + 30000);
  auto c = json::parse(command_cancel_frame("x"));
  CHECK(c["type"] == "command_cancel");
}
