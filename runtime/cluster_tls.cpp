#include "runtime/cluster_tls.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <sys/stat.h>

namespace dccs::runtime {

namespace {

/// OpenSSL's error queue as text (emptied).
std::string openssl_errors() {
  std::string out;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += (out.empty() ? "" : "; ") + std::string{buf};
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

bool readable(const std::string& option, const std::string& path, std::string& error) {
  auto f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    error = option + ": cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::fclose(f);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    error = option + ": '" + path + "' is not a regular file";
    return false;
  }
  return true;
}

/// The key must not be encrypted: without this OpenSSL would ask for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

std::string text_of(const std::function<void(BIO*)>& print) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  if (!bio)
    return {};
  print(bio.get());
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string{};
}

} // namespace

cluster_tls_files cluster_tls_files::from(const config& cfg) {
  return {cfg.str("cluster.tls.ca"), cfg.str("cluster.tls.certificate"), cfg.str("cluster.tls.key")};
}

bool check_cluster_tls(const cluster_tls_files& files, std::string& summary, std::string& error) {
  if (!readable("cluster.tls.ca", files.ca, error) || !readable("cluster.tls.certificate", files.certificate, error)
      || !readable("cluster.tls.key", files.key, error))
    return false;
  struct stat st {};
  if (::stat(files.key.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    error = "cluster.tls.key: group or others may access '" + files.key + "' (mode " + mode +
            "); a private key must be mode 0600 or 0400: chmod 600 " + files.key;
    return false;
  }
  ERR_clear_error();
  // Loaded the way CAF's OpenSSL module loads them (caf/openssl/session.cpp, create_ssl_context).
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx) {
    error = "cluster TLS: cannot create an OpenSSL context: " + openssl_errors();
    return false;
  }
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.certificate.c_str()) != 1) {
    error = "cluster.tls.certificate: '" + files.certificate + "' is not a PEM certificate: " + openssl_errors();
    return false;
  }
  auto mismatch = [&] {
    error = "cluster.tls.key '" + files.key + "' is not the key of cluster.tls.certificate '" + files.certificate + "'";
    return false;
  };
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    auto last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error(); // OpenSSL checks the pair as it loads the key
      return mismatch();
    }
    error = "cluster.tls.key: '" + files.key + "' is not an unencrypted PEM private key (an encrypted key is not "
            "supported): " + openssl_errors();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return mismatch();
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr) != 1) {
    error = "cluster.tls.ca: '" + files.ca + "' holds no PEM certificate: " + openssl_errors();
    return false;
  }
  // Every member is both ends of links (it accepts some and opens others), and the peer checks the certificate
  // for the end it plays (OpenSSL's "ssl_server" and "ssl_client" purposes, as in a handshake).
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  for (const char* purpose : {"ssl_server", "ssl_client"}) {
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify{X509_STORE_CTX_new(),
                                                                           &X509_STORE_CTX_free};
    if (!verify || X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx.get()), cert, chain) != 1
        || X509_STORE_CTX_set_default(verify.get(), purpose) != 1) {
      error = "cluster TLS: cannot verify the certificate: " + openssl_errors();
      return false;
    }
    if (X509_verify_cert(verify.get()) != 1) {
      auto code = X509_STORE_CTX_get_error(verify.get());
      ERR_clear_error();
      error = "cluster.tls.certificate '" + files.certificate + "' does not verify under cluster.tls.ca '" + files.ca +
              "' as a TLS " + (std::strcmp(purpose, "ssl_server") == 0 ? "server" : "client") + ": " +
              X509_verify_cert_error_string(code);
      if (code == X509_V_ERR_INVALID_PURPOSE)
        error += " (every member is both ends of links: an extendedKeyUsage must include serverAuth and clientAuth)";
      else if (code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || code == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
               || code == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
        error += " (it is not signed by this CA)";
      return false;
    }
  }
  auto subject = text_of([cert](BIO* b) { X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253); });
  auto issuer = text_of([cert](BIO* b) { X509_NAME_print_ex(b, X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253); });
  auto until = text_of([cert](BIO* b) { ASN1_TIME_print(b, X509_get0_notAfter(cert)); });
  summary = "subject " + subject + ", issuer " + issuer + ", valid until " + until;
  return true;
}

} // namespace dccs::runtime
