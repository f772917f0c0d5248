#include "auth/keys.hpp"

#include "auth/base64url.hpp"
#include "runtime/secret.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace dccs::auth {

namespace {

constexpr std::size_t ed25519_key_bytes = 32;
constexpr std::size_t max_key_file_bytes = 64 * 1024;
constexpr std::string_view created_tag = "dccs-created:";

std::int64_t now_s() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

/// Frees a BIO (for std::unique_ptr).
struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

/// Closes a file descriptor on scope exit.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Bytes that are wiped when they go out of scope (PEM text of a private key).
struct wiped_buffer {
  std::string bytes;
  ~wiped_buffer() {
    if (!bytes.empty())
      OPENSSL_cleanse(bytes.data(), bytes.size());
  }
};

/// Refuses every passphrase prompt: an encrypted key file fails instead of blocking on the terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  ERR_clear_error(); // nothing of this failure is left in OpenSSL's thread-local error queue
  throw std::runtime_error("key file " + path + ": " + why);
}

std::string errno_text() {
  return std::strerror(errno);
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string utc_text(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// The `dccs-created:` value of the text before the PEM block, if there is one.
bool parse_created(std::string_view text, std::int64_t& out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    auto line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.substr(0, 5) == "-----")
      return false;
    if (line.substr(0, created_tag.size()) == created_tag) {
      auto rest = line.substr(created_tag.size());
      while (!rest.empty() && rest.front() == ' ')
        rest.remove_prefix(1);
      std::int64_t v = 0;
      auto res = std::from_chars(rest.data(), rest.data() + rest.size(), v);
      if (res.ec != std::errc{} || v <= 0)
        return false;
      out = v;
      return true;
    }
    if (eol == std::string_view::npos)
      break;
    pos = eol + 1;
  }
  return false;
}

signing_key make_key(pkey_ptr pkey, std::int64_t created) {
  signing_key key;
  key.pkey = std::move(pkey);
  key.created = created > 0 ? created : now_s();
  key.kid = jwk_thumbprint(raw_public_key(key));
  return key;
}

} // namespace

signing_key generate_key(std::int64_t created) {
  pkey_ptr pkey{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
  if (!pkey) {
    ERR_clear_error();
    throw std::runtime_error("Ed25519 key generation failed");
  }
  return make_key(std::move(pkey), created);
}

signing_key key_from_raw_private(std::string_view raw32, std::int64_t created) {
  if (raw32.size() != ed25519_key_bytes)
    throw std::invalid_argument("an Ed25519 private key is 32 bytes");
  pkey_ptr pkey{EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                             reinterpret_cast<const unsigned char*>(raw32.data()), raw32.size())};
  if (!pkey) {
    ERR_clear_error();
    throw std::invalid_argument("not a valid Ed25519 private key");
  }
  return make_key(std::move(pkey), created);
}

std::string raw_public_key(const signing_key& key) {
  std::string out(ed25519_key_bytes, '\0');
  std::size_t len = out.size();
  if (!key.pkey || EVP_PKEY_get_raw_public_key(key.pkey.get(), reinterpret_cast<unsigned char*>(out.data()),
                                               &len) != 1 || len != ed25519_key_bytes) {
    ERR_clear_error();
    throw std::runtime_error("cannot read the raw Ed25519 public key");
  }
  return out;
}

std::string derive_secret(const signing_key& key, std::string_view label) {
  std::string raw(ed25519_key_bytes, '\0');
  std::size_t len = raw.size();
  if (!key.pkey || EVP_PKEY_get_raw_private_key(key.pkey.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                                &len) != 1 || len != ed25519_key_bytes) {
    ERR_clear_error();
    throw std::runtime_error("cannot read the raw Ed25519 private key");
  }
  auto secret = runtime::hmac_sha256(raw, label);
  OPENSSL_cleanse(raw.data(), raw.size());
  return secret;
}

std::string jwk_thumbprint(std::string_view raw_public) {
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
  auto canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + base64url_encode(raw_public) + "\"}";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), md, &md_len, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    throw std::runtime_error("SHA-256 failed");
  }
  return base64url_encode(std::string_view{reinterpret_cast<const char*>(md), md_len});
}

std::string public_jwk_json(const signing_key& key) {
  nlohmann::json jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64url_encode(raw_public_key(key))},
                        {"kid", key.kid}, {"use", "sig"},    {"alg", "EdDSA"}};
  return jwk.dump();
}

