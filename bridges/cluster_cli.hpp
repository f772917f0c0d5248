#pragma once

#include "runtime/config.hpp"

namespace dccs::bridges {

/// `dccs cluster status [options]`: asks the node at http.address:http.port (127.0.0.1 when it binds every
/// address) for its view of the cluster (GET /api/v1/cluster, with a one-minute admin token signed with the
/// node's keys, auth.keys_dir) and prints the members. Returns the exit status (0; 1 when the node does not
/// answer; 2 on bad usage), or -1 when the arguments do not start with "cluster".
int cluster_command(const runtime::config& cfg);

} // namespace dccs::bridges
