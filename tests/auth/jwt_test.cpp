#include <catch2/catch.hpp>

#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "auth/keys.hpp"
#include "auth/verified_tokens.hpp"
#include "runtime/secret.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

using namespace dccs::auth;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t now_s = 1'800'000'000;
const std::string issuer = "https://dccs.test";
const std::string audience = "dccs-api";

verify_options options() {
  verify_options o;
  o.iss = issuer;
  o.aud = audience;
  o.now = now_s;
  o.leeway_s = 5;
  return o;
}

claims sample_claims() {
  claims c;
  c.iss = issuer;
  c.aud = audience;
  c.sub = "user-42";
  c.role = "operator";
  c.groups = {"alpha", "bravo"};
  c.iat = now_s - 10;
  c.nbf = now_s - 10;
  c.exp = now_s + 900;
  return c;
}

/// The payload sign() writes for sample_claims(), as JSON to tweak.
json sample_payload() {
  auto c = sample_claims();
  return {{"iss", c.iss}, {"aud", c.aud},   {"sub", c.sub}, {"role", c.role}, {"groups", c.groups},
          {"iat", c.iat}, {"nbf", c.nbf}, {"exp", c.exp}, {"jti", "j-1"}};
}

std::string b64(std::string_view s) {
  return base64url_encode(s);
}

std::string header_for(const std::string& kid) {
  return R"({"alg":"EdDSA","typ":"JWT","kid":")" + kid + "\"}";
}

/// An Ed25519 signature of `input` with any key, bypassing sign()'s fixed header.
std::string raw_sign(const signing_key& key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  unsigned char sig[64];
  std::size_t len = sizeof sig;
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey.get()) == 1);
  REQUIRE(EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1);
  return std::string(reinterpret_cast<const char*>(sig), len);
}

/// A token with this exact header and payload text, validly signed by `key`.
std::string forge(const signing_key& key, const std::string& header, const std::string& payload) {
  auto input = b64(header) + "." + b64(payload);
  return input + "." + b64(raw_sign(key, input));
}

/// A fresh empty directory under the system's temporary directory, removed at scope exit.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "dccs-jwt-test.XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

key_ring ring_of(std::int64_t created = now_s - 100) {
  std::vector<signing_key> keys;
  keys.push_back(generate_key(created));
  return key_ring{std::move(keys)};
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

} // namespace

TEST_CASE("jwt: round trip keeps every claim, header is exactly alg/typ/kid") {
  auto ring = ring_of();
  auto token = sign(ring, sample_claims());
  auto r = verify(ring, token, options());
  REQUIRE(r.ok());
  CHECK(r.error == verify_error::ok);
  auto c = sample_claims();
  CHECK(r.value.iss == c.iss);
  CHECK(r.value.aud == c.aud);
  CHECK(r.value.sub == c.sub);
  CHECK(r.value.role == c.role);
  CHECK(r.value.groups == c.groups);
  CHECK(r.value.iat == c.iat);
  CHECK(r.value.nbf == c.nbf);
  CHECK(r.value.exp == c.exp);
  CHECK(r.value.jti.size() == 22); // 128 bits, base64url
  auto header = base64url_decode(token.substr(0, token.find('.')));
  REQUIRE(header);
  CHECK(*header == header_for(ring.signer()->kid));
  CHECK(verify(ring, sign(ring, sample_claims()), options()).value.jti != r.value.jti);

  auto given = sample_claims();
  given.jti = "fixed-id";
  CHECK(verify(ring, sign(ring, given), options()).value.jti == "fixed-id");

  // aud as an array that contains us is accepted; the leeway covers a token that expired 4 s ago.
  auto key_token = [&](json payload) { return forge(*ring.signer(), header_for(ring.signer()->kid), payload.dump()); };
  auto p = sample_payload();
  p["aud"] = json::array({"other", audience});
  CHECK(verify(ring, key_token(p), options()).ok());
  p = sample_payload();
  p["exp"] = now_s - 4;
  CHECK(verify(ring, key_token(p), options()).ok());
  p = sample_payload();
  p.erase("nbf"); // nbf defaults to iat
  p.erase("groups");
  auto no_nbf = verify(ring, key_token(p), options());
  REQUIRE(no_nbf.ok());
  CHECK(no_nbf.value.nbf == no_nbf.value.iat);
  CHECK(no_nbf.value.groups.empty());
  CHECK_THROWS_AS(sign(key_ring{}, sample_claims()), std::runtime_error);
  CHECK_THROWS_AS(verify(ring, token, verify_options{}), std::invalid_argument);
}

