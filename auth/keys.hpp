#pragma once
/// Ed25519 signing keys for access tokens: generation, PKCS#8 PEM files, and the key ring that signs with the
/// newest key and verifies with every key it holds, published as a JWKS (RFC 7517, OKP keys of RFC 8037).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

namespace dccs::auth {

/// Frees an EVP_PKEY (for std::unique_ptr).
struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// One Ed25519 key pair.
struct signing_key {
  /// Key id: the RFC 7638 JWK thumbprint (base64url SHA-256 of {"crv":"Ed25519","kty":"OKP","x":"..."}).
  std::string kid;
  /// The key pair; shared read-only by every verifying thread (OpenSSL 3 allows concurrent use of a const key).
  pkey_ptr pkey;
  /// Creation time, Unix seconds: decides which key of a ring signs (the newest).
  std::int64_t created = 0;
};

/// A new random key, created `created` (Unix seconds; 0: now).
signing_key generate_key(std::int64_t created = 0);

/// A key from the 32 raw private key bytes of RFC 8032 (test vectors, imports). Throws std::invalid_argument.
signing_key key_from_raw_private(std::string_view raw32, std::int64_t created = 0);

/// The 32 raw public key bytes.
std::string raw_public_key(const signing_key& key);

/// A 32-byte secret for another purpose than signing, derived from the key's private part:
/// HMAC-SHA256(raw private key, `label`). Every node holding the same key file derives the same secret, and the
/// secret reveals nothing of the key. Each use names its own label ("dccs history cursor v1"), so secrets of
/// different uses are unrelated. Throws std::runtime_error when the private part cannot be read.
std::string derive_secret(const signing_key& key, std::string_view label);

/// The RFC 7638 thumbprint of an Ed25519 public key given as its 32 raw bytes.
std::string jwk_thumbprint(std::string_view raw_public);

/// The public JWK of the key: {"alg":"EdDSA","crv":"Ed25519","kid":...,"kty":"OKP","use":"sig","x":...}.
std::string public_jwk_json(const signing_key& key);

/// Writes the key as an unencrypted PKCS#8 PEM file with mode 0600, after one explanatory line
/// `dccs-created: <unix seconds> (<UTC time>)` (text before the PEM block is allowed by RFC 7468 §5.2 and skipped
/// by OpenSSL and other PEM readers). Refuses to overwrite an existing file. Throws std::runtime_error naming
/// the path and the reason, never the key.
void save_key_file(const signing_key& key, const std::string& path);

/// Reads a key written by save_key_file (or any unencrypted PKCS#8 Ed25519 PEM, e.g. `openssl genpkey
/// -algorithm ed25519`). `created` is taken from the `dccs-created:` line, or else from the file's mtime.
/// Refuses (std::runtime_error) a file that is not a regular file, that group or others may access (mode & 077),
/// that is encrypted, or that holds anything but an Ed25519 private key.
signing_key load_key_file(const std::string& path);

/// The keys of a node, immutable once built: the newest (greatest `created`, ties broken by kid) signs, every
/// key verifies. Rotation is a new ring: add a key file and reload (the new key signs, the old ones still
/// verify), later delete the old file and reload (its tokens are then refused as unknown_kid). Callers swap
/// rings atomically (e.g. std::shared_ptr<const key_ring>). Every method is const and the ring holds no mutable
/// state, so any number of threads may sign and verify concurrently.
class key_ring {
public:
  key_ring() = default;

  /// Takes the keys; throws std::invalid_argument on a key without a pkey or on two keys with the same kid.
  explicit key_ring(std::vector<signing_key> keys);

  /// Loads every `*.pem` file of a directory (not recursive) with load_key_file. Throws std::runtime_error.
  static key_ring load_directory(const std::string& dir);

  /// Loads the listed key files with load_key_file. Throws std::runtime_error.
  static key_ring load_files(const std::vector<std::string>& paths);

  /// The key that signs: the newest; nullptr for an empty ring.
  const signing_key* signer() const { return keys_.empty() ? nullptr : &keys_.front(); }

  /// The key with this kid, or nullptr.
  const signing_key* find(std::string_view kid) const;

  /// Every key, newest first.
  const std::vector<signing_key>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  /// derive_secret(key, label) of every key, newest first: the first for making, all of them for checking (a
  /// secret of a key still in the ring stays valid through a rotation).
  std::vector<std::string> derive_secrets(std::string_view label) const;

  /// The JWKS document for `/.well-known/jwks.json`: {"keys":[public JWK, ...]}, newest first, public parts only.
  std::string jwks_json() const;

private:
  std::vector<signing_key> keys_; // newest first
  std::string jwks_ = R"({"keys":[]})"; // serialized once at construction
};

} // namespace dccs::auth
