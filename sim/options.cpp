#include "sim/options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace dccs::sim {

namespace {

double to_double(std::string_view name, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(d))
    throw std::invalid_argument("--" + std::string(name) + ": not a number: " + v);
  return d;
}

std::uint64_t to_uint(std::string_view name, const std::string& v) {
  std::uint64_t x = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size())
    throw std::invalid_argument("--" + std::string(name) + ": not an unsigned integer: " + v);
  return x;
}

/// Splits one --url value into its URLs ("a,b" is two); an empty item is an error.
void split_urls(const std::string& value, std::vector<std::string>& out) {
  std::size_t start = 0;
  for (;;) {
    const auto comma = value.find(',', start);
    std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ')
      item.erase(0, 1);
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    if (item.empty())
      throw std::invalid_argument("--url: empty URL in \"" + value + "\"");
    out.push_back(std::move(item));
    if (comma == std::string::npos)
      return;
    start = comma + 1;
  }
}

void parse_home(options& o, const std::string& v) {
  const auto comma = v.find(',');
  if (comma == std::string::npos)
    throw std::invalid_argument("--home: expected LAT,LON, got " + v);
  o.home_lat = to_double("home", v.substr(0, comma));
  o.home_lon = to_double("home", v.substr(comma + 1));
  if (std::fabs(o.home_lat) > 80.0 || std::fabs(o.home_lon) > 179.0)
    throw std::invalid_argument("--home: latitude must be within ±80 and longitude within ±179");
}

} // namespace

node_url parse_node_url(const std::string& url) {
  std::string_view u = url;
  constexpr std::string_view scheme = "ws://";
  if (u.substr(0, scheme.size()) != scheme)
    throw std::invalid_argument("--url must start with ws:// (TLS is not supported): " + url);
  u.remove_prefix(scheme.size());
  const auto slash = u.find('/');
  std::string_view authority = u.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : u.substr(slash);
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  std::string_view host = authority, port = "80";
  if (!authority.empty() && authority.front() == '[') { // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument("--url: bad IPv6 literal: " + url);
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty())
    throw std::invalid_argument("--url: expected ws://HOST:PORT, got " + url);
  return node_url{url, std::string(host), std::string(port), std::string(path)};
}

