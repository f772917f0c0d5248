#pragma once
/// Error answers of the actors that answer REST requests (registry, history, auth): one JSON shape,
/// {"error":{"code":...,"message":...}}, and one mapping from database failures to HTTP statuses.

#include <cstdint>
#include <string_view>

#include "actors/drone_json.hpp"
#include "actors/messages.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

inline http_answer error_answer_json(std::uint16_t status, std::string_view code, std::string_view message) {
  http_answer a;
  a.status = status;
  a.body = "{\"error\":{\"code\":";
  append_json_string(a.body, code);
  a.body += ",\"message\":";
  append_json_string(a.body, message);
  a.body += "}}";
  return a;
}

/// unavailable, disabled: 503 (try again); conflict: 409; invalid: 400; anything else: 500.
inline http_answer db_error_answer(const runtime::db_error& e) {
  switch (e.code()) {
    case runtime::db_errc::unavailable:
    case runtime::db_errc::disabled: return error_answer_json(503, "unavailable", e.what());
    case runtime::db_errc::conflict: return error_answer_json(409, "conflict", e.what());
    case runtime::db_errc::invalid: return error_answer_json(400, "invalid", e.what());
    default: return error_answer_json(500, "internal", e.what());
  }
}

} // namespace dccs::actors
