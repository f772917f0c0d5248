#include "bridges/node.hpp"

#include <sys/resource.h>

#include <map>

#include <caf/all.hpp>

#include "actors/actors.hpp"
#include "actors/fleet_store.hpp"
#include "actors/revocation_guard.hpp"
#include "actors/tickets.hpp"
#include "actors/analytics.hpp"
#include "actors/history.hpp"
#include "actors/telemetry_store.hpp"
#include "auth/keys_cli.hpp"
#include "actors/auth_service.hpp"
#include "bridges/server.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/log.hpp"
#include "runtime/clock.hpp"
#include "runtime/cluster_tls.hpp"
#include "runtime/secret.hpp"
#include "runtime/text.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>

namespace dccs::bridges {

namespace {

/// Raises the soft limit of open file descriptors to the hard limit (every connection is one; the default soft
/// limit, often 1024, is far below what a node serves) and logs what it is now.
void raise_descriptor_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  auto before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  auto show = [](rlim_t v) { return v == RLIM_INFINITY ? nlohmann::json("unlimited") : nlohmann::json(v); };
  runtime::log::info("node", "file descriptor limit", {{"limit", show(rl.rlim_cur)}, {"hard", show(rl.rlim_max)},
                                                       {"was", show(before)}});
}

bool loopback(const std::string& address) {
  return address == "127.0.0.1" || address == "::1" || address == "localhost";
}

/// Checked before anything starts: a cluster's links use TLS when cluster.tls.* is set (its files checked now,
/// runtime::check_cluster_tls), and a production node has no cluster without it.
bool check_cluster_links(const runtime::config& cfg, std::string& error) {
  auto tls = runtime::cluster_tls_files::from(cfg);
  if (!tls.enabled()) {
    if (cfg.str("node.mode") == "production") {
      error = "production mode needs cluster TLS for a cluster (cluster.port is set): set cluster.tls.ca, "
              "cluster.tls.certificate and cluster.tls.key (docs/cluster.md, \"Cluster TLS\"); without them any "
              "process that reaches the cluster port joins the cluster and reads its messages";
      return false;
    }
    if (!loopback(cfg.str("cluster.address")))
      runtime::log::warn("cluster", "cluster links are neither encrypted nor authenticated (no cluster.tls.*): any "
                                    "process that reaches the cluster port joins the cluster",
                         {{"address", cfg.str("cluster.address")}});
    return true;
  }
  std::string summary;
  if (!runtime::check_cluster_tls(tls, summary, error))
    return false;
  runtime::log::info("cluster", "cluster links use TLS", {{"certificate", summary}, {"ca", tls.ca}});
  return true;
}

} // namespace

node::node(runtime::config cfg) : cfg_(std::move(cfg)) {
}

node::~node() {
  stop();
}

