#pragma once
/// Every DCCS actor: its typed interface (what it accepts, what it answers) and how to spawn
/// it. Message types: messages.hpp; the CAF type-ID block of all of them: the end of this file.
///
/// The actors share nothing: each one's state is its own, and whatever another actor needs crosses as a
/// serializable message, so that any of these handles may be an actor on another node.
///
///   socket (bridge) --frames--> drone actor --state (coalesced)--> hub --batches--> session --frames--> link
///        ^                          |                                                                   |
///        +---- drone link actor <---+ (attached, hangup: welcome, close codes)          operator socket <+
///
/// A drone's socket sends its frames straight to the drone actor, with its link id; the drone actor answers
/// only through the socket's link actor, which it monitors (the link's end is the connection's end).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/link_watchdog.hpp"
#include "actors/messages.hpp"
#include "actors/mission_model.hpp"
#include "runtime/metrics.hpp"
#include "runtime/pg_types.hpp"
#include "runtime/redis.hpp"

namespace dccs::actors {

/// Registers the message types of the type-ID block below with CAF (needed before the actor system starts),
/// and the `dccs` error category.
void add_message_types(caf::actor_system_config& cfg);

// -- interfaces ------------------------------------------------------------------------------------------

struct cluster_view; // below the hub


/// The socket of one drone connection, on the node that accepted it (the bridge implements it).
/// Accepts:
///   (attached_atom, bool first)          the sender (a drone actor) now serves this connection; `first`: after
///                                        the hello (the drone gets its welcome), not after a restart
///   (hangup_atom, u16 code, std::string reason)   close the WebSocket with this code
///   (detach_atom)                        the socket closed: the link actor stops (its monitors learn it)
///   (reroute_atom)                       the drone's owner moved to another node (handoff): the socket keeps
///                                        its frames and connects again through its node's directory
///   (deliver_atom, std::string frame)    write one text frame to the drone (a command, a command_cancel)
/// A drone actor that stops other than by a crash (its node left or was lost) is a reroute too.
using drone_link_actor = caf::typed_actor<caf::reacts_to<attached_atom, bool>,
                                          caf::reacts_to<hangup_atom, std::uint16_t, std::string>,
                                          caf::reacts_to<detach_atom>, caf::reacts_to<reroute_atom>,
                                          caf::reacts_to<deliver_atom, std::string>>;

/// The socket of one operator connection, on the node that accepted it (the bridge implements it).
/// Accepts:
///   (deliver_atom, std::string frame)   write one text frame; the socket tells the session (ready_atom) once it
///                                       is written, and the session sends no further frame before that
///   (hangup_atom, u16 code, std::string reason)   close the WebSocket with this code
///   (detach_atom)                       the socket closed: the link actor stops
using operator_link_actor = caf::typed_actor<caf::reacts_to<deliver_atom, std::string>,
                                             caf::reacts_to<hangup_atom, std::uint16_t, std::string>,
                                             caf::reacts_to<detach_atom>>;

/// Missions (detached: the commands role's database; actors/mission_service.cpp).
/// Accepts:
///   (mission_atom, http_query) -> api_result   /api/v1/missions[/{id}[/validate|/assign|/upload|/start|/pause|
///                                             /resume|/abort]] (q.kind: the action)
///   (mission_atom, mission_report)             from a drone's actor: the drone's mission_ack or mission_progress, or
///                                             a mission frame that could not reach it
///   (tick_atom)                                its timer: uploads waiting for an ack past missions.retry_ms
using mission_actor = caf::typed_actor<caf::replies_to<mission_atom, http_query>::with<api_result>,
                                       caf::reacts_to<mission_atom, mission_report>, caf::reacts_to<tick_atom>>;

/// Drone actor: one per drone id, owns its live state and link status.
/// Accepts:
///   (attach_atom, drone_link_actor, link_id, drone_info)  a connection said hello; replaces an older one (4000)
///   (telemetry_atom, telemetry, double recv, link_id)     a telemetry frame of connection `link_id`
///   (alive_atom, link_id)                                 any other frame (heartbeat)
///   (get_atom) -> drone_state
///   (regroup_atom, std::string group)                     the registry moved the drone to another group
///   (kick_atom, u16 code, std::string reason)             close its connection (its credential changed)
///   (delete_atom)                                         the drone left the registry: its connection closes
///                                                         (4003), its live-view entry goes (its last message
///                                                         to the hub, after every state it published), it stops
///   (passivate_atom) -> (bool idle, u64 attaches)          whether it has had no connection for
///                                                         passivate_after_ms, and the attaches it has received
///   (fault_atom)                                          throws (fault injection for supervision tests)
///   (fence_atom, u64 epoch)                               from a hub: another member's actor claimed the drone
///                                                         under this higher epoch (the drone's newer connection
///                                                         is there): this actor hangs up its own (4000), stops
///   (command_atom, command)                               a command to execute (issued, or read from the
///                                                         journal); one it tracks that the journal has final
///                                                         now (cancelled, swept) ends here too
///   (cmd_ack_atom, command_ack, link_id)                  the drone's command_ack on connection `link_id`
///   (geofence_atom, u64 version)                          the node's geofences changed: it asks for its group's
///                                                         (it checks each armed position against them)
///   (mission_atom, std::string mission_id, std::string frame, mission_actor reply_to)   a mission frame (an item
///                                                         of an upload) to deliver; the drone's answers about that
///                                                         mission go to reply_to (else to settings.missions); not
///                                                         connected: reply_to hears "undelivered" at once
///   (mission_atom, mission_report, link_id)               the drone's mission_ack or mission_progress
///   (check_atom), (coalesce_atom), (claim_atom), (verify_atom), (tick_atom)   its own timers (watchdog,
///                                                         held-back publication, a claim to make again, a look
///                                                         at the claim after the connection ended, commands due)
/// In a cluster (settings.owners set) it claims the drone's ownership each time it takes a connection, and
/// publishes its states with the epoch it got (docs/cluster.md "Fencing"). When its connection ends it looks at
/// the claim twice (after 2 s and 10 s): claimed since by another member (its connection's node was cut off
/// from this one, and the drone is served there now), it stops.
/// Publishes its state to the hub by message: at once when the connection or the link status changes,
/// otherwise at most once per `publish_interval_ms` (the newest state; what changes sooner waits).
using drone_actor = caf::typed_actor<
  caf::reacts_to<attach_atom, drone_link_actor, link_id, drone_info>,
  caf::reacts_to<telemetry_atom, telemetry, double, link_id>, caf::reacts_to<alive_atom, link_id>,
  caf::replies_to<get_atom>::with<drone_state>, caf::reacts_to<regroup_atom, std::string>,
  caf::reacts_to<kick_atom, std::uint16_t, std::string>, caf::reacts_to<delete_atom>,
  caf::replies_to<passivate_atom>::with<bool, std::uint64_t>, caf::reacts_to<fault_atom>,
  caf::reacts_to<fence_atom, std::uint64_t>, caf::reacts_to<check_atom>, caf::reacts_to<coalesce_atom>,
  caf::reacts_to<claim_atom>, caf::reacts_to<verify_atom>, caf::reacts_to<command_atom, command>,
  caf::reacts_to<cmd_ack_atom, command_ack, link_id>, caf::reacts_to<tick_atom>,
  caf::reacts_to<geofence_atom, std::uint64_t>,
  caf::reacts_to<mission_atom, std::string, std::string, mission_actor>,
  caf::reacts_to<mission_atom, mission_report, link_id>>;

/// Fleet directory and drone supervisor: the single way to reach a drone actor. Spawns a drone's actor on
/// first contact, restarts a crashed one from its snapshot, and gives up (closes the drone's connection with
/// 1011, tells the hub the drone is offline) after more than `max_restarts` restarts within `restart_window_ms`.
/// Accepts:
///   (connect_atom, drone_info, drone_link_actor, link_id)  route a new connection to the drone's actor
///   (get_atom, std::string id) -> drone_actor              the drone's actor, or error no_such_drone
///   (kick_atom, std::string id, u16 code, std::string reason)  close its connection (credential changed:
///                                                         it must say hello again)
///   (delete_atom, std::string id)                         the drone left the registry: its actor (on whichever
///                                                         member) closes the connection (4003), removes the
///                                                         drone from the live view and stops
///   (regroup_atom, std::string id, std::string group)     the registry moved the drone to another group
///   (sweep_atom)                                          timer: passivation (below)
///   (view_atom, cluster_view)                             the live members changed: drones this node no longer
///                                                         owns are handed off (their links reroute)
///   (route_atom, std::string id) -> drone_actor           from a peer's directory: this node's actor only
///   (command_atom, command)                               to the drone's actor, wherever it runs (none: it reads
///                                                         the journal when the drone connects)
///   (geofence_atom, u64 version)                          the geofences changed: told to every drone actor here
///   (mission_atom, std::string drone_id, std::string mission_id, std::string frame, mission_actor reply_to)
///                                                         a mission frame to the drone's actor, wherever it runs;
///                                                         none: reply_to hears "undelivered"
///   (mission_actor)                                       the node's mission service, once it exists (its drone
///                                                         actors report what no upload asked for to it)
/// In a cluster a drone's owner is placement("drone", id) over the live members (runtime/placement.hpp): a
/// connection, a kick, a regroup or a lookup for a drone another member owns goes to that member's directory.
/// What comes from a peer's directory is handled here and never forwarded again (views may differ for a
/// heartbeat; a message never travels in circles).
/// Passivation: a drone actor without a connection for `passivate_after_ms` is stopped and forgotten (its
/// entry here and at the hub; operators are told it is gone), so that memory follows the live fleet and not
/// every id ever seen. The directory asks each actor it has not routed a connection to for that long; the actor
/// answers whether it is idle and how many attaches it has seen, and only when no attach is in flight (the
/// count matches what was sent) is it stopped — a drone that reconnects meanwhile keeps its actor.
using directory_actor = caf::typed_actor<
  caf::reacts_to<connect_atom, drone_info, drone_link_actor, link_id>,
  caf::replies_to<get_atom, std::string>::with<drone_actor>,
  caf::reacts_to<kick_atom, std::string, std::uint16_t, std::string>, caf::reacts_to<delete_atom, std::string>,
  caf::reacts_to<regroup_atom, std::string, std::string>, caf::reacts_to<sweep_atom>,
  caf::reacts_to<view_atom, cluster_view>, caf::replies_to<route_atom, std::string>::with<drone_actor>,
  caf::reacts_to<command_atom, command>, caf::reacts_to<geofence_atom, std::uint64_t>,
  caf::reacts_to<mission_atom, std::string, std::string, std::string, mission_actor>,
  caf::reacts_to<mission_actor>>;

/// Geofences and alarms (detached: the commands role's database; actors/safety_service.cpp).
/// Accepts:
///   (geofence_atom, http_query) -> api_result    /api/v1/geofences[/{id}]: GET, POST, PATCH, DELETE
///   (alarm_atom, http_query) -> api_result       /api/v1/alarms[/{id}[/acknowledge|/clear]]
///   (geofence_atom, std::string group) -> geofence_set   the group's geofences (from its cache: no database)
///   (alarm_atom, alarm_event)                    an alarm raised or ended by the node (a drone actor, the journal);
///                                                a breach's action commands the drone (issued by `system`)
///   (tick_atom)                                  its timer: reloads the geofences when their version moved (each
///                                                member sees another's change within geofences.poll_ms), writes
///                                                the alarm events kept while the database was down
///   (directory_actor)                            the node's directory, told each new geofence version
using safety_actor = caf::typed_actor<
  caf::replies_to<geofence_atom, http_query>::with<api_result>, caf::replies_to<alarm_atom, http_query>::with<api_result>,
  caf::replies_to<geofence_atom, std::string>::with<geofence_set>, caf::reacts_to<alarm_atom, alarm_event>,
  caf::reacts_to<tick_atom>, caf::reacts_to<directory_actor>>;

/// The drone registry (detached: the fleet role's database), see actors/fleet_store.hpp.
/// Accepts:
///   (admit_atom, drone_info, std::string secret) -> (u16 code, std::string group)   may this drone connect?
///   (list_atom | get_atom | authorize_atom | create_atom | patch_atom | delete_atom | rotate_atom | revoke_atom,
///    http_query) -> api_result                                                  the registry's routes
///   (admit_atom), (seen_atom), (register_atom)                                    its own batches and timers
///   (view_atom, cluster_view)        the live members: a change made here is told to the other members' registries
///   (invalidate_atom, std::string id)   from another member's registry: drone `id` was registered, changed, moved,
///                                    deleted or its credential rotated or revoked there; its row is read again
using fleet_actor = caf::typed_actor<
  caf::replies_to<admit_atom, drone_info, std::string>::with<std::uint16_t, std::string>,
  caf::replies_to<list_atom, http_query>::with<api_result>, caf::replies_to<get_atom, http_query>::with<api_result>,
  caf::replies_to<authorize_atom, http_query>::with<api_result>,
  caf::replies_to<create_atom, http_query>::with<api_result>, caf::replies_to<patch_atom, http_query>::with<api_result>,
  caf::replies_to<delete_atom, http_query>::with<api_result>, caf::replies_to<rotate_atom, http_query>::with<api_result>,
  caf::replies_to<revoke_atom, http_query>::with<api_result>, caf::reacts_to<admit_atom>, caf::reacts_to<seen_atom>,
  caf::reacts_to<register_atom>, caf::reacts_to<view_atom, cluster_view>, caf::reacts_to<invalidate_atom, std::string>>;

/// The command journal and the command routes (actors/command_service.cpp): a router over journal_connections
/// detached actors, each with its own connection to the commands role's database.
/// Accepts:
///   (create_atom | get_atom | list_atom | cancel_atom, http_query) -> api_result   the command routes
///   (locate_atom, http_query) -> std::string   the drone of the command q.id names, when the caller sees it (the
///                                     router sends a cancel to that drone's connection); else a 404 error
///   (journal_atom, command, std::string cause)   from a drone's owner: the command's new state; the journal's row
///                                     after it goes to the operators (the hub) and, when the journal knew better
///                                     (final already), back to the sender as (command_atom, command). Each
///                                     connection journals the reports waiting for it in one transaction
///   (journal_atom)                    a connection's own flush of those reports (the router ignores it)
///   (pending_atom, std::string drone_id) -> command_list   the drone's commands that are not final
///   (control_atom, http_query) -> api_result   the drone's control lease: GET, POST (take, renew, force), DELETE
///   (tick_atom)                       its timer: the sweep that ends what nobody ended in time
///   (directory_actor)                 the node's directory, once it exists (spawned after this actor, whose
///                                     handle its drone actors get)
///   (create_atom, std::string drone_id, std::string group, std::string kind, std::string reason)
///                                     a command the node issues itself (a geofence breach): issued by `system`,
///                                     past any control lease
///   (safety_actor)                    where failed and timed-out commands raise alarms
///   (fleet_actor)                     the node's registry, once it exists: it authorizes a new command for a drone
///                                     the journal does not find registered (yet)
using command_actor = caf::typed_actor<
  caf::replies_to<create_atom, http_query>::with<api_result>, caf::replies_to<get_atom, http_query>::with<api_result>,
  caf::replies_to<list_atom, http_query>::with<api_result>, caf::replies_to<cancel_atom, http_query>::with<api_result>,
  caf::replies_to<locate_atom, http_query>::with<std::string>,
  caf::reacts_to<journal_atom, command, std::string>, caf::reacts_to<journal_atom>,
  caf::replies_to<pending_atom, std::string>::with<command_list>,
  caf::replies_to<control_atom, http_query>::with<api_result>, caf::reacts_to<tick_atom>,
  caf::reacts_to<directory_actor>, caf::reacts_to<create_atom, std::string, std::string, std::string, std::string>,
  caf::reacts_to<safety_actor>, caf::reacts_to<fleet_actor>>;

/// Operator session: one per operator WebSocket. Holds the subscription and a bounded outbound queue:
/// only the newest state per drone and at most `max_events` status events wait for a slow socket, and at
/// most one frame is in flight at a time.
/// Accepts:
///   (subscribe_atom, subscription)          from the socket
///   (error_atom, std::string code, std::string message)  an error frame to send
///   (notice_atom, std::string key, std::string frame)   a control frame to send as it is (before updates); frames
///                                           with the same non-empty key (a command, an alarm, a drone's lease,
///                                           a mission's drone) replace one another while they wait: a slow
///                                           operator gets the newest state of each

///   (snapshot_atom | update_atom | events_atom, fragment_batch)  from the hub
///   (removed_atom, fragment_batch)          drones it may no longer see: a {"type":"remove"} frame
///   (ready_atom)                            the socket wrote the previous frame
using session_actor = caf::typed_actor<
  caf::reacts_to<subscribe_atom, subscription>, caf::reacts_to<error_atom, std::string, std::string>,
  caf::reacts_to<notice_atom, std::string, std::string>, caf::reacts_to<snapshot_atom, fragment_batch>,
  caf::reacts_to<update_atom, fragment_batch>, caf::reacts_to<events_atom, fragment_batch>,
  caf::reacts_to<removed_atom, fragment_batch>, caf::reacts_to<ready_atom>>;

/// Fan-out hub: the node's live view of the fleet. Drone actors publish their states to it; every `flush_ms`
/// it pushes what changed to the subscribed sessions (each drone at most hub.rate times per second, newest
/// state only), so that many drones share one batch (one batch per tick per session, one JSON serialization
/// per published drone).
/// Accepts:
///   (state_atom, drone_state), (status_atom, status_event)  from drone actors
///   (subscribe_atom, subscription)            from a session (the sender); answered with
///                                             (snapshot_atom, fragment_batch) to it
///   (list_atom, subscription, u64 limit, std::string after) -> std::string
///                                             the drones of the subscription's scope, in id order, a page of
///                                             at most `limit` after the id `after`, as
///                                             {"drones":[...],"next_cursor":...}
///   (get_atom, std::string id, subscription) -> std::string   one drone of the scope as JSON, or error
///   (get_atom, std::string id) -> drone_state                  one drone's live state, or error
///   (states_atom, subscription, u64 limit, std::string after) -> state_list   a page of live states
///   (changes_atom, u64 since) -> state_list   every state changed after version `since` (in a cluster: of the
///                                             drones this node's actors serve; each member mirrors its own)
///   (restore_atom, state_list) -> u64         states remembered elsewhere (Redis, the registry) after a
///                                             restart; answers how many were taken
///   (remove_atom, std::string id)             forget a drone (passivated, deleted); operators are told
///   (offline_atom, std::string id)            no actor serves the drone any more: not connected, lost
///   (regroup_atom, std::string id, std::string group)  a drone without an actor moved to another group
///   (flush_atom) -> bool                      tick now (used at shutdown)
///   (tick_atom, u64 epoch), (sweep_atom), (sync_atom)   its own timers
///   (view_atom, cluster_view)                 the live members: what this node's drone actors publish goes to
///                                             the other members' hubs, batched every `sync_ms` (a member that
///                                             joins gets every drone of this node's actors at once)
///   (replica_atom, replica_batch)             another member's drones; a lost member's drones turn offline
///   (command_atom, command)                   a command's news: a {"type":"command"} frame to the sessions that
///                                             see its drone; from this node's journal also to the other members'
///                                             hubs
///   (control_atom, std::string drone_id, std::string group, std::string key, std::string frame)   a control lease
///                                             changed hands, an alarm was raised or changed, a mission's drone moved on
///                                             (key: what a newer frame replaces, see session_actor):
///                                             the {"type":"control"} / {"type":"alarm"} frame, to the same audience,
///                                             the same way
/// Sends sessions (update_atom, fragment_batch), (events_atom, fragment_batch) and (removed_atom, fragment_batch).
using hub_actor = caf::typed_actor<
  caf::reacts_to<state_atom, drone_state>, caf::reacts_to<status_atom, status_event>,
  caf::reacts_to<subscribe_atom, subscription>,
  caf::replies_to<list_atom, subscription, std::uint64_t, std::string>::with<std::string>,
  caf::replies_to<get_atom, std::string, subscription>::with<std::string>,
  caf::replies_to<get_atom, std::string>::with<drone_state>,
  caf::replies_to<states_atom, subscription, std::uint64_t, std::string>::with<state_list>,
  caf::replies_to<changes_atom, std::uint64_t>::with<state_list>,
  caf::replies_to<restore_atom, state_list>::with<std::uint64_t>, caf::reacts_to<remove_atom, std::string>,
  caf::reacts_to<offline_atom, std::string>, caf::reacts_to<regroup_atom, std::string, std::string>,
  caf::replies_to<flush_atom>::with<bool>, caf::reacts_to<tick_atom, std::uint64_t>, caf::reacts_to<sweep_atom>,
  caf::reacts_to<view_atom, cluster_view>, caf::reacts_to<replica_atom, replica_batch>,
  caf::reacts_to<sync_atom>, caf::reacts_to<command_atom, command>,
  caf::reacts_to<control_atom, std::string, std::string, std::string, std::string>>;


/// The operator WebSocket tickets of this node (actors/tickets.cpp, over actors/ticket_book.hpp): one per node, on
/// the shared scheduler (it never blocks). A ticket names the member that issued it; only that member's ticket actor
/// redeems it, so a ticket is spent exactly once in the whole cluster.
/// Accepts:
///   (ticket_atom, auth::principal who) -> std::string   a new ticket for `who` ("" when too many are outstanding)
///   (redeem_atom, std::string ticket) -> auth::principal  spends the ticket: the principal it was issued for, or
///                                       error invalid_ticket (unknown, spent, expired, its issuer not a live
///                                       member or not answering) or ticket_revoked (its access token is revoked,
///                                       as the issuing node knows it). A ticket of another member is redeemed by
///                                       that member's ticket actor (asked with a short timeout); one from another
///                                       member is redeemed here or refused, never sent on
///   (view_atom, cluster_view)           the live members: whose ticket actor redeems which tickets
using ticket_actor = caf::typed_actor<caf::replies_to<ticket_atom, auth::principal>::with<std::string>,
                                      caf::replies_to<redeem_atom, std::string>::with<auth::principal>,
                                      caf::reacts_to<view_atom, cluster_view>>;

/// One node's live view of the cluster, for its directory (placement), its hub (peers), its registry (changes) and
/// its ticket actor (tickets of other members).
struct cluster_peer {
  std::string id; ///< the member's node id
  directory_actor directory;
  hub_actor hub;
  fleet_actor fleet;    ///< its registry (null: the member keeps none, db.enabled = false)
  ticket_actor tickets; ///< its operator tickets
  command_actor commands; ///< its command journal (null: none)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_peer& x) {
  return f(caf::meta::type_name("cluster_peer"), x.id, x.directory, x.hub, x.fleet, x.tickets, x.commands);
}

struct cluster_view {
  std::uint64_t version = 0;
  std::string self;                ///< this node's id ("" outside a cluster)
  std::vector<cluster_peer> peers; ///< the other live members
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("cluster_view"), x.version, x.self, x.peers);
}

