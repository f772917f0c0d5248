#include "auth/keys_cli.hpp"

#include <ctime>
#include <filesystem>
#include <iostream>
#include <system_error>

#include <sys/stat.h>

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

int keys_command(const runtime::config& cfg) {
  auto& args = cfg.positional();
  if (args.empty() || args.front() != "keys")
    return -1;
  if (args.size() != 2 || args[1] != "generate") {
    std::cerr << "usage: dccs keys generate [--auth.keys_dir DIR]\n";
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
