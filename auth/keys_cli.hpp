#pragma once
/// `dccs keys generate`: adds a new Ed25519 signing key to the node's key folder (auth.keys_dir, else
/// <node.data_dir>/keys), as `<UTC time>-<kid prefix>.pem` with mode 0600 in a folder of mode 0700, and prints
/// its kid and path (never the key). The new key signs from the next start of the nodes that load the folder;
/// older keys keep verifying until their files are removed.
/// `dccs keys token NAME ROLE [GROUP...]`: prints an access token signed with the folder's newest key (for scripts
/// and services; valid auth.access_ttl_s).

#include <string>

#include "auth/keys.hpp"
#include "runtime/config.hpp"

namespace dccs::auth {

/// The folder a node reads its signing keys from.
std::string keys_dir(const runtime::config& cfg);

/// Generates a key into `dir` (created with mode 0700 when missing). Returns the file's path.
std::string generate_key_file(const std::string& dir, std::string& kid);

/// Runs `dccs keys ...` when the positional arguments start with "keys": the exit status, or -1 when they do not.
int keys_command(const runtime::config& cfg);

/// The node's key ring: the keys of keys_dir(cfg); when there are none, a development node generates one
/// there and a production node fails. Throws std::runtime_error with a message that says what to do.
key_ring load_node_keys(const runtime::config& cfg);

} // namespace dccs::auth
