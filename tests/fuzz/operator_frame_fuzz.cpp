// Fuzz target: the operator frame parser (bridges/operator_frame.hpp), what every operator WebSocket text frame
// goes through. Properties: it never throws or crashes; a subscription lists at most 10,000 valid drone ids; a
// refused frame has a known code and a message that is valid UTF-8 (it is sent back in a text frame, which a
// browser must fail on invalid UTF-8, RFC 6455 §8.1).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bridges/operator_frame.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using dccs::bridges::operator_frame;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto f = dccs::bridges::parse_operator_frame(text);
  switch (f.kind) {
    case operator_frame::subscribe:
      FUZZ_CHECK(f.sub.all == f.sub.ids.empty() || !f.sub.all);
      FUZZ_CHECK(f.sub.ids.size() <= 10000);
      for (auto& id : f.sub.ids)
        FUZZ_CHECK(dccs::actors::valid_drone_id(id));
      FUZZ_CHECK(f.error_code.empty());
      break;
    case operator_frame::auth:
      FUZZ_CHECK(dccs::fuzz::utf8(f.token)); // JSON text: nlohmann refuses invalid UTF-8
      FUZZ_CHECK(f.error_code.empty());
      break;
    case operator_frame::invalid:
      FUZZ_CHECK(f.error_code == "malformed" || f.error_code == "missing_field" || f.error_code == "unknown_type"
                 || f.error_code == "invalid_field");
      FUZZ_CHECK(!f.error_message.empty() && dccs::fuzz::utf8(f.error_message));
      break;
  }
  return 0;
}
