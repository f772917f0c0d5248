#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/actors.hpp"
#include "actors/redis_mirror.hpp"
#include "runtime/config.hpp"
#include "runtime/metrics.hpp"
#include "runtime/pg.hpp"
#include "runtime/roles.hpp"

namespace dccs::bridges {

class server;

/// One DCCS node: the actor system with the fleet directory and the fan-out hub, and the HTTP/WebSocket
/// bridge in front of them. Used by the `dccs` binary and, in-process, by the system tests.
class node {
public:
  explicit node(runtime::config cfg);
  ~node();

  /// Starts the actors and the bridge. Returns false and sets `error` on failure.
  bool start(std::string& error);

  /// Graceful stop: refuses new connections, flushes pending operator updates, closes every socket with
  /// a close frame, then stops the actors. Idempotent.
  void stop();

  std::uint16_t port() const;
  caf::actor_system& system();
  /// The drone directory (null on a node without the telemetry role).
  actors::directory_actor directory() const { return directory_; }
  /// The live view (null on a node with neither the telemetry nor the dashboard role).
  actors::hub_actor hub() const { return hub_; }
  /// The roles this node runs (node.roles; valid once start() passed its checks).
  const runtime::node_roles& roles() const { return roles_; }
  /// The cluster actor (null outside a cluster): the membership, GET /api/v1/cluster.
  actors::node_actor cluster() const { return cluster_; }
  /// This node's id in the cluster ("" outside one).
  const std::string& node_id() const { return node_id_; }
  actors::writer_actor telemetry_writer() const { return writer_; }
  actors::maintenance_actor telemetry_maintenance() const { return maintenance_; }
  actors::worker_actor analytics_job() const { return analytics_job_; }
  actors::fleet_actor fleet() const { return fleet_; }
  actors::mirror_actor redis_mirror() const { return mirror_; }
  runtime::node_health& health() { return health_; }
  runtime::metrics& metrics() { return metrics_; }
  const runtime::config& config() const { return cfg_; }

private:
  bool start_cluster(const actors::redis_settings& rs, const runtime::gauge* drone_actors, std::string& error);
  runtime::config cfg_;
  runtime::node_roles roles_; ///< node.roles, checked at start
  runtime::metrics metrics_;
  std::unique_ptr<caf::actor_system_config> sys_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  actors::directory_actor directory_;
  actors::hub_actor hub_;
  actors::node_actor cluster_;
  actors::owner_store_actor owners_; ///< drone ownership claims (a cluster with a database)
  std::string node_id_;
  actors::writer_actor writer_;
  actors::maintenance_actor maintenance_;
  actors::fleet_actor fleet_;
  actors::history_actor history_;
  actors::analytics_actor analytics_;    ///< analytics answers (null: not the analytics role, or no storage)
  actors::worker_actor analytics_job_;   ///< the analytics rollup job (null exactly when analytics_ is)
  actors::mirror_actor mirror_;
  actors::auth_actor auth_;
  actors::guard_actor guard_;
  actors::ticket_actor tickets_;
  actors::command_actor commands_; ///< the command journal (null: db.enabled = false, or neither telemetry nor commands)
  actors::safety_actor safety_;    ///< geofences and alarms (null exactly when commands_ is)
  actors::mission_actor missions_; ///< missions (null: db.enabled = false, or not the commands role)
  runtime::node_health health_;
  std::unique_ptr<server> server_;
  bool stopped_ = false;
};

} // namespace dccs::bridges
