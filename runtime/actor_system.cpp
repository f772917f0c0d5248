#include "runtime/actor_system.hpp"

#include <thread>

#include <caf/atom.hpp>

namespace dccs::runtime {

node_system_config::node_system_config(const config& cfg) {
  // The policy is chosen by measurement (docs/architecture.md): with many mostly idle actors the
  // work-stealing policy spends its time polling empty queues on 2 cores.
  set("scheduler.policy", caf::atom_from_string(cfg.str("scheduler.policy")));
  auto threads = cfg.integer("scheduler.threads");
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<size_t>(threads));
  // CAF's own logger is compiled out of Debian's build; keep its console quiet either way.
  set("logger.console", caf::atom("none"));
}

} // namespace dccs::runtime
