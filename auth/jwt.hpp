#pragma once
/// Access tokens: JWTs (RFC 7519) in JWS compact form, signed with Ed25519 ("EdDSA", RFC 8037) by the newest key
/// of a key_ring, and a strict verifier that accepts exactly what sign() issues.

#include "auth/keys.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dccs::auth {

/// The claims of an access token. Times are Unix seconds.
struct claims {
  std::string iss;
  std::string aud;
  std::string sub;
  std::string role;
  std::vector<std::string> groups;
  std::int64_t iat = 0;
  std::int64_t nbf = 0;
  std::int64_t exp = 0;
  std::string jti;
};

/// A compact JWS: header exactly {"alg":"EdDSA","typ":"JWT","kid":"<signer's kid>"}, payload with every claim
/// (jti: 128 random bits, base64url, when `c.jti` is empty). Throws std::runtime_error for an empty ring and
/// std::invalid_argument for claims that are not valid UTF-8.
std::string sign(const key_ring& ring, const claims& c);

/// Why verify() refused a token.
enum class verify_error {
  ok,
  malformed,        ///< not three base64url segments of JSON objects, duplicate keys, too large, claim of wrong type
  bad_header,       ///< header without alg or kid, kid or alg not a string, typ other than "JWT"
  unsupported_alg,  ///< alg other than exactly "EdDSA" (none, HS256, RS256, ES256, ...)
  unknown_kid,      ///< kid not in the ring (unknown or retired key)
  forbidden_header, ///< any header parameter besides alg, typ, kid (jku, jwk, x5u, x5c, x5t, crit, b64, ...)
  bad_signature,    ///< signature not 64 bytes or not valid for header and payload under the kid's key
  wrong_issuer,
  wrong_audience,
  expired,
  not_yet_valid,    ///< nbf (or iat) later than now + leeway
  missing_claim,    ///< iss, aud, sub, role, iat, exp or jti absent
};

/// The enumerator's name, e.g. "unknown_kid".
const char* to_string(verify_error e);

struct verify_options {
  std::string iss;                   ///< the issuer to require (non-empty)
  std::string aud;                   ///< the audience to require (non-empty): aud equal to it or an array with it
  std::int64_t now = 0;              ///< Unix seconds; 0: the system clock
  std::int64_t leeway_s = 5;         ///< clock skew tolerated on exp, nbf and iat
  std::size_t max_token_bytes = 8192; ///< longer tokens are refused before any decoding
};

/// The outcome of verify(): the claims when `ok()`, else the error and a fixed reason for logs (never any part
/// of the token).
struct verify_result {
  verify_error error = verify_error::ok;
  const char* reason = "";
  claims value;

  bool ok() const { return error == verify_error::ok; }
  explicit operator bool() const { return ok(); }
};

/// Checks a token strictly, in this order: size; three segments; header (base64url, a JSON object without
/// duplicate keys, alg exactly "EdDSA", only alg/typ/kid, typ "JWT" if present, kid present and in the ring);
/// signature (exactly 64 bytes, Ed25519 over "header.payload"); payload (base64url, a JSON object without
/// duplicate keys, claims of the right types); then iss, aud, exp, nbf (default iat) and iat against `now`
/// with the leeway. Nothing of the payload is parsed before the signature holds. Thread-safe.
/// Throws std::invalid_argument only for options without iss or aud (a configuration error).
verify_result verify(const key_ring& ring, std::string_view token, const verify_options& opts);

/// verify()'s last step: exp, nbf and iat of claims that verified, against `opts.now` with the leeway. `ok`, or
/// expired / not_yet_valid with a fixed `reason`.
verify_error check_times(const claims& c, const verify_options& opts, const char*& reason);

} // namespace dccs::auth
