#include "auth/keys_cli.hpp"

#include <ctime>
#include <filesystem>
#include <iostream>
#include <system_error>

#include <sys/stat.h>

#include "auth/jwt.hpp"
#include "runtime/log.hpp"

namespace dccs::auth {

std::string keys_dir(const runtime::config& cfg) {
  auto dir = cfg.str("auth.keys_dir");
  if (!dir.empty())
    return dir;
  return (std::filesystem::path{cfg.str("node.data_dir")} / "keys").string();
}

std::string generate_key_file(const std::string& dir, std::string& kid) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  auto key = generate_key();
  kid = key.kid;
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  auto path = (std::filesystem::path{dir} / (std::string{stamp} + "-" + kid.substr(0, 8) + ".pem")).string();
  save_key_file(key, path);
  return path;
}

namespace {

/// `dccs keys token NAME ROLE [GROUP...]`: an access token for a script or a service (benchmarks, a simulator's
/// observer), signed with the newest key of the folder, valid for auth.access_ttl_s. Whoever can read the key
/// files can make any token: they are the secret (docs/security.md).
int token_command(const runtime::config& cfg) {
  auto& args = cfg.positional();
  if (args[3] != "admin" && args[3] != "operator" && args[3] != "viewer" && args[3] != "analytics") {
    std::cerr << "dccs keys token: ROLE must be admin, operator, viewer or analytics\n";
    return 2;
  }
  try {
    auto dir = keys_dir(cfg);
    auto ring = key_ring::load_directory(dir);
    if (ring.signer() == nullptr)
      throw std::runtime_error("no signing key in " + dir);
    claims c;
    c.iss = cfg.str("auth.issuer");
    c.aud = cfg.str("auth.audience");
    c.sub = args[2];
    c.role = args[3];
    c.groups.assign(args.begin() + 4, args.end());
    c.iat = static_cast<std::int64_t>(std::time(nullptr));
    c.nbf = c.iat;
    c.exp = c.iat + cfg.integer("auth.access_ttl_s");
    std::cout << sign(ring, c) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dccs keys token: " << e.what() << "\n";
    return 1;
  }
}

} // namespace

int keys_command(const runtime::config& cfg) {
  auto& args = cfg.positional();
  if (args.empty() || args.front() != "keys")
    return -1;
  if (args.size() >= 4 && args[1] == "token")
    return token_command(cfg);
  if (args.size() != 2 || args[1] != "generate") {
    std::cerr << "usage: dccs keys generate [--auth.keys_dir DIR]\n"
                 "       dccs keys token NAME ROLE [GROUP...]   (an access token signed with the node's key)\n";
    return 2;
  }
  try {
    std::string kid;
    auto path = generate_key_file(keys_dir(cfg), kid);
    std::cout << "kid " << kid << "\nfile " << path << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dccs keys generate: " << e.what() << "\n";
    return 1;
  }
}

key_ring load_node_keys(const runtime::config& cfg) {
  auto dir = keys_dir(cfg);
  std::error_code ec;
  bool exists = std::filesystem::is_directory(dir, ec);
  key_ring ring = exists ? key_ring::load_directory(dir) : key_ring{};
  if (ring.signer() != nullptr)
    return ring;
  if (cfg.str("node.mode") == "production")
    throw std::runtime_error("no signing key in " + dir + ": run `dccs keys generate --auth.keys_dir " + dir
                             + "` (production mode never makes one itself)");
  std::string kid;
  auto path = generate_key_file(dir, kid);
  runtime::log::info("auth", "development mode: generated a signing key", {{"kid", kid}, {"file", path}});
  return key_ring::load_directory(dir);
}

} // namespace dccs::auth
