#pragma once
/// Base64url without padding (RFC 4648 §5), as JWTs and JWKS use it.

#include <optional>
#include <string>
#include <string_view>

namespace dccs::auth {

std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url; nothing for any other character, for padding, or for an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace dccs::auth
