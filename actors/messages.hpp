#pragma once
/// Every message type and atom of the DCCS actor protocol, in one place.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/node_id.hpp>
#include <caf/none.hpp>

#include "auth/access.hpp"
#include "runtime/membership.hpp"

namespace dccs::actors {

// -- atoms (at most 10 characters; one meaning each, whichever actor receives it) --------------------------

using connect_atom = caf::atom_constant<caf::atom("connect")>;     ///< route a drone connection to its actor
using attach_atom = caf::atom_constant<caf::atom("attach")>;       ///< serve this connection (directory -> drone)
using attached_atom = caf::atom_constant<caf::atom("attached")>;   ///< you are served by the sender (drone -> link)
using hangup_atom = caf::atom_constant<caf::atom("hangup")>;       ///< close the socket with a code (-> link)
using detach_atom = caf::atom_constant<caf::atom("detach")>;       ///< the socket closed: the link actor stops
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;     ///< write one frame (session -> operator link)
using telemetry_atom = caf::atom_constant<caf::atom("telemetry")>; ///< a telemetry frame
using alive_atom = caf::atom_constant<caf::atom("alive")>;         ///< a frame that carries no state
using check_atom = caf::atom_constant<caf::atom("check")>;         ///< watchdog timer
using coalesce_atom = caf::atom_constant<caf::atom("coalesce")>;   ///< publish the state held back (timer)
using get_atom = caf::atom_constant<caf::atom("get")>;             ///< read one item
using list_atom = caf::atom_constant<caf::atom("list")>;           ///< read a page of items
using state_atom = caf::atom_constant<caf::atom("state")>;         ///< a drone's newest state (drone -> hub)
using states_atom = caf::atom_constant<caf::atom("states")>;       ///< live states of a page of drones (-> hub)
using changes_atom = caf::atom_constant<caf::atom("changes")>;     ///< states changed since a version (-> hub)
using restore_atom = caf::atom_constant<caf::atom("restore")>;     ///< states remembered elsewhere (-> hub)
using remove_atom = caf::atom_constant<caf::atom("remove")>;       ///< forget a drone's live state (-> hub)
using offline_atom = caf::atom_constant<caf::atom("offline")>;     ///< no actor serves the drone now (-> hub)
using regroup_atom = caf::atom_constant<caf::atom("regroup")>;     ///< the registry moved a drone to a group
using status_atom = caf::atom_constant<caf::atom("status")>;       ///< a link status change (drone -> hub)
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>; ///< session -> hub
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;   ///< hub -> session
using update_atom = caf::atom_constant<caf::atom("update")>;       ///< hub -> session
using events_atom = caf::atom_constant<caf::atom("events")>;       ///< hub -> session
using tick_atom = caf::atom_constant<caf::atom("tick")>;           ///< an actor's own periodic timer
using flush_atom = caf::atom_constant<caf::atom("flush")>;         ///< push everything pending now
using ready_atom = caf::atom_constant<caf::atom("ready")>;         ///< socket -> session: frame written
using error_atom = caf::atom_constant<caf::atom("error")>;         ///< socket -> session: error frame
using fault_atom = caf::atom_constant<caf::atom("fault")>;         ///< fault injection (tests only)
using history_atom = caf::atom_constant<caf::atom("history")>;     ///< a telemetry history query
using admit_atom = caf::atom_constant<caf::atom("admit")>;         ///< may this drone connect?
using create_atom = caf::atom_constant<caf::atom("create")>;       ///< registry: add a drone
using register_atom = caf::atom_constant<caf::atom("register")>;   ///< registry: store the drones seen (timer)
using patch_atom = caf::atom_constant<caf::atom("patch")>;         ///< registry: change a drone
using delete_atom = caf::atom_constant<caf::atom("delete")>;       ///< a drone leaves the registry
using seen_atom = caf::atom_constant<caf::atom("seen")>;           ///< registry: record last-seen times
using login_atom = caf::atom_constant<caf::atom("login")>;         ///< auth: log a user in
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;     ///< auth: rotate a refresh token
using audit_atom = caf::atom_constant<caf::atom("audit")>;         ///< auth: read the audit log
using denied_atom = caf::atom_constant<caf::atom("denied")>;       ///< auth: a refused access token, to audit
using users_atom = caf::atom_constant<caf::atom("users")>;         ///< auth: the user management routes
using logout_atom = caf::atom_constant<caf::atom("logout")>;       ///< auth: end a login (refresh family)
using authorize_atom = caf::atom_constant<caf::atom("authorize")>; ///< registry: may the caller do this to a drone?
using deny_atom = caf::atom_constant<caf::atom("deny")>;           ///< revocation: an access token is revoked
using rotate_atom = caf::atom_constant<caf::atom("rotate")>;       ///< registry: new drone secret
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;       ///< registry: drone secret revoked
using kick_atom = caf::atom_constant<caf::atom("kick")>;           ///< close a drone's connection with a code
using notice_atom = caf::atom_constant<caf::atom("notice")>;       ///< socket -> session: a control frame to send
using removed_atom = caf::atom_constant<caf::atom("removed")>;     ///< hub -> session: drones no longer visible
using passivate_atom = caf::atom_constant<caf::atom("passivate")>; ///< directory <-> drone: idle long enough to stop?
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;         ///< look for what is old enough to go (timer)
// The cluster (actors/cluster.cpp, docs/cluster.md).
using hello_atom = caf::atom_constant<caf::atom("hello")>;         ///< a node introduces itself to another
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>; ///< a member is alive (node to node)
using members_atom = caf::atom_constant<caf::atom("members")>;     ///< the membership, as JSON
using view_atom = caf::atom_constant<caf::atom("view")>;           ///< the live members changed (to directory, hub)
using replica_atom = caf::atom_constant<caf::atom("replica")>;     ///< drone states of another node's actors
using sync_atom = caf::atom_constant<caf::atom("sync")>;           ///< send the replicas that wait (hub timer)
using reroute_atom = caf::atom_constant<caf::atom("reroute")>;     ///< the drone's owner moved: connect again
using route_atom = caf::atom_constant<caf::atom("route")>;         ///< a peer's directory: serve here
using listen_atom = caf::atom_constant<caf::atom("listen")>;       ///< the node's HTTP port is open at an address
using claim_atom = caf::atom_constant<caf::atom("claim")>;         ///< take a drone's ownership: a new epoch
using fence_atom = caf::atom_constant<caf::atom("fence")>;         ///< a newer owner claimed the drone (-> drone)
using verify_atom = caf::atom_constant<caf::atom("verify")>;       ///< is the drone's claim still this actor's?
using ticket_atom = caf::atom_constant<caf::atom("ticket")>;       ///< issue an operator WebSocket ticket
using redeem_atom = caf::atom_constant<caf::atom("redeem")>;       ///< spend an operator WebSocket ticket
using invalidate_atom = caf::atom_constant<caf::atom("invalidate")>; ///< a registry row changed elsewhere: read it again
// Commands (actors/command_model.hpp, docs/protocol.md "Commands").
using command_atom = caf::atom_constant<caf::atom("command")>;     ///< a command to execute, or its news
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;       ///< cancel a command
using locate_atom = caf::atom_constant<caf::atom("locate")>;       ///< the drone a command is for (-> journal)
using cmd_ack_atom = caf::atom_constant<caf::atom("cmd_ack")>;     ///< a drone's command_ack (socket -> drone)
using journal_atom = caf::atom_constant<caf::atom("journal")>;     ///< record a command's new state (-> journal)
using pending_atom = caf::atom_constant<caf::atom("pending")>;     ///< a drone's commands that are not final
using control_atom = caf::atom_constant<caf::atom("control")>;     ///< a drone's control lease (who commands it)
using geofence_atom = caf::atom_constant<caf::atom("geofence")>;   ///< the geofences (routes, a new version, a group's)
using alarm_atom = caf::atom_constant<caf::atom("alarm")>;         ///< the alarms (routes, one raised or cleared)
using mission_atom = caf::atom_constant<caf::atom("mission")>;     ///< the missions (routes)
using analytics_atom = caf::atom_constant<caf::atom("analytics")>; ///< the analytics routes

/// True for a valid drone id: 1-64 characters of A-Z a-z 0-9 _ . - (docs/protocol.md).
inline bool valid_drone_id(std::string_view id) {
  // "." and ".." are path segments, not names: /api/v1/drones/.. would never reach them.
  if (id.empty() || id.size() > 64 || id == "." || id == "..")
    return false;
  for (char c : id)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
          || c == '-'))
      return false;
  return true;
}