void save_key_file(const signing_key& key, const std::string& path) {
  if (!key.pkey)
    fail(path, "no key to write");
  // Secure-heap memory BIO: the PEM text is wiped when freed, including the buffers it outgrew.
  bio_ptr bio{BIO_new(BIO_s_secmem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail(path, "cannot encode the key as PKCS#8 PEM");
  char* pem = nullptr;
  auto pem_len = BIO_get_mem_data(bio.get(), &pem);
  if (pem_len <= 0 || !pem)
    fail(path, "cannot encode the key as PKCS#8 PEM");

  wiped_buffer text;
  text.bytes.reserve(96 + static_cast<std::size_t>(pem_len));
  text.bytes.append(created_tag).append(" ").append(std::to_string(key.created));
  text.bytes.append(" (").append(utc_text(key.created)).append(")\n");
  text.bytes.append(pem, static_cast<std::size_t>(pem_len));

  fd_guard f;
  f.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (f.fd < 0)
    fail(path, errno == EEXIST ? "exists already (refusing to overwrite a key)" : "cannot create: " + errno_text());
  auto abandon = [&](const std::string& why) {
    ::unlink(path.c_str());
    fail(path, why);
  };
  // The umask can only narrow 0600; make it exactly 0600 in any case.
  if (::fchmod(f.fd, S_IRUSR | S_IWUSR) != 0)
    abandon("cannot set mode 0600: " + errno_text());
  std::size_t done = 0;
  while (done < text.bytes.size()) {
    auto n = ::write(f.fd, text.bytes.data() + done, text.bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      abandon("cannot write: " + errno_text());
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(f.fd) != 0)
    abandon("cannot sync: " + errno_text());
}

signing_key load_key_file(const std::string& path) {
  fd_guard f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0)
    fail(path, "cannot open: " + errno_text());
  struct stat st{};
  if (::fstat(f.fd, &st) != 0)
    fail(path, "cannot stat: " + errno_text());
  if (!S_ISREG(st.st_mode))
    fail(path, "not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    fail(path, "group or others may access it (mode " + octal_mode(st.st_mode) +
                 "); a private key must be mode 0600 or 0400: chmod 600 " + path);
  if (st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) > max_key_file_bytes)
    fail(path, "empty or too large for a key file");

  wiped_buffer text;
  text.bytes.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < text.bytes.size()) {
    auto n = ::read(f.fd, text.bytes.data() + done, text.bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      fail(path, "cannot read: " + errno_text());
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  text.bytes.resize(done);

  bio_ptr bio{BIO_new_mem_buf(text.bytes.data(), static_cast<int>(text.bytes.size()))};
  if (!bio)
    fail(path, "out of memory");
  pkey_ptr pkey{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
  if (!pkey)
    fail(path, "not an unencrypted PEM private key");
  if (!EVP_PKEY_is_a(pkey.get(), "ED25519"))
    fail(path, "not an Ed25519 key");

  std::int64_t created = 0;
  if (!parse_created(text.bytes, created))
    created = static_cast<std::int64_t>(st.st_mtim.tv_sec);
  return make_key(std::move(pkey), created);
}

key_ring::key_ring(std::vector<signing_key> keys) : keys_(std::move(keys)) {
  for (auto& k : keys_)
    if (!k.pkey || k.kid.empty())
      throw std::invalid_argument("key ring: a key without key material or kid");
  std::sort(keys_.begin(), keys_.end(), [](const signing_key& a, const signing_key& b) {
    return a.created != b.created ? a.created > b.created : a.kid < b.kid;
  });
  for (std::size_t i = 0; i < keys_.size(); ++i)
    for (std::size_t j = i + 1; j < keys_.size(); ++j)
      if (keys_[i].kid == keys_[j].kid)
        throw std::invalid_argument("key ring: the same key twice (kid " + keys_[i].kid + ")");
  auto list = nlohmann::json::array();
  for (auto& k : keys_)
    list.push_back(nlohmann::json::parse(public_jwk_json(k)));
  jwks_ = nlohmann::json{{"keys", std::move(list)}}.dump();
}

key_ring key_ring::load_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> paths;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    auto& p = it->path();
    std::error_code ec2;
    if (p.extension() == ".pem" && fs::is_regular_file(p, ec2))
      paths.push_back(p.string());
  }
  if (ec)
    throw std::runtime_error("key directory " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  return load_files(paths);
}

key_ring key_ring::load_files(const std::vector<std::string>& paths) {
  std::vector<signing_key> keys;
  keys.reserve(paths.size());
  for (auto& p : paths)
    keys.push_back(load_key_file(p));
  try {
    return key_ring{std::move(keys)};
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
}

const signing_key* key_ring::find(std::string_view kid) const {
  for (auto& k : keys_)
    if (k.kid == kid)
      return &k;
  return nullptr;
}

std::vector<std::string> key_ring::derive_secrets(std::string_view label) const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (auto& k : keys_)
    out.push_back(derive_secret(k, label));
  return out;
}

std::string key_ring::jwks_json() const {
  return jwks_;
}

} // namespace dccs::auth