/// A node's face to the other members, published by the middleman on `cluster.port` (actors/cluster.cpp).
/// Accepts:
///   (hello_atom, member_info, cluster_peer) -> (member_info, cluster_peer)
///                                  another node introduces itself and its actors (directory, hub, registry,
///                                  tickets); answered with this node's own
///   (heartbeat_atom, std::string id, i64 drones)   a member is alive (every cluster.heartbeat_ms), and the drone
///                                  actors it has (shown by GET /api/v1/cluster)
///   (members_atom) -> std::string  the membership as JSON (GET /api/v1/cluster)
///   (listen_atom, std::string http)   the node's HTTP port is open at this host:port: from now on the actor
///                                  announces the node (board, hellos) and connects to the others
///   (tick_atom)                    its timer: heartbeats, expiry, the membership board, connecting
using node_actor = caf::typed_actor<
  caf::replies_to<hello_atom, runtime::member_info, cluster_peer>::with<runtime::member_info, cluster_peer>,
  caf::reacts_to<heartbeat_atom, std::string, std::int64_t>, caf::replies_to<members_atom>::with<std::string>,
  caf::reacts_to<listen_atom, std::string>, caf::reacts_to<tick_atom>>;

/// Telemetry history (detached: the telemetry role's database), GET /api/v1/drones/{id}/telemetry|track.
/// Accepts:
///   (history_atom, http_query) -> api_result
using history_actor = caf::typed_actor<caf::replies_to<history_atom, http_query>::with<api_result>>;

