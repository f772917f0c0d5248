#include "actors/actors.hpp"

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
  explicit hub_state(board_ptr b) : board(std::move(b)) {
  }
  board_ptr board;
  std::unordered_map<caf::actor_addr, fanout::sub_id> ids;
  std::unordered_map<fanout::sub_id, caf::actor> sessions;
  fanout::sub_id next_id = 1;
  /// Ticks come every flush_ms while someone is subscribed, and once a second while nobody is (an idle node
  /// stays idle). A tick carries the epoch it was scheduled in: the first subscriber starts a new epoch with an
  /// immediate tick, and the slow tick of the old epoch is ignored.
  std::uint64_t epoch = 0;
};

} // namespace

caf::behavior hub_actor(caf::event_based_actor* self, board_ptr board, int flush_ms) {
  auto st = std::make_shared<hub_state>(std::move(board));
  auto period = std::chrono::milliseconds(std::max(1, flush_ms));
  auto push = [self, st] {
    auto deliveries = st->board->with([](fanout& f) { return f.tick(runtime::mono_ms()); });
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
    st->board->with([&](fanout& f) { f.unsubscribe(i->second); });
    st->sessions.erase(i->second);
    st->ids.erase(i);
  });
  self->delayed_send(self, idle_period, tick_atom::value, st->epoch);
  return {
    [st](state_atom, const drone_state& s) { st->board->with([&](fanout& f) { f.update(s); }); },
    [st](status_atom, const status_event& ev) { st->board->with([&](fanout& f) { f.event(ev); }); },
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
        if (st->sessions.size() == 1) // from idle to fast ticks, at once
          self->send(self, tick_atom::value, ++st->epoch);
      } else {
        id = i->second;
      }
      auto snapshot = st->board->with([&](fanout& f) {
        auto snap = f.snapshot(sub);
        f.subscribe(id, std::move(sub));
        return snap;
      });
      self->send(sender, snapshot_atom::value, std::move(snapshot));
    },
    [st](list_atom, const subscription& sub, std::uint64_t limit, const std::string& after) {
      return st->board->with([&](fanout& f) { return f.list_json(sub.scope, limit, after); });
    },
    [st](get_atom, const std::string& id, const subscription& sub) -> caf::result<std::string> {
      std::string out;
      st->board->with([&](fanout& f) {
        if (auto s = f.find(id); s != nullptr && sub.scope.covers(s->info.group))
          append_drone_json(out, *s);
      });
      if (out.empty())
        return make_error(errc::no_such_drone);
      return out;
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
    [push](flush_atom) {
      push();
      return true;
    },
  };
}

} // namespace dccs::actors
