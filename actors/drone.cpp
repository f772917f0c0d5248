#include "actors/actors.hpp"

#include <chrono>
#include <stdexcept>

#include <caf/all.hpp>

#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace dccs::actors {

namespace {

/// Per-incarnation state of a drone actor: what does not survive a restart.
struct drone_runtime {
  bool timer_pending = false;
  std::int64_t idle_since = 0;  ///< monotonic ms since when the drone has had no connection
};

} // namespace

caf::behavior drone_actor(caf::event_based_actor* self, drone_cell_ptr cell, board_ptr board,
                          drone_settings settings) {
  auto rt = std::make_shared<drone_runtime>();
  // Captures the id, not the cell: the handler outlives the actor's behavior, and the cell holds the
  // connection that holds this actor (a cycle).
  self->set_exception_handler([id = cell->state.info.id](caf::scheduled_actor*, std::exception_ptr& eptr)
                                -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(eptr);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    runtime::log::warn("drone", "drone actor failed", {{"drone_id", id}, {"error", what}});
    return caf::exit_reason::unhandled_exception;
  });
  // Re-evaluates the link status and schedules the next check, if any.
  auto check = [self, cell, board, rt] {
    auto now = runtime::mono_ms();
    auto status = cell->watchdog.status(now);
    if (status != cell->reported) {
      status_event ev{cell->state.info.id, status, cell->reported, runtime::wall_ms()};
      cell->reported = status;
      cell->state.status = status;
      board->with([&](fanout& f) { f.event(ev); });
    }
    auto next = cell->watchdog.next_change(now);
    if (next >= 0 && !rt->timer_pending) {
      rt->timer_pending = true;
      self->delayed_send(self, std::chrono::milliseconds(std::max<std::int64_t>(1, next - now)),
                         check_atom::value);
    }
  };
  // Any frame from the current connection.
  auto on_frame = [cell, check](double wall) {
    cell->watchdog.on_frame(runtime::mono_ms());
    cell->state.last_seen = wall;
    check();
  };
  auto is_current = [cell](std::uint64_t link_id) {
    return cell->link != nullptr && cell->link->id() == link_id;
  };
  // After a restart: serve the connection the previous incarnation had, and resume the watchdog.
  if (cell->link != nullptr)
    cell->link->attached(caf::actor_cast<caf::actor>(self), false);
  if (cell->state.last_seen > 0)
    check();
  rt->idle_since = runtime::mono_ms();
  return {
    [=](attach_atom, drone_link_ptr& link, drone_info& info) {
      ++cell->attaches;
      if (cell->link != nullptr && cell->link->id() != link->id()) {
        runtime::log::info("drone", "connection replaced", {{"drone_id", info.id}});
        cell->link->close(4000, "replaced by a newer connection with the same drone id");
      }
      cell->link = link;
      cell->state.info.model = std::move(info.model);
      cell->state.info.fw = std::move(info.fw);
      cell->state.info.group = std::move(info.group);
      cell->state.connected = true;
      on_frame(runtime::wall_ms());
      link->attached(caf::actor_cast<caf::actor>(self), true);
      board->with([&](fanout& f) { f.update(cell->state); });
    },
    [=](telemetry_atom, telemetry& t, double recv, std::uint64_t link_id) {
      if (!is_current(link_id))
        return; // a frame still in flight from a replaced connection
      cell->state.last = std::move(t);
      cell->state.has_telemetry = true;
      cell->state.recv = recv;
      on_frame(recv);
      board->with([&](fanout& f) { f.update(cell->state); });
    },
    [=](alive_atom, std::uint64_t link_id) {
      if (is_current(link_id))
        on_frame(runtime::wall_ms());
    },
    [=](detach_atom, std::uint64_t link_id) {
      if (!is_current(link_id))
        return;
      cell->link = nullptr;
      cell->state.connected = false;
      rt->idle_since = runtime::mono_ms();
      board->with([&](fanout& f) { f.update(cell->state); });
    },
    [=](passivate_atom) {
      bool idle = cell->link == nullptr && settings.passivate_after_ms > 0
                  && runtime::mono_ms() - rt->idle_since >= settings.passivate_after_ms;
      return std::make_tuple(idle, cell->attaches);
    },
    [=](patch_atom, std::string& group) {
      // The registry moved the drone to another group: operators see it there from now on.
      cell->state.info.group = std::move(group);
      board->with([&](fanout& f) { f.update(cell->state); });
    },
    [=](check_atom) {
      rt->timer_pending = false;
      check();
    },
    [=](get_atom) { return cell->state; },
    [=](fault_atom) -> bool { throw std::runtime_error("injected fault"); },
  };
}

} // namespace dccs::actors