/// Daily flight analytics (detached: the telemetry, fleet and commands databases; actors/analytics.hpp),
/// GET /api/v1/analytics/daily|fleet. Accepts:
///   (analytics_atom, http_query) -> api_result
using analytics_actor = caf::typed_actor<caf::replies_to<analytics_atom, http_query>::with<api_result>>;

/// The auth service (detached: the auth role's database): logins, refresh rotation, logout, users, the audit log.
/// Accepts:
///   (login_atom | refresh_atom | logout_atom | users_atom | audit_atom, http_query) -> api_result  the routes
///   (audit_atom, actor, action, drone, address, outcome, detail JSON)  an audit row from another actor (strings)
///   (denied_atom, std::string reason, std::string address)            a refused access token, to audit
///   (tick_atom)                                                        its timer (the database's health)
using auth_actor = caf::typed_actor<
  caf::replies_to<login_atom, http_query>::with<api_result>, caf::replies_to<refresh_atom, http_query>::with<api_result>,
  caf::replies_to<logout_atom, http_query>::with<api_result>, caf::replies_to<users_atom, http_query>::with<api_result>,
  caf::replies_to<audit_atom, http_query>::with<api_result>,
  caf::reacts_to<audit_atom, std::string, std::string, std::string, std::string, std::string, std::string>,
  caf::reacts_to<denied_atom, std::string, std::string>, caf::reacts_to<tick_atom>>;