TEST_CASE("jwt: RFC 8037 test vectors (key, thumbprint, signature)") {
  auto d = base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  REQUIRE(d);
  auto key = key_from_raw_private(*d, 1);
  CHECK(b64(raw_public_key(key)) == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  CHECK(key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  CHECK(b64(raw_sign(key, "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")) ==
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  CHECK_THROWS_AS(key_from_raw_private("short"), std::invalid_argument);
}

TEST_CASE("jwt: refusals, each with its error") {
  auto ring = ring_of();
  auto& key = *ring.signer();
  auto kid = key.kid;
  auto good = sign(ring, sample_claims());
  auto payload = sample_payload().dump();
  auto expect = [&](const std::string& token, verify_error e) {
    auto r = verify(ring, token, options());
    INFO("reason: " << r.reason);
    CHECK_FALSE(r.ok());
    CHECK(to_string(r.error) == std::string{to_string(e)});
    if (token.size() > 8) // the reason is a fixed text: never the token or a part of it
      CHECK(std::string{r.reason}.find(token.substr(0, token.size() / 2)) == std::string::npos);
    return r;
  };
  auto with_payload = [&](json p) { return forge(key, header_for(kid), p.dump()); };
  auto dot2 = good.rfind('.');
  auto good_sig = good.substr(dot2 + 1);

  SECTION("alg none without a signature") {
    expect(b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(payload) + ".", verify_error::unsupported_alg);
  }
  SECTION("alg none with a signature") {
    expect(b64(R"({"alg":"none","typ":"JWT","kid":")" + kid + "\"}") + "." + b64(payload) + "." + good_sig,
           verify_error::unsupported_alg);
  }
  SECTION("alg HS256 keyed with the public key bytes (algorithm confusion)") {
    auto input = b64(R"({"alg":"HS256","typ":"JWT","kid":")" + kid + "\"}") + "." + b64(payload);
    auto pub = raw_public_key(key);
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t mac_len = 0;
    REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, pub.data(), pub.size(),
                      reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac,
                      &mac_len) != nullptr);
    expect(input + "." + b64(std::string(reinterpret_cast<const char*>(mac), mac_len)), verify_error::unsupported_alg);
  }
  SECTION("alg RS256 and ES256 headers") {
    for (auto alg : {"RS256", "ES256", "eddsa", "Ed25519", "EdDSA "})
      expect(forge(key, std::string(R"({"alg":")") + alg + R"(","typ":"JWT","kid":")" + kid + "\"}", payload),
             verify_error::unsupported_alg);
  }
  SECTION("alg missing or not a string") {
    expect(forge(key, R"({"typ":"JWT","kid":")" + kid + "\"}", payload), verify_error::bad_header);
    expect(forge(key, R"({"alg":["EdDSA"],"typ":"JWT","kid":")" + kid + "\"}", payload), verify_error::bad_header);
  }
  SECTION("unknown kid") {
    expect(forge(key, header_for("not-a-key-of-ours"), payload), verify_error::unknown_kid);
  }
  SECTION("missing kid") {
    expect(forge(key, R"({"alg":"EdDSA","typ":"JWT"})", payload), verify_error::bad_header);
    expect(forge(key, R"({"alg":"EdDSA","typ":"JWT","kid":7})", payload), verify_error::bad_header);
  }
  SECTION("typ other than JWT") {
    expect(forge(key, R"({"alg":"EdDSA","typ":"JOSE+JSON","kid":")" + kid + "\"}", payload),
           verify_error::bad_header);
  }
  SECTION("keys or critical extensions named in the header") {
    auto pub_jwk = public_jwk_json(key);
    for (const auto& extra : std::vector<std::string>{R"("jku":"https://evil.test/jwks.json")", R"("jwk":)" + pub_jwk,
                              R"("x5u":"https://evil.test/cert.pem")", R"("x5c":["MIIB"])", R"("x5t":"abc")",
                              R"("x5t#S256":"abc")", R"("crit":["exp"])", R"("b64":false)", R"("foo":1)"}) {
      INFO(extra);
      auto r = expect(forge(key, R"({"alg":"EdDSA","typ":"JWT","kid":")" + kid + "\"," + extra + "}", payload),
                      verify_error::forbidden_header);
    }
  }
  SECTION("tampered payload, signature kept") {
    auto p = sample_payload();
    p["role"] = "admin";
    auto orig = forge(key, header_for(kid), sample_payload().dump());
    REQUIRE(verify(ring, orig, options()).ok());
    auto sig = orig.substr(orig.rfind('.') + 1);
    expect(b64(header_for(kid)) + "." + b64(p.dump()) + "." + sig, verify_error::bad_signature);
  }
  SECTION("tampered header, signature kept") {
    auto tampered = b64(R"({"alg":"EdDSA","kid":")" + kid + R"(","typ":"JWT"})") + good.substr(good.find('.'));
    expect(tampered, verify_error::bad_signature);
  }
  SECTION("signed by another key under our kid") {
    auto other = generate_key();
    expect(forge(other, header_for(kid), payload), verify_error::bad_signature);
  }
  SECTION("truncated or extended signature") {
    auto sig = *base64url_decode(good_sig);
    expect(good.substr(0, dot2 + 1) + b64(sig.substr(0, 63)), verify_error::bad_signature);
    expect(good.substr(0, dot2 + 1) + b64(sig + "x"), verify_error::bad_signature);
    expect(good.substr(0, dot2 + 1), verify_error::bad_signature);
    expect(good.substr(0, good.size() - 1), verify_error::malformed); // 85 characters: not base64url
  }
  SECTION("signature bytes flipped") {
    auto sig = *base64url_decode(good_sig);
    sig[10] = static_cast<char>(sig[10] ^ 1);
    expect(good.substr(0, dot2 + 1) + b64(sig), verify_error::bad_signature);
  }
  SECTION("wrong issuer") {
    auto p = sample_payload();
    p["iss"] = "https://evil.test";
    expect(with_payload(p), verify_error::wrong_issuer);
  }
  SECTION("wrong audience, as a string") {
    auto p = sample_payload();
    p["aud"] = "other-api";
    expect(with_payload(p), verify_error::wrong_audience);
  }
  SECTION("wrong audience, as an array") {
    auto p = sample_payload();
    p["aud"] = json::array({"other-api", "third-api"});
    expect(with_payload(p), verify_error::wrong_audience);
    p["aud"] = json::array();
    expect(with_payload(p), verify_error::wrong_audience);
  }
  SECTION("expired") {
    auto p = sample_payload();
    p["exp"] = now_s - 6;
    expect(with_payload(p), verify_error::expired);
    p["exp"] = now_s - 5; // exactly at the edge of the leeway: now must be before exp + leeway
    expect(with_payload(p), verify_error::expired);
  }
  SECTION("not yet valid") {
    auto p = sample_payload();
    p["nbf"] = now_s + 60;
    expect(with_payload(p), verify_error::not_yet_valid);
    p = sample_payload();
    p["iat"] = now_s + 60;
    p.erase("nbf");
    expect(with_payload(p), verify_error::not_yet_valid);
  }
  SECTION("missing claims") {
    for (auto name : {"exp", "iat", "iss", "aud", "sub", "role", "jti"}) {
      INFO(name);
      auto p = sample_payload();
      p.erase(name);
      expect(with_payload(p), verify_error::missing_claim);
    }
    auto p = sample_payload();
    p["sub"] = "";
    expect(with_payload(p), verify_error::missing_claim);
  }
  SECTION("claims of the wrong type") {
    for (auto [name, value] :
         {std::pair<const char*, json>{"exp", 1800000900.5}, {"exp", "1800000900"}, {"exp", true},
          {"exp", 18446744073709551615ULL}, {"iat", nullptr}, {"nbf", "0"}, {"sub", 42}, {"role", json::array()},
          {"groups", "alpha"}, {"groups", json::array({"alpha", 1})}, {"aud", json::array({1})}, {"aud", 5},
          {"iss", json::object()}}) {
      INFO(name << " = " << value.dump());
      auto p = sample_payload();
      p[name] = value;
      expect(with_payload(p), verify_error::malformed);
    }
  }
  SECTION("malformed structure") {
    auto h = good.substr(0, good.find('.'));
    expect("", verify_error::malformed);
    expect(".", verify_error::malformed);
    expect("..", verify_error::malformed);
    expect(good.substr(0, dot2), verify_error::malformed);                           // 2 segments
    expect(good + "." + good_sig, verify_error::malformed);                           // 4 segments
    expect(good + ".", verify_error::malformed);                                      // 4 segments, last empty
    expect("e30+" + good.substr(good.find('.')), verify_error::malformed);            // standard alphabet
    expect(b64(header_for(kid)) + "=" + good.substr(good.find('.')), verify_error::malformed); // padding
    expect(h + ".%%%." + good_sig, verify_error::malformed);                          // bad payload base64url
    expect(b64("not json") + good.substr(good.find('.')), verify_error::malformed);   // header not JSON
    expect(b64(R"(["EdDSA"])") + good.substr(good.find('.')), verify_error::malformed); // header an array
    expect(b64(header_for(kid) + "x") + good.substr(good.find('.')), verify_error::malformed); // trailing garbage
    expect(b64("{\"alg\":\"EdDSA\xff\"}") + good.substr(good.find('.')), verify_error::malformed); // bad UTF-8
    expect(forge(key, header_for(kid), "not json"), verify_error::malformed);         // signed, payload not JSON
    expect(forge(key, header_for(kid), "[1,2]"), verify_error::malformed);            // signed, payload an array
    expect(forge(key, header_for(kid), ""), verify_error::malformed);                 // signed, payload empty
  }
  SECTION("oversized token") {
    auto p = sample_payload();
    p["pad"] = std::string(9000, 'a');
    expect(with_payload(p), verify_error::malformed);
    auto opts = options();
    opts.max_token_bytes = 64 * 1024;
    CHECK(verify(ring, with_payload(p), opts).ok());
  }
  SECTION("duplicate keys") {
    auto body = payload.substr(1); // without the opening brace
    expect(forge(key, header_for(kid), R"({"role":"admin",)" + body), verify_error::malformed);
    expect(forge(key, header_for(kid), R"({"sub":"root",)" + body), verify_error::malformed);
    expect(forge(key, header_for(kid), R"({"r\u006fle":"admin",)" + body), verify_error::malformed); // escaped
    auto nested = sample_payload();
    nested["ext"] = json::object();
    auto text = nested.dump();
    auto at = text.find(R"("ext":{})");
    REQUIRE(at != std::string::npos);
    text.replace(at, 8, R"("ext":{"a":1,"a":2})");
    expect(forge(key, header_for(kid), text), verify_error::malformed);
    expect(forge(key, R"({"alg":"EdDSA","alg":"EdDSA","typ":"JWT","kid":")" + kid + "\"}", payload),
           verify_error::malformed);
    expect(forge(key, R"({"alg":"EdDSA","typ":"JWT","kid":")" + kid + R"(","kid":"other"})", payload),
           verify_error::malformed);
  }
}

