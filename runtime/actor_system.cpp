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
  // A worker with nothing to do: CAF polls its queue and steals (aggressive, then every 50 us: moderate) before it
  // sleeps on a condition variable that work queued for it wakes (relaxed), stealing only on that sleep's timeout.
  // CAF's defaults poll for 25 ms and time out after 10 ms: a mostly idle node's workers then spend a third of its
  // CPU on 50 us sleeps, and work queued behind a busy worker waits up to 10 ms for an idle one to steal it
  // (docs/architecture.md, "Threads").
  auto poll_us = cfg.integer("scheduler.idle_poll_us");
  set("work-stealing.moderate-poll-attempts", static_cast<size_t>(poll_us / 50));
  set("work-stealing.moderate-sleep-duration", caf::timespan{std::chrono::microseconds(50)});
  set("work-stealing.relaxed-steal-interval", size_t{1});
  set("work-stealing.relaxed-sleep-duration",
      caf::timespan{std::chrono::microseconds(cfg.integer("scheduler.idle_wait_us"))});
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
