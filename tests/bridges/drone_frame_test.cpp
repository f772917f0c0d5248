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

TEST_CASE("fields may come in any order; unknown fields are ignored; optional fields may be absent") {
  auto f = parse(R"({"mode":"RTL","armed":false,"battery":0,"vspeed":0,"speed":0,"heading":360,)"
                 R"("alt":-10,"lon":-180,"lat":-90,"ts":0,"seq":0,"extra":{"a":[1,2]},"type":"telemetry"})");
  REQUIRE(f.kind == drone_frame::telemetry);
  CHECK(f.t.lat == -90);
  CHECK(f.t.lon == -180);
  CHECK(f.t.present == 0);
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
    {with(R"("lat":NaN)"), {"", "", ""}},
    {with(R"("lat":null)"), {"", "invalid_field", "lat"}},
    {with(R"("lat":1e400)"), {"", "", ""}},
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
