#include <catch2/catch.hpp>

#include <string>

#include "bridges/operator_frame.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using dccs::bridges::operator_frame;
using dccs::bridges::parse_operator_frame;

namespace {

void check_refused(const operator_frame& f, const std::string& code) {
  INFO(f.error_message);
  CHECK(f.kind == operator_frame::invalid);
  CHECK(f.error_code == code);
  CHECK_FALSE(f.error_message.empty());
}

} // namespace

TEST_CASE("operator frames: subscribe to all or to listed drones, renew the token") {
  auto all = parse_operator_frame(R"({"type":"subscribe","drones":"*"})");
  REQUIRE(all.kind == operator_frame::subscribe);
  CHECK(all.sub.all);
  auto bare = parse_operator_frame(R"({"type":"subscribe"})");
  REQUIRE(bare.kind == operator_frame::subscribe);
  CHECK(bare.sub.all);
  auto some = parse_operator_frame(R"({"drones":["d1","Alpha_1.b-2"],"type":"subscribe","extra":1})");
  REQUIRE(some.kind == operator_frame::subscribe);
  CHECK_FALSE(some.sub.all);
  CHECK(some.sub.ids == std::vector<std::string>{"d1", "Alpha_1.b-2"});
  auto none = parse_operator_frame(R"({"type":"subscribe","drones":[]})");
  REQUIRE(none.kind == operator_frame::subscribe);
  CHECK_FALSE(none.sub.all);
  CHECK(none.sub.ids.empty());
  auto auth = parse_operator_frame(R"({"type":"auth","token":"a.b.c"})");
  REQUIRE(auth.kind == operator_frame::auth);
  CHECK(auth.token == "a.b.c");
}

TEST_CASE("operator frames: every refusal has its code") {
  check_refused(parse_operator_frame("not json"), "malformed");
  check_refused(parse_operator_frame(R"(["subscribe"])"), "malformed");
  check_refused(parse_operator_frame("{\"type\":\"subscribe\",\"x\":\"\xC3\x28\"}"), "malformed"); // bad UTF-8
  check_refused(parse_operator_frame(R"({"type":"\ud800"})"), "malformed"); // a lone surrogate
  check_refused(parse_operator_frame(R"({"type":"subscribe","x":NaN})"), "malformed");
  check_refused(parse_operator_frame(R"({"drones":"*"})"), "missing_field");
  check_refused(parse_operator_frame(R"({"type":7})"), "missing_field");
  check_refused(parse_operator_frame(R"({"type":"auth"})"), "missing_field");
  check_refused(parse_operator_frame(R"({"type":"auth","token":1})"), "missing_field");
  check_refused(parse_operator_frame(R"({"type":"unsubscribe"})"), "unknown_type");
  check_refused(parse_operator_frame(R"({"type":"subscribe","drones":"d1"})"), "invalid_field");
  check_refused(parse_operator_frame(R"({"type":"subscribe","drones":[".."]})"), "invalid_field");
  check_refused(parse_operator_frame(R"({"type":"subscribe","drones":["d\u0000"]})"), "invalid_field");
  check_refused(parse_operator_frame(R"({"type":"subscribe","drones":[1]})"), "invalid_field");
  std::string many = R"({"type":"subscribe","drones":[)";
  for (int i = 0; i < 10001; ++i)
    many += i == 0 ? "\"a\"" : ",\"a\"";
  check_refused(parse_operator_frame(many + "]}"), "invalid_field");
}

TEST_CASE("operator frames: an unknown type is quoted to at most 32 bytes, never half a character") {
  // The fuzz target found it: 30 ASCII bytes and a 4-byte character were cut after byte 32, in the character.
  for (auto type : {std::string(30, 'a') + "\xF0\x9F\x98\x80", std::string(31, 'a') + "\xC3\xA9" + "b",
                    std::string(31, 'a') + "\xE2\x82\xAC\xE2\x82\xAC", std::string(40, 'a'), std::string{"x"}}) {
    auto f = parse_operator_frame("{\"type\":\"" + type + "\"}");
    INFO(type);
    check_refused(f, "unknown_type");
    CHECK(dccs::fuzz::utf8(f.error_message));
    auto quoted = f.error_message.substr(f.error_message.find('\'') + 1);
    quoted.pop_back();
    CHECK(quoted.size() <= 32);
    CHECK(type.rfind(quoted, 0) == 0);
    CHECK(quoted.size() >= std::min<std::size_t>(type.size(), 29));
  }
}
