#include <catch2/catch.hpp>

#include "bridges/drone_frame.hpp"

using dccs::bridges::drone_frame;
using dccs::bridges::parse_drone_frame;

namespace {

const char* good_telemetry =
  R"({"type":"telemetry","seq":17,"ts":1764189000123.5,"lat":47.3977,"lon":8.5456,"alt":488.2,)"
  R"("heading":271.5,"speed":12.25,"vspeed":-0.5,"battery":76.5,"armed":true,"mode":"MISSION",)"
  R"("roll":1.5,"pitch":-2,"yaw":271,"voltage":15.2,"sats":14,"fix":3})";

drone_frame parse(std::string_view text) {
  drone_frame f;
  parse_drone_frame(text, f);
  return f;
}

} // namespace

TEST_CASE("a telemetry frame is parsed once into every field") {
  auto f = parse(good_telemetry);
  REQUIRE(f.kind == drone_frame::telemetry);
  CHECK(f.t.seq == 17);
  CHECK(f.t.ts == 1764189000123.5);
  CHECK(f.t.lat == 47.3977);
  CHECK(f.t.lon == 8.5456);
  CHECK(f.t.alt == 488.2);
  CHECK(f.t.heading == 271.5);
  CHECK(f.t.speed == 12.25);
  CHECK(f.t.vspeed == -0.5);
  CHECK(f.t.battery == 76.5);
  CHECK(f.t.armed);
  CHECK(f.t.mode == "MISSION");
  CHECK(f.t.roll == 1.5);
  CHECK(f.t.pitch == -2);
  CHECK(f.t.voltage == 15.2);
  CHECK(f.t.sats == 14);
  CHECK(f.t.fix == 3);
  CHECK(f.t.present == 63);
}

TEST_CASE("fields may come in any order, unknown fields are ignored, optional fields may be absent") {
  auto f = parse(R"({"mode":"RTL","armed":false,"battery":0,"vspeed":0,"speed":0,"heading":360,)"
                 R"("alt":-10,"lon":-180,"lat":-90,"ts":0,"seq":0,"extra":{"a":[1,2]},"type":"telemetry"})");
  REQUIRE(f.kind == drone_frame::telemetry);
  CHECK(f.t.lat == -90);
  CHECK(f.t.lon == -180);
  CHECK(f.t.present == 0);
}

TEST_CASE("hello: the command kinds a drone executes") {
  auto h = parse(R"({"type":"hello","drone_id":"d1","commands":["takeoff","arm","warp","arm","land"]})");
  REQUIRE(h.kind == drone_frame::hello);
  CHECK(h.info.declares_commands);
  CHECK(h.info.commands == std::vector<std::string>{"arm", "takeoff", "land"}); // known ones, protocol order, once
  auto none = parse(R"({"type":"hello","drone_id":"d1","commands":[]})");
  CHECK(none.info.declares_commands);
  CHECK(none.info.commands.empty());
  auto silent = parse(R"({"type":"hello","drone_id":"d1"})");
  CHECK_FALSE(silent.info.declares_commands);
  for (auto bad : {R"({"type":"hello","drone_id":"d1","commands":"arm"})",
                   R"({"type":"hello","drone_id":"d1","commands":[1]})",
                   R"({"type":"hello","drone_id":"d1","commands":{}})"}) {
    INFO(bad);
    auto f = parse(bad);
    CHECK(f.kind == drone_frame::invalid);
    CHECK(f.error_code == "invalid_field");
    CHECK(f.error_message.find("commands") != std::string::npos);
  }
  std::string many = R"({"type":"hello","drone_id":"d1","commands":[)";
  for (int i = 0; i < 33; ++i)
    many += std::string{i ? "," : ""} + "\"arm\"";
  CHECK(parse(many + "]}").kind == drone_frame::invalid);
}

