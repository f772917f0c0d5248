#include "actors/actors.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/command_model.hpp"
#include "actors/drone_json.hpp"
#include "actors/fanout.hpp"
#include "runtime/clock.hpp"

namespace dccs::actors {

namespace {

constexpr std::chrono::milliseconds idle_period{1000};

struct hub_state {
  explicit hub_state(std::int64_t min_interval_ms) : core(min_interval_ms) {
  }
  fanout core; ///< the newest state of every drone this node shows; the hub's own
  std::unordered_map<caf::actor_addr, fanout::sub_id> ids;
  std::unordered_map<fanout::sub_id, session_actor> sessions;
  fanout::sub_id next_id = 1;
  /// Ticks come every flush_ms while someone is subscribed, and once a second while nobody is (an idle node
  /// stays idle). A tick carries the epoch it was scheduled in: the first subscriber starts a new epoch with an
  /// immediate tick, and the slow tick of the old epoch is ignored.
  std::uint64_t epoch = 0;
  // -- the cluster: this node's drones go to the other members' hubs, theirs come here --
  std::string self_id;
  std::vector<cluster_peer> peers;
  /// Drones published by this node's drone actors, and that actor (null: not known, a single node's before it
  /// joined a cluster).
  std::unordered_map<std::string, drone_actor> local;
  std::unordered_map<std::string, std::string> origin;    ///< another member's drones: drone id -> node id
  std::unordered_map<std::string, drone_state> outbox;    ///< newest state of each local drone changed since the
                                                          ///< last sync
  std::vector<status_event> outbox_events;
  std::vector<std::string> outbox_removed;
  bool sync_pending = false;
};

} // namespace

hub_actor::behavior_type hub_impl(hub_actor::pointer self, std::int64_t min_interval_ms, int flush_ms,
                                  std::int64_t passivate_after_ms, int sync_ms, actor_metrics metrics) {
  auto st = std::make_shared<hub_state>(min_interval_ms);
  auto sync_period = std::chrono::milliseconds(std::max(1, sync_ms));
  // Something of this node's drones waits for the other members: one sync per sync_ms carries all of it.
  auto want_sync = [self, st, sync_period] {
    if (st->peers.empty() || st->sync_pending)
      return;
    st->sync_pending = true;
    self->delayed_send(self, sync_period, sync_atom::value);
  };
  // (A single node keeps none of this: it costs the hub two lookups per publication.)
  auto local_state = [st, want_sync](const drone_state& s, drone_actor actor) {
    if (st->peers.empty())
      return;
    auto& known = st->local[s.info.id];
    if (actor != nullptr)
      known = std::move(actor);
    st->origin.erase(s.info.id);
    st->outbox[s.info.id] = s;
    want_sync();
  };
  auto period = std::chrono::milliseconds(std::max(1, flush_ms));
  auto push = [self, st] {
    auto deliveries = st->core.tick(runtime::mono_ms());
    for (auto& d : deliveries) {
      auto i = st->sessions.find(d.subscriber);
      if (i == st->sessions.end())
        continue;
      if (d.removed)
        self->send(i->second, removed_atom::value, std::move(d.removed));
      if (d.events)
        self->send(i->second, events_atom::value, std::move(d.events));
      if (d.drones)
        self->send(i->second, update_atom::value, std::move(d.drones));
    }
  };
  self->set_down_handler([st](caf::down_msg& dm) {
    auto i = st->ids.find(dm.source);
    if (i == st->ids.end())
      return;
    st->core.unsubscribe(i->second);
    st->sessions.erase(i->second);
    st->ids.erase(i);
  });
  self->delayed_send(self, idle_period, tick_atom::value, st->epoch);
  // Live states of drones gone for passivate_after_ms without an actor here (restored at startup from Redis and
  // never connected since) go as drone actors do; registered drones never seen (last_seen 0) stay.
  const auto sweep_every = std::chrono::milliseconds(std::clamp<std::int64_t>(passivate_after_ms / 4, 100, 30000));
  if (passivate_after_ms > 0)
    self->delayed_send(self, sweep_every, sweep_atom::value);
  // Fencing (docs/cluster.md): whether the drone of a state from this node's actor `actor` is owned under a
  // higher epoch by another member's actor (its newer connection is there). Then that state is not shown, and
  // the actor here is told to stop.
  auto superseded = [self, st](const drone_state& s, const drone_actor& actor) {
    if (st->peers.empty() || s.epoch == 0 || st->origin.count(s.info.id) == 0)
      return false;
    auto cur = st->core.find(s.info.id);
    if (cur == nullptr || cur->epoch <= s.epoch)
      return false;
    if (actor != nullptr)
      self->send(actor, fence_atom::value, cur->epoch);
    return true;
  };
  // Whether the message being handled came from another member's hub (news it passed on is not passed on again).
  auto from_peer_hub = [self, st] {
    auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
    return std::any_of(st->peers.begin(), st->peers.end(), [&](const cluster_peer& p) { return p.hub.address() == sender; });
  };
  // A control frame to the sessions that see drone `id` of `group` (rendered once, only when someone does).
  // `key`: what a newer frame replaces while it waits for a slow operator (session_actor).
  auto notify = [self, st](const std::string& id, const std::string& group, const std::string& key, auto render) {
    auto audience = st->core.audience(id, group);
    if (audience.empty())
      return;
    auto frame = render();
    for (auto sub : audience)
      if (auto i = st->sessions.find(sub); i != st->sessions.end())
        self->send(i->second, notice_atom::value, key, frame);
  };
  return {
    [self, st, local_state, superseded](state_atom, drone_state& s) {
      if (st->peers.empty()) {
        st->core.update(std::move(s)); // a single node: nothing else to know
        return;
      }
      auto actor = caf::actor_cast<drone_actor>(self->current_sender());
      if (superseded(s, actor))
        return;
      st->core.update(s);
      local_state(s, std::move(actor));
    },
    [st, want_sync](status_atom, status_event& ev) {
      if (!st->peers.empty())
        if (auto o = st->origin.find(ev.drone_id); o != st->origin.end())
          if (auto cur = st->core.find(ev.drone_id); cur != nullptr && cur->epoch != 0)
            return; // another member's actor owns the drone under a claimed epoch: this actor's news is old
      st->core.event(ev);
      if (!st->peers.empty() && st->local.count(ev.drone_id) != 0) {
        st->outbox_events.push_back(ev);
        want_sync();
      }
    },
    [self, st](subscribe_atom, subscription& sub) {
      auto sender = caf::actor_cast<session_actor>(self->current_sender());
      if (sender == nullptr)
        return;
      auto i = st->ids.find(sender.address());
      fanout::sub_id id;
      if (i == st->ids.end()) {
        id = st->next_id++;
        st->ids.emplace(sender.address(), id);
        st->sessions.emplace(id, sender);
        self->monitor(sender);
        if (st->sessions.size() == 1) // from idle to fast ticks, at once
          self->send(self, tick_atom::value, ++st->epoch);
      } else {
        id = i->second;
      }
      auto snapshot = st->core.snapshot(sub);
      st->core.subscribe(id, std::move(sub));
      self->send(sender, snapshot_atom::value, std::move(snapshot));
    },
    [st](list_atom, const subscription& sub, std::uint64_t limit, const std::string& after) {
      return st->core.list_json(sub.scope, limit, after);
    },
    [st](get_atom, const std::string& id, const subscription& sub) -> caf::result<std::string> {
      std::string out;
      if (auto s = st->core.find(id); s != nullptr && sub.scope.covers(s->info.group))
        append_drone_json(out, *s);
      if (out.empty())
        return make_error(errc::no_such_drone);
      return out;
    },
    [st](get_atom, const std::string& id) -> caf::result<drone_state> {
      if (auto s = st->core.find(id))
        return *s;
      return make_error(errc::no_such_drone);
    },
    [st](states_atom, const subscription& sub, std::uint64_t limit, const std::string& after) {
      return st->core.page(sub.scope, limit, after);
    },
    [st](changes_atom, std::uint64_t since) {
      // What this node's actors changed: another member's drones are its own to mirror and record.
      auto list = st->core.changes(since);
      if (!st->origin.empty())
        list.states.erase(std::remove_if(list.states.begin(), list.states.end(),
                                         [&](const drone_state& s) { return st->origin.count(s.info.id) != 0; }),
                          list.states.end());
      return list;
    },
    [st, local_state](restore_atom, state_list& list) {
      std::uint64_t taken = 0;
      for (auto& s : list.states)
        if (st->core.restore(s)) {
          ++taken;
          // In a cluster already, what this node restored and no member sent goes to the others as this node's
          // (before the first view, the view does it).
          if (!st->peers.empty())
            if (auto cur = st->core.find(s.info.id))
              local_state(*cur, drone_actor{});
        }
      return taken;
    },
    [st, want_sync](remove_atom, const std::string& id) {
      // A connected drone stays (its actor publishes it); what this hub removes, the other members' hubs remove.
      if (!st->core.remove(id))
        return;
      if (st->local.erase(id) != 0 && !st->peers.empty()) {
        st->outbox.erase(id);
        st->outbox_removed.push_back(id);
        want_sync();
      }
    },
    [st, local_state](offline_atom, const std::string& id) {
      st->core.offline(id, runtime::wall_ms());
      if (!st->peers.empty() && st->local.count(id) != 0)
        if (auto s = st->core.find(id))
          local_state(*s, drone_actor{});
    },
    [self, st, metrics](sync_atom) {
      st->sync_pending = false;
      if (st->peers.empty() || (st->outbox.empty() && st->outbox_events.empty() && st->outbox_removed.empty()))
        return;
      replica_batch b;
      b.origin = st->self_id;
      b.states.reserve(st->outbox.size());
      for (auto& [id, s] : st->outbox)
        b.states.push_back(std::move(s));
      st->outbox.clear();
      b.events = std::move(st->outbox_events);
      st->outbox_events.clear();
      b.removed = std::move(st->outbox_removed);
      st->outbox_removed.clear();
      for (auto& p : st->peers)
        self->send(p.hub, replica_atom::value, b);
      if (metrics.replica_batches_sent)
        metrics.replica_batches_sent->inc(st->peers.size());
    },
    [self, st, metrics](replica_atom, replica_batch& b) {
      if (metrics.replica_batches_received) {
        metrics.replica_batches_received->inc();
        metrics.replica_states_received->inc(b.states.size());
      }
      // Another member's drone actors: their states as they publish them. A drone whose owner moved here
      // meanwhile is this node's again from its actor's next publication. Of two owners (a partition, a drone
      // that connected again elsewhere), the state of the higher epoch stands, and an actor here that lost is
      // told to stop.
      for (auto& s : b.states) {
        auto cur = st->core.find(s.info.id);
        if (cur != nullptr && s.epoch != 0 && cur->epoch > s.epoch)
          continue; // an older owner's news
        if (auto l = st->local.find(s.info.id); l != st->local.end()) {
          if (cur != nullptr && cur->epoch != 0 && s.epoch > cur->epoch && l->second != nullptr)
            self->send(l->second, fence_atom::value, s.epoch);
          st->local.erase(l);
        }
        st->origin[s.info.id] = b.origin;
        st->core.update(s);
      }
      for (auto& ev : b.events)
        if (auto i = st->origin.find(ev.drone_id); i != st->origin.end() && i->second == b.origin)
          st->core.event(ev);
      for (auto& id : b.removed)
        if (auto i = st->origin.find(id); i != st->origin.end() && i->second == b.origin) {
          st->origin.erase(i);
          st->core.remove(id, true); // its member removed it: the state of its end may not have been sent
        }
    },
    [self, st](view_atom, cluster_view& v) {
      std::unordered_set<std::string> before;
      for (auto& p : st->peers)
        before.insert(p.id);
      std::unordered_set<std::string> now;
      for (auto& p : v.peers)
        now.insert(p.id);
      if (st->peers.empty() && !v.peers.empty()) {
        // From a single node to a cluster: every drone this hub knows and no member sent is this node's.
        st->local.clear();
        for (auto& s : st->core.changes(0).states)
          if (st->origin.count(s.info.id) == 0)
            st->local.emplace(s.info.id, drone_actor{});
      }
      // A member that joined gets every drone of this node's actors at once.
      replica_batch all;
      all.origin = v.self;
      all.full = true;
      for (auto& [id, actor] : st->local)
        if (auto s = st->core.find(id))
          all.states.push_back(*s);
      for (auto& p : v.peers)
        if (before.count(p.id) == 0)
          self->send(p.hub, replica_atom::value, all);
      // A member that is gone serves none of its drones any more: they are offline (lost) here until their
      // new owner publishes them (a drone reconnecting, or rerouted by its socket's node).
      auto at = runtime::wall_ms();
      for (auto i = st->origin.begin(); i != st->origin.end();) {
        if (now.count(i->second) == 0) {
          st->core.offline(i->first, at);
          i = st->origin.erase(i);
        } else {
          ++i;
        }
      }
      st->self_id = std::move(v.self);
      st->peers = std::move(v.peers);
      if (st->peers.empty()) {
        st->outbox.clear();
        st->outbox_events.clear();
        st->outbox_removed.clear();
      }
    },
    [self, st, from_peer_hub](regroup_atom, const std::string& id, const std::string& group) {
      st->core.regroup(id, group);
      // This node's directory moved its copy (the drone has no actor here). A member without drone actors (node
      // roles without telemetry) has no directory to hear it from: its hub hears it from this one. (Every member
      // with a directory tells it; a second regroup to the same group changes nothing.)
      if (from_peer_hub())
        return; // a member's hub told this one: not again
      for (auto& p : st->peers)
        if (p.directory == nullptr && p.hub != nullptr)
          self->send(p.hub, regroup_atom::value, id, group);
    },
    [self, st, notify, from_peer_hub](command_atom, const command& c) {
      // A command's news: to the operators here who see its drone, as it comes (commands are few, and each state
      // matters); from this node's journal also to the other members' hubs, which tell theirs.
      notify(c.drone_id, c.group, "command:" + c.id, [&c] { return nlohmann::json{{"type", "command"}, {"command", command_json(c)}}.dump(); });
      if (!from_peer_hub())
        for (auto& p : st->peers)
          if (p.hub != nullptr)
            self->send(p.hub, command_atom::value, c);
    },
    [self, st, notify, from_peer_hub](control_atom, const std::string& drone_id, const std::string& group,
                                      const std::string& key, const std::string& frame) {
      // A control lease changed hands, an alarm changed, a mission's drone moved on: the same audience and the same
      // way as a command's news.
      notify(drone_id, group, key, [&frame] { return frame; });
      if (!from_peer_hub())
        for (auto& p : st->peers)
          if (p.hub != nullptr)
            self->send(p.hub, control_atom::value, drone_id, group, key, frame);
    },
    [self, st, push, period](tick_atom, std::uint64_t epoch) {
      if (epoch != st->epoch)
        return;
      push();
      if (st->sessions.empty())
        self->delayed_send(self, idle_period, tick_atom::value, epoch);
      else
        self->delayed_send(self, period, tick_atom::value, epoch);
    },
    [self, st, sweep_every, passivate_after_ms](sweep_atom) {
      st->core.sweep(runtime::wall_ms() - static_cast<double>(passivate_after_ms));
      self->delayed_send(self, sweep_every, sweep_atom::value);
    },
    [push](flush_atom) {
      push();
      return true;
    },
  };
}

} // namespace dccs::actors
