#pragma once
/// The one shape of every error answer of the HTTP API (docs/protocol.md):
///   {"error":{"code":"<code>","message":"<text>"}}, with one more member naming what was wrong when there is
///   one ("field" of a body, "parameter" of a query).
/// Built here only: the bridge's own answers and every actor's REST answers use it.

#include <string>
#include <string_view>

namespace dccs::runtime {

/// The error body. `key`/`value`: the extra member (left out when `key` is empty). Bytes that are not UTF-8 are
/// replaced (U+FFFD), so the body is always valid JSON whatever a client sent.
std::string error_body(std::string_view code, std::string_view message, std::string_view key = {},
                       std::string_view value = {});

} // namespace dccs::runtime