TEST_CASE("jwt: key rotation") {
  temp_dir dir;
  auto older = generate_key(now_s - 86400);
  auto newer = generate_key(now_s - 60);
  auto older_kid = older.kid;
  auto newer_kid = newer.kid;
  save_key_file(older, dir.file("older.pem"));
  save_key_file(newer, dir.file("newer.pem"));

  // Before the rotation: the older key alone signs.
  auto before = key_ring::load_files({dir.file("older.pem")});
  auto old_token = sign(before, sample_claims());

  auto both = key_ring::load_directory(dir.path.string());
  REQUIRE(both.size() == 2);
  REQUIRE(both.signer() != nullptr);
  CHECK(both.signer()->kid == newer_kid);
  CHECK(both.keys().back().kid == older_kid);
  auto new_token = sign(both, sample_claims());
  auto new_header = base64url_decode(new_token.substr(0, new_token.find('.')));
  REQUIRE(new_header);
  CHECK(*new_header == header_for(newer_kid));
  CHECK(verify(both, new_token, options()).ok());
  CHECK(verify(both, old_token, options()).ok());
  CHECK(verify(before, new_token, options()).error == verify_error::unknown_kid);

  // Retire the older key: its tokens are refused, the newer key's still pass.
  fs::remove(dir.file("older.pem"));
  auto after = key_ring::load_directory(dir.path.string());
  REQUIRE(after.size() == 1);
  CHECK(verify(after, old_token, options()).error == verify_error::unknown_kid);
  CHECK(verify(after, new_token, options()).ok());

  // The same key twice is a configuration error.
  std::vector<signing_key> dup;
  dup.push_back(key_from_raw_private(std::string(32, '\x01')));
  dup.push_back(key_from_raw_private(std::string(32, '\x01')));
  CHECK_THROWS_AS(key_ring{std::move(dup)}, std::invalid_argument);
}