/// The revocation watcher (detached): fills the node's revocation set from Redis and PostgreSQL.
/// Accepts:
///   (deny_atom, std::string jti, i64 exp)   a logout on this node: revoke now, and tell the other nodes
///   (tick_atom)                             its timer (auth.revocation_poll_ms)
using guard_actor = caf::typed_actor<caf::reacts_to<deny_atom, std::string, std::int64_t>, caf::reacts_to<tick_atom>>;

/// The telemetry writer (detached: the telemetry role's database), see telemetry_store.hpp.
/// Accepts:
///   (flush_atom) -> bool   write everything buffered now (true when it is committed)
///   (check_atom)           a full batch waits (from the buffer)
///   (tick_atom)            its timer (telemetry.flush_ms)
using writer_actor = caf::typed_actor<caf::replies_to<flush_atom>::with<bool>, caf::reacts_to<check_atom>,
                                      caf::reacts_to<tick_atom>>;

/// A periodic worker (detached): does its job on its timer, or now when asked.
/// Accepts:
///   (flush_atom) -> bool   one round now (true when it succeeded)
///   (tick_atom)            its timer
using worker_actor = caf::typed_actor<caf::replies_to<flush_atom>::with<bool>, caf::reacts_to<tick_atom>>;

/// Partition maintenance: partitions ahead, the default partition emptied, retention (telemetry.maintenance_s).
using maintenance_actor = worker_actor;

