#include "auth/jwt.hpp"

#include "auth/base64url.hpp"

#include <ctime>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace dccs::auth {

namespace {

using json = nlohmann::json;

constexpr std::size_t ed25519_signature_bytes = 64;
constexpr std::size_t jti_bytes = 16;

/// Frees an EVP_MD_CTX (for std::unique_ptr).
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

verify_result refuse(verify_error e, const char* reason) {
  verify_result r;
  r.error = e;
  r.reason = reason;
  return r;
}

/// A JSON object from `text`, or nothing for invalid JSON (including invalid UTF-8), for anything but an object
/// and for an object (at any depth) with a key twice: nlohmann keeps the last of duplicate keys silently, and a
/// verifier must not read a different claim than another parser of the same token would.
std::optional<json> parse_object(std::string_view text) {
  bool duplicate = false;
  std::vector<std::set<std::string>> seen; // the keys of every open object
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
    case json::parse_event_t::object_start:
      seen.emplace_back();
      break;
    case json::parse_event_t::key:
      if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second)
        duplicate = true;
      break;
    case json::parse_event_t::object_end:
      if (!seen.empty())
        seen.pop_back();
      break;
    default:
      break;
    }
    return true;
  };
  auto j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded() || duplicate || !j.is_object())
    return std::nullopt;
  return j;
}

/// A JSON integer that fits std::int64_t.
bool get_int64(const json& v, std::int64_t& out) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
    return true;
  }
  return false;
}

enum class field { ok, absent, wrong_type };

/// A required non-empty string member.
field get_string(const json& obj, const char* name, std::string& out) {
  auto it = obj.find(name);
  if (it == obj.end())
    return field::absent;
  if (!it->is_string())
    return field::wrong_type;
  out = it->get<std::string>();
  return out.empty() ? field::absent : field::ok;
}

/// A required integer member.
field get_time(const json& obj, const char* name, std::int64_t& out) {
  auto it = obj.find(name);
  if (it == obj.end())
    return field::absent;
  return get_int64(*it, out) ? field::ok : field::wrong_type;
}

std::string random_jti() {
  unsigned char buf[jti_bytes];
  if (RAND_bytes(buf, sizeof buf) != 1) {
    ERR_clear_error();
    throw std::runtime_error("RAND_bytes failed");
  }
  return base64url_encode(std::string_view{reinterpret_cast<const char*>(buf), sizeof buf});
}

bool ed25519_verify(EVP_PKEY* pkey, std::string_view signed_part, std::string_view sig) {
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  // Ed25519 is one-shot (PureEdDSA hashes the message twice): no digest, no Update calls, EVP_DigestVerify.
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  ERR_clear_error(); // a refused signature leaves an entry in the thread's error queue
  return ok;
}

} // namespace

const char* to_string(verify_error e) {
  switch (e) {
  case verify_error::ok:
    return "ok";
  case verify_error::malformed:
    return "malformed";
  case verify_error::bad_header:
    return "bad_header";
  case verify_error::unsupported_alg:
    return "unsupported_alg";
  case verify_error::unknown_kid:
    return "unknown_kid";
  case verify_error::forbidden_header:
    return "forbidden_header";
  case verify_error::bad_signature:
    return "bad_signature";
  case verify_error::wrong_issuer:
    return "wrong_issuer";
  case verify_error::wrong_audience:
    return "wrong_audience";
  case verify_error::expired:
    return "expired";
  case verify_error::not_yet_valid:
    return "not_yet_valid";
  case verify_error::missing_claim:
    return "missing_claim";
  }
  return "unknown";
}

std::string sign(const key_ring& ring, const claims& c) {
  auto key = ring.signer();
  if (!key)
    throw std::runtime_error("no signing key");
  std::string header = R"({"alg":"EdDSA","typ":"JWT","kid":)" + json(key->kid).dump() + "}";
  std::string payload;
  try {
    json p = {{"iss", c.iss}, {"aud", c.aud}, {"sub", c.sub}, {"role", c.role}, {"groups", c.groups},
              {"iat", c.iat}, {"nbf", c.nbf}, {"exp", c.exp}, {"jti", c.jti.empty() ? random_jti() : c.jti}};
    payload = p.dump();
  } catch (const json::exception&) {
    throw std::invalid_argument("token claims are not valid UTF-8");
  }
  auto out = base64url_encode(header) + "." + base64url_encode(payload);

  unsigned char sig[ed25519_signature_bytes];
  std::size_t sig_len = sizeof sig;
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(out.data()), out.size()) !=
        1 ||
      sig_len != sizeof sig) {
    ERR_clear_error();
    throw std::runtime_error("Ed25519 signing failed");
  }
  out += '.';
  out += base64url_encode(std::string_view{reinterpret_cast<const char*>(sig), sig_len});
  return out;
}

verify_error check_times(const claims& c, const verify_options& opts, const char*& reason) {
  auto now = opts.now != 0 ? opts.now : static_cast<std::int64_t>(std::time(nullptr));
  auto leeway = opts.leeway_s > 0 ? opts.leeway_s : 0;
  if (now - leeway >= c.exp) {
    reason = "exp has passed";
    return verify_error::expired;
  }
  if (c.nbf > now + leeway) {
    reason = "nbf is in the future";
    return verify_error::not_yet_valid;
  }
  if (c.iat > now + leeway) {
    reason = "iat is in the future";
    return verify_error::not_yet_valid;
  }
  return verify_error::ok;
}

