#pragma once
/// The operator WebSocket's frames (docs/protocol.md, "Operator → node"), parsed into a struct: the socket acts on
/// it, so the parser can be tested and fuzzed without a socket.

#include <string>
#include <string_view>

#include "actors/messages.hpp"

namespace dccs::bridges {

/// One operator frame.
struct operator_frame {
  enum kind_t { subscribe, auth, invalid };
  kind_t kind = invalid;
  actors::subscription sub; ///< for subscribe: `all` or `ids` (the caller sets `scope` from the token)
  std::string token;        ///< for auth: the renewed access token, not verified yet
  std::string error_code;   ///< for invalid: malformed, missing_field, unknown_type, invalid_field
  std::string error_message;
};

/// Parses a frame (nlohmann_json): {"type":"subscribe","drones":"*"|[ids]} (no `drones`: all) or
/// {"type":"auth","token":"..."}. Never throws; on failure `kind` is `invalid` and the error fields say why.
operator_frame parse_operator_frame(std::string_view text);

} // namespace dccs::bridges