/// Drone ownership in a cluster (detached: the fleet role's database, actors/ownership.cpp; docs/cluster.md
/// "Fencing"). Accepts:
///   (claim_atom, std::string drone_id) -> u64 epoch   this node's drone actor serves the drone's newest
///       connection: it owns the drone from now on, under a new epoch, higher than every epoch claimed before
///       (one database sequence for the whole fleet); fleet.drone_owners names this node. Claims that arrive
///       together are written in one statement. Error: the database is unavailable (the actor tries again).
///   (get_atom, std::string drone_id) -> u64 epoch      the drone's current epoch (0: never claimed)
///   (claim_atom), (get_atom)                          its own batches (the claims, the reads waiting behind it)
using owner_store_actor
  = caf::typed_actor<caf::replies_to<claim_atom, std::string>::with<std::uint64_t>, caf::reacts_to<claim_atom>,
                     caf::replies_to<get_atom, std::string>::with<std::uint64_t>, caf::reacts_to<get_atom>>;

/// The Redis mirror: the latest state of every drone to Redis (redis.interval_ms; flush: true when Redis took
/// it), see actors/redis_mirror.hpp.
using mirror_actor = worker_actor;

// -- settings and spawning ---------------------------------------------------------------------------------

/// Tunables of drone actors and their supervisor.
struct drone_settings {
  std::int64_t stale_after_ms = 3000;
  std::int64_t lost_after_ms = 10000;
  std::size_t max_restarts = 5;        ///< restarts allowed within restart_window_ms ...
  std::int64_t restart_window_ms = 60000; ///< ... before the supervisor gives up on the drone
  /// A drone with no connection for this long is passivated: its actor stops, its directory entry and its
  /// live-view entry go (its state stays in Redis and PostgreSQL). 0: never.
  std::int64_t passivate_after_ms = 600000;
  /// A drone actor publishes its state to the hub at most this often (1000 / hub.rate): what changes sooner
  /// waits, and only the newest state goes.
  std::int64_t publish_interval_ms = 100;
  /// In a cluster with a database: where a drone actor claims the drone's ownership when it takes a connection
  /// (fencing). Null: no claims (a single node), every state has epoch 0.
  owner_store_actor owners;
  std::int64_t claim_retry_ms = 1000; ///< an unanswered claim is made again after this long (while connected)
  std::string node_id; ///< in a cluster: this member's id, named in the states its drone actors publish
  runtime::counter* fenced = nullptr; ///< drone actors stopped because a newer owner claimed the drone
  /// The node's command journal: drone actors read their open commands from it and record what happens to
  /// them. Null: no commands (db.enabled = false).
  command_actor commands;
  command_policy command_timing;
  /// The node's geofences and alarms: drone actors ask it for their group's fences and raise alarms there.
  /// Null: none (db.enabled = false).
  safety_actor safety;
  double battery_warn = 25;     ///< alarms.battery_warn: low_battery (warning) below this percent
  double battery_critical = 15; ///< alarms.battery_critical: low_battery (critical) below this percent
  std::int64_t breach_clear_ms = 3000; ///< geofences.clear_after_ms: a breach ends after this long in compliance
  /// alarms.max_per_minute: alarm events (raised or ended) one drone may cause per minute; beyond it they are dropped
  /// and counted, so that a drone whose battery or arming flaps at every frame cannot turn each frame into a database
  /// write and a command.
  std::size_t alarm_budget = 20;
  runtime::counter* alarm_events_limited = nullptr;
  /// The node's mission service: a drone's mission reports that no upload of this actor asked for (progress after
  /// a restart or a move) go there. Null: none.
  mission_actor missions;
};