verify_result verify(const key_ring& ring, std::string_view token, const verify_options& opts) {
  using ve = verify_error;
  if (opts.iss.empty() || opts.aud.empty())
    throw std::invalid_argument("verify_options: iss and aud are required");

  // Shape.
  if (token.empty())
    return refuse(ve::malformed, "empty token");
  if (token.size() > opts.max_token_bytes)
    return refuse(ve::malformed, "token too large");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse(ve::malformed, "not three segments");
  auto header_b64 = token.substr(0, dot1);
  auto payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  auto sig_b64 = token.substr(dot2 + 1);

  // Header.
  auto header_text = base64url_decode(header_b64);
  if (!header_text)
    return refuse(ve::malformed, "header is not base64url");
  auto header = parse_object(*header_text);
  if (!header)
    return refuse(ve::malformed, "header is not a JSON object with unique keys");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string())
    return refuse(ve::bad_header, "header without alg string");
  if (alg->get_ref<const std::string&>() != "EdDSA")
    return refuse(ve::unsupported_alg, "alg is not EdDSA");
  for (auto& el : header->items()) {
    auto& name = el.key();
    if (name == "alg" || name == "typ" || name == "kid")
      continue;
    for (auto known : {"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64", "cty", "zip"})
      if (name == known)
        return refuse(ve::forbidden_header, known); // a fixed string, never the token's
    return refuse(ve::forbidden_header, "header parameter other than alg, typ, kid");
  }
  auto typ = header->find("typ");
  if (typ != header->end() && (!typ->is_string() || typ->get_ref<const std::string&>() != "JWT"))
    return refuse(ve::bad_header, "typ is not JWT");
  auto kid = header->find("kid");
  if (kid == header->end() || !kid->is_string())
    return refuse(ve::bad_header, "header without kid string");
  auto key = ring.find(kid->get_ref<const std::string&>());
  if (!key)
    return refuse(ve::unknown_kid, "kid not in the key ring");

  // Signature, before anything of the payload is parsed.
  auto payload_text = base64url_decode(payload_b64);
  if (!payload_text)
    return refuse(ve::malformed, "payload is not base64url");
  auto sig = base64url_decode(sig_b64);
  if (!sig)
    return refuse(ve::malformed, "signature is not base64url");
  if (sig->size() != ed25519_signature_bytes)
    return refuse(ve::bad_signature, "signature is not 64 bytes");
  if (!ed25519_verify(key->pkey.get(), token.substr(0, dot2), *sig))
    return refuse(ve::bad_signature, "signature does not verify");

  // Payload.
  auto payload = parse_object(*payload_text);
  if (!payload)
    return refuse(ve::malformed, "payload is not a JSON object with unique keys");
  verify_result r;
  auto& c = r.value;
  struct string_claim {
    const char* name;
    std::string* out;
  };
  std::string iss;
  for (auto [name, out] : {string_claim{"iss", &iss}, string_claim{"sub", &c.sub}, string_claim{"role", &c.role},
                           string_claim{"jti", &c.jti}}) {
    auto f = get_string(*payload, name, *out);
    if (f == field::absent)
      return refuse(ve::missing_claim, "iss, sub, role or jti missing or empty");
    if (f == field::wrong_type)
      return refuse(ve::malformed, "iss, sub, role or jti is not a string");
  }
  auto aud = payload->find("aud");
  if (aud == payload->end())
    return refuse(ve::missing_claim, "aud missing");
  bool aud_match = false;
  if (aud->is_string()) {
    aud_match = aud->get_ref<const std::string&>() == opts.aud;
  } else if (aud->is_array()) {
    for (auto& a : *aud) {
      if (!a.is_string())
        return refuse(ve::malformed, "aud array holds a non-string");
      aud_match = aud_match || a.get_ref<const std::string&>() == opts.aud;
    }
  } else {
    return refuse(ve::malformed, "aud is neither a string nor an array");
  }
  auto groups = payload->find("groups");
  if (groups != payload->end()) {
    if (!groups->is_array())
      return refuse(ve::malformed, "groups is not an array");
    for (auto& g : *groups) {
      if (!g.is_string())
        return refuse(ve::malformed, "groups holds a non-string");
      c.groups.push_back(g.get<std::string>());
    }
  }
  for (auto [name, out] : {std::pair<const char*, std::int64_t*>{"iat", &c.iat}, {"exp", &c.exp}}) {
    auto f = get_time(*payload, name, *out);
    if (f == field::absent)
      return refuse(ve::missing_claim, "iat or exp missing");
    if (f == field::wrong_type)
      return refuse(ve::malformed, "iat or exp is not an integer");
  }
  c.nbf = c.iat;
  if (get_time(*payload, "nbf", c.nbf) == field::wrong_type)
    return refuse(ve::malformed, "nbf is not an integer");

  // Claims against our issuer, audience and clock.
  if (iss != opts.iss)
    return refuse(ve::wrong_issuer, "iss is not ours");
  if (!aud_match)
    return refuse(ve::wrong_audience, "aud does not name us");
  const char* reason = "";
  if (auto e = check_times(c, opts, reason); e != ve::ok)
    return refuse(e, reason);
  c.iss = std::move(iss);
  c.aud = opts.aud;
  return r;
}

} // namespace dccs::auth