TEST_CASE("keys: PEM files") {
  temp_dir dir;
  auto key = generate_key(now_s - 3600);
  auto path = dir.file("k.pem");
  save_key_file(key, path);

  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto text = read_all(path);
  CHECK(text.find("-----BEGIN PRIVATE KEY-----") != std::string::npos); // PKCS#8, unencrypted
  CHECK(text.rfind("dccs-created: " + std::to_string(now_s - 3600) + " (", 0) == 0);

  auto loaded = load_key_file(path);
  CHECK(loaded.kid == key.kid);
  CHECK(loaded.created == now_s - 3600);
  CHECK(raw_public_key(loaded) == raw_public_key(key));
  // The loaded private key signs what the saved key verifies.
  std::vector<signing_key> one;
  one.push_back(std::move(loaded));
  key_ring from_file{std::move(one)};
  std::vector<signing_key> orig;
  orig.push_back(std::move(key));
  key_ring from_memory{std::move(orig)};
  CHECK(verify(from_memory, sign(from_file, sample_claims()), options()).ok());

  SECTION("refuses to overwrite") {
    CHECK_THROWS_WITH(save_key_file(*from_memory.signer(), path), Catch::Contains("refusing to overwrite"));
  }
  SECTION("refuses a world- or group-readable file, with a message that names the mode") {
    ::chmod(path.c_str(), 0644);
    CHECK_THROWS_WITH(load_key_file(path), Catch::Contains("mode 0644") && Catch::Contains("chmod 600"));
    ::chmod(path.c_str(), 0640);
    CHECK_THROWS_WITH(load_key_file(path), Catch::Contains("group or others"));
    ::chmod(path.c_str(), 0400);
    CHECK_NOTHROW(load_key_file(path));
  }
  SECTION("errors never carry the key") {
    ::chmod(path.c_str(), 0644);
    try {
      load_key_file(path);
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      CHECK(what.find("PRIVATE KEY") == std::string::npos);
      auto body = text.substr(text.find("-----\n") + 6, 20);
      CHECK(what.find(body) == std::string::npos);
    }
  }
  SECTION("a plain PKCS#8 file (openssl genpkey) takes its mtime as created") {
    auto plain = dir.file("plain.pem");
    write_all(plain, text.substr(text.find("-----BEGIN")));
    ::chmod(plain.c_str(), 0600);
    REQUIRE(::stat(plain.c_str(), &st) == 0);
    CHECK(load_key_file(plain).created == static_cast<std::int64_t>(st.st_mtim.tv_sec));
  }
  SECTION("refuses what is not an unencrypted Ed25519 private key") {
    auto garbage = dir.file("garbage.pem");
    write_all(garbage, "hello\n");
    ::chmod(garbage.c_str(), 0600);
    CHECK_THROWS_WITH(load_key_file(garbage), Catch::Contains("not an unencrypted PEM private key"));

    auto ec = dir.file("ec.pem");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> p256{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                             EVP_PKEY_free};
    REQUIRE(p256);
    {
      std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_file(ec.c_str(), "w"), BIO_free};
      REQUIRE(PEM_write_bio_PrivateKey(bio.get(), p256.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    }
    ::chmod(ec.c_str(), 0600);
    CHECK_THROWS_WITH(load_key_file(ec), Catch::Contains("not an Ed25519 key"));

    auto enc = dir.file("enc.pem");
    {
      std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_file(enc.c_str(), "w"), BIO_free};
      char pass[] = "secret";
      REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), from_memory.signer()->pkey.get(), EVP_aes_256_cbc(), pass,
                                            6, nullptr, nullptr) == 1);
    }
    ::chmod(enc.c_str(), 0600);
    CHECK_THROWS_WITH(load_key_file(enc), Catch::Contains("not an unencrypted PEM private key"));
    CHECK_THROWS_AS(load_key_file(dir.file("missing.pem")), std::runtime_error);
  }
  SECTION("a directory loads only *.pem files and fails on a bad one") {
    write_all(dir.file("notes.txt"), "not a key\n");
    CHECK(key_ring::load_directory(dir.path.string()).size() == 1);
    auto bad = dir.file("bad.pem");
    write_all(bad, "x\n");
    ::chmod(bad.c_str(), 0600);
    CHECK_THROWS_WITH(key_ring::load_directory(dir.path.string()), Catch::Contains("bad.pem"));
    CHECK_THROWS_AS(key_ring::load_directory(dir.file("nowhere")), std::runtime_error);
  }
}