TEST_CASE("hello and heartbeat") {
  auto h = parse(R"({"type":"hello","drone_id":"Alpha_1.b-2","model":"X8","fw":"4.5.1"})");
  REQUIRE(h.kind == drone_frame::hello);
  CHECK(h.info.id == "Alpha_1.b-2");
  CHECK(h.info.model == "X8");
  CHECK(h.info.fw == "4.5.1");
  auto b = parse(R"({"type":"heartbeat","ts":1764189000000})");
  REQUIRE(b.kind == drone_frame::heartbeat);
  CHECK(b.ts == 1764189000000.0);
  CHECK(parse(R"({"type":"heartbeat"})").kind == drone_frame::heartbeat);
}

TEST_CASE("the malformed-frame corpus is refused with the right error, naming the problem") {
  struct bad {
    const char* frame;
    const char* code;
    const char* mentions;
  };
  const std::string t = R"("type":"telemetry","seq":1,"ts":1,"lon":8,"alt":1,"heading":1,"speed":1,)"
                        R"("vspeed":1,"battery":50,"armed":true,"mode":"M")";
  auto with = [&](const std::string& field) { return "{" + t + "," + field + "}"; };
  std::vector<std::pair<std::string, bad>> corpus = {
    {"", {"", "malformed", "JSON"}},
    {"not json", {"", "malformed", "JSON"}},
    {"{", {"", "malformed", ""}},
    {"[1,2,3]", {"", "malformed", "object"}},
    {"42", {"", "malformed", "object"}},
    {"\"telemetry\"", {"", "malformed", "object"}},
    {"{} trailing", {"", "malformed", ""}},
    {R"({"seq":1})", {"", "missing_field", "type"}},
    {R"({"type":42})", {"", "invalid_field", "type"}},
    {R"({"type":"selfdestruct"})", {"", "unknown_type", "selfdestruct"}},
    {R"({"type":"hello"})", {"", "missing_field", "drone_id"}},
    {R"({"type":"hello","drone_id":""})", {"", "invalid_field", "drone_id"}},
    {R"({"type":"hello","drone_id":"has space"})", {"", "invalid_field", "drone_id"}},
    {R"({"type":"hello","drone_id":"a/b"})", {"", "invalid_field", "drone_id"}},
    {R"({"type":"hello","drone_id":")" + std::string(65, 'x') + "\"}", {"", "invalid_field", "drone_id"}},
    {R"({"type":"hello","drone_id":7})", {"", "invalid_field", "drone_id"}},
    {"{" + t + "}", {"", "missing_field", "lat"}},
    {with(R"("lat":90.0001)"), {"", "invalid_field", "lat"}},
    {with(R"("lat":-91)"), {"", "invalid_field", "lat"}},
    {with(R"("lat":"47")"), {"", "invalid_field", "lat"}},
    // NaN and infinities are not JSON (docs/protocol.md): malformed, like any other token that is not JSON.
    {with(R"("lat":NaN)"), {"", "malformed", "JSON"}},
    {with(R"("lat":Infinity)"), {"", "malformed", "JSON"}},
    {with(R"("lat":-Infinity)"), {"", "malformed", "JSON"}},
    {with(R"("lat":nan)"), {"", "malformed", "JSON"}},
    {with(R"("lat":-)"), {"", "malformed", "JSON"}},
    {with(R"("lat":01)"), {"", "malformed", "JSON"}},
    {R"({"type":"telemetry","armed":tru})", {"", "malformed", "JSON"}},
    {R"({"type":"telemetry","sats":Infinity})", {"", "malformed", "JSON"}},
    {R"({"type":NaN})", {"", "malformed", "JSON"}},
    {with(R"("lat":null)"), {"", "invalid_field", "lat"}},
    {with(R"("lat":1e400)"), {"", "invalid_field", "lat"}}, // JSON, but beyond any double
    // What PostgreSQL's text refuses is refused at the edge, for this frame alone: a NUL ("\u0000" is
    // legal JSON), a lone UTF-16 surrogate; raw bytes that are not UTF-8 are not JSON at all.
    {R"({"type":"telemetry","mode":"A\u0000B"})", {"", "invalid_field", "mode"}},
    {R"({"type":"telemetry","mode":"\u0000"})", {"", "invalid_field", "mode"}},
    {R"({"type":"telemetry","mode":"\ud800"})", {"", "invalid_field", "mode"}},
    {R"({"type":"telemetry","mode":"\udc00x"})", {"", "invalid_field", "mode"}},
    {R"({"type":"telemetry","mode":"bad \q escape"})", {"", "invalid_field", "mode"}},
    {"{\"type\":\"telemetry\",\"mode\":\"A\xff\"}", {"", "malformed", "JSON"}},
    {"{\"type\":\"telemetry\",\"mode\":\"\xc3\x28\"}", {"", "malformed", "JSON"}},
    {"{\"type\":\"telemetry\",\"mode\":\"\xed\xa0\x80\"}", {"", "malformed", "JSON"}},
    {R"({"type":"hello","drone_id":"d1","model":"X\u0000"})", {"", "invalid_field", "model"}},
    {R"({"type":"hello","drone_id":"d1","fw":"\u0000"})", {"", "invalid_field", "fw"}},
    {R"({"type":"hello","drone_id":"d1","secret":"s\u0000"})", {"", "invalid_field", "secret"}},
    {R"({"type":"tele\u0000metry"})", {"", "invalid_field", "type"}},
    {R"({"type":"hello","drone_id":"."})", {"", "invalid_field", "drone_id"}},
    {R"({"type":"hello","drone_id":".."})", {"", "invalid_field", "drone_id"}},
    {R"({"type":"telemetry","seq":-1})", {"", "invalid_field", "seq"}},
    {R"({"type":"telemetry","seq":1.5})", {"", "invalid_field", "seq"}},
    {R"({"type":"telemetry","battery":-1})", {"", "invalid_field", "battery"}},
    {R"({"type":"telemetry","battery":100.5})", {"", "invalid_field", "battery"}},
    {R"({"type":"telemetry","lon":181})", {"", "invalid_field", "lon"}},
    {R"({"type":"telemetry","heading":-1})", {"", "invalid_field", "heading"}},
    {R"({"type":"telemetry","speed":-3})", {"", "invalid_field", "speed"}},
    {R"({"type":"telemetry","armed":"yes"})", {"", "invalid_field", "armed"}},
    {R"({"type":"telemetry","mode":""})", {"", "invalid_field", "mode"}},
    {R"({"type":"telemetry","mode":")" + std::string(33, 'M') + "\"}", {"", "invalid_field", "mode"}},
    {R"({"type":"telemetry","sats":1.5})", {"", "invalid_field", "sats"}},
    {R"({"type":"telemetry","fix":11})", {"", "invalid_field", "fix"}},
    {R"({"type":"telemetry","ts":-5})", {"", "invalid_field", "ts"}},
  };
  for (auto& [frame, expect] : corpus) {
    INFO("frame: " << frame);
    auto f = parse(frame);
    CHECK(f.kind == drone_frame::invalid);
    if (*expect.code != '\0')
      CHECK(f.error_code == expect.code);
    else
      CHECK_FALSE(f.error_code.empty());
    CHECK_FALSE(f.error_message.empty());
    if (*expect.mentions != '\0')
      CHECK(f.error_message.find(expect.mentions) != std::string::npos);
  }
}

