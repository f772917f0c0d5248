#pragma once
/// A throwaway certificate authority for cluster TLS tests, made with the `openssl` command line at test time in a
/// temporary folder (removed afterwards): no key is ever kept in the repository. The commands are the ones
/// docs/cluster.md gives operators.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace dccs::test {

class test_pki {
public:
  /// A member's certificate (signed by the CA) and its private key (mode 0600).
  struct member {
    std::string certificate;
    std::string key;
  };

  /// A new CA named `name`.
  explicit test_pki(const std::string& name) {
    static std::atomic<int> runs{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("dccs-pki-" + std::to_string(getpid()) + "-" + std::to_string(++runs) + "-" + name);
    std::filesystem::create_directories(dir_);
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj '/CN=" + name +
        " cluster CA' -keyout " + path("ca.key") + " -out " + path("ca.pem"));
  }

  ~test_pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  /// The CA's certificate file.
  std::string ca() const { return path("ca.pem"); }

  /// A member certificate for `name`, valid for both ends of a link unless `extended_key_usage` says otherwise.
  member issue(const std::string& name, const std::string& extended_key_usage = "serverAuth, clientAuth") const {
    auto ext = path(name + ".ext");
    std::ofstream{ext} << "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\nextendedKeyUsage = "
                       << extended_key_usage << "\nsubjectAltName = DNS:" << name << "\n";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=" + name + "' -keyout " +
        path(name + ".key") + " -out " + path(name + ".csr"));
    run("openssl x509 -req -in " + path(name + ".csr") + " -CA " + ca() + " -CAkey " + path("ca.key") +
        " -CAcreateserial -days 2 -extfile " + ext + " -out " + path(name + ".pem"));
    std::filesystem::permissions(path(name + ".key"), std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_write);
    return {path(name + ".pem"), path(name + ".key")};
  }

  std::string path(const std::string& file) const { return (dir_ / file).string(); }

private:
  static void run(const std::string& command) {
    INFO(command);
    REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
  }

  std::filesystem::path dir_;
};

} // namespace dccs::test
