#pragma once
/// Random secrets, their hashes and MACs (OpenSSL): single-use tickets, drone credentials, refresh tokens,
/// history cursors.

#include <cstddef>
#include <string>
#include <string_view>

namespace dccs::runtime {

/// `bytes` random bytes (OpenSSL RAND_bytes) as unpadded base64url text (32 bytes: 43 characters).
/// Throws std::runtime_error when the system has no randomness to give.
std::string random_token(std::size_t bytes = 32);

/// The SHA-256 of `text`, 32 raw bytes. A fast hash is right for these secrets: they carry 256 random bits,
/// so there is nothing to guess and nothing a slow hash would protect (docs/security.md).
std::string sha256(std::string_view text);

/// `bytes` as lowercase hex digits.
std::string hex(std::string_view bytes);

/// The SHA-256 of `text` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view text);

/// HMAC-SHA256 (RFC 2104) of `data` under `key`: 32 raw bytes. Throws std::runtime_error when OpenSSL fails.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Compares two byte strings in time that depends only on their lengths (CRYPTO_memcmp).
bool equal_constant_time(std::string_view a, std::string_view b);

} // namespace dccs::runtime