TEST_CASE("keys: JWKS document") {
  std::vector<signing_key> keys;
  keys.push_back(generate_key(now_s - 10));
  keys.push_back(generate_key(now_s - 20));
  key_ring ring{std::move(keys)};
  auto doc = json::parse(ring.jwks_json());
  REQUIRE(doc.is_object());
  REQUIRE(doc.size() == 1);
  REQUIRE(doc["keys"].is_array());
  REQUIRE(doc["keys"].size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    auto& k = doc["keys"][i];
    CHECK(k.size() == 6);
    CHECK(k["kty"] == "OKP");
    CHECK(k["crv"] == "Ed25519");
    CHECK(k["alg"] == "EdDSA");
    CHECK(k["use"] == "sig");
    CHECK(k["kid"] == ring.keys()[i].kid);
    CHECK_FALSE(k.contains("d")); // never the private part
    auto x = base64url_decode(k["x"].get<std::string>());
    REQUIRE(x);
    CHECK(x->size() == 32);
    CHECK(*x == raw_public_key(ring.keys()[i]));
    CHECK(k["kid"] == jwk_thumbprint(*x));
  }
  CHECK(doc["keys"][0]["kid"] == ring.signer()->kid);
  CHECK(json::parse(key_ring{}.jwks_json()) == json::parse(R"({"keys":[]})"));
}