// -- errors --------------------------------------------------------------------------------------------

/// Error codes of the actor protocol, in CAF's error category `dccs`.
enum class errc : std::uint8_t {
  no_such_drone = 1,  ///< no drone with that id is known
  invalid_ticket = 2, ///< an operator ticket that is unknown, spent or expired (or its issuer is gone)
  ticket_revoked = 3, ///< an operator ticket whose access token has been revoked
  unavailable = 4,    ///< a database the answer needs is unavailable: try again later
  // -- the refusals of the actors that serve API requests (registry, history, auth); each is an api_error --
  invalid_request = 5, ///< a malformed body or query, or a field or parameter out of its range
  unauthenticated = 6, ///< no credentials, or wrong ones
  forbidden = 7,       ///< the caller may not do this
  not_found = 8,       ///< no such resource (or one the caller may not see)
  conflict = 9,        ///< it exists already, it was changed meanwhile, or the change would break a rule
  too_many = 10,       ///< a limit was reached: try again after the problem's retry_after_s
  internal = 11,       ///< a fault of this node
};

inline caf::error make_error(errc x) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("dccs")};
}

/// What a refusal of an API request says besides its kind: the code clients read (docs/protocol.md), a message,
/// what was wrong (`key` "field" or "parameter", `value` its name) and, for too_many, when to try again. It is
/// the error's context (plain strings and a number), so that it crosses nodes as the error does.
struct api_problem {
  errc kind = errc::internal;
  std::string code;
  std::string message;
  std::string key;
  std::string value;
  std::int64_t retry_after_s = 0;
};

