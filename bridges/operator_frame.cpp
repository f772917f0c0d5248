#include "bridges/operator_frame.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace dccs::bridges {

namespace {

operator_frame fail(const char* code, std::string message) {
  operator_frame f;
  f.error_code = code;
  f.error_message = std::move(message);
  return f;
}

} // namespace

operator_frame parse_operator_frame(std::string_view text) {
  auto msg = nlohmann::json::parse(text, nullptr, false);
  if (msg.is_discarded() || !msg.is_object())
    return fail("malformed", "frame is not a JSON object");
  auto type = msg.find("type");
  if (type == msg.end() || !type->is_string())
    return fail("missing_field", "field 'type' is required");
  operator_frame f;
  if (*type == "auth") {
    auto token = msg.find("token");
    if (token == msg.end() || !token->is_string())
      return fail("missing_field", "field 'token' is required");
    f.kind = operator_frame::auth;
    f.token = token->get<std::string>();
    return f;
  }
  if (*type != "subscribe") {
    // At most 32 bytes of the type, never half a UTF-8 sequence: the error goes back in a text frame, and a
    // browser fails the connection on invalid UTF-8 (RFC 6455 §8.1).
    const auto& name = type->get_ref<const std::string&>();
    auto cut = std::min<std::size_t>(name.size(), 32);
    while (cut > 0 && cut < name.size() && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80)
      --cut;
    return fail("unknown_type", "unknown frame type '" + name.substr(0, cut) + "'");
  }
  auto drones = msg.find("drones");
  if (drones == msg.end() || (drones->is_string() && *drones == "*")) {
    f.sub.all = true;
  } else if (drones->is_array()) {
    if (drones->size() > 10000)
      return fail("invalid_field", "field 'drones' lists more than 10000 ids");
    f.sub.all = false;
    for (auto& id : *drones) {
      if (!id.is_string() || !actors::valid_drone_id(id.get_ref<const std::string&>()))
        return fail("invalid_field", "field 'drones' must be \"*\" or an array of drone ids");
      f.sub.ids.push_back(id.get<std::string>());
    }
  } else {
    return fail("invalid_field", "field 'drones' must be \"*\" or an array of drone ids");
  }
  f.kind = operator_frame::subscribe;
  return f;
}

} // namespace dccs::bridges