/// What a drone actor starts from: all the supervisor keeps to re-create it after a crash (or, later, on
/// another node). Its last telemetry is not here: the new actor asks the hub for the drone's last state.
struct drone_snapshot {
  drone_info info;
  drone_link_actor link; ///< the connection it serves (invalid: none)
  link_id connection;    ///< that connection's id
  bool restarted = false; ///< re-created after a crash (the connection is not welcomed again)
  /// Connections the directory has routed to the drone's actors so far (the one this actor starts with
  /// included): the actor counts on from here, and passivation compares the two counts.
  std::uint64_t attaches = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drone_snapshot& x) {
  return f(caf::meta::type_name("drone_snapshot"), x.info, x.link, x.connection, x.restarted, x.attaches);
}

/// Counters the actors bump (owned by the node, outlive the actor system).
struct actor_metrics {
  runtime::counter* drone_restarts = nullptr;
  runtime::counter* drone_escalations = nullptr;
  runtime::counter* operator_updates_dropped = nullptr;
  runtime::counter* operator_events_dropped = nullptr;
  runtime::counter* operator_notices_dropped = nullptr; ///< control frames (command, control, alarm) dropped for slow operators
  runtime::gauge* drone_actors = nullptr;
  runtime::counter* drones_passivated = nullptr; ///< drone actors stopped after passivate_after_ms unconnected
  runtime::counter* drones_handed_off = nullptr; ///< drone actors stopped because another member owns the drone now
  // -- cluster traffic (what crosses the cluster links, counted where it is sent or received) --
  runtime::counter* connections_forwarded = nullptr; ///< drone connections routed to another member's directory
  runtime::counter* replica_batches_sent = nullptr;  ///< hub syncs sent to other members (one per member per sync)
  runtime::counter* replica_batches_received = nullptr;
  runtime::counter* replica_states_received = nullptr; ///< drone states of other members' actors received
};

