#include "runtime/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace dccs::runtime {

namespace {

using ot = option_type;

bool parse_int(const std::string& text, std::int64_t& out) {
  auto first = text.data();
  auto last = text.data() + text.size();
  auto res = std::from_chars(first, last, out);
  return res.ec == std::errc{} && res.ptr == last && !text.empty();
}

bool parse_number(const std::string& text, double& out) {
  auto first = text.data();
  auto last = text.data() + text.size();
  auto res = std::from_chars(first, last, out);
  return res.ec == std::errc{} && res.ptr == last && !text.empty();
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    out = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "no" || text == "off") {
    out = false;
    return true;
  }
  return false;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

const option_spec* find_spec(const std::string& name) {
  for (auto& spec : option_specs())
    if (spec.name == name)
      return &spec;
  return nullptr;
}

} // namespace

const std::vector<option_spec>& option_specs() {
  static const std::vector<option_spec> specs = {
    {"config", ot::string, "", "configuration file to read (name = value lines)"},
    {"node.name", ot::string, "", "name of this node in logs and /healthz (default: the host name)"},
    {"node.roles", ot::string, "all",
     "what this node serves: all, or a comma-separated list of telemetry, commands, auth, dashboard, analytics (docs/cluster.md, "
     "\"Roles\"; a route of a role the node does not run is answered 421 naming the members that run it)"},
    {"http.address", ot::string, "127.0.0.1", "address the HTTP/WebSocket port binds to"},
    {"http.port", ot::integer, "8080", "HTTP/WebSocket port (0 picks a free port)", 0, 65535},
    {"http.threads", ot::integer, "1",
     "I/O threads of the drone sockets (their frames are read, parsed and handed to the drone actors there)", 1, 64},
    {"http.control_threads", ot::integer, "1",
     "I/O threads of everything else on the HTTP port: accepts, REST requests, operator sockets (apart from the "
     "drones', so that a fleet's telemetry never queues a command or an operator's frame behind it)",
     1, 64},
    {"http.static_dir", ot::string, "web/dist", "folder served as static files at / (empty: none): the built dashboard"},
    {"web.tile_url", ot::string, "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
     "the dashboard map's tile server, http(s)://host[:port]/...{z}/{x}/{y}... (empty: none; the map then draws its "
     "offline base map only); the dashboard's CSP allows images from its origin"},
    {"web.tile_attribution", ot::string, "\u00a9 OpenStreetMap contributors",
     "the attribution the map shows for its tiles (the tile server's terms)"},
    {"web.tile_max_zoom", ot::integer, "19", "the tile server's highest zoom level", 1, 24},
    {"http.max_body", ot::integer, "1048576", "largest accepted HTTP request body, bytes", 0, 1 << 30},
    {"http.allowed_origins", ot::string, "",
     "comma-separated origins (scheme://host[:port]) allowed to open an operator WebSocket from a browser, "
     "besides the node's own origin; other cross-origin upgrades are refused with 403"},
    {"http.trusted_proxies", ot::string, "",
     "comma-separated addresses of reverse proxies whose X-Forwarded-For names the client (for the audit log and "
     "the per-address login limits); from any other peer the header is ignored"},
    {"http.metrics_public", ot::boolean, "false",
     "serve /metrics without an access token (for a Prometheus on a private network; otherwise an admin token "
     "is required)"},
    {"http.backlog", ot::integer, "4096", "listen backlog of the HTTP port", 16, 65535},
    {"http.max_connections", ot::integer, "0",
     "open connections (HTTP and WebSocket) the HTTP port serves; past them (and the reserve) new connections "
     "get 503 and are closed. 0: the file-descriptor limit less a tenth of it (at least 64) and the reserve",
     0, 100000000},
    {"http.reserve_connections", ot::integer, "32",
     "connections past http.max_connections kept for health and readiness checks, metrics, logins and operators "
     "with an access token or ticket (one request each, then closed)", 0, 1000000},
    {"scheduler.policy", ot::string, "stealing", "CAF scheduler policy (see docs/architecture.md)", 0, 0,
     {"sharing", "stealing"}},
    {"scheduler.threads", ot::integer, "0", "CAF scheduler worker threads (0: one per core)", 0, 256},
    {"scheduler.idle_poll_us", ot::integer, "100",
     "how long a CAF worker with nothing to do keeps looking for work (waking every 50 us) before it sleeps until "
     "work comes (docs/architecture.md, \"Threads\")", 0, 1000000},
    {"scheduler.idle_wait_us", ot::integer, "1000",
     "how often a sleeping CAF worker wakes to take work queued at another, busier worker, us", 50, 1000000},
    {"log.level", ot::string, "info", "lowest severity logged", 0, 0, {"debug", "info", "warn", "error", "off"}},
    {"log.format", ot::string, "text", "log line format", 0, 0, {"text", "json"}},
    {"drone.max_frame", ot::integer, "16384", "largest drone frame, bytes (larger: close 1009)", 256,
     1 << 24},
    {"drone.max_rate", ot::integer, "100", "frames per second a drone connection may sustain (over: close 1008)",
     1, 1000000},
    {"drone.burst", ot::integer, "200", "frames a drone connection may send in a burst above max_rate", 1,
     1000000},
    {"drone.hello_timeout_ms", ot::integer, "10000", "time a new drone connection has to say hello", 100,
     3600000},
    {"drone.pending_frames", ot::integer, "64", "frames kept while a drone's actor is being attached", 1,
     100000},
    {"drone.stale_after_ms", ot::integer, "3000", "silence after which a drone is stale", 10, 86400000},
    {"drone.lost_after_ms", ot::integer, "10000", "silence after which a drone is lost", 10, 86400000},
    {"drone.max_restarts", ot::integer, "5", "restarts of a drone actor allowed within restart_window_ms", 0,
     1000},
    {"drone.restart_window_ms", ot::integer, "60000", "window for counting drone actor restarts", 1,
     86400000},
    {"drone.passivate_after_s", ot::integer, "600",
     "a drone with no connection for this long leaves memory (its actor stops; its state stays in Redis and "
     "PostgreSQL); 0 never",
     0, 31536000},
    {"drone.attach_timeout_ms", ot::integer, "10000",
     "time a drone connection waits for its actor to answer (after the hello, after a reroute); then close 1013",
     100, 3600000},
    {"cluster.port", ot::integer, "0",
     "port of this node's cluster link (CAF's middleman); 0: a single node, no cluster (docs/cluster.md)", 0,
     65535},
    {"cluster.address", ot::string, "127.0.0.1",
     "address the cluster port binds to and that the other members use to reach this node (never the HTTP port)"},
    {"cluster.advertise", ot::string, "",
     "host:port the other members connect to, when not cluster.address:cluster.port (a proxy or NAT in between)"},
    {"cluster.http_advertise", ot::string, "",
     "host:port clients reach this node's HTTP port at, announced to the other members and named in their 421 "
     "answers, when not http.address:http.port (a wildcard address, a proxy or NAT in between)"},
    {"cluster.seeds", ot::string, "", "comma-separated host:port of other members' cluster ports, tried at start"},
    {"cluster.heartbeat_ms", ot::integer, "500",
     "how often members tell each other they are alive (also CAF's middleman.heartbeat-interval)", 10, 60000},
    {"cluster.timeout_ms", ot::integer, "3000",
     "a member not heard for this long is gone: its drones move (also CAF's middleman.connection-timeout)", 50,
     600000},
    {"cluster.sync_ms", ot::integer, "20",
     "how often a node sends the states of its drones to the other members (one batch per member)", 1, 10000},
    {"cluster.tls.ca", ot::string, "",
     "CA certificate file (PEM) that signs every member's certificate; with cluster.tls.certificate and "
     "cluster.tls.key, cluster links use TLS and only members with a certificate from this CA join "
     "(docs/cluster.md, \"Cluster TLS\"); a production node needs all three for a cluster"},
    {"cluster.tls.certificate", ot::string, "",
     "this node's certificate file (PEM, signed by cluster.tls.ca, extendedKeyUsage serverAuth and clientAuth)"},
    {"cluster.tls.key", ot::string, "", "this node's private key file (unencrypted PEM, mode 0600)"},
    {"hub.rate", ot::integer, "10", "updates per drone per second pushed to each operator (coalesced)", 1,
     1000},
    {"hub.flush_ms", ot::integer, "5", "longest wait to gather changed drones into one operator frame, ms", 1,
     1000},
    {"operator.max_frame", ot::integer, "65536", "largest frame an operator may send, bytes", 256, 1 << 24},
    {"operator.max_rate", ot::integer, "20", "frames per second an operator may send (over: close 1008)", 1,
     100000},
    {"operator.max_events", ot::integer, "1000", "status events kept for a slow operator", 1, 10000000},
    {"node.mode", ot::string, "development",
     "development (conveniences: unregistered drones register themselves) or production (strict defaults)", 0,
     0, {"development", "production"}},
    {"fleet.unregistered", ot::string, "mode",
     "what happens when an unregistered drone says hello: register it, refuse it, or follow node.mode "
     "(development: register, production: refuse)", 0, 0, {"mode", "register", "refuse"}},
    {"fleet.default_group", ot::string, "default",
     "drone group of drones registered without one (at first hello or by POST without \"group\")"},
    {"fleet.last_seen_ms", ot::integer, "10000", "how often the registry's last_seen times are written, ms", 10,
     3600000},
    {"fleet.admission_batch", ot::integer, "1000",
     "the most drone hellos one registry query answers (a reconnect storm is answered in batches of this size)", 1,
     100000},
    {"node.data_dir", ot::string, "var",
     "folder for what a development node makes for itself (its signing key, under keys/)"},
    {"auth.keys_dir", ot::string, "",
     "folder of the Ed25519 signing keys (*.pem, mode 0600; the newest signs, all verify); empty: "
     "<node.data_dir>/keys, where a development node generates one (production refuses to start without one)"},
    {"auth.issuer", ot::string, "dccs", "iss of the access tokens this node issues and accepts"},
    {"auth.audience", ot::string, "dccs-api", "aud of the access tokens this node issues and accepts"},
    {"auth.access_ttl_s", ot::integer, "900", "lifetime of an access token, seconds", 60, 86400},
    {"auth.refresh_ttl_s", ot::integer, "604800",
     "absolute lifetime of a login's refresh tokens (rotation does not extend it), seconds", 300, 31536000},
    {"auth.ticket_ttl_s", ot::integer, "30",
     "lifetime of a single-use operator WebSocket ticket (POST /api/v1/auth/ticket), seconds", 1, 300},
    {"auth.login_failures_per_account", ot::integer, "10",
     "failed logins for one account within auth.login_window_s before it is locked for the rest of the window",
     1, 1000000},
    {"auth.login_failures_per_address", ot::integer, "50",
     "failed logins from one client address within auth.login_window_s before the address is refused for the "
     "rest of the window", 1, 1000000},
    {"auth.login_window_s", ot::integer, "900", "window of the failed-login limits, seconds", 1, 86400},
    {"auth.revocation_poll_ms", ot::integer, "1000",
     "how often a node reads logouts (Redis) and user changes (PostgreSQL) to refuse revoked tokens and close "
     "their sockets, ms", 100, 60000},
    {"db.enabled", ot::boolean, "true",
     "keep the registry and telemetry history in PostgreSQL (false: live view only, nothing is stored)"},
    {"db.url", ot::string, "",
     "PostgreSQL connection string (empty: libpq's defaults and PG* environment variables)"},
    {"db.fleet_url", ot::string, "", "connection string of the fleet role's database (empty: db.url)"},
    {"db.telemetry_url", ot::string, "", "connection string of the telemetry role's database (empty: db.url)"},
    {"db.auth_url", ot::string, "", "connection string of the auth role's database (empty: db.url)"},
    {"db.commands_url", ot::string, "", "connection string of the commands role's database (empty: db.url)"},
    {"db.retry_min_ms", ot::integer, "250", "first wait before reconnecting to PostgreSQL after a failure, ms", 1,
     3600000},
    {"db.retry_max_ms", ot::integer, "10000", "longest wait between PostgreSQL reconnect attempts, ms", 1,
     3600000},
    {"db.connect_timeout_s", ot::integer, "5",
     "longest wait for a PostgreSQL connection to open, s (libpq connect_timeout; 0: no limit)", 0, 600},
    {"commands.retry_ms", ot::integer, "1500",
     "a command the drone has not answered for this long is sent again (same command_id, attempt + 1), ms", 50,
     600000},
    {"commands.max_attempts", ot::integer, "3", "sends of a command in all before it is timed_out", 1, 100},
    {"commands.progress_timeout_ms", ot::integer, "10000",
     "an accepted or in_progress command the drone reports nothing of for this long is timed_out, ms", 100,
     86400000},
    {"commands.default_ttl_s", ot::integer, "30",
     "a command's time to live when the request names none: never sent after it, s", 1, 86400},
    {"commands.max_ttl_s", ot::integer, "3600", "the longest ttl_s a command may ask for, s", 1, 86400},
    {"commands.journal_connections", ot::integer, "4",
     "connections of the command journal to the commands role's database: commands of different drones are "
     "journaled in parallel on them (those of one drone in order on one)",
     1, 64},
    {"commands.lease_ttl_s", ot::integer, "60",
     "how long a drone's control lease lasts when taken without ttl_s, and what each of its holder's commands "
     "renews it to, s",
     1, 3600},
    {"geofences.poll_ms", ot::integer, "1000",
     "how often a node looks whether the geofences changed (on any member), ms: the longest a change takes to apply "
     "to the drones of another member",
     50, 600000},
    {"geofences.clear_after_ms", ot::integer, "3000",
     "a geofence breach ends (its alarm cleared by the system) after this long without a position that breaks a "
     "fence, ms",
     0, 3600000},
    {"alarms.battery_warn", ot::integer, "25", "a drone's battery below this percent raises low_battery (warning)", 1,
     100},
    {"alarms.battery_critical", ot::integer, "15",
     "a drone's battery below this percent raises low_battery (critical); it must be below alarms.battery_warn", 0,
     99},
    {"alarms.max_per_minute", ot::integer, "20",
     "alarm events (raised or ended) one drone may cause per minute; beyond it they are dropped and counted "
     "(dccs_alarm_events_limited_total)",
     1, 100000},
    {"missions.retry_ms", ot::integer, "1500",
     "a mission item the drone has not acknowledged for this long is sent again, ms", 50, 600000},
    {"missions.max_attempts", ot::integer, "3",
     "sends of one mission item in all before the drone's upload fails", 1, 100},
    {"missions.min_alt", ot::integer, "-500",
     "the lowest waypoint altitude a mission may ask for, m as telemetry's alt (above mean sea level)", -1000, 100000},
    {"missions.max_alt", ot::integer, "9000",
     "the highest waypoint altitude a mission may ask for, m as telemetry's alt (above mean sea level): set it to "
     "the site's ground plus its ceiling",
     -1000, 100000},
    {"missions.reserve_percent", ot::integer, "20",
     "the battery a mission must leave at its end by the energy estimate (percent of a full battery), from a full "
     "battery when it is planned and from each drone's battery at upload",
     0, 100},
    {"telemetry.flush_ms", ot::integer, "100", "longest time a telemetry row waits before its batch is written, ms",
     1, 60000},
    {"telemetry.batch_rows", ot::integer, "5000", "rows that make a batch be written at once", 1, 10000000},
    {"telemetry.buffer_bytes", ot::integer, "67108864",
     "memory for telemetry rows waiting to be written (PostgreSQL slow or down); past it the oldest "
     "best-effort rows are dropped", 65536, std::int64_t{1} << 40},
    {"telemetry.retention_days", ot::integer, "30", "days of telemetry history kept (older partitions dropped)", 1,
     36500},
    {"telemetry.partitions_ahead", ot::integer, "3", "daily partitions created ahead of today", 1, 365},
    {"telemetry.maintenance_s", ot::integer, "3600", "interval of partition maintenance, seconds", 1, 86400},
    {"history.max_rows", ot::integer, "10000", "most rows one history request returns (limit= is capped to it)", 1,
     1000000},
    {"analytics.interval_s", ot::integer, "60", "interval of the analytics rollup job's passes, seconds (at once again while it catches up)", 1, 86400},
    {"analytics.settle_s", ot::integer, "10", "telemetry younger than this waits for the next rollup pass, seconds", 0, 3600},
    {"analytics.window_s", ot::integer, "3600", "most telemetry time one rollup pass counts, seconds (catching up after a stop takes several)", 60, 86400},
    {"analytics.max_gap_s", ot::integer, "30", "a gap between two samples longer than this counts as neither flight nor armed time, seconds", 1, 3600},
    {"analytics.takeoff_m", ot::integer, "2", "climb above the ground altitude that counts as a takeoff, m", 1, 1000},
    {"analytics.retention_days", ot::integer, "730", "days of daily analytics kept", 1, 36500},
    {"analytics.max_rows", ot::integer, "100000", "most drone-days one GET /api/v1/analytics/daily answers", 1, 10000000},
    {"redis.url", ot::string, "",
     "Redis for the latest state of every drone, redis://[:password@]host:port[/db] (empty: no Redis)"},
    {"redis.ttl_s", ot::integer, "86400", "how long Redis keeps a drone's latest state after its last write, s",
     1, 31536000},
    {"redis.interval_ms", ot::integer, "1000", "shortest interval between two Redis writes of one drone, ms", 10,
     3600000},
    {"redis.retry_max_ms", ot::integer, "10000", "longest wait between Redis reconnect attempts, ms", 1, 3600000},
    {"shutdown.grace_ms", ot::integer, "5000", "time allowed for closing sockets on shutdown", 0, 600000},
  };
  return specs;
}

