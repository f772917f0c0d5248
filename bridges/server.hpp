#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/actors.hpp"
#include "actors/telemetry_store.hpp"
#include "auth/keys.hpp"
#include "auth/revocations.hpp"
#include "bridges/static_files.hpp"
#include "runtime/pg.hpp"
#include "runtime/config.hpp"
#include "runtime/metrics.hpp"
#include "runtime/roles.hpp"

namespace dccs::bridges {

/// Settings of the HTTP/WebSocket bridge, read from the node's configuration.
struct server_settings {
  std::string node_name;
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;
  int threads = 1;         ///< I/O threads of the drone sockets (http.threads)
  int control_threads = 1; ///< I/O threads of everything else: accepts, HTTP requests, operator sockets
  std::string static_dir;
  tile_settings tiles; ///< the dashboard map's tile server (web.*): GET /api/v1/config/web and the files' CSP
  std::size_t max_body = 1 << 20;
  int backlog = 4096;
  /// Open connections of the HTTP port (HTTP and WebSocket) served normally (http.max_connections; 0 in the
  /// configuration is resolved here from the file-descriptor limit, see automatic_max_connections).
  std::size_t max_connections = 1000;
  /// Connections past max_connections kept for health checks, metrics, logins and operators with credentials
  /// (http.reserve_connections).
  std::size_t reserve_connections = 32;
  std::size_t drone_max_frame = 16384;
  double drone_max_rate = 100;
  double drone_burst = 200;
  std::int64_t drone_hello_timeout_ms = 10000;
  std::int64_t drone_attach_timeout_ms = 10000; ///< from a connect to the drone actor's answer (then 1013)
  std::size_t drone_pending_frames = 64;
  std::size_t operator_max_frame = 65536;
  double operator_max_rate = 20;
  std::size_t operator_max_events = 1000;
  std::int64_t shutdown_grace_ms = 5000;
  std::vector<std::string> allowed_origins; ///< browser origins allowed to open /ws/operator besides our own
  std::int64_t ticket_ttl_s = 30;
  bool metrics_public = false;
  std::vector<std::string> trusted_proxies; ///< peers whose X-Forwarded-For is believed
  std::string default_group = "default";    ///< group of every drone when there is no registry
  /// The roles this node runs (node.roles): a route of another role is answered 421 with the members that run it.
  runtime::node_roles roles = runtime::node_roles::all();

  static server_settings from(const runtime::config& cfg);
};

/// What the bridge reaches besides the directory and the hub (each may be absent: storage off, no Redis).
struct server_services {
  actors::telemetry_buffer_ptr telemetry; ///< telemetry rows go here (null: nothing is stored)
  actors::fleet_actor fleet;              ///< the drone registry (fleet store actor)
  actors::history_actor history;          ///< telemetry history queries
  actors::analytics_actor analytics;      ///< the daily flight analytics (null: not this node's role)
  runtime::node_health* health = nullptr; ///< dependencies, for /readyz
  std::shared_ptr<const auth::key_ring> keys; ///< published at /.well-known/jwks.json
  actors::auth_actor auth;                ///< logins (auth service actor)
  std::string issuer = "dccs";            ///< iss and aud the access tokens must carry
  std::string audience = "dccs-api";
  bool storage = false;                   ///< db.enabled
  /// Revoked access tokens (logouts, changed users), consulted for every request and open operator socket.
  std::shared_ptr<auth::revocations> revocations = std::make_shared<auth::revocations>();
  actors::guard_actor guard;              ///< the revocation watcher: (deny_atom, jti, exp) after a logout
  actors::node_actor cluster;             ///< the cluster actor (null: a single node), GET /api/v1/cluster
  actors::ticket_actor tickets;           ///< operator WebSocket tickets (null: none are issued or taken)
  actors::command_actor commands;         ///< the command journal and routes (null: no commands here)
  actors::safety_actor safety;            ///< geofences and alarms (null: none here)
  actors::mission_actor missions;         ///< missions (null: none here)
};

/// The node's one HTTP port (Boost.Beast): drone WebSockets at /ws/drone, operator WebSockets at
/// /ws/operator, the REST API under /api/v1, health and metrics, and static files. Network I/O runs on its
/// own threads; it talks to actors only with asynchronous messages and never blocks on one.
class server {
public:
  server(caf::actor_system& sys, actors::directory_actor directory, actors::hub_actor hub, server_settings settings,
         runtime::metrics& metrics, const actors::actor_metrics& am, server_services services = {});
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the I/O threads. Returns false and sets `error` on failure.
  bool start(std::string& error);

  /// The bound port (useful with port 0).
  std::uint16_t port() const;

  /// Whether /readyz answers 200.
  void set_ready(bool ready);

  /// Graceful stop: no new connections, every socket gets a close frame (1001) after what is queued for it,
  /// then the I/O threads end (at most `shutdown_grace_ms` later).
  void stop();

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace dccs::bridges