bool node::start(std::string& error) {
  if (!runtime::node_roles::parse(cfg_.str("node.roles"), roles_, error))
    return false;
  if (auto url = cfg_.str("web.tile_url"); !url.empty() && !tile_origin(url)) {
    error = "web.tile_url: not a tile URL the dashboard can use (http(s)://host[:port]/...{z}...{x}...{y}..., the "
            "host a name or IPv4 address without '*' or a {s} subdomain; no spaces, quotes, ';' or ',')";
    return false;
  }
  if (roles_.runs(runtime::role::commands) && !roles_.runs(runtime::role::telemetry)) {
    // The command routes ask the registry whether the caller may command the drone: it lives with telemetry.
    error = "node.roles: commands needs telemetry on the same node (the command routes are authorized by the "
            "drone registry)";
    return false;
  }
  if (cfg_.integer("alarms.battery_critical") >= cfg_.integer("alarms.battery_warn")) {
    error = "alarms.battery_critical must be below alarms.battery_warn";
    return false;
  }
  if (cfg_.integer("cluster.port") != 0 && !check_cluster_links(cfg_, error))
    return false;
  // What runs here follows the roles (docs/cluster.md, "Roles"): telemetry has the drone directory and actors, the
  // registry, telemetry storage and history; the live view (the hub) serves telemetry's drone actors and
  // dashboard's operators; every node has the cluster actor, token checks and their audit, and the revocations.
  bool telemetry = roles_.runs(runtime::role::telemetry);
  bool live_view = telemetry || roles_.runs(runtime::role::dashboard);
  raise_descriptor_limit(); // before the limits of the HTTP port are derived from it
  auto sys_cfg = std::make_unique<runtime::node_system_config>(cfg_);
  actors::add_message_types(*sys_cfg);
  sys_cfg_ = std::move(sys_cfg);
  system_ = std::make_unique<caf::actor_system>(*sys_cfg_);
  actors::drone_settings ds;
  ds.stale_after_ms = cfg_.integer("drone.stale_after_ms");
  ds.lost_after_ms = cfg_.integer("drone.lost_after_ms");
  ds.max_restarts = static_cast<std::size_t>(cfg_.integer("drone.max_restarts"));
  ds.restart_window_ms = cfg_.integer("drone.restart_window_ms");
  ds.passivate_after_ms = cfg_.integer("drone.passivate_after_s") * 1000;
  actors::actor_metrics am;
  am.drone_restarts = &metrics_.make_counter("dccs_drone_restarts_total", "drone actor restarts");
  am.drone_escalations =
    &metrics_.make_counter("dccs_drone_escalations_total", "drone actors given up after repeated failures");
  am.operator_updates_dropped = &metrics_.make_counter(
    "dccs_operator_updates_dropped_total", "drone states superseded before a slow operator got them");
  am.operator_events_dropped =
    &metrics_.make_counter("dccs_operator_events_dropped_total", "status events dropped for slow operators");
  am.operator_notices_dropped = &metrics_.make_counter(
    "dccs_operator_notices_dropped_total",
    "command, control and alarm frames dropped for slow operators (64 wait at most per operator)");
  am.drone_actors = &metrics_.make_gauge("dccs_drone_actors", "active drone actors");
  am.drones_passivated = &metrics_.make_counter(
    "dccs_drones_passivated_total", "drone actors stopped after drone.passivate_after_s without a connection");
  am.drones_handed_off = &metrics_.make_counter(
    "dccs_drones_handed_off_total", "drone actors stopped here because another cluster member owns the drone now");
  am.connections_forwarded = &metrics_.make_counter(
    "dccs_cluster_connections_forwarded_total", "drone connections routed to the directory of the member that owns the drone");
  am.replica_batches_sent = &metrics_.make_counter(
    "dccs_cluster_replica_batches_sent_total", "live-view syncs sent to other members (drone states, events, removals)");
  am.replica_batches_received = &metrics_.make_counter("dccs_cluster_replica_batches_received_total",
                                                       "live-view syncs received from other members");
  am.replica_states_received = &metrics_.make_counter(
    "dccs_cluster_replica_states_received_total", "drone states of other members' drone actors received");
  ds.publish_interval_ms = 1000 / cfg_.integer("hub.rate");
  auto role_url = [this](const std::string& role) {
    auto url = cfg_.str("db." + role + "_url");
    return url.empty() ? cfg_.str("db.url") : url;
  };
  auto retry_min = std::chrono::milliseconds(cfg_.integer("db.retry_min_ms"));
  auto retry_max = std::chrono::milliseconds(cfg_.integer("db.retry_max_ms"));
  auto pg = [&](const std::string& role) {
    runtime::pg_settings p{role, role_url(role), retry_min, retry_max};
    p.connect_timeout_s = static_cast<int>(cfg_.integer("db.connect_timeout_s"));
    return p;
  };
  bool clustered = cfg_.integer("cluster.port") != 0;
  if (clustered) {
    node_id_ = runtime::random_token(12); // 16 characters of base64url
    ds.node_id = node_id_;
    if (!telemetry) {
      // No drone actors here: nothing to claim.
    } else if (cfg_.boolean("db.enabled")) {
      // Fencing: a drone actor claims its drone in the fleet database when it takes a connection.
      actors::owner_settings os;
      os.db = pg("fleet");
      os.node_id = node_id_;
      os.claims = &metrics_.make_counter("dccs_ownership_claims_total",
                                         "drone ownership claims recorded by this node (a drone actor took a connection)");
      owners_ = system_->spawn<caf::detached>(actors::owner_store_impl, os);
      ds.owners = owners_;
      ds.fenced = &metrics_.make_counter("dccs_drones_fenced_total",
                                         "drone actors stopped here because another member claimed the drone since");
    } else {
      runtime::log::warn("cluster", "a cluster without the database (db.enabled = false) has no ownership fencing: "
                                    "two members may both act as a drone's owner during a partition");
    }
  }
  if (live_view)
    hub_ = system_->spawn(actors::hub_impl, ds.publish_interval_ms, static_cast<int>(cfg_.integer("hub.flush_ms")),
                          ds.passivate_after_ms, static_cast<int>(cfg_.integer("cluster.sync_ms")), am);
  server_services services;
  services.health = &health_;
  services.storage = cfg_.boolean("db.enabled");
  if (!services.storage && cfg_.str("node.mode") == "production") {
    // Without the registry there are no drone credentials and no users: nothing could be authenticated.
    error = "production mode needs db.enabled = true (drone credentials and users live in PostgreSQL)";
    return false;
  }
  actors::fleet_metrics fm;
  fm.refused = &metrics_.make_counter("dccs_drones_refused_total", "hellos refused: drone not registered");
  fm.registered = &metrics_.make_counter("dccs_drones_registered_total", "drones registered automatically at hello");
  fm.register_refused = &metrics_.make_counter("dccs_drones_register_refused_total",
                                               "drones the database refused to register at hello (skipped)");
  fm.redis_writes = &metrics_.make_counter("dccs_redis_writes_total", "drone states written to Redis");
  fm.redis_skipped = &metrics_.make_counter("dccs_redis_skipped_total",
                                            "drone state writes skipped because Redis was unavailable");
  fm.rehydrated = &metrics_.make_counter("dccs_drones_restored_total", "drone states restored at startup");
  actors::redis_settings rs;
  if (!cfg_.str("redis.url").empty()) {
    if (!runtime::parse_redis_url(cfg_.str("redis.url"), rs.endpoint, error)) {
      error = "invalid redis.url: " + error;
      return false;
    }
    rs.enabled = true;
    rs.ttl_s = cfg_.integer("redis.ttl_s");
    rs.interval_ms = cfg_.integer("redis.interval_ms");
    rs.retry_min = std::chrono::milliseconds(cfg_.integer("db.retry_min_ms"));
    rs.retry_max = std::chrono::milliseconds(cfg_.integer("redis.retry_max_ms"));
    if (telemetry) // (the mirror reports Redis at /readyz; without it, the revocation watcher does: below)
      mirror_ = system_->spawn<caf::detached>(actors::redis_mirror, rs, hub_, fm, &health_);
  } else {
    health_.redis.set(runtime::dependency_health::disabled);
  }
  try {
    services.keys = std::make_shared<const auth::key_ring>(auth::load_node_keys(cfg_));
  } catch (const std::exception& e) {
    error = std::string{"signing keys: "} + e.what();
    return false;
  }
  if (services.storage) {
    auth::auth_settings as;
    as.db = pg("auth");
    as.issuer = cfg_.str("auth.issuer");
    as.audience = cfg_.str("auth.audience");
    as.access_ttl_s = cfg_.integer("auth.access_ttl_s");
    as.refresh_ttl_s = cfg_.integer("auth.refresh_ttl_s");
    as.limits.per_account = cfg_.integer("auth.login_failures_per_account");
    as.limits.per_address = cfg_.integer("auth.login_failures_per_address");
    as.limits.window_s = cfg_.integer("auth.login_window_s");
    as.limits.redis_enabled = rs.enabled; // the fleet's Redis: the counters are shared by every node
    as.limits.redis = rs.endpoint;
    as.limits.retry_min = rs.retry_min;
    as.limits.retry_max = rs.retry_max;
    // On every node: it writes the audit rows of refused tokens and, on telemetry nodes, of registry changes (one
    // audit log, in the auth database). Its routes (logins, users, the audit log) are served by auth nodes only,
    // which also create the first admin.
    as.bootstrap = roles_.runs(runtime::role::auth);
    auth_ = system_->spawn<caf::detached>(auth::auth_service, as, services.keys);
    services.auth = auth_;
    services.issuer = as.issuer;
    services.audience = as.audience;
  }
  if (services.storage && (telemetry || roles_.runs(runtime::role::commands))) {
    // The command journal: its routes (commands role), and the record of what drone actors (telemetry) do with
    // the commands they deliver.
    actors::command_settings cs;
    cs.db = pg("commands");
    cs.registry_db = pg("fleet");
    cs.timing.retry_ms = cfg_.integer("commands.retry_ms");
    cs.timing.max_attempts = static_cast<std::uint32_t>(cfg_.integer("commands.max_attempts"));
    cs.timing.progress_timeout_ms = cfg_.integer("commands.progress_timeout_ms");
    cs.default_ttl_ms = cfg_.integer("commands.default_ttl_s") * 1000;
    cs.max_ttl_ms = cfg_.integer("commands.max_ttl_s") * 1000;
    cs.lease_ttl_ms = cfg_.integer("commands.lease_ttl_s") * 1000;
    cs.journal_connections = static_cast<std::size_t>(cfg_.integer("commands.journal_connections"));
    cs.hub = hub_;
    cs.auditor = auth_;
    cs.issued = &metrics_.make_counter("dccs_commands_issued_total", "commands issued (journaled)");
    cs.unrecorded_dropped = &metrics_.make_counter(
      "dccs_commands_unrecorded_dropped_total", "command state reports dropped while the journal's database was down");
    const std::vector<double> accept_bounds{0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
    cs.accept_wait = &metrics_.make_histogram(
      "dccs_command_accept_wait_ms",
      "new commands: from the request read by the bridge to the command journal taking it up (the actors and queues "
      "between), ms",
      accept_bounds);
    cs.accept_db = &metrics_.make_histogram(
      "dccs_command_accept_db_ms",
      "new commands: the journal's registry read and issue, committed (the journal's share of the wait for the 202), "
      "ms",
      accept_bounds);
    cs.fleet_authorized = &metrics_.make_counter(
      "dccs_command_fleet_authorized_total",
      "new commands for a drone the journal's registry read did not find (one registering itself at its first hello): "
      "authorized by the fleet store");
    cs.report_batch = &metrics_.make_histogram(
      "dccs_command_report_batch",
      "drone actors' command reports journaled per transaction (each of the journal's connections commits the "
      "reports waiting for it together)",
      {1, 2, 4, 8, 16, 32, 64, 128, 256});
    static const char* finished_help = "commands that reached a final state, by state";
    std::map<actors::command_state, runtime::counter*> by_state;
    for (auto st : {actors::command_state::succeeded, actors::command_state::failed, actors::command_state::rejected,
                    actors::command_state::expired, actors::command_state::timed_out, actors::command_state::cancelled})
      by_state[st] = &metrics_.make_counter("dccs_commands_finished_total", finished_help,
                                            std::string{"state=\""} + actors::to_string(st) + "\"");
    cs.finished = [by_state](actors::command_state st) {
      if (auto i = by_state.find(st); i != by_state.end())
        i->second->inc();
    };
    ds.command_timing = cs.timing;
    commands_ = system_->spawn(actors::command_service, cs);
    ds.commands = commands_;
    services.commands = roles_.runs(runtime::role::commands) ? commands_ : actors::command_actor{};
    // Geofences and alarms, beside the journal (a breach commands the drone through it).
    actors::safety_settings ss;
    ss.db = pg("commands");
    ss.poll_ms = cfg_.integer("geofences.poll_ms");
    ss.commands = commands_;
    ss.hub = hub_;
    ss.auditor = auth_;
    ss.raised = &metrics_.make_counter("dccs_alarms_raised_total", "alarms raised (new ones, not the repeats counted on them)");
    ss.pending_dropped = &metrics_.make_counter("dccs_alarm_events_dropped_total",
                                                "alarm events dropped while the database was down (the oldest first)");
    safety_ = system_->spawn<caf::detached>(actors::safety_service, ss);
    caf::anon_send(commands_, safety_);
    ds.safety = safety_;
    ds.battery_warn = static_cast<double>(cfg_.integer("alarms.battery_warn"));
    ds.battery_critical = static_cast<double>(cfg_.integer("alarms.battery_critical"));
    ds.breach_clear_ms = cfg_.integer("geofences.clear_after_ms");
    ds.alarm_budget = static_cast<std::size_t>(cfg_.integer("alarms.max_per_minute"));
    ds.alarm_events_limited = &metrics_.make_counter(
      "dccs_alarm_events_limited_total", "alarm events of drones past alarms.max_per_minute, dropped");
    services.safety = roles_.runs(runtime::role::commands) ? safety_ : actors::safety_actor{};
  }
  if (telemetry) {
    directory_ = system_->spawn(actors::directory_impl, hub_, ds, am);
    if (commands_ != nullptr)
      caf::anon_send(commands_, directory_);
    if (safety_ != nullptr)
      caf::anon_send(safety_, directory_);
  }
  if (services.storage && telemetry) {
    actors::fleet_settings fs;
    fs.db = pg("fleet");
    auto policy = cfg_.str("fleet.unregistered");
    if (policy == "mode")
      policy = cfg_.str("node.mode") == "production" ? "refuse" : "register";
    fs.unregistered = policy == "refuse" ? actors::unregistered_policy::refuse : actors::unregistered_policy::register_it;
    fs.redis = rs;
    fs.seen_interval_ms = cfg_.integer("fleet.last_seen_ms");
    fs.admission_batch = static_cast<std::size_t>(cfg_.integer("fleet.admission_batch"));
    fs.default_group = cfg_.str("fleet.default_group");
    fs.auditor = auth_;
    fleet_ = system_->spawn<caf::detached>(actors::fleet_store, fs, hub_, directory_, fm, &health_);
    services.fleet = fleet_;
    if (commands_ != nullptr)
      caf::anon_send(commands_, fleet_); // it decides about a new command for a drone the journal does not find
    if (roles_.runs(runtime::role::commands)) {
      // Missions: planned and validated against the geofences in the journal's database; the registry says who may
      // assign which drone.
      actors::mission_settings ms;
      ms.db = pg("commands");
      ms.fleet = fleet_;
      ms.auditor = auth_;
      ms.directory = directory_;
      ms.commands = commands_;
      ms.safety = safety_;
      ms.hub = hub_;
      ms.retry_ms = cfg_.integer("missions.retry_ms");
      ms.max_attempts = static_cast<std::uint32_t>(cfg_.integer("missions.max_attempts"));
      ms.limits.min_alt = static_cast<double>(cfg_.integer("missions.min_alt"));
      ms.limits.max_alt = static_cast<double>(cfg_.integer("missions.max_alt"));
      ms.energy.reserve_percent = static_cast<double>(cfg_.integer("missions.reserve_percent"));
      missions_ = system_->spawn<caf::detached>(actors::mission_service, ms);
      services.missions = missions_;
      if (directory_ != nullptr)
        caf::anon_send(directory_, missions_); // its drone actors report what no upload asked for to it
    }
    history_ = system_->spawn<caf::detached>(actors::history_impl,
                                             pg("telemetry"),
                                             cfg_.integer("history.max_rows"),
                                             services.keys->derive_secrets(actors::history::cursor_key_label));
    services.history = history_;
    actors::telemetry_settings ts;
    ts.db = pg("telemetry");
    ts.flush_ms = cfg_.integer("telemetry.flush_ms");
    ts.batch_rows = static_cast<std::size_t>(cfg_.integer("telemetry.batch_rows"));
    ts.retention_days = cfg_.integer("telemetry.retention_days");
    ts.partitions_ahead = cfg_.integer("telemetry.partitions_ahead");
    ts.maintenance_s = cfg_.integer("telemetry.maintenance_s");
    actors::telemetry_metrics tm;
    tm.committed = &metrics_.make_counter("dccs_telemetry_rows_committed_total", "telemetry rows committed");
    tm.duplicates = &metrics_.make_counter("dccs_telemetry_rows_duplicate_total",
                                           "telemetry rows already stored (resent frames), not stored again");
    // One family, by reason: buffer_full (best-effort rows, the oldest first, while PostgreSQL is slow or down and
    // the buffer reached telemetry.buffer_bytes), refused (rows the database refused for their content).
    static const char* dropped_help = "telemetry rows never stored, by reason: buffer_full (best-effort rows dropped"
                                      " while the buffer was full), refused (the database refused the row)";
    tm.dropped = &metrics_.make_counter("dccs_telemetry_rows_dropped_total", dropped_help, "reason=\"buffer_full\"");
    tm.dropped_refused = &metrics_.make_counter("dccs_telemetry_rows_dropped_total", dropped_help, "reason=\"refused\"");
    tm.refused = &metrics_.make_counter("dccs_telemetry_rows_refused_total",
                                        "acknowledged telemetry rows refused because the buffer was full");
    tm.batches = &metrics_.make_counter("dccs_telemetry_batches_total", "telemetry transactions committed");
    static const char* path_help = "telemetry transactions committed, by how they wrote their rows: copy (one COPY straight"
                                   " into the table) or staging (through the staging table: a row already stored, or one"
                                   " the database refused)";
    tm.copied = &metrics_.make_counter("dccs_telemetry_batches_by_path_total", path_help, "path=\"copy\"");
    tm.staged = &metrics_.make_counter("dccs_telemetry_batches_by_path_total", path_help, "path=\"staging\"");
    tm.failures = &metrics_.make_counter("dccs_telemetry_write_failures_total", "telemetry batch writes that failed");
    tm.buffered_rows = &metrics_.make_gauge("dccs_telemetry_buffer_rows", "telemetry rows waiting to be written");
    tm.buffered_bytes = &metrics_.make_gauge("dccs_telemetry_buffer_bytes", "memory of telemetry rows waiting");
    tm.latency = &metrics_.make_histogram("dccs_telemetry_commit_latency_ms",
                                          "time from receiving a telemetry frame to its commit, ms",
                                          {1, 2, 5, 10, 20, 50, 100, 150, 200, 250, 300, 500, 1000, 2000, 5000, 10000});
    tm.partitions_created = &metrics_.make_counter("dccs_telemetry_partitions_created_total", "partitions created");
    tm.partitions_dropped = &metrics_.make_counter("dccs_telemetry_partitions_dropped_total",
                                                   "partitions dropped past retention");
    services.telemetry = std::make_shared<actors::telemetry_buffer>(
      static_cast<std::size_t>(cfg_.integer("telemetry.buffer_bytes")), ts.batch_rows, tm);
    writer_ = system_->spawn<caf::detached>(actors::telemetry_writer, services.telemetry, ts, tm,
                                            &health_.telemetry_db);
    maintenance_ = system_->spawn<caf::detached>(actors::telemetry_maintenance, ts, tm);
  } else {
    health_.fleet_db.set(runtime::dependency_health::disabled);
    health_.telemetry_db.set(runtime::dependency_health::disabled);
  }
  if (services.storage && roles_.runs(runtime::role::analytics)) {
    // Daily flight analytics: the rollup job (one pass at a time cluster-wide) and the routes.
    actors::analytics_settings as;
    as.telemetry = pg("telemetry");
    as.fleet = pg("fleet");
    as.commands = pg("commands");
    as.rules.max_gap_ms = cfg_.integer("analytics.max_gap_s") * 1000;
    as.rules.takeoff_m = static_cast<double>(cfg_.integer("analytics.takeoff_m"));
    as.interval_s = cfg_.integer("analytics.interval_s");
    as.settle_s = cfg_.integer("analytics.settle_s");
    as.window_s = cfg_.integer("analytics.window_s");
    as.history_days = cfg_.integer("telemetry.retention_days");
    as.retention_days = cfg_.integer("analytics.retention_days");
    as.max_rows = cfg_.integer("analytics.max_rows");
    actors::analytics::job_metrics jm;
    jm.passes = &metrics_.make_counter("dccs_analytics_passes_total", "analytics rollup passes run by this node");
    jm.failures = &metrics_.make_counter("dccs_analytics_failures_total", "analytics rollup passes that failed (retried)");
    jm.samples = &metrics_.make_counter("dccs_analytics_samples_total", "telemetry samples counted into daily analytics");
    jm.recomputed = &metrics_.make_counter("dccs_analytics_days_recomputed_total",
                                           "(drone, day) analytics computed again for samples stored late");
    jm.resorted = &metrics_.make_counter("dccs_analytics_drones_resorted_total",
                                         "drones whose samples a pass read again in time order (some were stored out of it)");
    jm.lag_s = &metrics_.make_gauge("dccs_analytics_lag_seconds", "how far the analytics lag behind now after this node's last pass, s");
    analytics_job_ = system_->spawn<caf::detached>(actors::analytics_job, as, jm);
    analytics_ = system_->spawn<caf::detached>(actors::analytics_impl, as);
    services.analytics = analytics_;
  }
  {
    // Logouts (through Redis) and user changes (auth.users) reach every node's revocations.
    auth::guard_settings gs;
    if (services.storage)
      gs.db = pg("auth");
    if (rs.enabled)
      gs.redis = rs.endpoint;
    gs.retry_min = retry_min;
    gs.retry_max = std::chrono::milliseconds(cfg_.integer("redis.retry_max_ms"));
    gs.poll = std::chrono::milliseconds(cfg_.integer("auth.revocation_poll_ms"));
    gs.access_ttl_s = cfg_.integer("auth.access_ttl_s");
    if (rs.enabled && mirror_ == nullptr)
      gs.redis_health = &health_.redis; // a node without the Redis mirror: /readyz shows Redis as the watcher sees it
    guard_ = system_->spawn<caf::detached>(auth::revocation_guard, gs, services.revocations); // every node checks tokens
    services.guard = guard_;
  }
  {
    // Operator tickets: issued and spent here; those of other members are spent by them (cluster-wide, single use).
    actors::ticket_settings ts;
    ts.issuer = node_id_;
    ts.ttl_s = cfg_.integer("auth.ticket_ttl_s");
    ts.revocations = services.revocations;
    tickets_ = system_->spawn(actors::ticket_impl, ts);
    services.tickets = tickets_;
  }
  if (cfg_.integer("cluster.port") != 0 && !start_cluster(rs, am.drone_actors, error))
    return false;
  services.cluster = cluster_;
  auto settings = server_settings::from(cfg_);
  auto node_name = settings.node_name;
  server_ = std::make_unique<server>(*system_, directory_, hub_, std::move(settings), metrics_, am,
                                     std::move(services));
  if (!server_->start(error))
    return false;
  if (cluster_ != nullptr) {
    // What the other members name in their 421 answers for this node's roles: where clients reach it.
    auto http = cfg_.str("cluster.http_advertise");
    if (http.empty())
      http = cfg_.str("http.address") + ":" + std::to_string(port());
    caf::anon_send(cluster_, actors::listen_atom::value, std::move(http));
  }
  server_->set_ready(true);
  runtime::log::info("node", "listening",
                     {{"node", node_name},
                      {"roles", roles_.names()},
                      {"address", cfg_.str("http.address")},
                      {"port", port()},
                      {"scheduler", cfg_.str("scheduler.policy")}});
  return true;
}

bool node::start_cluster(const actors::redis_settings& rs, const runtime::gauge* drone_actors, std::string& error) {
  actors::cluster_settings cs;
  cs.self.id = node_id_;
  auto address = cfg_.str("cluster.address");
  auto cport = static_cast<std::uint16_t>(cfg_.integer("cluster.port"));
  cs.self.cluster = address + ":" + std::to_string(cport);
  if (auto advertised = cfg_.str("cluster.advertise"); !advertised.empty()) {
    // What the other members dial (the board, hellos); the port itself still binds to cluster.address.
    std::string host;
    std::uint16_t p = 0;
    if (!runtime::split_host_port(advertised, host, p)) {
      error = "cluster.advertise: '" + advertised + "' is not host:port";
      return false;
    }
    cs.self.cluster = advertised;
  }
  if (auto http = cfg_.str("cluster.http_advertise"); !http.empty()) {
    std::string host;
    std::uint16_t p = 0;
    if (!runtime::split_host_port(http, host, p)) {
      error = "cluster.http_advertise: '" + http + "' is not host:port";
      return false;
    }
  }
  cs.self.roles = roles_.names();
  cs.self.epoch = static_cast<std::int64_t>(runtime::wall_ms());
  std::string seeds = cfg_.str("cluster.seeds");
  cs.seeds = runtime::split_list(seeds, "");
  for (auto& seed : cs.seeds) {
    std::string host;
    std::uint16_t p = 0;
    if (!runtime::split_host_port(seed, host, p)) {
      error = "cluster.seeds: '" + seed + "' is not host:port";
      return false;
    }
  }
  cs.heartbeat_ms = cfg_.integer("cluster.heartbeat_ms");
  cs.timeout_ms = cfg_.integer("cluster.timeout_ms");
  cs.redis_enabled = rs.enabled;
  cs.members = &metrics_.make_gauge("dccs_cluster_members", "live cluster members, this node included");
  cs.members->set(1);
  cs.members_lost = &metrics_.make_counter("dccs_cluster_members_lost_total",
                                           "cluster members gone: connection lost or silent for cluster.timeout_ms");
  cs.redis = rs.endpoint;
  cs.drone_actors = drone_actors;
  if (cs.seeds.empty() && !cs.redis_enabled)
    runtime::log::warn("cluster", "no cluster.seeds and no redis.url (the membership board): this node finds no "
                                  "other member by itself; they must name it in their seeds");
  actors::cluster_peer local;
  local.directory = directory_;
  local.hub = hub_;
  local.fleet = fleet_;
  local.tickets = tickets_;
  local.commands = commands_;
  cluster_ = system_->spawn<caf::detached>(actors::cluster_impl, cs, std::move(local));
  // With cluster TLS the port is opened by CAF's OpenSSL module: it accepts only TLS, from certificates of the CA.
  bool tls = system_->has_openssl_manager();
  auto published = tls ? caf::openssl::publish(cluster_, cport, address.c_str(), true)
                       : system_->middleman().publish(cluster_, cport, address.c_str(), true);
  if (!published) {
    error = "cannot open the cluster port " + cs.self.cluster + ": " + system_->render(published.error());
    return false;
  }
  runtime::log::info("cluster", "cluster port open",
                     {{"node_id", node_id_}, {"address", cs.self.cluster}, {"seeds", seeds}, {"tls", tls}});
  return true;
}

void node::stop() {
  if (stopped_ || system_ == nullptr)
    return;
  stopped_ = true;
  runtime::log::info("node", "shutting down");
  if (server_) {
    server_->set_ready(false);
    if (hub_ != nullptr) {
      // Push what the hub holds to the operators before their sockets close.
      caf::scoped_actor self{*system_};
      self->request(hub_, std::chrono::seconds(2), actors::flush_atom::value)
        .receive([](bool) {}, [](caf::error&) {});
    }
    server_->stop();
  }
  if (writer_ != nullptr) {
    // The sockets are closed: write what the buffer still holds.
    caf::scoped_actor self{*system_};
    self->request(writer_, std::chrono::seconds(10), actors::flush_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  }
  if (mirror_ != nullptr) {
    // The last states go to Redis, for the node that starts next.
    caf::scoped_actor self{*system_};
    self->request(mirror_, std::chrono::seconds(5), actors::flush_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  }
  auto stop_actor = [](auto& a) {
    if (a != nullptr)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    a = nullptr;
  };
  stop_actor(writer_);
  stop_actor(maintenance_);
  stop_actor(fleet_);
  stop_actor(history_);
  stop_actor(analytics_);
  stop_actor(analytics_job_);
  stop_actor(mirror_);
  stop_actor(auth_);
  stop_actor(guard_);
  stop_actor(tickets_);
  stop_actor(missions_);
  stop_actor(safety_);
  stop_actor(commands_);
  stop_actor(cluster_);
  stop_actor(owners_);
  stop_actor(directory_);
  stop_actor(hub_);
  // Link actors hold their sockets: let every actor end before the server's
  // io_context goes.
  system_->await_all_actors_done();
  server_.reset();
  system_.reset();
  runtime::log::info("node", "stopped");
}

std::uint16_t node::port() const {
  return server_ ? server_->port() : 0;
}

caf::actor_system& node::system() {
  return *system_;
}

} // namespace dccs::bridges
