// Fuzz target: access-token verification (auth/jwt.hpp), what every `Authorization: Bearer` header, operator
// ticket request and in-band `{"type":"auth"}` renewal goes through. Two modes, chosen by the first byte:
//  - even: the rest is a token, verified as it comes (size, segments, base64url, header, signature);
//  - odd: the rest is "<header JSON>\n<payload JSON>", signed here with the ring's key, so that verification
//    gets past the signature and parses the header's and the payload's JSON, claims and times.
// Properties: verify never throws or crashes; it accepts only a token whose claims it fully checked (issuer,
// audience, times within the leeway, strings that are valid UTF-8); what it accepts, sign() re-issues, and that
// verifies to the same claims.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace dccs::auth;

namespace {

constexpr std::int64_t now_s = 1800000000;

const key_ring& ring() {
  // RFC 8037 §A.1's private key: its kid is kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k (the seeds use it).
  static const key_ring r = [] {
    std::vector<signing_key> keys;
    keys.push_back(key_from_raw_private(*base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"), 1));
    return key_ring{std::move(keys)};
  }();
  return r;
}

verify_options options() {
  verify_options o;
  o.iss = "dccs";
  o.aud = "dccs-api";
  o.now = now_s;
  o.leeway_s = 5;
  return o;
}

std::string ed25519_sign(std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  unsigned char sig[64];
  std::size_t len = sizeof sig;
  FUZZ_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, ring().signer()->pkey.get()) == 1);
  FUZZ_CHECK(EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1);
  return std::string(reinterpret_cast<const char*>(sig), len);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  std::string token;
  if (data[0] % 2 == 0) {
    token = std::string{rest};
  } else {
    auto nl = rest.find('\n');
    auto header = rest.substr(0, nl);
    auto payload = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    auto input = base64url_encode(header) + "." + base64url_encode(payload);
    token = input + "." + base64url_encode(ed25519_sign(input));
  }
  auto opts = options();
  auto v = verify(ring(), token, opts);
  FUZZ_CHECK(v.reason != nullptr);
  if (!v.ok()) {
    FUZZ_CHECK(*v.reason != '\0');
    return 0;
  }
  auto& c = v.value;
  FUZZ_CHECK(token.size() <= opts.max_token_bytes);
  FUZZ_CHECK(c.iss == opts.iss);
  FUZZ_CHECK(c.exp > now_s - opts.leeway_s);
  FUZZ_CHECK(c.iat <= now_s + opts.leeway_s);
  FUZZ_CHECK(!c.sub.empty() && !c.role.empty() && !c.jti.empty());
  for (auto* s : {&c.iss, &c.aud, &c.sub, &c.role, &c.jti})
    FUZZ_CHECK(dccs::fuzz::utf8(*s));
  for (auto& g : c.groups)
    FUZZ_CHECK(dccs::fuzz::utf8(g));
  // What verify accepted, sign() can issue again, and that verifies to the same claims.
  claims again = c;
  again.aud = opts.aud;
  auto reissued = sign(ring(), again);
  auto w = verify(ring(), reissued, opts);
  if (reissued.size() <= opts.max_token_bytes) {
    FUZZ_CHECK(w.ok());
    FUZZ_CHECK(w.value.sub == c.sub && w.value.role == c.role && w.value.groups == c.groups
               && w.value.exp == c.exp && w.value.jti == c.jti);
  }
  return 0;
}