config::config() {
  for (auto& spec : option_specs())
    values_[spec.name] = spec.default_value;
}

std::string config::env_name(const std::string& name) {
  std::string out = "DCCS_";
  for (char c : name)
    out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool config::set(const std::string& name, const std::string& value, std::string& error) {
  auto spec = find_spec(name);
  if (spec == nullptr) {
    error = "unknown option '" + name + "' (see --help)";
    return false;
  }
  switch (spec->type) {
    case ot::integer: {
      std::int64_t v;
      if (!parse_int(value, v)) {
        error = "option '" + name + "' expects an integer, got '" + value + "'";
        return false;
      }
      if (spec->min != spec->max && (v < spec->min || v > spec->max)) {
        error = "option '" + name + "' must be between " + std::to_string(spec->min) + " and " +
                std::to_string(spec->max) + ", got " + value;
        return false;
      }
      break;
    }
    case ot::number: {
      double v;
      if (!parse_number(value, v)) {
        error = "option '" + name + "' expects a number, got '" + value + "'";
        return false;
      }
      break;
    }
    case ot::boolean: {
      bool v;
      if (!parse_bool(value, v)) {
        error = "option '" + name + "' expects true or false, got '" + value + "'";
        return false;
      }
      break;
    }
    case ot::string:
      if (!spec->choices.empty()
          && std::find(spec->choices.begin(), spec->choices.end(), value) == spec->choices.end()) {
        std::string all;
        for (auto& c : spec->choices)
          all += (all.empty() ? "" : ", ") + c;
        error = "option '" + name + "' must be one of " + all + ", got '" + value + "'";
        return false;
      }
      break;
  }
  values_[name] = value;
  return true;
}

bool config::load_file(const std::string& path, std::string& error) {
  std::ifstream in{path};
  if (!in) {
    error = "cannot read config file '" + path + "'";
    return false;
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto hash = line.find('#');
    if (hash != std::string::npos)
      line.resize(hash);
    line = trim(line);
    if (line.empty())
      continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      error = path + ":" + std::to_string(lineno) + ": expected 'name = value'";
      return false;
    }
    auto name = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (name == "config") {
      error = path + ":" + std::to_string(lineno) + ": a config file cannot name another config file";
      return false;
    }
    std::string err;
    if (!set(name, value, err)) {
      error = path + ":" + std::to_string(lineno) + ": " + err;
      return false;
    }
  }
  return true;
}