TEST_CASE("a parse failure leaves no state behind for the next frame") {
  CHECK(parse("{{{{").kind == drone_frame::invalid);
  auto f = parse(good_telemetry);
  CHECK(f.kind == drone_frame::telemetry);
  CHECK(f.error_code.empty());
  CHECK(f.error_message.empty());
}

TEST_CASE("string fields keep any valid UTF-8 text, and an unknown type is echoed without splitting a character") {
  auto f = parse("{\"type\":\"telemetry\",\"seq\":1,\"ts\":1,\"lat\":1,\"lon\":8,\"alt\":1,\"heading\":1,"
                 "\"speed\":1,\"vspeed\":1,\"battery\":50,\"armed\":true,\"mode\":\"\xc3\xa9t\xc3\xa9 \\u00e9 \xf0\x9f\x9a\x81\"}");
  REQUIRE(f.kind == drone_frame::telemetry);
  CHECK(f.t.mode == "\xc3\xa9t\xc3\xa9 \xc3\xa9 \xf0\x9f\x9a\x81");
  // 31 ASCII characters, then a two-byte character across the 32-byte cut.
  auto u = parse("{\"type\":\"" + std::string(31, 'x') + "\xc3\xa9\"}");
  REQUIRE(u.kind == drone_frame::invalid);
  CHECK(u.error_code == "unknown_type");
  CHECK(u.error_message.find("\xc3") == std::string::npos);
}