TEST_CASE("keys: secrets derived for other uses (history cursors)") {
  auto d = base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"); // RFC 8037's private key
  REQUIRE(d);
  auto key = key_from_raw_private(*d, 1);
  auto secret = derive_secret(key, "dccs history cursor v1");
  CHECK(secret.size() == 32);
  // HMAC-SHA256(private key, label): the same on every node holding the key file, fixed across releases.
  CHECK(dccs::runtime::hex(secret) == dccs::runtime::hex(dccs::runtime::hmac_sha256(*d, "dccs history cursor v1")));
  CHECK(derive_secret(key_from_raw_private(*d, 2), "dccs history cursor v1") == secret);
  CHECK(derive_secret(key, "another use") != secret);
  auto other = generate_key(now_s);
  CHECK(derive_secret(other, "dccs history cursor v1") != secret);
  CHECK(secret.find(*d) == std::string::npos);
  std::vector<signing_key> keys;
  keys.push_back(key_from_raw_private(*d, now_s - 20));
  keys.push_back(generate_key(now_s - 10));
  key_ring ring{std::move(keys)};
  auto secrets = ring.derive_secrets("dccs history cursor v1");
  REQUIRE(secrets.size() == 2);
  CHECK(secrets[0] == derive_secret(*ring.signer(), "dccs history cursor v1")); // newest first
  CHECK(secrets[1] == secret);
  CHECK(key_ring{}.derive_secrets("x").empty());
}