bool config::load(int argc, const char* const* argv, std::string& error, bool& help) {
  help = false;
  // Collect command-line flags first: `--config` may come from there, but flags win over everything.
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return true;
    }
    if (arg.rfind("--", 0) != 0) {
      positional_.push_back(arg);
      continue;
    }
    arg = arg.substr(2);
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      flags.emplace_back(arg.substr(0, eq), arg.substr(eq + 1));
      continue;
    }
    auto spec = find_spec(arg);
    if (spec != nullptr && spec->type == ot::boolean
        && (i + 1 >= argc || std::string{argv[i + 1]}.rfind("--", 0) == 0)) {
      flags.emplace_back(arg, "true");
      continue;
    }
    if (i + 1 >= argc) {
      error = "option '--" + arg + "' needs a value";
      return false;
    }
    flags.emplace_back(arg, argv[++i]);
  }
  // Config file: the flag wins over the environment variable.
  std::string file;
  if (auto env = std::getenv("DCCS_CONFIG"))
    file = env;
  for (auto& [name, value] : flags)
    if (name == "config")
      file = value;
  if (!file.empty()) {
    if (!load_file(file, error))
      return false;
    values_["config"] = file;
  }
  for (auto& spec : option_specs()) {
    if (spec.name == "config")
      continue;
    if (auto env = std::getenv(env_name(spec.name).c_str())) {
      std::string err;
      if (!set(spec.name, env, err)) {
        error = "environment " + env_name(spec.name) + ": " + err;
        return false;
      }
    }
  }
  for (auto& [name, value] : flags) {
    if (name == "config")
      continue;
    if (!set(name, value, error))
      return false;
  }
  if (integer("drone.lost_after_ms") <= integer("drone.stale_after_ms")) {
    error = "drone.lost_after_ms must be greater than drone.stale_after_ms";
    return false;
  }
  if (integer("cluster.port") != 0 && integer("cluster.timeout_ms") < 2 * integer("cluster.heartbeat_ms")) {
    // One late heartbeat must not cost a member its drones.
    error = "cluster.timeout_ms must be at least twice cluster.heartbeat_ms";
    return false;
  }
  {
    // Cluster TLS is all or nothing: without the CA no peer verifies, without a certificate and key this node
    // cannot be verified (and CAF's OpenSSL module refuses to start without them).
    std::string set, missing;
    for (std::string name : {"cluster.tls.ca", "cluster.tls.certificate", "cluster.tls.key"}) {
      auto& list = str(name).empty() ? missing : set;
      list += (list.empty() ? "" : ", ") + name;
    }
    if (!set.empty() && !missing.empty()) {
      error = "cluster.tls.ca, cluster.tls.certificate and cluster.tls.key go together: " + set + " set but not " +
              missing;
      return false;
    }
  }
  return true;
}

