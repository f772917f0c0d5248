#pragma once
/// Password hashing with argon2id (libargon2), stored as PHC strings:
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<hash, base64>` (16-byte random salt, 32-byte hash).
///
/// Password rules: at least `min_password_chars` characters (UTF-8 code points) and at most
/// `max_password_bytes` bytes. The upper bound is a denial-of-service guard: a longer password is refused before
/// any hashing (argon2 itself would accept megabytes). Nothing here logs or echoes a password; error messages
/// name the rule, never the value.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dccs::auth {

/// argon2id cost parameters.
struct argon2_params {
  std::uint32_t m_cost_kib = 19456; ///< memory, KiB
  std::uint32_t t_cost = 2;         ///< iterations
  std::uint32_t parallelism = 1;    ///< lanes (and threads)
};

/// The parameters new hashes get: OWASP's argon2id minimum (19 MiB, 2 iterations, 1 lane).
constexpr argon2_params recommended() { return argon2_params{}; }

/// Shortest acceptable password, in characters (UTF-8 code points).
constexpr std::size_t min_password_chars = 12;
/// Longest acceptable password, in bytes: refused before hashing (a DoS guard).
constexpr std::size_t max_password_bytes = 1024;

/// A password that breaks the rules above. `what()` names the rule, never the password.
class weak_password : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// Why `password` is not acceptable ("at least 12 characters", ...), or empty when it is.
std::string password_problem(std::string_view password);

/// Hashes `password` with a fresh 16-byte salt (OpenSSL RAND_bytes) into a PHC string. Throws weak_password for
/// a password that breaks the rules, std::runtime_error when hashing fails (out of memory, no randomness).
/// Costs one argon2id computation (tens of milliseconds with the recommended parameters).
std::string hash_password(std::string_view password, const argon2_params& p = recommended());

/// True when `password` matches the PHC string `encoded` (argon2id only; libargon2 compares in constant time).
/// False, never an exception, for a wrong password, a malformed or non-argon2id encoding, or a password longer
/// than max_password_bytes (refused before any hashing).
bool verify_password(std::string_view password, const std::string& encoded);

/// True when `encoded` should be replaced at the next successful login: not an argon2id PHC string of version
/// 19, weaker than `current` (less memory, fewer iterations or fewer lanes), a salt shorter than 16 bytes or a
/// hash shorter than 32, or unparsable.
bool needs_rehash(const std::string& encoded, const argon2_params& current = recommended());

/// Costs what verify_password against a recommended() hash costs, and matches nothing: for an unknown user, so
/// that "no such user" and "wrong password" take the same time. Like verify_password, it returns at once for a
/// password longer than max_password_bytes.
void dummy_verify(std::string_view password);

/// A random password of `length` characters (OpenSSL RAND_bytes, without bias) from an alphabet without
/// look-alikes (no 0/O, 1/l/I): about 5.8 bits per character, 140 bits for the default 24.
std::string random_password(std::size_t length = 24);

} // namespace dccs::auth