TEST_CASE("runtime: HMAC-SHA256 (RFC 4231 test cases 1 and 2)") {
  using dccs::runtime::hex;
  using dccs::runtime::hmac_sha256;
  CHECK(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There"))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hex(hmac_sha256("Jefe", "what do ya want for nothing?"))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256("", "").size() == 32);
}

TEST_CASE("jwt: concurrent verification on one ring") {
  auto ring = ring_of();
  auto token = sign(ring, sample_claims());
  auto bad = token.substr(0, token.size() - 2) + (token[token.size() - 2] == 'A' ? "BA" : "AA");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        if (!verify(ring, token, options()).ok())
          ++failures;
        if (verify(ring, bad, options()).ok())
          ++failures;
        sign(ring, sample_claims());
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures == 0);
}

namespace {

struct run_result {
  int exit_code = -1;
  std::string output;
};

run_result run(const std::string& command) {
  run_result r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

} // namespace

TEST_CASE("jwt: a stock JWT library (npm jose) verifies our tokens from the JWKS alone", "[interop]") {
  const std::string script = "tests/auth/interop/verify.mjs";
  if (!fs::exists(script))
    FAIL("run this test from the repository root (" << script << " not found from " << fs::current_path() << ")");
  if (!fs::exists("tests/auth/interop/node_modules/jose/package.json"))
    FAIL("tests/auth/interop/node_modules is missing: run `npm ci --prefix tests/auth/interop`");
  if (run("node --version").exit_code != 0)
    FAIL("node is not installed (Node 20 or later is needed for tests/auth/interop)");

  std::vector<signing_key> keys;
  keys.push_back(generate_key(now_s - 60));
  keys.push_back(generate_key(now_s - 86400)); // an older key, still verifying
  key_ring ring{std::move(keys)};
  auto now = static_cast<std::int64_t>(std::time(nullptr)); // jose checks against the real clock
  auto c = sample_claims();
  c.iat = now;
  c.nbf = now;
  c.exp = now + 300;

  temp_dir dir;
  write_all(dir.file("jwks.json"), ring.jwks_json());
  auto verify_cmd = [&](const std::string& token, const std::string& aud = audience) {
    write_all(dir.file("token"), token);
    return run("node " + script + " " + dir.file("jwks.json") + " " + dir.file("token") + " '" + issuer + "' '" +
               aud + "'");
  };

  auto r = verify_cmd(sign(ring, c));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto payload = json::parse(r.output);
  CHECK(payload["sub"] == c.sub);
  CHECK(payload["role"] == c.role);
  CHECK(payload["groups"] == json(c.groups));
  CHECK(payload["iss"] == issuer);

  // A token of the older key verifies too (jose picks the key by kid).
  std::vector<signing_key> old_only;
  old_only.push_back(load_key_file([&] {
    auto p = dir.file("old.pem");
    save_key_file(ring.keys().back(), p);
    return p;
  }()));
  CHECK(verify_cmd(sign(key_ring{std::move(old_only)}, c)).exit_code == 0);

  SECTION("tampered payload") {
    auto token = sign(ring, c);
    auto p = json::parse(*base64url_decode(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1)));
    p["role"] = "admin";
    auto tampered = token.substr(0, token.find('.') + 1) + b64(p.dump()) + token.substr(token.rfind('.'));
    auto t = verify_cmd(tampered);
    INFO(t.output);
    CHECK(t.exit_code == 1);
  }
  SECTION("wrong audience") {
    auto t = verify_cmd(sign(ring, c), "someone-else");
    INFO(t.output);
    CHECK(t.exit_code == 1);
  }
  SECTION("a key that is not in the JWKS") {
    auto t = verify_cmd(sign(ring_of(), c));
    INFO(t.output);
    CHECK(t.exit_code == 1);
  }
}

