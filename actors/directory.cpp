#include "actors/actors.hpp"

#include <algorithm>
#include <deque>
#include <vector>
#include <unordered_map>

#include <caf/all.hpp>

#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace dccs::actors {

namespace {

struct directory_entry {
  caf::actor actor;
  drone_cell_ptr cell;
  std::deque<std::int64_t> restarts; ///< monotonic times of recent restarts
  bool failed = false;               ///< the supervisor gave up; the next connection starts afresh
  std::uint64_t attaches = 0;        ///< attach messages sent to the drone's actors
  std::int64_t last_connect = 0;     ///< monotonic ms of the last connection routed here
  bool asked = false;                ///< a passivation question is out
};

struct directory_state {
  std::unordered_map<std::string, directory_entry> drones;
  std::unordered_map<caf::actor_addr, std::string> by_addr;
};

} // namespace

caf::behavior directory_actor(caf::event_based_actor* self, board_ptr board, drone_settings settings,
                              actor_metrics metrics) {
  auto st = std::make_shared<directory_state>();
  auto start = [self, st, board, settings, metrics](const std::string& id, directory_entry& e) {
    e.actor = self->spawn(drone_actor, e.cell, board, settings);
    self->monitor(e.actor);
    st->by_addr[e.actor.address()] = id;
    e.failed = false;
    if (metrics.drone_actors)
      metrics.drone_actors->add(1);
  };
  // Drone actors end with their directory (at shutdown). The cells go too: they hold the connections,
  // which hold the server, which holds this actor (a cycle that would outlive the node).
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
      e.failed = true;
      if (e.cell->link != nullptr) {
        e.cell->link->close(1011, "drone actor failed repeatedly");
        e.cell->link = nullptr;
        e.cell->state.connected = false;
      }
      return;
    }
    e.restarts.push_back(now);
    if (metrics.drone_restarts)
      metrics.drone_restarts->inc();
    runtime::log::warn("supervisor", "restarting drone actor with its last state",
                       {{"drone_id", id}, {"restarts_in_window", e.restarts.size()}});
    start(id, e);
  });
  // Forgets a drone that has had no connection for passivate_after_ms: its entry, and its live-view entry
  // (operators are told it is gone; REST still finds it in Redis and the registry).
  auto passivate = [=](const std::string& id) {
    st->drones.erase(id);
    board->with([&](fanout& f) { f.remove(id); });
    if (metrics.drones_passivated)
      metrics.drones_passivated->inc();
  };
  // Often enough that an idle drone goes within a quarter of passivate_after_ms of its due time.
  const auto sweep_every = std::chrono::milliseconds(
    std::clamp<std::int64_t>(settings.passivate_after_ms / 4, 100, 30000));
  if (settings.passivate_after_ms > 0)
    self->delayed_send(self, sweep_every, sweep_atom::value);
  return {
    [=](connect_atom, drone_info& info, drone_link_ptr& link) {
      auto id = info.id;
      auto i = st->drones.find(id);
      if (i == st->drones.end()) {
        directory_entry e;
        e.cell = std::make_shared<drone_cell>(info, settings);
        // A drone restored after a restart (Redis, the registry) starts from its last known state.
        board->with([&](fanout& f) {
          if (auto known = f.find(id); known != nullptr && known->has_telemetry) {
            e.cell->state.has_telemetry = true;
            e.cell->state.last = known->last;
            e.cell->state.recv = known->recv;
          }
        });
        i = st->drones.emplace(id, std::move(e)).first;
      }
      if (i->second.actor == nullptr)
        start(id, i->second);
      ++i->second.attaches;
      i->second.last_connect = runtime::mono_ms();
      self->send(i->second.actor, attach_atom::value, std::move(link), std::move(info));
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
      // Drones on the board without an actor here (restored from Redis at startup and never connected since) go
      // the same way once their last sign of life is as old. Registered drones never seen at all (last_seen 0) stay:
      // the registry bounds them, and operators keep seeing them as lost.
      auto cutoff = runtime::wall_ms() - static_cast<double>(settings.passivate_after_ms);
      board->with([&](fanout& f) {
        std::vector<std::string> stale;
        f.for_each([&](const drone_state& ds) {
          if (!ds.connected && ds.last_seen > 0 && ds.last_seen < cutoff && st->drones.count(ds.info.id) == 0)
            stale.push_back(ds.info.id);
        });
        for (auto& id : stale)
          f.remove(id);
      });
      self->delayed_send(self, sweep_every, sweep_atom::value);
    },
    [=](delete_atom, const std::string& id) {
      // The drone left the registry: its live connection is no longer allowed.
      auto i = st->drones.find(id);
      if (i != st->drones.end() && i->second.cell->link != nullptr)
        i->second.cell->link->close(4003, "drone is not registered");
    },
    [=](patch_atom, const std::string& id, std::string& group) {
      // The drone's group changed in the registry: its actor (if any) publishes it in its new group; without
      // one, the board's copy is moved.
      auto i = st->drones.find(id);
      if (i != st->drones.end() && i->second.actor != nullptr)
        self->send(i->second.actor, patch_atom::value, std::move(group));
      else
        board->with([&](fanout& f) { f.regroup(id, group); });
    },
    [=](kick_atom, const std::string& id, std::uint16_t code, std::string& reason) {
      // The drone's credential or group changed: its live connection must say hello again.
      auto i = st->drones.find(id);
      if (i != st->drones.end() && i->second.cell->link != nullptr)
        i->second.cell->link->close(code, std::move(reason));
    },
    [=](get_atom, const std::string& id) -> caf::result<caf::actor> {
      auto i = st->drones.find(id);
      if (i == st->drones.end() || i->second.actor == nullptr)
        return make_error(errc::no_such_drone);
      return i->second.actor;
    },
  };
}

} // namespace dccs::actors