drone_actor::behavior_type drone_impl(drone_actor::pointer self, drone_snapshot snapshot, hub_actor hub,
                                      drone_settings settings);

directory_actor::behavior_type directory_impl(directory_actor::pointer self, hub_actor hub,
                                              drone_settings settings, actor_metrics metrics);

/// `min_interval_ms`: 1000 / hub.rate; `passivate_after_ms`: live states of drones not connected for this long
/// (and without an actor: restored ones) go, as drone actors do (0: never).
/// `sync_ms`: how often the states of this node's drones go to the other members (cluster.sync_ms).
/// `metrics`: its replica_* counters.
hub_actor::behavior_type hub_impl(hub_actor::pointer self, std::int64_t min_interval_ms, int flush_ms,
                                  std::int64_t passivate_after_ms, int sync_ms = 20, actor_metrics metrics = {});

/// Cluster membership (detached: it reads and writes the membership board in Redis).
struct cluster_settings {
  runtime::member_info self;       ///< this node: id, addresses, roles, epoch
  std::vector<std::string> seeds;  ///< host:port of other members' cluster ports
  std::int64_t heartbeat_ms = 500;
  std::int64_t timeout_ms = 3000;  ///< a member not heard for this long is gone
  bool redis_enabled = false;      ///< the membership board (dccs:cluster:members) lives in the fleet's Redis
  runtime::redis_endpoint redis;
  runtime::gauge* members = nullptr;        ///< live members, this node included
  runtime::counter* members_lost = nullptr; ///< members gone (connection lost, or silent for timeout_ms)
  const runtime::gauge* drone_actors = nullptr; ///< this node's drone actors (the drones it owns), for the others
};

/// The cluster actor: keeps the membership (runtime/membership.hpp) from hellos, heartbeats, the CAF monitors of
/// the other nodes' actors and the board, connects to members it does not know yet, and tells this node's actors in
/// `local` (directory, hub, registry, tickets; `local.id` is not used) the live view at each change.
node_actor::behavior_type cluster_impl(node_actor::pointer self, cluster_settings settings, cluster_peer local);