TEST_CASE("verified tokens: a token verified once is answered from memory, its times checked at every use") {
  auto ring = ring_of();
  verified_tokens memo{2};
  auto token = sign(ring, sample_claims());
  auto first = memo.verify(ring, token, options());
  REQUIRE(first.ok());
  CHECK(memo.hits() == 0);
  auto again = memo.verify(ring, token, options());
  REQUIRE(again.ok());
  CHECK(memo.hits() == 1);
  CHECK(again.value.sub == "user-42");
  CHECK(again.value.groups == std::vector<std::string>{"alpha", "bravo"});
  CHECK(again.value.jti == first.value.jti);

  SECTION("past exp it is refused as expired, and forgotten") {
    auto later = options();
    later.now = now_s + 900 + 5;
    auto r = memo.verify(ring, token, later);
    CHECK(r.error == verify_error::expired);
    CHECK(memo.size() == 0);
    CHECK(memo.verify(ring, token, later).error == verify_error::expired); // verified again: still expired
    CHECK(memo.size() == 0);
  }
  SECTION("before nbf it is refused, as verify() would") {
    auto earlier = options();
    earlier.now = now_s - 100;
    CHECK(memo.verify(ring, token, earlier).error == verify_error::not_yet_valid);
  }
  SECTION("another audience, issuer or key ring is not answered from memory") {
    auto other_aud = options();
    other_aud.aud = "someone-else";
    CHECK(memo.verify(ring, token, other_aud).error == verify_error::wrong_audience);
    auto other_iss = options();
    other_iss.iss = "https://elsewhere.test";
    CHECK(memo.verify(ring, token, other_iss).error == verify_error::wrong_issuer);
    auto other_ring = ring_of(); // a fresh key of its own: the token's kid is not in it
    CHECK(memo.verify(other_ring, token, options()).error == verify_error::unknown_kid);
    CHECK(memo.hits() == 1);
  }
  SECTION("a changed byte is another token: verified, and refused") {
    auto tampered = token;
    tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
    CHECK(memo.verify(ring, tampered, options()).error == verify_error::bad_signature);
    CHECK(memo.hits() == 1);
  }
  SECTION("refused tokens are not remembered, and the memory is bounded") {
    CHECK_FALSE(memo.verify(ring, token + "x", options()).ok());
    CHECK(memo.size() == 1);
    for (int i = 0; i < 5; ++i) {
      auto c = sample_claims();
      c.sub = "user-" + std::to_string(i);
      REQUIRE(memo.verify(ring, sign(ring, c), options()).ok());
      CHECK(memo.size() <= 2);
    }
    CHECK(memo.size() == 2);
  }
}

TEST_CASE("verified tokens: threads verifying at once share the memory safely") {
  auto ring = ring_of();
  verified_tokens memo{8};
  std::vector<std::string> tokens;
  for (int i = 0; i < 12; ++i) {
    auto c = sample_claims();
    c.sub = "user-" + std::to_string(i);
    tokens.push_back(sign(ring, c));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        auto n = (i * 5 + t) % tokens.size();
        auto r = memo.verify(ring, tokens[n], options());
        if (!r.ok() || r.value.sub != "user-" + std::to_string(n))
          ++wrong;
      }
    });
  for (auto& th : threads)
    th.join();
  CHECK(wrong == 0);
  CHECK(memo.size() <= 8);
  CHECK(memo.hits() > 0);
}
