#include "actors/actors.hpp"

#include <algorithm>
#include <deque>
#include <vector>
#include <unordered_map>

#include <caf/all.hpp>

#include "runtime/clock.hpp"
#include "runtime/placement.hpp"
#include "runtime/log.hpp"

namespace dccs::actors {

namespace {

struct directory_entry {
  drone_actor actor;
  drone_snapshot snapshot;           ///< what the drone's actor is (re)started from: the last connection routed
  std::deque<std::int64_t> restarts; ///< monotonic times of recent restarts
  std::uint64_t attaches = 0;        ///< attach messages sent to the drone's actors
  std::int64_t last_connect = 0;     ///< monotonic ms of the last connection routed here
  bool asked = false;                ///< a passivation question is out
};

struct directory_state {
  std::unordered_map<std::string, directory_entry> drones;
  std::unordered_map<caf::actor_addr, std::string> by_addr;
  // -- the cluster (empty outside one: every drone is this node's) --
  std::string self_id;
  runtime::placement place;                                  ///< the live members, this node included
  std::unordered_map<std::string, directory_actor> peers;    ///< node id -> its directory
  /// Connections sent to another member's directory and not answered yet (by a counter): routed again at once
  /// when that member leaves the view, instead of waiting for the request's timeout.
  struct forward {
    std::string node;
    drone_info info;
    drone_link_actor link;
    link_id connection;
  };
  std::unordered_map<std::uint64_t, forward> forwards;
  std::uint64_t next_forward = 0;

  /// The node id of the member that owns drone `id` (self_id outside a cluster).
  const std::string& owner_node(const std::string& id) const {
    return peers.empty() ? self_id : place.owner("drone", id);
  }

  /// The directory of the member that owns drone `id`; null when it is this node.
  directory_actor owner(const std::string& id) const {
    if (peers.empty())
      return {};
    auto& node = place.owner("drone", id);
    if (node == self_id)
      return {};
    auto i = peers.find(node);
    if (i == peers.end())
      return {};
    return i->second;
  }