const std::string& config::str(const std::string& name) const {
  auto i = values_.find(name);
  if (i == values_.end())
    throw std::logic_error("no such option: " + name);
  return i->second;
}

std::int64_t config::integer(const std::string& name) const {
  std::int64_t v = 0;
  parse_int(str(name), v);
  return v;
}

double config::number(const std::string& name) const {
  double v = 0;
  parse_number(str(name), v);
  return v;
}

bool config::boolean(const std::string& name) const {
  bool v = false;
  parse_bool(str(name), v);
  return v;
}

std::string config::help_text(const std::string& program) {
  std::ostringstream out;
  out << "DCCS node: drone command & control.\n\n"
      << "Usage: " << program << " [--option value | --option=value]...\n"
      << "       " << program << " migrate [options]   apply the database migrations and exit\n"
      << "       " << program << " user add NAME --role admin|operator|viewer [--groups a,b] [options]\n"
      << "       " << program << " user passwd|disable|enable NAME [options]\n"
      << "       " << program << " user list [options]      manage users (passwords: DCCS_USER_PASSWORD, stdin,\n"
      << "                                     or a random one printed once)\n"
      << "       " << program << " keys generate [options]  add a signing key to auth.keys_dir and exit\n"
      << "       " << program << " cluster status [options] print the cluster's members as the node at\n"
      << "                                     http.address:http.port sees them (an admin token from auth.keys_dir)\n\n"
      << "Precedence, lowest first: built-in defaults, the config file (--config FILE or DCCS_CONFIG),\n"
      << "environment variables DCCS_<OPTION> (dots become underscores: DCCS_HTTP_PORT), flags.\n\n"
      << "Options:\n";
  for (auto& spec : option_specs()) {
    std::string head = "  --" + spec.name;
    switch (spec.type) {
      case ot::integer: head += " N"; break;
      case ot::number: head += " X"; break;
      case ot::boolean: head += " [true|false]"; break;
      case ot::string: head += spec.choices.empty() ? " TEXT" : " CHOICE"; break;
    }
    out << head;
    if (head.size() < 34)
      out << std::string(34 - head.size(), ' ');
    else
      out << "\n" << std::string(34, ' ');
    out << spec.help;
    if (!spec.choices.empty()) {
      out << " (";
      for (size_t i = 0; i < spec.choices.size(); ++i)
        out << (i ? "|" : "") << spec.choices[i];
      out << ")";
    }
    if (!spec.default_value.empty())
      out << " [default: " << spec.default_value << "]";
    out << "\n" << std::string(34, ' ') << "env: " << env_name(spec.name) << "\n";
  }
  out << "  --help                          print this help and exit\n";
  return out.str();
}

} // namespace dccs::runtime
