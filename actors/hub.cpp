#include "actors/actors.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include <caf/all.hpp>

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
};

} // namespace

hub_actor::behavior_type hub_impl(hub_actor::pointer self, std::int64_t min_interval_ms, int flush_ms,
                                  std::int64_t passivate_after_ms) {
  auto st = std::make_shared<hub_state>(min_interval_ms);
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
  return {
    [st](state_atom, drone_state& s) { st->core.update(s); },
    [st](status_atom, status_event& ev) { st->core.event(ev); },
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
    [st](changes_atom, std::uint64_t since) { return st->core.changes(since); },
    [st](restore_atom, state_list& list) {
      std::uint64_t taken = 0;
      for (auto& s : list.states)
        if (st->core.restore(s))
          ++taken;
      return taken;
    },
    [st](remove_atom, const std::string& id) { st->core.remove(id); },
    [st](offline_atom, const std::string& id) { st->core.offline(id, runtime::wall_ms()); },
    [st](regroup_atom, const std::string& id, const std::string& group) { st->core.regroup(id, group); },
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