  /// Whether the message being handled came from another member's directory (it is handled here, never sent on).
  bool from_peer(const caf::strong_actor_ptr& sender) const {
    if (sender == nullptr || peers.empty())
      return false;
    auto addr = caf::actor_cast<caf::actor_addr>(sender);
    for (auto& [id, d] : peers)
      if (d.address() == addr)
        return true;
    return false;
  }
};

} // namespace

directory_actor::behavior_type directory_impl(directory_actor::pointer self, hub_actor hub,
                                              drone_settings settings, actor_metrics metrics) {
  auto st = std::make_shared<directory_state>();
  // What new drone actors start with (the mission service joins it once it exists).
  auto actor_settings = std::make_shared<drone_settings>(settings);
  auto start = [self, st, hub, actor_settings, metrics](const std::string& id, directory_entry& e) {
    e.snapshot.attaches = e.attaches; // (the connection it starts with is counted: passivation compares)
    e.actor = self->spawn(drone_impl, e.snapshot, hub, *actor_settings);
    self->monitor(e.actor);
    st->by_addr[e.actor.address()] = id;
    if (metrics.drone_actors)
      metrics.drone_actors->add(1);
  };
  // Drone actors end with their directory (at shutdown).
  self->attach_functor([st](const caf::error&) {
    for (auto& [id, e] : st->drones)
      if (e.actor != nullptr)
        caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
    st->drones.clear();
    st->by_addr.clear();
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto i = st->by_addr.find(dm.source);
    if (i == st->by_addr.end())
      return;
    auto id = std::move(i->second);
    st->by_addr.erase(i);
    if (metrics.drone_actors)
      metrics.drone_actors->add(-1);
    auto j = st->drones.find(id);
    if (j == st->drones.end() || j->second.actor.address() != dm.source)
      return; // passivated: the entry went already (and may be a new one of a drone that came back)
    auto& e = j->second;
    e.actor = nullptr;
    if (dm.reason == caf::exit_reason::normal || dm.reason == caf::exit_reason::user_shutdown
        || dm.reason == caf::exit_reason::kill) {
      st->drones.erase(j);
      return;
    }
    auto now = runtime::mono_ms();
    while (!e.restarts.empty() && now - e.restarts.front() > settings.restart_window_ms)
      e.restarts.pop_front();
    if (e.restarts.size() >= settings.max_restarts) {
      runtime::log::error("supervisor", "drone actor keeps failing, giving up until the drone reconnects",
                          {{"drone_id", id},
                           {"restarts", e.restarts.size()},
                           {"window_ms", settings.restart_window_ms},
                           {"reason", caf::to_string(dm.reason)}});
      if (metrics.drone_escalations)
        metrics.drone_escalations->inc();
      if (e.snapshot.link != nullptr) {
        self->send(e.snapshot.link, hangup_atom::value, std::uint16_t{1011}, std::string{"drone actor failed repeatedly"});
        e.snapshot.link = nullptr;
      }
      // Nothing serves the drone now: operators see it offline (lost), not connected forever.
      self->send(hub, offline_atom::value, id);
      return;
    }
    e.restarts.push_back(now);
    if (metrics.drone_restarts)
      metrics.drone_restarts->inc();
    runtime::log::warn("supervisor", "restarting drone actor with its last state",
                       {{"drone_id", id}, {"restarts_in_window", e.restarts.size()}});
    e.snapshot.restarted = true;
    start(id, e);
  });
  // Forgets a drone that has had no connection for passivate_after_ms: its entry, and its live-view entry
  // (operators are told it is gone; REST still finds it in Redis and the registry).
  auto passivate = [=](const std::string& id) {
    st->drones.erase(id);
    self->send(hub, remove_atom::value, id);
    if (metrics.drones_passivated)
      metrics.drones_passivated->inc();
  };
  // Often enough that an idle drone goes within a quarter of passivate_after_ms of its due time.
  const auto sweep_every = std::chrono::milliseconds(
    std::clamp<std::int64_t>(settings.passivate_after_ms / 4, 100, 30000));
  if (settings.passivate_after_ms > 0)
    self->delayed_send(self, sweep_every, sweep_atom::value);
  return {
    [=](connect_atom, drone_info& info, drone_link_actor& link, link_id& connection) {
      auto id = info.id;
      if (!st->from_peer(self->current_sender()))
        if (auto owner = st->owner(id); owner != nullptr) {
          // To the owner, answered (CAF drops a message to a lost node without a word): without an answer the
          // connection is routed again shortly, by then with the cluster's new view (the link's attach timeout
          // bounds it all).
          if (metrics.connections_forwarded)
            metrics.connections_forwarded->inc();
          auto n = st->next_forward++;
          st->forwards.emplace(n, directory_state::forward{st->owner_node(id), info, link, connection});
          self->request(owner, std::chrono::seconds(2), connect_atom::value, info, link, connection)
            .then([st, n] { st->forwards.erase(n); },
                  [self, st, n](caf::error&) {
                    auto i = st->forwards.find(n);
                    if (i == st->forwards.end())
                      return; // already routed again (its member left the view)
                    auto f = std::move(i->second);
                    st->forwards.erase(i);
                    self->delayed_send(self, std::chrono::milliseconds(100), connect_atom::value, std::move(f.info),
                                       std::move(f.link), std::move(f.connection));
                  });
          return;
        }
      auto i = st->drones.find(id);
      if (i == st->drones.end())
        i = st->drones.emplace(id, directory_entry{}).first;
      auto& e = i->second;
      // The supervisor's snapshot follows the newest connection: a restart serves that one.
      e.snapshot.info = info;
      e.snapshot.link = link;
      e.snapshot.connection = connection;
      e.snapshot.restarted = false;
      ++e.attaches;
      e.last_connect = runtime::mono_ms();
      if (e.actor == nullptr) {
        // A new actor (first contact, or after the supervisor gave up) starts serving this connection itself.
        e.restarts.clear();
        start(id, e);
        return;
      }
      self->send(e.actor, attach_atom::value, std::move(link), std::move(connection), std::move(info));
    },
    [=](sweep_atom) {
      auto now = runtime::mono_ms();
      std::vector<std::string> failed;
      for (auto& [drone_id, e] : st->drones) {
        const std::string& id = drone_id; // (a structured binding cannot be captured in C++17)
        if (now - e.last_connect < settings.passivate_after_ms)
          continue;
        if (e.actor == nullptr) {
          failed.push_back(id); // given up on, and not back since
          continue;
        }
        if (e.asked)
          continue;
        e.asked = true;
        self->request(e.actor, std::chrono::seconds(10), passivate_atom::value)
          .then(
            [=, id = id, actor = e.actor](bool idle, std::uint64_t attaches) {
              auto j = st->drones.find(id);
              if (j == st->drones.end() || j->second.actor != actor)
                return;
              j->second.asked = false;
              // Not idle, or an attach is on its way to it: it stays.
              if (!idle || attaches != j->second.attaches)
                return;
              passivate(id);
              self->send_exit(actor, caf::exit_reason::user_shutdown);
            },
            [=, id = id, actor = e.actor](caf::error&) {
              auto j = st->drones.find(id);
              if (j != st->drones.end() && j->second.actor == actor)
                j->second.asked = false;
            });
      }
      for (auto& id : failed)
        passivate(id);
      self->delayed_send(self, sweep_every, sweep_atom::value);
    },
    [=](regroup_atom, const std::string& id, std::string& group) {
      // The drone's group changed in the registry: its actor (if any) publishes it in its new group; without
      // one, the hub moves its copy. Every member hears of it (its actor may be anywhere).
      if (!st->from_peer(self->current_sender()))
        for (auto& [node, d] : st->peers)
          self->send(d, regroup_atom::value, id, group);
      auto i = st->drones.find(id);
      if (i != st->drones.end()) {
        i->second.snapshot.info.group = group;
        if (i->second.actor != nullptr) {
          self->send(i->second.actor, regroup_atom::value, std::move(group));
          return;
        }
      }
      self->send(hub, regroup_atom::value, id, std::move(group));
    },
    [=](command_atom, command& c) {
      // A command issued, cancelled or ended in the journal: the drone's actor acts on it, wherever the drone is
      // owned. Without an actor nothing is lost: a drone actor reads its open commands from the journal whenever
      // the drone connects.
      if (!st->from_peer(self->current_sender()))
        if (auto owner = st->owner(c.drone_id); owner != nullptr) {
          self->send(owner, command_atom::value, std::move(c));
          return;
        }
      auto i = st->drones.find(c.drone_id);
      if (i != st->drones.end() && i->second.actor != nullptr)
        self->send(i->second.actor, command_atom::value, std::move(c));
    },
    [=](mission_atom, const std::string& drone_id, std::string& mission_id, std::string& frame,
        mission_actor& reply_to) {
      // A mission frame for the drone, wherever it is owned; no actor for it: the upload hears so at once.
      if (!st->from_peer(self->current_sender()))
        if (auto owner = st->owner(drone_id); owner != nullptr) {
          self->send(owner, mission_atom::value, drone_id, std::move(mission_id), std::move(frame), std::move(reply_to));
          return;
        }
      auto i = st->drones.find(drone_id);
      if (i != st->drones.end() && i->second.actor != nullptr) {
        self->send(i->second.actor, mission_atom::value, std::move(mission_id), std::move(frame), std::move(reply_to));
        return;
      }
      mission_report r;
      r.mission_id = std::move(mission_id);
      r.drone_id = drone_id;
      r.kind = "undelivered";
      r.reason = "the drone is not connected";
      r.at = runtime::wall_ms();
      self->send(reply_to, mission_atom::value, std::move(r));
    },
    [=](mission_actor& missions) { actor_settings->missions = std::move(missions); },
    [=](geofence_atom, std::uint64_t version) {
      // The node's geofences changed: each drone actor here asks for its group's (the fences stay with the safety
      // actor; an actor holds only its group's).
      for (auto& [id, entry] : st->drones)
        if (entry.actor != nullptr)
          self->send(entry.actor, geofence_atom::value, version);
    },
    [=](kick_atom, const std::string& id, std::uint16_t code, std::string& reason) {
      // The drone's credential changed or it left the registry: its live connection must say hello again,
      // whichever member serves it.
      if (!st->from_peer(self->current_sender()))
        for (auto& [node, d] : st->peers)
          self->send(d, kick_atom::value, id, code, reason);
      auto i = st->drones.find(id);
      if (i != st->drones.end() && i->second.actor != nullptr)
        self->send(i->second.actor, kick_atom::value, code, std::move(reason));
    },
    [=](delete_atom, const std::string& id) {
      // The drone left the registry. Its actor, whichever member runs it, closes its connection, takes it out of
      // the live view and stops; the entry goes now (a new connection of the drone, registered again, gets a new
      // actor).
      if (!st->from_peer(self->current_sender()))
        for (auto& [node, d] : st->peers)
          self->send(d, delete_atom::value, id);
      auto i = st->drones.find(id);
      if (i == st->drones.end())
        return;
      if (i->second.actor != nullptr)
        self->send(i->second.actor, delete_atom::value);
      st->drones.erase(i);
    },
    [=](get_atom, const std::string& id) -> caf::result<drone_actor> {
      auto i = st->drones.find(id);
      if (i != st->drones.end() && i->second.actor != nullptr)
        return i->second.actor;
      if (auto owner = st->owner(id); owner != nullptr)
        return self->delegate(owner, route_atom::value, id);
      return make_error(errc::no_such_drone);
    },
    [=](route_atom, const std::string& id) -> caf::result<drone_actor> {
      auto i = st->drones.find(id);
      if (i == st->drones.end() || i->second.actor == nullptr)
        return make_error(errc::no_such_drone);
      return i->second.actor;
    },
    [=](view_atom, cluster_view& v) {
      st->self_id = v.self;
      std::vector<std::string> nodes{v.self};
      st->peers.clear();
      for (auto& p : v.peers) {
        nodes.push_back(p.id);
        st->peers.emplace(p.id, p.directory);
      }
      st->place = runtime::placement{std::move(nodes)};
      // Connections on their way to a member that left: routed again now, with this view.
      for (auto i = st->forwards.begin(); i != st->forwards.end();) {
        if (st->peers.count(i->second.node) != 0) {
          ++i;
          continue;
        }
        self->send(self, connect_atom::value, std::move(i->second.info), std::move(i->second.link),
                   std::move(i->second.connection));
        i = st->forwards.erase(i);
      }
      // Handoff: a drone that another member owns now moves there. Its link reroutes (the socket's node sends
      // the connection to the new owner, whose actor takes the drone's last state from its hub); this actor
      // stops. Frames the socket sends meanwhile still reach the writer of the socket's node: nothing
      // acknowledged is lost.
      std::vector<std::string> moved;
      for (auto& [drone_id, e] : st->drones)
        if (st->owner(drone_id) != nullptr)
          moved.push_back(drone_id);
      for (auto& id : moved) {
        auto i = st->drones.find(id);
        auto& e = i->second;
        if (e.snapshot.link != nullptr)
          self->send(e.snapshot.link, reroute_atom::value);
        if (e.actor != nullptr)
          self->send_exit(e.actor, caf::exit_reason::user_shutdown);
        st->drones.erase(i);
      }
      if (metrics.drones_handed_off)
        metrics.drones_handed_off->inc(moved.size());
      if (!moved.empty())
        runtime::log::info("cluster", "drones handed off", {{"drones", moved.size()}, {"members", v.peers.size() + 1}});
    },
  };
}

} // namespace dccs::actors