/// A refusal of an API request: its kind (the bridge alone turns it into an HTTP status), and its problem.
inline caf::error api_error(errc kind, std::string code, std::string message, std::string key = {},
                            std::string value = {}, std::int64_t retry_after_s = 0) {
  return caf::error{static_cast<std::uint8_t>(kind), caf::atom("dccs"),
                    caf::make_message(std::move(code), std::move(message), std::move(key), std::move(value),
                                      retry_after_s)};
}

/// The problem of an error of the `dccs` category (an api_error's as it was made; another one's with its kind's
/// name as code and message); nothing for errors of other categories (a timeout, a lost node).
std::optional<api_problem> problem_of(const caf::error& e);

/// How an actor that serves an API request answers it: the result it rendered (a JSON document; the history
/// may render CSV) and what became of the request. Refusals are errors (api_error). The bridge makes the HTTP
/// answer from it: status (found 200, created 201, done 204 without a body) and headers.
enum class api_outcome : std::uint8_t {
  found = 0,   ///< the resource or result is `body`
  created = 1, ///< `body` is the resource created
  done = 2,    ///< done; nothing to show
  accepted = 3, ///< taken, to be carried out (202): `body` is what will be tracked (a command)
};

struct api_result {
  api_outcome outcome = api_outcome::found;
  std::string content_type = "application/json";
  std::string body;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_result& x) {
  return f(caf::meta::type_name("api_result"), x.outcome, x.content_type, x.body);
}

/// A JSON document found (200), created (201), or done (204).
inline api_result json_result(std::string body, api_outcome outcome = api_outcome::found) {
  return api_result{outcome, "application/json", std::move(body)};
}
inline api_result done_result() {
  return api_result{api_outcome::done, "application/json", {}};
}

// -- plain data ------------------------------------------------------------------------------------------

/// Link status of a drone, from the time since its last frame:
///
///   online --(stale_after without a frame)--> stale --(lost_after)--> lost
///      ^                                         |                      |
///      +--------------- any frame ---------------+----------------------+
enum class link_status : std::uint8_t { online = 0, stale = 1, lost = 2 };

const char* to_string(link_status s);

