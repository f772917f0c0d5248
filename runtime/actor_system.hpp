#pragma once

#include <caf/actor_system_config.hpp>

#include "runtime/config.hpp"

namespace dccs::runtime {

/// CAF configuration for a node: scheduler policy and worker count from our configuration. Message types
/// are added by the layers that define them (actors::add_message_types).
class node_system_config : public caf::actor_system_config {
public:
  explicit node_system_config(const config& cfg);
};

} // namespace dccs::runtime
