#include "auth/password.hpp"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <vector>

namespace dccs::auth {

namespace {

constexpr std::size_t salt_bytes = 16;
constexpr std::size_t hash_bytes = 32;

// Limits on what a stored encoding may ask of verify_password: a corrupted or tampered row must not make a login
// allocate gigabytes or spin for minutes.
constexpr std::uint32_t max_m_cost_kib = 1u << 20; // 1 GiB
constexpr std::uint32_t max_t_cost = 64;
constexpr std::uint32_t max_parallelism = 64;

/// The parts of an argon2 PHC string that matter here.
struct phc {
  std::string_view type; ///< argon2id, argon2i, argon2d
  std::uint32_t version = 0x10;
  argon2_params params;
  std::size_t salt_len = 0; ///< decoded bytes
  std::size_t hash_len = 0;
};

bool parse_u32(std::string_view text, std::uint32_t& out) {
  auto res = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && res.ec == std::errc{} && res.ptr == text.data() + text.size();
}

/// Decoded length of unpadded standard base64 of `text`, or nothing when it is not base64.
bool b64_len(std::string_view text, std::size_t& out) {
  if (text.empty() || text.size() % 4 == 1)
    return false;
  for (char c : text)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return false;
  out = text.size() * 3 / 4;
  return true;
}

/// Parses `$<type>[$v=<n>]$m=<n>,t=<n>,p=<n>$<salt>$<hash>`.
bool parse_phc(std::string_view s, phc& out) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto dollar = s.find('$', start);
    parts.push_back(s.substr(start, dollar == std::string_view::npos ? std::string_view::npos : dollar - start));
    if (dollar == std::string_view::npos)
      break;
    start = dollar + 1;
  }
  if (parts.size() != 5 && parts.size() != 6)
    return false;
  if (!parts[0].empty())
    return false;
  out.type = parts[1];
  std::size_t i = 2;
  if (parts.size() == 6) {
    if (parts[2].substr(0, 2) != "v=" || !parse_u32(parts[2].substr(2), out.version))
      return false;
    i = 3;
  }
  // m=..,t=..,p=.. in this order, as libargon2 writes and reads them.
  auto params = parts[i];
  std::array<std::string_view, 3> keys{"m=", "t=", "p="};
  std::array<std::uint32_t*, 3> values{&out.params.m_cost_kib, &out.params.t_cost, &out.params.parallelism};
  for (std::size_t k = 0; k < 3; ++k) {
    auto comma = params.find(',');
    auto item = params.substr(0, comma);
    if (item.substr(0, 2) != keys[k] || !parse_u32(item.substr(2), *values[k]))
      return false;
    if ((k < 2) != (comma != std::string_view::npos))
      return false;
    params = comma == std::string_view::npos ? std::string_view{} : params.substr(comma + 1);
  }
  return b64_len(parts[i + 1], out.salt_len) && b64_len(parts[i + 2], out.hash_len);
}

std::size_t utf8_chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

} // namespace

std::string password_problem(std::string_view password) {
  if (password.size() > max_password_bytes)
    return "a password must be at most " + std::to_string(max_password_bytes) + " bytes long";
  if (utf8_chars(password) < min_password_chars)
    return "a password must be at least " + std::to_string(min_password_chars) + " characters long";
  return {};
}

std::string hash_password(std::string_view password, const argon2_params& p) {
  if (auto problem = password_problem(password); !problem.empty())
    throw weak_password(problem);
  std::array<unsigned char, salt_bytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
    throw std::runtime_error("password hashing: no random bytes for the salt");
  std::string encoded(argon2_encodedlen(p.t_cost, p.m_cost_kib, p.parallelism, salt_bytes, hash_bytes, Argon2_id),
                      '\0');
  int rc = argon2id_hash_encoded(p.t_cost, p.m_cost_kib, p.parallelism, password.data(), password.size(),
                                 salt.data(), salt.size(), hash_bytes, encoded.data(), encoded.size());
  OPENSSL_cleanse(salt.data(), salt.size());
  if (rc != ARGON2_OK)
    throw std::runtime_error(std::string{"password hashing failed: "} + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool verify_password(std::string_view password, const std::string& encoded) {
  if (password.size() > max_password_bytes)
    return false;
  // c_str() below: an embedded NUL would verify a prefix of the stored text.
  if (encoded.find('\0') != std::string::npos)
    return false;
  phc parsed;
  if (!parse_phc(encoded, parsed) || parsed.type != "argon2id")
    return false;
  if (parsed.params.m_cost_kib > max_m_cost_kib || parsed.params.t_cost > max_t_cost
      || parsed.params.parallelism > max_parallelism)
    return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

bool needs_rehash(const std::string& encoded, const argon2_params& current) {
  phc parsed;
  if (!parse_phc(encoded, parsed))
    return true;
  return parsed.type != "argon2id" || parsed.version != ARGON2_VERSION_13
         || parsed.params.m_cost_kib < current.m_cost_kib || parsed.params.t_cost < current.t_cost
         || parsed.params.parallelism < current.parallelism || parsed.salt_len < salt_bytes
         || parsed.hash_len < hash_bytes;
}

void dummy_verify(std::string_view password) {
  if (password.size() > max_password_bytes)
    return;
  // What argon2id_verify does for a recommended() hash: one argon2id computation of a 32-byte hash with a
  // 16-byte salt, then a constant-time comparison.
  static const std::array<unsigned char, salt_bytes> salt{'d', 'c', 'c', 's', '-', 'd', 'u', 'm',
                                                          'm', 'y', '-', 's', 'a', 'l', 't', '!'};
  static const std::array<unsigned char, hash_bytes> expected{};
  std::array<unsigned char, hash_bytes> out{};
  auto p = recommended();
  int rc = argon2id_hash_raw(p.t_cost, p.m_cost_kib, p.parallelism, password.data(), password.size(), salt.data(),
                             salt.size(), out.data(), out.size());
  volatile int sink = CRYPTO_memcmp(out.data(), expected.data(), out.size()) | rc;
  (void)sink;
}

std::string random_password(std::size_t length) {
  static constexpr char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  constexpr unsigned n = sizeof(alphabet) - 1;
  constexpr unsigned limit = 256 / n * n; // bytes at or above it are dropped: no modulo bias
  std::string out;
  out.reserve(length);
  std::array<unsigned char, 64> buf{};
  while (out.size() < length) {
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1)
      throw std::runtime_error("no random bytes for a password");
    for (auto b : buf)
      if (b < limit && out.size() < length)
        out += alphabet[b % n];
  }
  OPENSSL_cleanse(buf.data(), buf.size());
  return out;
}

} // namespace dccs::auth