/// One telemetry sample as the drone sent it (protocol v1). Units: degrees, metres, m/s, percent, volts.
struct telemetry {
  /// Bits of `present` for the optional fields.
  enum optional_bits : std::uint8_t {
    has_roll = 1, has_pitch = 2, has_yaw = 4, has_voltage = 8, has_sats = 16, has_fix = 32,
  };
  std::uint64_t seq = 0;
  double ts = 0; ///< drone clock, ms since epoch
  double lat = 0;
  double lon = 0;
  double alt = 0;
  double heading = 0;
  double speed = 0;
  double vspeed = 0;
  double battery = 0;
  bool armed = false;
  std::string mode;
  double roll = 0;
  double pitch = 0;
  double yaw = 0;
  double voltage = 0;
  std::int32_t sats = 0;
  std::int32_t fix = 0;
  std::uint8_t present = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, telemetry& x) {
  return f(caf::meta::type_name("telemetry"), x.seq, x.ts, x.lat, x.lon, x.alt, x.heading, x.speed, x.vspeed,
           x.battery, x.armed, x.mode, x.roll, x.pitch, x.yaw, x.voltage, x.sats, x.fix, x.present);
}

/// What a drone says about itself in its hello.
struct drone_info {
  std::string id;
  std::string model;
  std::string fw;
  std::string group; ///< drone group (from the registry at admission; not from the drone)
  /// The command kinds the drone said in its hello it executes (known kinds only, protocol order), when it said;
  /// `declares_commands` false: it did not say (it may execute any kind, or answer `unsupported`).
  std::vector<std::string> commands;
  bool declares_commands = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drone_info& x) {
  return f(caf::meta::type_name("drone_info"), x.id, x.model, x.fw, x.group, x.commands, x.declares_commands);
}

/// The live state of one drone, as operators and the REST API see it.
struct drone_state {
  drone_info info;
  link_status status = link_status::online;
  double last_seen = 0; ///< node wall clock of the last frame, ms since epoch
  bool connected = false;
  bool has_telemetry = false;
  double recv = 0; ///< node wall clock when `last` arrived
  telemetry last;
  /// In a cluster: the ownership epoch of the drone actor that published this state (its claim in the fleet
  /// database, docs/cluster.md "Fencing"); of two states, the one of the higher epoch is the owner's. 0: not
  /// claimed (a single node, or the claim is not answered yet).
  std::uint64_t epoch = 0;
  /// In a cluster: the id of the member whose drone actor published this state (the drone's owner; the `id` of
  /// GET /api/v1/cluster's members). Empty on a single node.
  std::string node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drone_state& x) {
  return f(caf::meta::type_name("drone_state"), x.info, x.status, x.last_seen, x.connected, x.has_telemetry,
           x.recv, x.last, x.epoch, x.node);
}

/// A change of a drone's link status.
struct status_event {
  std::string drone_id;
  link_status status = link_status::online;
  link_status previous = link_status::online;
  double at = 0; ///< node wall clock, ms since epoch
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_event& x) {
  return f(caf::meta::type_name("status_event"), x.drone_id, x.status, x.previous, x.at);
}

/// What an operator session subscribes to: every drone, or a list of ids.
struct subscription {
  bool all = true;
  std::vector<std::string> ids;
  auth::scope scope; ///< the drone groups the operator may see, set by the bridge from the access token
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscription& x) {
  return f(caf::meta::type_name("subscription"), x.all, x.ids, x.scope.all, x.scope.groups);
}

/// One drone (or one event) already serialized to JSON by the hub, shared by every session it goes to.
struct fragment {
  std::string drone_id;
  std::string group;
  std::string json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fragment& x) {
  return f(caf::meta::type_name("fragment"), x.drone_id, x.group, x.json);
}

/// An immutable batch of fragments. Between actors of one node it travels by pointer (one batch, many
/// sessions); serialized (to another node) it is the list of fragments, and read back into a new batch.
class fragment_batch {
public:
  using list = std::vector<fragment>;
  fragment_batch() = default;
  fragment_batch(std::nullptr_t) {
  }
  template <class List>
  fragment_batch(std::shared_ptr<List> ptr) : ptr_(std::move(ptr)) {
  }
  const list& operator*() const { return *ptr_; }
  const list* operator->() const { return ptr_.get(); }
  explicit operator bool() const { return ptr_ != nullptr; }
  const list* get() const { return ptr_.get(); }
  friend bool operator==(const fragment_batch& x, std::nullptr_t) { return x.ptr_ == nullptr; }
  friend bool operator!=(const fragment_batch& x, std::nullptr_t) { return x.ptr_ != nullptr; }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, fragment_batch& x) {
    // Saving copies the list (only a remote send or to_string inspects a batch); loading builds a new one.
    auto items = std::make_shared<list>();
    if (x.ptr_ != nullptr)
      *items = *x.ptr_;
    auto load = caf::meta::load_callback([&]() -> caf::error {
      x.ptr_ = std::move(items);
      return caf::none;
    });
    return f(caf::meta::type_name("fragment_batch"), *items, load);
  }

