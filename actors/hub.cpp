#include "actors/actors.hpp"

#include <chrono>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/drone_json.hpp"
#include "actors/fanout.hpp"
#include "runtime/clock.hpp"

namespace dccs::actors {

namespace {

struct hub_state {
  explicit hub_state(std::int64_t min_interval_ms) : core(min_interval_ms) {
  }
  fanout core;
  std::unordered_map<caf::actor_addr, fanout::sub_id> ids;
  std::unordered_map<fanout::sub_id, caf::actor> sessions;
  fanout::sub_id next_id = 1;
};

} // namespace

caf::behavior hub_actor(caf::event_based_actor* self, int rate, int flush_ms) {
  auto st = std::make_shared<hub_state>(1000 / std::max(1, rate));
  auto period = std::chrono::milliseconds(std::max(1, flush_ms));
  auto push = [self, st] {
    for (auto& d : st->core.tick(runtime::mono_ms())) {
      auto i = st->sessions.find(d.subscriber);
      if (i == st->sessions.end())
        continue;
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
  self->delayed_send(self, period, tick_atom::value);
  return {
    [st](state_atom, const drone_state& s) { st->core.update(s); },
    [st](status_atom, const status_event& ev) { st->core.event(ev); },
    [self, st](subscribe_atom, subscription& sub) {
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (sender == nullptr)
        return;
      auto i = st->ids.find(sender.address());
      fanout::sub_id id;
      if (i == st->ids.end()) {
        id = st->next_id++;
        st->ids.emplace(sender.address(), id);
        st->sessions.emplace(id, sender);
        self->monitor(sender);
      } else {
        id = i->second;
      }
      self->send(sender, snapshot_atom::value, st->core.snapshot(sub));
      st->core.subscribe(id, std::move(sub));
    },
    [st](list_atom) { return st->core.list_json(); },
    [st](get_atom, const std::string& id) -> caf::result<std::string> {
      auto s = st->core.find(id);
      if (s == nullptr)
        return make_error(errc::no_such_drone);
      std::string out;
      append_drone_json(out, *s);
      return out;
    },
    [self, push, period](tick_atom) {
      push();
      self->delayed_send(self, period, tick_atom::value);
    },
    [push](flush_atom) {
      push();
      return true;
    },
  };
}

} // namespace dccs::actors
