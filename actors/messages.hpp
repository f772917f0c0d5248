#pragma once
/// Every message type and atom of the DCCS actor protocol, in one place.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include "auth/access.hpp"

namespace dccs::actors {

// -- atoms (at most 10 characters) ----------------------------------------------------------------------

using connect_atom = caf::atom_constant<caf::atom("connect")>;     ///< link a drone connection
using attach_atom = caf::atom_constant<caf::atom("attach")>;       ///< directory -> drone actor
using detach_atom = caf::atom_constant<caf::atom("detach")>;       ///< connection closed
using telemetry_atom = caf::atom_constant<caf::atom("telemetry")>; ///< a telemetry frame
using alive_atom = caf::atom_constant<caf::atom("alive")>;         ///< a frame that carries no state
using check_atom = caf::atom_constant<caf::atom("check")>;         ///< watchdog timer
using get_atom = caf::atom_constant<caf::atom("get")>;             ///< read one drone
using list_atom = caf::atom_constant<caf::atom("list")>;           ///< read all drones
using state_atom = caf::atom_constant<caf::atom("state")>;         ///< drone -> hub: newest state
using status_atom = caf::atom_constant<caf::atom("status")>;       ///< drone -> hub: link status change
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>; ///< session -> hub
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;   ///< hub -> session
using update_atom = caf::atom_constant<caf::atom("update")>;       ///< hub -> session
using events_atom = caf::atom_constant<caf::atom("events")>;       ///< hub -> session
using tick_atom = caf::atom_constant<caf::atom("tick")>;           ///< hub timer
using flush_atom = caf::atom_constant<caf::atom("flush")>;         ///< push everything pending now
using ready_atom = caf::atom_constant<caf::atom("ready")>;         ///< socket -> session: frame written
using error_atom = caf::atom_constant<caf::atom("error")>;         ///< socket -> session: error frame
using fault_atom = caf::atom_constant<caf::atom("fault")>;         ///< fault injection (tests only)
using history_atom = caf::atom_constant<caf::atom("history")>;     ///< a telemetry history query
using admit_atom = caf::atom_constant<caf::atom("admit")>;         ///< may this drone connect?
using create_atom = caf::atom_constant<caf::atom("create")>;       ///< registry: add a drone
using patch_atom = caf::atom_constant<caf::atom("patch")>;       ///< registry: change a drone
using delete_atom = caf::atom_constant<caf::atom("delete")>;       ///< registry: remove a drone
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
using kick_atom = caf::atom_constant<caf::atom("kick")>;           ///< directory: close a drone's connection
using notice_atom = caf::atom_constant<caf::atom("notice")>;       ///< socket -> session: a control frame to send
using removed_atom = caf::atom_constant<caf::atom("removed")>;     ///< hub -> session: drones no longer visible
using passivate_atom = caf::atom_constant<caf::atom("passivate")>; ///< directory <-> drone: idle long enough to stop?
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;         ///< directory: look for idle drone actors

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
  no_such_drone = 1, ///< no drone with that id is known
};

inline caf::error make_error(errc x) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("dccs")};
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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drone_info& x) {
  return f(caf::meta::type_name("drone_info"), x.id, x.model, x.fw, x.group);
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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drone_state& x) {
  return f(caf::meta::type_name("drone_state"), x.info, x.status, x.last_seen, x.connected, x.has_telemetry,
           x.recv, x.last);
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

/// An immutable batch of fragments; copied between node-local actors by pointer, never serialized.
using fragment_batch = std::shared_ptr<const std::vector<fragment>>;

/// A complete answer to an HTTP request, produced by an actor (REST handlers that need the database):
/// the bridge writes it as it is.
struct http_answer {
  std::uint16_t status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> headers; ///< extra response headers: name, value, name, value, ...
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_answer& x) {
  return f(caf::meta::type_name("http_answer"), x.status, x.content_type, x.body, x.headers);
}

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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_query& x) {
  return f(caf::meta::type_name("http_query"), x.method, x.id, x.kind, x.query, x.body, x.accept, x.who,
           x.address);
}

// -- links from actors back to sockets ---------------------------------------------------------------

/// The network side of a drone connection, as its drone actor sees it. Implemented by the bridge; every
/// call is thread-safe and returns at once (the bridge posts onto the connection's strand).
class drone_link {
public:
  virtual ~drone_link() = default;
  /// The drone actor now serving this connection (after a hello, and again after a restart).
  virtual void attached(caf::actor drone, bool first) = 0;
  /// Close the connection with a WebSocket close code and reason.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Identifies this connection among the drone's successive connections.
  virtual std::uint64_t id() const = 0;
};

using drone_link_ptr = std::shared_ptr<drone_link>;

/// The network side of an operator WebSocket, as its session actor sees it.
class operator_link {
public:
  virtual ~operator_link() = default;
  /// Write one text frame. The link answers with `ready_atom` to the session once it is written, and the
  /// session sends no further frame before that (one frame in flight per operator).
  virtual void deliver(std::string frame) = 0;
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

using operator_link_ptr = std::shared_ptr<operator_link>;

} // namespace dccs::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dccs::actors::fragment_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dccs::actors::drone_link_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dccs::actors::operator_link_ptr)