private:
  std::shared_ptr<const list> ptr_;
};

/// A REST request as handed to the actor that answers it: the method, the path's parameters (for
/// example the drone id), the query string (without '?'), the request body and the Accept header.
struct http_query {
  std::string method;
  std::string id;
  std::string kind; ///< which resource (for example "telemetry" or "track")
  std::string query;
  std::string body;
  std::string accept;
  auth::principal who;  ///< the caller (verified access token); empty name on public routes
  std::string address;  ///< the client's address, for the audit trail
  std::string idempotency_key; ///< the Idempotency-Key header (commands)
  std::string group;    ///< the drone's group, as the registry answered an authorize (commands)
  double read_ms = 0;   ///< when this node's bridge read the request (runtime::mono_ms_fine; 0: not from a bridge)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_query& x) {
  return f(caf::meta::type_name("http_query"), x.method, x.id, x.kind, x.query, x.body, x.accept, x.who,
           x.address, x.idempotency_key, x.group, x.read_ms);
}

// -- connections ---------------------------------------------------------------------------------------

/// Identifies one connection among all of a cluster's: the node that accepted the socket, and a counter of
/// that node. A drone actor serves one connection at a time and ignores frames of any other.
struct link_id {
  caf::node_id node;
  std::uint64_t n = 0;
  friend bool operator==(const link_id& a, const link_id& b) { return a.n == b.n && a.node == b.node; }
  friend bool operator!=(const link_id& a, const link_id& b) { return !(a == b); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_id& x) {
  return f(caf::meta::type_name("link_id"), x.node, x.n);
}

// -- what the hub answers ----------------------------------------------------------------------------

/// The live states of drones, in id order (one page of them, or those changed since a version).
struct state_list {
  std::uint64_t version = 0; ///< the hub's version when it answered (a cursor for the next changes query)
  std::vector<drone_state> states;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_list& x) {
  return f(caf::meta::type_name("state_list"), x.version, x.states);
}

// -- between the nodes of a cluster -------------------------------------------------------------------

/// The drone states, status events and removals of one node's drone actors, sent to the hubs of the other
/// members in batches (one stream per pair of nodes), so that operators on any node see the whole fleet.
/// The state of a command (the diagram: actors/command_model.hpp).
enum class command_state : std::uint8_t {
  queued = 0, sent = 1, accepted = 2, in_progress = 3, succeeded = 4, failed = 5, rejected = 6, expired = 7,
  timed_out = 8, cancelled = 9,
};

const char* to_string(command_state s); // actors/command_model.cpp

/// One command to one drone, as the journal keeps it.
struct command {
  std::string id;       ///< UUID
  std::string drone_id;
  std::string group;    ///< the drone's group when it was issued (who sees it)
  std::string kind;
  std::string params;   ///< a JSON object, as text
  command_state state = command_state::queued;
  std::uint32_t attempt = 0; ///< frames sent so far
  double progress = -1;      ///< 0..100 from in_progress acks; -1: none
  std::string reason;
  std::string issued_by;
  double created_at = 0; ///< ms since epoch (node clocks)
  double updated_at = 0;
  double expires_at = 0; ///< never sent after this
  /// In a report of its owner: the ownership epoch of the drone actor that reports (docs/cluster.md "Fencing"); the
  /// journal refuses a report of an epoch older than one it has seen for the command. 0 on a single node.
  std::uint64_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command& x) {
  return f(caf::meta::type_name("command"), x.id, x.drone_id, x.group, x.kind, x.params, x.state, x.attempt,
           x.progress, x.reason, x.issued_by, x.created_at, x.updated_at, x.expires_at, x.epoch);
}

/// Timing of command deliveries (commands.*), for drone actors and the journal.
struct command_policy {
  std::int64_t retry_ms = 1500;              ///< no ack for this long after a send: sent again
  std::uint32_t max_attempts = 3;            ///< sends in all, then timed_out
  std::int64_t progress_timeout_ms = 10000;  ///< accepted / in_progress with no ack for this long: timed_out
};

/// A drone's command_ack frame, parsed.
struct command_ack {
  std::string command_id;
  std::string result;   ///< accepted, in_progress, succeeded, failed, temporarily_rejected, denied, unsupported,
                        ///< cancelled
  double progress = -1; ///< 0..100; -1: absent
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_ack& x) {
  return f(caf::meta::type_name("command_ack"), x.command_id, x.result, x.progress, x.reason);
}

struct command_list {
  std::vector<command> commands;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_list& x) {
  return f(caf::meta::type_name("command_list"), x.commands);
}

/// A point of a geofence's ring: degrees.
struct geo_point {
  double lon = 0;
  double lat = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, geo_point& x) {
  return f(caf::meta::type_name("geo_point"), x.lon, x.lat);
}

/// A geofence (actors/safety_model.hpp; docs/protocol.md "Geofences").
struct geofence {
  std::string id;    ///< UUID
  std::string name;
  std::string group; ///< the drones it applies to
  bool inclusion = true; ///< inclusion (stay inside) or exclusion (stay out)
  std::vector<geo_point> ring; ///< the polygon's outer ring, closed (first point == last point)
  bool has_floor = false;
  double floor = 0;   ///< metres, as telemetry's alt
  bool has_ceiling = false;
  double ceiling = 0;
  std::string action = "alert"; ///< alert, rtl or land
  std::string created_by;
  double created_at = 0;
  double updated_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, geofence& x) {
  return f(caf::meta::type_name("geofence"), x.id, x.name, x.group, x.inclusion, x.ring, x.has_floor, x.floor,
           x.has_ceiling, x.ceiling, x.action, x.created_by, x.created_at, x.updated_at);
}

/// The geofences of one group at one version of the node's geofence cache.
struct geofence_set {
  std::uint64_t version = 0;
  std::vector<geofence> fences;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, geofence_set& x) {
  return f(caf::meta::type_name("geofence_set"), x.version, x.fences);
}

/// An alarm raised or cleared by the node itself (a drone actor, the command journal, a mission).
struct alarm_event {
  std::string drone_id;
  std::string group;
  std::string kind;     ///< actors/safety_model.hpp alarm_kinds
  std::string severity; ///< warning or critical
  std::string message;
  std::string detail = "{}"; ///< a JSON object, as text
  bool raise = true;    ///< false: the condition ended, the system clears the open alarm of (drone, kind)
  std::string action;   ///< a geofence breach: "rtl" or "land" to command the drone (issued by `system`), or ""
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alarm_event& x) {
  return f(caf::meta::type_name("alarm_event"), x.drone_id, x.group, x.kind, x.severity, x.message, x.detail,
           x.raise, x.action);
}

/// A drone's word about a mission (docs/protocol.md "Missions"): its `mission_ack` of an uploaded item, its
/// `mission_progress`, or the node's own report that a mission frame could not reach it (kind "undelivered").
struct mission_report {
  std::string mission_id;
  std::string drone_id;  ///< filled in by the drone's actor
  std::string kind;      ///< "ack", "progress" or "undelivered"
  std::int64_t seq = -1; ///< the item it is about (-1: none)
  /// ack: accepted, denied, error, unsupported; progress: current, reached, completed, aborted, failed
  std::string result;
  std::string reason;
  double at = 0;         ///< ms since the epoch, when the node got it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mission_report& x) {
  return f(caf::meta::type_name("mission_report"), x.mission_id, x.drone_id, x.kind, x.seq, x.result, x.reason, x.at);
}

struct replica_batch {
  std::string origin;                ///< the node whose drone actors these are
  bool full = false;                 ///< every drone that node's actors serve (sent to a member that just joined)
  std::vector<drone_state> states;   ///< the newest state of each drone that changed
  std::vector<status_event> events;  ///< link status changes, in order
  std::vector<std::string> removed;  ///< drones its actors let go (passivated)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_batch& x) {
  return f(caf::meta::type_name("replica_batch"), x.origin, x.full, x.states, x.events, x.removed);
}

} // namespace dccs::actors

namespace dccs::runtime {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.id, x.http, x.cluster, x.roles, x.epoch);
}

} // namespace dccs::runtime
