#pragma once
/// Every DCCS actor: what it is, what it accepts, and how to spawn it. Message types: messages.hpp.

#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/board.hpp"
#include "actors/link_watchdog.hpp"
#include "actors/messages.hpp"
#include "runtime/metrics.hpp"

namespace dccs::actors {

/// Registers the message types of messages.hpp with CAF (needed before the actor system starts).
void add_message_types(caf::actor_system_config& cfg);

/// Tunables of drone actors and their supervisor.
struct drone_settings {
  std::int64_t stale_after_ms = 3000;
  std::int64_t lost_after_ms = 10000;
  std::size_t max_restarts = 5;        ///< restarts allowed within restart_window_ms ...
  std::int64_t restart_window_ms = 60000; ///< ... before the supervisor gives up on the drone
  /// A drone with no connection for this long is passivated: its actor stops, its directory entry and its
  /// live-view entry go (its state stays in Redis and PostgreSQL). 0: never.
  std::int64_t passivate_after_ms = 600000;
};

/// The state of one drone that outlives its actor: the supervisor keeps it and hands it to the actor it
/// restarts after a crash. Only the live actor touches it.
struct drone_cell {
  drone_cell(drone_info info, const drone_settings& s) : watchdog(s.stale_after_ms, s.lost_after_ms) {
    state.info = std::move(info);
  }
  drone_state state;
  drone_link_ptr link;
  link_watchdog watchdog;
  link_status reported = link_status::online; ///< the status operators were last told
  std::uint64_t attaches = 0; ///< attach messages received (the directory counts those it sent: passivation)
};

using drone_cell_ptr = std::shared_ptr<drone_cell>;

/// Counters the actors bump (owned by the node, outlive the actor system).
struct actor_metrics {
  runtime::counter* drone_restarts = nullptr;
  runtime::counter* drone_escalations = nullptr;
  runtime::counter* operator_updates_dropped = nullptr;
  runtime::counter* operator_events_dropped = nullptr;
  runtime::gauge* drone_actors = nullptr;
  runtime::counter* drones_passivated = nullptr; ///< drone actors stopped after passivate_after_ms unconnected
};

/// Drone actor: one per drone id, owns its live state and link status.
/// Accepts:
///   (attach_atom, drone_link_ptr, drone_info)     a connection said hello; replaces an older connection
///   (telemetry_atom, telemetry, double recv, u64 link)  a telemetry frame from connection `link`
///   (alive_atom, u64 link)                        any other frame (heartbeat)
///   (detach_atom, u64 link)                       the connection closed
///   (get_atom) -> drone_state
///   (patch_atom, std::string group)               the registry moved the drone to another group
///   (fault_atom)                                  throws (fault injection for supervision tests)
///   (passivate_atom) -> (bool idle, u64 attaches)  whether it has had no connection for passivate_after_ms,
///                                                 and how many attach messages it has received
/// Writes its newest state to the node's board on every change, and a status event on every link status
/// change (board.hpp says why this is not a message).
caf::behavior drone_actor(caf::event_based_actor* self, drone_cell_ptr cell, board_ptr board,
                          drone_settings settings);

/// Fleet directory and drone supervisor: the single way to reach a drone actor. Spawns a drone's actor on
/// first contact, restarts a crashed one with its last state, and gives up (logs, closes the drone's
/// connection with 1011) after more than `max_restarts` restarts within `restart_window_ms`.
/// Accepts:
///   (connect_atom, drone_info, drone_link_ptr)   route a new connection to the drone's actor
///   (get_atom, std::string id) -> caf::actor     the drone's actor, or error "no such drone"
///   (delete_atom, std::string id)                the drone left the registry: close its connection (4003)
///   (kick_atom, std::string id, u16 code, std::string reason)  close its connection (credential changed: it
///                                                must say hello again)
///   (patch_atom, std::string id, std::string group)  the registry moved the drone to another group
///   (sweep_atom)                                 timer: passivation (below)
/// Passivation: a drone actor without a connection for `passivate_after_ms` is stopped and forgotten (its
/// entry here and on the board; operators are told it is gone), so that memory follows the live fleet and not
/// every id ever seen. The directory asks each actor it has not routed a connection to for that long; the actor
/// answers whether it is idle and how many attaches it has seen, and only when no attach is in flight (the
/// count matches what was sent) is it stopped — a drone that reconnects meanwhile keeps its actor.
caf::behavior directory_actor(caf::event_based_actor* self, board_ptr board, drone_settings settings,
                              actor_metrics metrics);

/// Fan-out hub: every `flush_ms` takes from the board what is due (each drone at most hub.rate times per
/// second, newest state only) and pushes it to the subscribed sessions, so that many drones share one
/// batch (one batch per tick per session, one JSON serialization per published drone).
/// Accepts:
///   (state_atom, drone_state), (status_atom, status_event)   from drone actors on other nodes
///   (subscribe_atom, subscription)                          from a session; answered with
///                                                           (snapshot_atom, fragment_batch)
///   (list_atom, subscription, u64 limit, std::string after) -> std::string
///                                                           the drones of the subscription's scope, in
///                                                           id order, a page of at most `limit` after the id
///                                                           `after`, as {"drones":[...],"next_cursor":...}
///   (get_atom, std::string id, subscription) -> std::string one drone of the scope as JSON, or error
///   (flush_atom) -> bool                                    tick now (used at shutdown)
/// Sends sessions (update_atom, fragment_batch), (events_atom, fragment_batch) and (removed_atom, fragment_batch).
caf::behavior hub_actor(caf::event_based_actor* self, board_ptr board, int flush_ms);

/// Operator session: one per operator WebSocket. Holds the subscription and a bounded outbound queue:
/// only the newest state per drone and at most `max_events` status events wait for a slow socket, and at
/// most one frame is in flight at a time.
/// Accepts:
///   (subscribe_atom, subscription)          from the socket
///   (error_atom, std::string code, std::string message)  an error frame to send
///   (notice_atom, std::string frame)        a control frame to send as it is (before updates)
///   (snapshot_atom | update_atom | events_atom, fragment_batch)  from the hub
///   (removed_atom, fragment_batch)          drones it may no longer see: a {"type":"remove"} frame
///   (ready_atom)                            the socket wrote the previous frame
caf::behavior session_actor(caf::event_based_actor* self, operator_link_ptr link, caf::actor hub,
                            std::size_t max_events, actor_metrics metrics);

} // namespace dccs::actors
