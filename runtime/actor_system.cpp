#include "runtime/actor_system.hpp"

#include "runtime/cluster_tls.hpp"

#include <thread>

#include <chrono>

#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

namespace dccs::runtime {

node_system_config::node_system_config(const config& cfg) {
  // The policy is chosen by measurement on the drone workload (docs/architecture.md, "Threads and the
  // scheduler"): at 10k drones x 5 Hz, work stealing kept up where sharing fell seconds behind.
  set("scheduler.policy", caf::atom_from_string(cfg.str("scheduler.policy")));
  auto threads = cfg.integer("scheduler.threads");
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<size_t>(threads));
  // CAF's own logger is compiled out of Debian's build; keep its console quiet either way.
  set("logger.console", caf::atom("none"));
  if (cfg.integer("cluster.port") != 0) {
    // A cluster member: CAF's middleman carries the actor messages between nodes. Its heartbeats and connection
    // timeout are what detect a member that stops answering (a lost connection shows at once): never off here.
    load<caf::io::middleman>();
    set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(cfg.integer("cluster.heartbeat_ms"))});
    set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(cfg.integer("cluster.timeout_ms"))});
    // No automatic connections: for them CAF's BASP broker opens a second, plain port on every interface (any
    // address, a random port) and connects to peers' such ports without TLS. Every member connects to every other
    // through the cluster port anyway; a message for a node without a direct link is routed over one that has it.
    set("middleman.enable-automatic-connections", false);
    auto tls = cluster_tls_files::from(cfg);
    if (tls.enabled()) {
      // Cluster TLS: CAF's OpenSSL module, with certificates on both ends of every link, each verified against
      // the cluster's CA (docs/cluster.md, "Cluster TLS"; the node checked the files before it got here).
      load<caf::openssl::manager>();
      set("openssl.certificate", tls.certificate);
      set("openssl.key", tls.key);
      set("openssl.cafile", tls.ca);
    }
  }
}

caf::io::middleman_actor cluster_links(caf::actor_system& sys) {
  return sys.has_openssl_manager() ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

} // namespace dccs::runtime
