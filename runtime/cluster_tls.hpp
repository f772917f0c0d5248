#pragma once

#include <string>

#include "runtime/config.hpp"

namespace dccs::runtime {

/// The files of cluster TLS (`cluster.tls.*`): the CA that signs every member's certificate, this node's
/// certificate (PEM, optionally followed by intermediates) and its private key (unencrypted PEM).
struct cluster_tls_files {
  std::string ca;
  std::string certificate;
  std::string key;

  /// All three are set (config::load refuses one or two of them).
  bool enabled() const { return !ca.empty() && !certificate.empty() && !key.empty(); }

  static cluster_tls_files from(const config& cfg);
};

/// Checks the files as CAF's OpenSSL module uses them — it loads them again for every connection, and a file it
/// cannot load then throws on the multiplexer's thread (the node dies), so they are checked once at start: each is
/// readable, the key is mode 0600 or 0400, the certificate and the key are PEM and match, the CA file holds a
/// certificate, and this node's certificate verifies under the CA for both ends of a link (TLS server and client:
/// every member is both). Returns false and sets `error` naming the option at fault; on success `summary` tells
/// the certificate's subject and end of validity (for the log; nothing secret).
bool check_cluster_tls(const cluster_tls_files& files, std::string& summary, std::string& error);

} // namespace dccs::runtime