TEST_CASE("mission_ack and mission_progress frames, and their fields checked against their type") {
  const std::string mid = "0b7c6a52-5d1e-4c4f-9a59-3f3f2c1d9e01";
  auto a = parse(R"({"type":"mission_ack","mission_id":")" + mid + R"(","seq":2,"result":"error","reason":"alt"})");
  REQUIRE(a.kind == drone_frame::mission_ack);
  CHECK(a.mission.mission_id == mid);
  CHECK(a.mission.kind == "ack");
  CHECK(a.mission.seq == 2);
  CHECK(a.mission.result == "error"); // a mission_ack result, not a command_ack one
  CHECK(a.mission.reason == "alt");
  auto p = parse(R"({"type":"mission_progress","mission_id":")" + mid + R"(","event":"reached","seq":0})");
  REQUIRE(p.kind == drone_frame::mission_progress);
  CHECK(p.mission.kind == "progress");
  CHECK(p.mission.result == "reached");
  CHECK(p.mission.seq == 0);
  auto done = parse(R"({"type":"mission_progress","mission_id":")" + mid + R"(","event":"completed"})");
  REQUIRE(done.kind == drone_frame::mission_progress);
  CHECK(done.mission.seq == -1);
  // A command_ack still refuses a mission result, and a mission_ack a command result.
  auto c = parse(R"({"type":"command_ack","command_id":")" + mid + R"(","result":"error"})");
  CHECK(c.kind == drone_frame::invalid);
  CHECK(c.error_code == "invalid_field");
  CHECK(parse(R"({"type":"command_ack","command_id":")" + mid + R"(","result":"succeeded"})").kind
        == drone_frame::command_ack);

  struct bad {
    std::string frame;
    const char* code;
    const char* mentions;
  };
  std::vector<bad> corpus = {
    {R"({"type":"mission_ack","mission_id":")" + mid + R"(","seq":0,"result":"succeeded"})", "invalid_field", "result"},
    {R"({"type":"mission_ack","mission_id":")" + mid + R"(","result":"accepted"})", "missing_field", "seq"},
    {R"({"type":"mission_ack","seq":0,"result":"accepted"})", "missing_field", "mission_id"},
    {R"({"type":"mission_ack","mission_id":")" + mid + R"(","seq":0})", "missing_field", "result"},
    {R"({"type":"mission_ack","mission_id":"m1","seq":0,"result":"accepted"})", "invalid_field", "mission_id"},
    {R"({"type":"mission_ack","mission_id":7,"seq":0,"result":"accepted"})", "invalid_field", "mission_id"},
    {R"({"type":"mission_ack","mission_id":")" + mid + R"(","seq":-1,"result":"accepted"})", "invalid_field", "seq"},
    {R"({"type":"mission_ack","mission_id":")" + mid + R"(","seq":100001,"result":"accepted"})", "invalid_field", "seq"},
    {R"({"type":"mission_progress","mission_id":")" + mid + R"(","event":"landed"})", "invalid_field", "event"},
    {R"({"type":"mission_progress","mission_id":")" + mid + R"(","event":"current"})", "missing_field", "seq"},
    {R"({"type":"mission_progress","mission_id":")" + mid + R"("})", "missing_field", "event"},
    {R"({"type":"mission_progress","mission_id":")" + mid + R"(","event":5})", "invalid_field", "event"},
    {R"({"type":"mission_progress","mission_id":")" + mid + R"(","event":"failed","reason":7})", "invalid_field",
     "reason"},
  };
  for (auto& b : corpus) {
    INFO(b.frame);
    auto f = parse(b.frame);
    CHECK(f.kind == drone_frame::invalid);
    CHECK(f.error_code == b.code);
    CHECK(f.error_message.find(b.mentions) != std::string::npos);
  }
}