std::string usage() {
  return R"(dccs-sim: a fleet of virtual drones speaking the DCCS drone protocol (docs/protocol.md).

usage: dccs-sim --url ws://HOST:PORT[,ws://HOST:PORT...] --drones N --rate HZ [options]

  --url URL[,URL...]     node base URL, ws://HOST:PORT[/prefix]; drones use /ws/drone, the
                         observer /ws/operator (default ws://127.0.0.1:8080). Several nodes:
                         comma-separated, --url repeated, or both. Drones are spread over the
                         URLs (drone i starts on URL i mod n) and move to the next one when their
                         node closes or cannot be reached; the observer uses the first URL
  --drones N             number of drones (default 100; 0 is allowed with --observe)
  --rate HZ              telemetry frames per second per drone (default 5)
  --threads N            threads running the single io_context (default 1)
  --duration S           stop after S seconds; 0 = run until SIGINT/SIGTERM (default 0)
  --report-interval S    progress report on stderr every S seconds (default 5)
  --prefix P             drone ids are P + 5-digit index, e.g. sim-00042 (default sim-)
  --home LAT,LON         centre of the fleet; home points lie within ~5 km (default 47.3977,8.5456)
  --seed N               seed of every random choice; same seed, same flights (default 1)
  --observe              also open one operator socket (to the first URL), subscribe to "*" and
                         report the drone-to-operator latency (operator arrival time - entry ts)
                         The operator socket needs an access token (POST /api/v1/auth/login): from
                         the environment variable DCCS_TOKEN, or from a file with --token-file
  --observe-ids FILE     the observer subscribes to the drone ids listed in FILE (one per line)
                         instead of "*": the latency of part of a fleet (bench/cluster.sh
                         compares drones served on the socket's node with drones served on another)
  --token-file FILE      read the observer's access token from FILE (not a flag value: command
                         lines are visible to every user of the machine)
  --json                 print one final JSON object line on stdout with all counters
  --max-handshakes N     connection attempts in flight at once while ramping up (default 256)
  --connect-timeout S    limit for TCP connect + WebSocket upgrade + welcome (default 10)
  --time-scale X         simulated seconds per real second of the flight model (default 1)
  --scheduler KIND       wheel (one timer walking a ring of slots, default) or timers
                         (one steady timer per drone)
  --ack                  acknowledged telemetry: every drone adds "ack":true to its hello, keeps
                         each telemetry frame it sent (the exact bytes) until an {"type":"ack",
                         "seq":N} covers it, and after a reconnect resends every unacknowledged
                         frame, identical and in seq order, before any new one
  --ack-window N         with --ack: the most unacknowledged frames a drone keeps; when full it
                         generates no telemetry until acks free room (counted as ack_stalls)
                         (default 100000)
  --ack-max-rate HZ      with --ack: the most frames (resent and new) a drone writes per second,
                         at least one per telemetry tick; keep it below the node's drone.max_rate
                         (default 50)
  --ack-report FILE      with --ack: at exit, write one line per drone:
                         "drone_id highest_acked_seq highest_sent_seq" (-1: none)
  --stop-when-acked      with --ack and --duration: when the duration is over, stop generating
                         telemetry and wait until every kept frame is acknowledged (reconnecting
                         and resending as needed), then stop
  --drain-timeout S      the longest that wait lasts (default 30)
  --autopilot            every drone starts on the ground at its home, disarmed, and moves only
                         when commanded. Without it a drone flies its scripted flight until its
                         first command frame; then the autopilot takes over where the drone is
                         (on the ground it stays there; in flight it hovers in GUIDED, or goes on
                         returning or landing in RTL or LAND) and the script never resumes
  --commands KINDS       the command kinds drones execute: all (default), none, or a list of arm,
                         disarm, takeoff, land, rtl, goto, hold, resume, set_mode, set_speed,
                         mission_start, e.g. arm,disarm,takeoff,land; the hello lists them
                         ("commands":[...]), other kinds are answered unsupported; without
                         mission_start every mission_item is answered unsupported too. none: every
                         command and mission_item is answered unsupported and the hello has no
                         "commands"
  --battery PCT          with --autopilot: the battery every drone starts with (default 95 to 100,
                         at random); below 20 arming is refused
  --drop-rate P          probability (0..1) that a command or mission_item frame received, or a
                         command_ack or mission_ack to send, is lost (default 0): exercises the
                         node's retries (mission_progress frames are never lost on purpose)
  --dup-rate P           probability (0..1) that it is delivered or sent twice (default 0):
                         exercises de-duplication (drawn after --drop-rate, from the run's seed)
  --command-log FILE     write one line per command frame the drones receive (not the ones lost to
                         --drop-rate), "command_id<TAB>attempt<TAB>µs": the wall clock (CLOCK_REALTIME,
                         µs since the epoch) when the frame was read, for measuring delivery from
                         outside (bench/commands.sh); written at each progress report and at exit
  --help                 this text

Signals: SIGINT/SIGTERM stop cleanly (close frames, final report); SIGUSR1 starts the measurement
window: the "window" figures of the final report (frames, latency, CPU) count from then on.
A line "fleet connected: N/N" is printed on stderr the first time every drone is connected.
Reconnects use exponential backoff with jitter (200 ms doubling to 10 s); a drone closed with 4000
(replaced by another connection with its id) does not come back; one closed with 1013 (try again
later) comes back with the same backoff and, with --ack, resends what was not acknowledged.
With several URLs every reconnect (after any close but 4000, or a failed attempt) goes to the next
URL of the list, round robin; "failovers" counts the reconnects that changed URL, and the reports
show the drones connected per node ("per node 20/20/20", in --url order).
With --ack, seq starts at 0 for every drone and counts every generated frame, so the acknowledged
frames of a drone are exactly seq 0..highest_acked_seq. "sent" counts every telemetry frame written,
resends included; the reports add acked, unacked (kept), resent, ack_stalls and ack_errors (acks
above the highest seq the drone wrote on that connection; they are ignored).
Commands (docs/protocol.md, "Commands"): a drone answers `command` frames with command_ack frames.
arm, disarm, hold, resume, set_mode and set_speed answer succeeded at once, or denied or
temporarily_rejected with a reason. takeoff, land, rtl and goto answer accepted, then in_progress
with progress at every 20 % and at least once a simulated second, then succeeded, or failed
"battery exhausted" when the battery runs out in the air (the drone then lands). arm needs a
battery of 20 % and a 3D fix (else temporarily_rejected); disarm only on the ground (else denied);
takeoff {alt} needs an armed drone on the ground: it climbs at 3 m/s to alt m above the take-off
point (mode TAKEOFF), then hovers (GUIDED). goto {lat,lon,alt,speed} needs a drone in the air and
alt (AMSL) at least 1 m above its home's ground (the telemetry alt on the ground): it flies there
at speed, or the cruise speed (10 m/s until set_speed), climbing 3 m/s or sinking 2 m/s (GUIDED).
land descends at 2.5 m/s (1 m/s the last 2 m) and disarms on touchdown (on the ground it only
disarms); rtl climbs to at least 30 m, flies home, lands and disarms (RTL). hold stops where the
drone is (HOLD) and pauses the command being flown; resume goes on with it. set_mode takes GUIDED,
HOLD, RTL or LAND in the air (the current mode anywhere); set_speed sets the cruise speed, also of
the flight under way. A new takeoff, land, rtl or goto replaces the one under way, which is
answered cancelled; so is one ended by set_mode. command_cancel stops a running command (answered
cancelled; the drone holds where it is) and gives a finished one its final ack again; a cancel
for an id never received is answered cancelled and that command is never executed. A command
received after its expires_at (drone clock) is answered failed "expired". Each command_id is
executed once: a repeat (the node's retry, --dup-rate) is answered with the newest ack given for
it (the last 256 ids are remembered). The battery drains in the air by time and by distance.
Telemetry shows the commanded flight: STANDBY on the ground, TAKEOFF, GUIDED, HOLD, LAND, RTL,
MISSION.
Flights advance only while connected; --time-scale speeds them up. The progress reports add
"commands rx N exec N refused N dup N cancels N acks N", the final report a line "commands:
received N, executed N, refused N, duplicates N, cancels N, acks sent N, errors N; dropped N
received / N acks, doubled N received / N acks", --json the commands_* and command_* counters.
Missions (MAVLink's mission protocol): the node uploads a mission one item at a time,
{"type":"mission_item","mission_id":ID,"seq":I,"count":N,"item":{"lat","lon","alt","speed"?,
"hold_s"?,"action"?},"final_action":"rtl"|"land"|"hold"} (alt AMSL as goto's, at least 1 m above
the home's ground; speed m/s, else the cruise speed; hold_s 0..3600 s hovering at the waypoint,
default 0; action none (default), photo, land or rtl; at most 1000 items), and the drone answers
each with {"type":"mission_ack","mission_id":ID,"seq":I,"result":R,"reason"?}: accepted; error
(an item it cannot fly, or "expected seq N" when not the next in order: seq 0 starts an upload,
of a new mission or the same one again); denied while a mission is being flown; unsupported
without mission_start in --commands. A repeat of the last accepted (mission_id, seq) gets the
same ack again and changes nothing. With item N-1 accepted the drone keeps the whole mission (one
at a time: it replaces the one kept before). The command mission_start {mission_id} answers
succeeded and flies it (a disarmed drone on the ground arms, with arm's checks and
temporarily_rejected, and takes off to the first item's altitude; a takeoff, land, rtl or goto
under way is answered cancelled); denied when that mission is not (fully) uploaded or is
already being flown. The drone flies to each item in turn as goto does (mode MISSION), hovers
its hold_s there, then does its action: photo is counted, land lands there, rtl returns home
and lands (either ends the mission); after the last item the final_action: rtl, land (both
disarm on touchdown; modes RTL, LAND) or hold (hovers in HOLD). It reports
{"type":"mission_progress","mission_id":ID,"event":E,"seq"?:I,"reason"?}: current (heading for
item I), reached (arrived at I, before its hold), completed (landed and disarmed, or the last
item's hold done for hold), aborted (a land, rtl or goto executed, or set_mode GUIDED, RTL or
LAND, ended it; takeoff and disarm are denied in the air as ever), failed ("battery exhausted":
the drone lands where it is). hold pauses a mission where the drone is (HOLD, no event, its
hold time stops too), resume goes on with it. A reconnect keeps the progress frames not yet
written. Once a mission_item came the progress reports add "missions items N reached N
completed N aborted N failed N"; the final report (also with --autopilot) a line "missions:
items received N, acks sent N, progress sent N, errors N; dropped N received / N acks, doubled
N received / N acks; items reached N, photos N, completed N, aborted N, failed N"; --json
mission_items_received, mission_acks_sent, mission_progress_sent, mission_errors,
mission_rx_dropped, mission_rx_doubled, mission_tx_dropped, mission_tx_doubled,
mission_items_reached, mission_photos, missions_completed, missions_aborted, missions_failed.
Exit status: 0 after a clean run, 1 if no connection ever succeeded, 2 on a bad command line (or
a --command-log file that cannot be written), 3 with --stop-when-acked if frames were still
unacknowledged at exit.
)";
}

parse_result parse_options(int argc, const char* const* argv) {
  parse_result r;
  options& o = r.opts;
  std::vector<std::string> url_args; // every --url, split at commas, in order
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        r.help = true;
        return r;
      }
      if (arg.rfind("--", 0) != 0)
        throw std::invalid_argument("unexpected argument: " + arg);
      std::string name = arg.substr(2), value;
      bool has_value = false;
      if (const auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      const bool is_flag =
          name == "observe" || name == "json" || name == "ack" || name == "stop-when-acked" || name == "autopilot";
      if (is_flag) {
        if (has_value)
          throw std::invalid_argument("--" + name + " takes no value");
      } else if (!has_value) {
        if (i + 1 >= argc)
          throw std::invalid_argument("--" + name + " needs a value");
        value = argv[++i];
      }
      if (name == "url")
        split_urls(value, url_args);
      else if (name == "drones")
        o.drones = to_uint(name, value);
      else if (name == "rate")
        o.rate = to_double(name, value);
      else if (name == "threads")
        o.threads = to_uint(name, value);
      else if (name == "duration")
        o.duration = to_double(name, value);
      else if (name == "report-interval")
        o.report_interval = to_double(name, value);
      else if (name == "prefix")
        o.prefix = value;
      else if (name == "home")
        parse_home(o, value);
      else if (name == "seed")
        o.seed = to_uint(name, value);
      else if (name == "observe")
        o.observe = true;
      else if (name == "json")
        o.json = true;
      else if (name == "max-handshakes")
        o.max_handshakes = to_uint(name, value);
      else if (name == "connect-timeout")
        o.connect_timeout = to_double(name, value);
      else if (name == "time-scale")
        o.time_scale = to_double(name, value);
      else if (name == "ack")
        o.ack = true;
      else if (name == "ack-window")
        o.ack_window = to_uint(name, value);
      else if (name == "ack-max-rate")
        o.ack_max_rate = to_double(name, value);
      else if (name == "ack-report")
        o.ack_report = value;
      else if (name == "observe-ids") {
        std::ifstream in{value};
        if (!in)
          throw std::invalid_argument("--observe-ids: cannot read " + value);
        for (std::string line; std::getline(in, line);) {
          while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
          if (line.empty())
            continue;
          if (line.size() > 64 || line.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
                                    != std::string::npos)
            throw std::invalid_argument("--observe-ids: '" + line + "' is not a drone id");
          o.observe_ids.push_back(line);
        }
        if (o.observe_ids.empty())
          throw std::invalid_argument("--observe-ids: " + value + " lists no drone id");
      }
      else if (name == "token-file") {
        std::ifstream in{value};
        if (!in || !std::getline(in, o.token))
          throw std::invalid_argument("--token-file: cannot read " + value);
        while (!o.token.empty() && (o.token.back() == '\r' || o.token.back() == ' '))
          o.token.pop_back();
      }
      else if (name == "stop-when-acked")
        o.stop_when_acked = true;
      else if (name == "drain-timeout")
        o.drain_timeout = to_double(name, value);
      else if (name == "autopilot")
        o.autopilot = true;
      else if (name == "commands") {
        std::string why;
        const auto kinds = kind_set::parse(value, why);
        if (!kinds)
          throw std::invalid_argument("--commands: " + why);
        o.commands = *kinds;
      } else if (name == "drop-rate")
        o.drop_rate = to_double(name, value);
      else if (name == "dup-rate")
        o.dup_rate = to_double(name, value);
      else if (name == "battery")
        o.battery = to_double(name, value);
      else if (name == "command-log")
        o.command_log = value;
      else if (name == "scheduler") {
        if (value == "wheel")
          o.scheduler = scheduler_kind::wheel;
        else if (value == "timers")
          o.scheduler = scheduler_kind::timers;
        else
          throw std::invalid_argument("--scheduler: wheel or timers, got " + value);
      } else
        throw std::invalid_argument("unknown option --" + name);
    }
    if (o.token.empty())
      if (const char* t = std::getenv("DCCS_TOKEN"))
        o.token = t;
    if (url_args.empty())
      url_args.push_back(o.url); // the default
    for (const auto& u : url_args) {
      node_url n = parse_node_url(u);
      for (const auto& seen : o.urls)
        if (seen.host_header() == n.host_header() && seen.base_path == n.base_path)
          throw std::invalid_argument("--url: " + u + " is the same node as " + seen.url);
      o.urls.push_back(std::move(n));
    }
    o.url = o.urls.front().url;
    o.host = o.urls.front().host;
    o.port = o.urls.front().port;
    o.base_path = o.urls.front().base_path;
    if (o.drones > 99999)
      throw std::invalid_argument("--drones: at most 99999 (ids have a 5-digit index)");
    if (o.drones == 0 && !o.observe)
      throw std::invalid_argument("--drones 0 only makes sense with --observe");
    if (!o.observe_ids.empty() && !o.observe)
      throw std::invalid_argument("--observe-ids needs --observe");
    if (!(o.rate > 0.0 && o.rate <= 1000.0))
      throw std::invalid_argument("--rate: must be in (0, 1000]");
    if (o.threads < 1 || o.threads > 64)
      throw std::invalid_argument("--threads: 1..64");
    if (o.duration < 0.0)
      throw std::invalid_argument("--duration: must be >= 0");
    if (!(o.report_interval > 0.0))
      throw std::invalid_argument("--report-interval: must be > 0");
    if (o.max_handshakes < 1)
      throw std::invalid_argument("--max-handshakes: must be >= 1");
    if (!(o.connect_timeout > 0.0))
      throw std::invalid_argument("--connect-timeout: must be > 0");
    if (!(o.time_scale > 0.0 && o.time_scale <= 1000.0))
      throw std::invalid_argument("--time-scale: must be in (0, 1000]");
    if (o.ack_window < 1)
      throw std::invalid_argument("--ack-window: must be >= 1");
    if (!(o.ack_max_rate > 0.0))
      throw std::invalid_argument("--ack-max-rate: must be > 0");
    if (!(o.drain_timeout > 0.0))
      throw std::invalid_argument("--drain-timeout: must be > 0");
    if (!o.ack && (o.stop_when_acked || !o.ack_report.empty()))
      throw std::invalid_argument("--stop-when-acked and --ack-report need --ack");
    if (!(o.drop_rate >= 0.0 && o.drop_rate <= 1.0))
      throw std::invalid_argument("--drop-rate: must be within 0..1");
    if (!(o.dup_rate >= 0.0 && o.dup_rate <= 1.0))
      throw std::invalid_argument("--dup-rate: must be within 0..1");
    if (o.battery && !(*o.battery >= 0.0 && *o.battery <= 100.0))
      throw std::invalid_argument("--battery: must be within 0..100");
    if (o.battery && !o.autopilot)
      throw std::invalid_argument("--battery needs --autopilot");
    if (o.autopilot && o.commands.empty())
      throw std::invalid_argument("--autopilot with --commands none: the drones could never move");
    if (o.stop_when_acked && o.duration <= 0.0)
      throw std::invalid_argument("--stop-when-acked needs --duration");
    // The drone id must stay within the protocol: 1-64 characters of A-Z a-z 0-9 _ . -
    if (o.prefix.size() > 64 - 5)
      throw std::invalid_argument("--prefix: at most 59 characters");
    for (const char c : o.prefix) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
      if (!ok)
        throw std::invalid_argument("--prefix: only A-Z a-z 0-9 _ . - are allowed in drone ids");
    }
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

} // namespace dccs::sim
