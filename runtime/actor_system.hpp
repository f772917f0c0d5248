#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman_actor.hpp>

#include "runtime/config.hpp"

namespace dccs::runtime {

/// CAF configuration for a node: scheduler policy and worker count from our configuration. Message types
/// are added by the layers that define them (actors::add_message_types).
class node_system_config : public caf::actor_system_config {
public:
  explicit node_system_config(const config& cfg);
};

/// The middleman actor that opens this node's cluster links: CAF's OpenSSL module's when it is loaded (cluster
/// TLS), else the plain middleman's. Connecting through the plain one to a TLS member would never succeed.
caf::io::middleman_actor cluster_links(caf::actor_system& sys);

} // namespace dccs::runtime
