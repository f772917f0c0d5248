#pragma once

#include "sim/command.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dccs::sim {

/// How telemetry ticks are scheduled.
enum class scheduler_kind {
  wheel, ///< one timer per shard that walks a ring of slots (default: fewer timer operations)
  timers ///< one steady timer per drone
};

/// One node the drones connect to: a --url split into its parts.
struct node_url {
  std::string url;       ///< as given
  std::string host;      ///< from url
  std::string port;      ///< from url
  std::string base_path; ///< path of url without a trailing '/', usually empty

  /// Path of the drone endpoint, e.g. "/ws/drone".
  std::string drone_path() const { return base_path + "/ws/drone"; }
  /// Value of the HTTP Host header.
  std::string host_header() const { return host + ":" + port; }
};

/// Splits ws://HOST:PORT[/prefix] into a node_url; throws std::invalid_argument naming `url` if it is not one.
node_url parse_node_url(const std::string& url);

/// Which of `n` nodes drone number `index` connects to first: index % n, so the fleet is spread evenly.
constexpr std::size_t initial_node(std::size_t index, std::size_t n) noexcept { return n == 0 ? 0 : index % n; }
/// The node a drone tries after its connection to node `current` closed or could not be made: the next
/// one, round robin (the same one when there is only one).
constexpr std::size_t next_node(std::size_t current, std::size_t n) noexcept { return n == 0 ? 0 : (current + 1) % n; }

/// Command line of `dccs-sim`. Defaults are the documented ones (`dccs-sim --help`).
struct options {
  /// Every node, in the order given (--url, comma-separated and/or repeated). Empty: the single node below
  /// (code that fills an options by hand may set only url/host/port); nodes() hides the difference.
  std::vector<node_url> urls;
  std::string url = "ws://127.0.0.1:8080"; ///< the first --url as given (the observer's node)
  std::string host = "127.0.0.1";          ///< from url
  std::string port = "8080";               ///< from url
  std::string base_path;                   ///< path of url without a trailing '/', usually empty
  std::size_t drones = 100;
  double rate = 5.0; ///< telemetry frames per second per drone
  std::size_t threads = 1;
  double duration = 0.0;        ///< seconds; 0 = until SIGINT/SIGTERM
  double report_interval = 5.0; ///< seconds
  std::string prefix = "sim-";
  double home_lat = 47.3977;
  double home_lon = 8.5456;
  std::uint64_t seed = 1;
  bool observe = false;
  std::vector<std::string> observe_ids; ///< --observe-ids: the drones the observer subscribes to (empty: "*")
  std::string token;                 ///< access token of the observer (DCCS_TOKEN, or --token-file)
  bool json = false;
  std::size_t max_handshakes = 256; ///< connection attempts in flight at once (ramp)
  double connect_timeout = 10.0;    ///< seconds for TCP connect + upgrade + welcome
  double time_scale = 1.0;          ///< simulated seconds per real second (flight model only)
  scheduler_kind scheduler = scheduler_kind::wheel;
  bool ack = false;                 ///< say "ack":true and keep telemetry until acknowledged
  std::size_t ack_window = 100000;  ///< the most unacknowledged frames a drone keeps
  double ack_max_rate = 50.0;       ///< frames/s a drone writes at most while catching up (resends + new)
  std::string ack_report;           ///< file for "drone_id highest_acked_seq highest_sent_seq" lines at exit
  bool stop_when_acked = false;     ///< after --duration, wait for every kept frame to be acknowledged
  double drain_timeout = 30.0;      ///< seconds that wait may last
  bool autopilot = false;           ///< drones start on the ground at home, disarmed, and move only when commanded
  kind_set commands = kind_set::all(); ///< the command kinds drones execute; none: every command is `unsupported`
  double drop_rate = 0.0;           ///< probability that a command frame received or a command_ack sent is lost
  double dup_rate = 0.0;            ///< probability that it is delivered or sent twice
  std::optional<double> battery;    ///< --battery: the battery (%) every drone starts with under --autopilot
  std::string command_log;          ///< --command-log: file of "command_id, attempt, µs" per command frame received

  /// Path of the drone endpoint, e.g. "/ws/drone".
  std::string drone_path() const { return base_path + "/ws/drone"; }
  /// Path of the operator endpoint, e.g. "/ws/operator".
  std::string operator_path() const { return base_path + "/ws/operator"; }
  /// Value of the HTTP Host header.
  std::string host_header() const { return host + ":" + port; }
  /// The nodes the drones use: `urls`, or the single node of url/host/port/base_path when `urls` is empty.
  std::vector<node_url> nodes() const {
    if (!urls.empty())
      return urls;
    return {node_url{url, host, port, base_path}};
  }
};

/// Outcome of parsing the command line.
struct parse_result {
  options opts;
  bool help = false;  ///< --help was given: print usage() and exit 0
  std::string error;  ///< non-empty: the command line is invalid
};

/// Parses `argv` (`--name value` or `--name=value`).
parse_result parse_options(int argc, const char* const* argv);

/// The `--help` text.
std::string usage();

} // namespace dccs::sim