/// The ownership store: claims for this node (`node_id`, its cluster id) in the fleet database.
struct owner_settings {
  runtime::pg_settings db;
  std::string node_id;
  runtime::counter* claims = nullptr; ///< claims recorded
};

owner_store_actor::behavior_type owner_store_impl(owner_store_actor::pointer self, owner_settings settings);

/// The command journal's settings (commands.*).
struct command_settings {
  runtime::pg_settings db;           ///< the commands role's database
  runtime::pg_settings registry_db;  ///< the fleet role's database, where each new command is authorized
  command_policy timing;
  std::int64_t default_ttl_ms = 30000; ///< a command's ttl when the request names none
  std::int64_t max_ttl_ms = 3600000;
  std::int64_t lease_ttl_ms = 60000;   ///< a control lease's default length, renewed by each of its holder's commands
  std::int64_t sweep_ms = 1000;        ///< how often commands nobody ended in time are ended
  std::size_t journal_connections = 4; ///< the journal's connections (commands.journal_connections)
  std::size_t max_unrecorded = 10000;  ///< reports kept while the database is down
  directory_actor directory;           ///< where commands go to their drone's actor (null: no drone actors here)
  hub_actor hub;                       ///< where their news goes to operators (null: no live view here)
  auth_actor auditor;                  ///< the audit log's writer
  runtime::counter* issued = nullptr;
  runtime::counter* unrecorded_dropped = nullptr;
  runtime::histogram* accept_wait = nullptr; ///< a new command: from the request read to the journal taking it up
  runtime::histogram* accept_db = nullptr;   ///< a new command: the journal's registry read and issue, committed
  runtime::histogram* report_batch = nullptr; ///< drone actors' reports journaled per transaction
  runtime::counter* fleet_authorized = nullptr; ///< new commands for a drone the journal's read did not find: the
                                                ///< fleet store decided
  std::function<void(command_state)> finished; ///< counts commands by final state
};

command_actor::behavior_type command_service(command_actor::pointer self, command_settings settings);

/// Geofences and alarms' settings (geofences.*, alarms.*).
struct safety_settings {
  runtime::pg_settings db;          ///< the commands role's database
  std::int64_t poll_ms = 1000;      ///< how often the geofence version is looked at
  std::size_t max_pending = 10000;  ///< alarm events kept while the database is down
  command_actor commands;           ///< where a breach's action is issued
  directory_actor directory;        ///< told each new geofence version (null: no drone actors here)
  hub_actor hub;                    ///< where alarm news goes to operators (null: no live view here)
  auth_actor auditor;
  runtime::counter* raised = nullptr;          ///< alarms raised (new)
  runtime::counter* pending_dropped = nullptr; ///< alarm events dropped while the database was down
};

safety_actor::behavior_type safety_service(safety_actor::pointer self, safety_settings settings);

/// Missions' settings (missions.*).
struct mission_settings {
  runtime::pg_settings db; ///< the commands role's database
  fleet_actor fleet;       ///< the registry: whether the caller may command each drone assigned, and its group
  auth_actor auditor;
  mission_limits limits;
  energy_model energy;
  std::size_t max_drones = 100; ///< drones assigned to one mission at most
  directory_actor directory; ///< where mission items go to their drones' actors (null: none here)
  command_actor commands;    ///< where start, pause, resume and abort are issued as commands
  safety_actor safety;       ///< where a failed mission raises its alarm
  hub_actor hub;             ///< where the news of a mission's drones goes to operators
  std::int64_t retry_ms = 1500;     ///< an item not acknowledged within this long is sent again ...
  std::uint32_t max_attempts = 3;   ///< ... at most this many times in all, then the drone's upload fails
};

mission_actor::behavior_type mission_service(mission_actor::pointer self, mission_settings settings);

session_actor::behavior_type session_impl(session_actor::pointer self, operator_link_actor link, hub_actor hub,
                                          std::size_t max_events, actor_metrics metrics);

} // namespace dccs::actors

// -- the type-ID block: every type that crosses an actor boundary ------------------------------------------
// (CAF_ENABLE_TYPE_ID_CHECKS is on for the whole build: a message with a type missing here does not compile.)

CAF_BEGIN_TYPE_ID_BLOCK(dccs, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::link_status))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::telemetry))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::drone_info))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::drone_state))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::status_event))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::subscription))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::fragment))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::fragment_batch))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::api_result))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::http_query))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::link_id))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::state_list))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::drone_snapshot))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::drone_link_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::operator_link_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::drone_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::directory_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::session_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::hub_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::history_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::auth_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::guard_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::writer_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::worker_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::fleet_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::runtime::member_info))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::replica_batch))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::cluster_peer))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::cluster_view))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::node_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::owner_store_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::auth::principal))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::ticket_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::command_state))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::command))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::command_ack))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::command_list))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::command_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::geo_point))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::geofence))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::geofence_set))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::alarm_event))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::safety_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::mission_report))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::mission_actor))
  CAF_ADD_TYPE_ID(dccs, (dccs::actors::analytics_actor))
CAF_END_TYPE_ID_BLOCK(dccs)
