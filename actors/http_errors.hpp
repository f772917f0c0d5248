#pragma once
/// Error answers of the actors that answer REST requests (registry, history, auth): one JSON shape,
/// {"error":{"code":...,"message":...}}, and one mapping from database failures to HTTP statuses.

#include <cstdint>
#include <string_view>

#include "actors/drone_json.hpp"
#include "actors/messages.hpp"
#include "runtime/http_error.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// An error answer (runtime/http_error.hpp: the one shape); `key`/`value` name what was wrong ("field",
/// "parameter"), when known.
inline http_answer error_answer_json(std::uint16_t status, std::string_view code, std::string_view message,
                                     std::string_view key = {}, std::string_view value = {}) {
  http_answer a;
  a.status = status;
  a.body = runtime::error_body(code, message, key, value);
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
