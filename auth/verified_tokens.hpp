#pragma once
/// A bounded memory of access tokens that verified, so that a client's token is verified once, not once per
/// request: Ed25519 verification costs 180-280 µs of CPU on the reference machine (OpenSSL 3's portable
/// implementation), a remembered token 1.7-1.8 µs (its SHA-256 and a lookup): bench/token_verify.cpp.

#include "auth/jwt.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace dccs::auth {

/// Tokens that passed verify(), keyed by the SHA-256 of the token's bytes (the map never holds or compares a
/// token itself). A token found again is not decoded, parsed nor its signature checked; its time claims (exp,
/// nbf, iat) are checked again at every use, and an expired one is forgotten. What verify() checks once for
/// all (the key, the signature, iss and aud) cannot change for the same bytes under the same key ring and
/// options: an entry remembers the ring and the iss/aud it verified under, and counts only for those.
/// Revocation is not this class's business: the caller checks it at every use, as before.
///
/// Bounded: at most `capacity` entries; when full, an arbitrary entry makes room. Only valid tokens enter (made
/// by this system's keys), so junk sent by anyone neither fills nor churns it. Thread-safe (one mutex held for a
/// lookup or an insert, never during a verification).
class verified_tokens {
public:
  explicit verified_tokens(std::size_t capacity = 4096) : capacity_(capacity == 0 ? 1 : capacity) {
  }

  /// verify(ring, token, opts), from memory when the token verified before (then `*from_memory` is set, if given).
  verify_result verify(const key_ring& ring, std::string_view token, const verify_options& opts,
                       bool* from_memory = nullptr);

  /// Uses answered from memory.
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  /// Tokens remembered now.
  std::size_t size() const;

private:
  using digest = std::array<unsigned char, 32>;
  struct digest_hash {
    std::size_t operator()(const digest& d) const {
      std::size_t h;
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  struct entry {
    const key_ring* ring;
    claims value;
  };
  std::size_t capacity_;
  mutable std::mutex mtx_;
  std::unordered_map<digest, entry, digest_hash> map_;
  std::atomic<std::uint64_t> hits_{0};
};

} // namespace dccs::auth
