#include "actors/actors.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <tuple>

#include <cmath>
#include <deque>
#include <map>

#include <caf/all.hpp>

#include "actors/command_model.hpp"
#include "actors/safety_model.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace dccs::actors {

namespace {

/// Everything a drone actor knows; its own, touched by no one else.
struct drone_data {
  drone_data(drone_snapshot snap, const drone_settings& s)
    : watchdog(s.stale_after_ms, s.lost_after_ms), link(std::move(snap.link)), connection(std::move(snap.connection)),
      attaches(snap.attaches), fences_monitor(s.breach_clear_ms),
      battery(s.battery_warn, s.battery_critical) {
    state.info = std::move(snap.info);
    state.node = s.node_id;
  }
  drone_state state;
  link_watchdog watchdog;
  link_status reported = link_status::online; ///< the status operators were last told
  drone_link_actor link;                      ///< the connection served (invalid: none)
  link_id connection;
  std::uint64_t attaches = 0;                 ///< connections routed to this drone's actors (the directory counts
                                              ///< them too: the snapshot's count, then each attach received)
  bool timer_pending = false;
  std::int64_t idle_since = 0;                ///< monotonic ms since when the drone has had no connection
  std::int64_t last_published = -1000000000;  ///< monotonic ms of the last publication to the hub
  bool dirty = false;                         ///< changed since the last publication
  bool coalesce_pending = false;              ///< a coalesce timer is out
  /// The drone's commands being delivered (not final), by id: at most one per kind, plus land/rtl.
  std::map<std::string, command_delivery> commands;
  bool command_timer = false;                 ///< a tick is out for the commands, due at command_timer_at
  double command_timer_at = 0;
  // -- geofences and alarms (actors/safety_model.hpp) --
  geofence_set fences;            ///< the fences of the drone's group, at the node's version
  std::uint64_t fences_asked = 0; ///< the version last asked for
  geofence_monitor fences_monitor;
  battery_monitor battery;
  bool link_alarm = false;        ///< a link_lost alarm was raised and not cleared by this actor
  std::int64_t alarm_window = -60000; ///< monotonic ms when the current minute of alarm events began
  std::size_t alarm_events = 0;   ///< alarm events sent in that minute (at most settings.alarm_budget)
  /// Who asked for each mission uploaded through this actor (its reports go there); the newest few only.
  std::deque<std::pair<std::string, mission_actor>> mission_askers;
};

} // namespace

drone_actor::behavior_type drone_impl(drone_actor::pointer self, drone_snapshot snapshot, hub_actor hub,
                                      drone_settings settings) {
  bool restarted = snapshot.restarted;
  auto d = std::make_shared<drone_data>(std::move(snapshot), settings);
  self->set_exception_handler([id = d->state.info.id](caf::scheduled_actor*, std::exception_ptr& eptr)
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
  // Sends the newest state to the hub now, or holds it back until the publish interval has passed
  // (coalesced). A held-back state goes out with the first frame after the interval (a drone streaming
  // faster than hub.rate needs no timer for that); a timer, armed at most once per `quiet_ms`, only catches
  // the drone that went quiet with a state held back.
  auto quiet_ms = std::max<std::int64_t>(settings.publish_interval_ms, 250);
  auto publish = [self, d, hub, settings, quiet_ms](bool now_please) {
    d->dirty = true;
    auto now = runtime::mono_ms();
    auto due = d->last_published + settings.publish_interval_ms;
    if (now_please || now >= due) {
      d->dirty = false;
      d->last_published = now;
      self->send(hub, state_atom::value, d->state);
    } else if (!d->coalesce_pending) {
      d->coalesce_pending = true;
      self->delayed_send(self, std::chrono::milliseconds(std::max(due - now, quiet_ms)), coalesce_atom::value);
    }
  };
  // An alarm of this drone raised or ended (the safety actor stores it, tells the operators and, for a breach,
  // commands the drone).
  auto alarm = [self, d, settings](const char* kind, const char* severity, std::string message, nlohmann::json detail,
                                   bool raise, std::string action = {}) {
    if (settings.safety == nullptr)
      return;
    auto now = runtime::mono_ms();
    if (now - d->alarm_window >= 60000) {
      d->alarm_window = now;
      d->alarm_events = 0;
    }
    if (d->alarm_events >= settings.alarm_budget) {
      if (settings.alarm_events_limited)
        settings.alarm_events_limited->inc();
      return;
    }
    ++d->alarm_events;
    alarm_event e;
    e.drone_id = d->state.info.id;
    e.group = d->state.info.group;
    e.kind = kind;
    e.severity = severity;
    e.message = std::move(message);
    e.detail = detail.dump();
    e.raise = raise;
    e.action = std::move(action);
    self->send(settings.safety, alarm_atom::value, std::move(e));
  };
  // Asks the node's safety actor for the fences of the drone's group (at spawn, a regroup, a new version).
  auto ask_fences = [self, d, settings](std::uint64_t version) {
    if (settings.safety == nullptr)
      return;
    d->fences_asked = version;
    auto group = d->state.info.group;
    self->request(settings.safety, std::chrono::seconds(10), geofence_atom::value, group)
      .then(
        [d, group](geofence_set& set) {
          if (group != d->state.info.group || set.version < d->fences.version)
            return; // regrouped meanwhile (asked again), or an older answer
          d->fences = std::move(set);
          d->fences_monitor.reset();
        },
        [](caf::error&) {});
  };
  // Re-evaluates the link status and schedules the next check, if any.
  auto check = [self, d, hub, alarm, settings] {
    auto now = runtime::mono_ms();
    auto status = d->watchdog.status(now);
    if (status != d->reported) {
      // A drone lost while armed (flying, or about to) raises link_lost; its link back clears it.
      if (status == link_status::lost && d->state.has_telemetry && d->state.last.armed && !d->link_alarm) {
        d->link_alarm = true;
        alarm("link_lost", "critical", "no frame from the drone for " + std::to_string(settings.lost_after_ms / 1000)
                                         + " s while armed",
              {{"last_seen", d->state.last_seen}, {"lat", d->state.last.lat}, {"lon", d->state.last.lon},
               {"alt", d->state.last.alt}},
              true);
      } else if (status == link_status::online && d->link_alarm) {
        d->link_alarm = false;
        alarm("link_lost", "critical", "the link is back", nlohmann::json::object(), false);
      }
      status_event ev{d->state.info.id, status, d->reported, runtime::wall_ms()};
      d->reported = status;
      d->state.status = status;
      self->send(hub, status_atom::value, std::move(ev));
    }
    auto next = d->watchdog.next_change(now);
    if (next >= 0 && !d->timer_pending) {
      d->timer_pending = true;
      self->delayed_send(self, std::chrono::milliseconds(std::max<std::int64_t>(1, next - now)),
                         check_atom::value);
    }
  };
  // Any frame from the current connection.
  auto on_frame = [d, check](double wall) {
    d->watchdog.on_frame(runtime::mono_ms());
    d->state.last_seen = wall;
    check();
  };
  auto is_current = [d](const link_id& id) { return d->link != nullptr && d->connection == id; };
  // -- commands (docs/protocol.md "Commands"): this actor delivers them to its drone and reports every step to the
  // journal, which answers with the truth when it knew better (a cancel, the sweep) --
  auto act = [self, d, settings](command_delivery& cd, command_delivery::step step, const std::string& cause) {
    if (step.send && d->link != nullptr)
      self->send(d->link, deliver_atom::value, command_frame(cd.get()));
    if (step.changed && settings.commands != nullptr) {
      auto report = cd.get();
      report.epoch = d->state.epoch; // fencing: a report of an older owner is refused by the journal
      self->send(settings.commands, journal_atom::value, std::move(report), cause);
    }
  };
  auto commands_changed = [self, d] {
    for (auto i = d->commands.begin(); i != d->commands.end();)
      i = is_final(i->second.get().state) ? d->commands.erase(i) : std::next(i);
    double next = -1;
    for (auto& [id, cd] : d->commands)
      if (auto t = cd.next_due(); t >= 0 && (next < 0 || t < next))
        next = t;
    if (next < 0 || (d->command_timer && d->command_timer_at <= next))
      return;
    d->command_timer = true;
    d->command_timer_at = next;
    auto wait = std::max(1.0, std::ceil(next - runtime::wall_ms()));
    self->delayed_send(self, std::chrono::milliseconds(static_cast<std::int64_t>(wait)), tick_atom::value);
  };
  // A command from the journal (issued, read back at a connection) or its end there (cancelled, superseded, swept).
  auto take_command = [self, d, settings, act, commands_changed](command c) {
    auto i = d->commands.find(c.id);
    if (i == d->commands.end()) {
      if (is_final(c.state) || c.drone_id != d->state.info.id)
        return;
      i = d->commands.emplace(c.id, command_delivery{c, settings.command_timing}).first;
      if (d->link != nullptr)
        act(i->second, i->second.connected(runtime::wall_ms()), "sent to the drone");
    } else if (is_final(c.state)) {
      auto& cd = i->second;
      // Cancelled while the drone has it: the drone stops it (MAVLink's COMMAND_CANCEL).
      if (c.state == command_state::cancelled && cd.was_sent() && !is_final(cd.get().state) && d->link != nullptr)
        self->send(d->link, deliver_atom::value, command_cancel_frame(c.id));
      cd.finished(c.state, c.reason);
    }
    commands_changed();
  };
  // The drone is connected (again): what waits goes, and the journal says what else is open for it.
  auto commands_connected = [self, d, settings, act, take_command, commands_changed] {
    auto now = runtime::wall_ms();
    for (auto& [id, cd] : d->commands)
      act(cd, cd.connected(now), cd.get().attempt == 0 ? "sent to the drone" : "sent again: the drone reconnected");
    commands_changed();
    if (settings.commands == nullptr)
      return;
    self->request(settings.commands, std::chrono::seconds(10), pending_atom::value, d->state.info.id)
      .then(
        [take_command](command_list& open) {
          for (auto& c : open.commands)
            take_command(std::move(c));
        },
        [](caf::error&) {}); // the journal is down: what it holds goes at the drone's next connection
  };
  // Stops this actor: another member's actor serves the drone under a newer claim (`epoch`).
  auto fenced = [self, d, settings](std::uint64_t epoch) {
    runtime::log::info("cluster", "drone claimed by another member, its actor here stops",
                       {{"drone_id", d->state.info.id}, {"epoch", d->state.epoch}, {"newer_epoch", epoch}});
    if (settings.fenced)
      settings.fenced->inc();
    if (d->link != nullptr) {
      // A connection still served here is the older one (4000, as on one node).
      self->demonitor(d->link.address());
      self->send(d->link, hangup_atom::value, std::uint16_t{4000},
                 std::string{"replaced by a newer connection with the same drone id"});
      d->link = nullptr;
    }
    self->quit();
  };
  // The connection's link actor is monitored: its end (socket closed, its node lost) is the connection's end.
  // In a cluster the claim is looked at later: the link's node may have been cut off from this one and the
  // drone served elsewhere since (a partition), and then this actor is not the owner any more.
  self->set_down_handler([self, d, publish, settings](caf::down_msg& dm) {
    if (d->link == nullptr || dm.source != d->link.address())
      return;
    d->link = nullptr;
    d->state.connected = false;
    d->idle_since = runtime::mono_ms();
    for (auto& [id, cd] : d->commands)
      cd.disconnected();
    publish(true);
    if (settings.owners != nullptr && d->state.epoch != 0) {
      self->delayed_send(self, std::chrono::seconds(2), verify_atom::value);
      self->delayed_send(self, std::chrono::seconds(10), verify_atom::value);
    }
  });
  // In a cluster: the connection served makes this actor the drone's owner under a new epoch (fencing). The
  // states published meanwhile carry the previous epoch; an unanswered claim is made again while the
  // connection lasts.
  auto claim = [self, d, publish, settings] {
    if (settings.owners == nullptr || d->link == nullptr)
      return;
    auto connection = d->connection;
    self->request(settings.owners, std::chrono::seconds(10), claim_atom::value, d->state.info.id)
      .then(
        [self, d, publish](std::uint64_t epoch) {
          if (epoch <= d->state.epoch)
            return;
          d->state.epoch = epoch;
          publish(true);
          // A claim of an actor stopped meanwhile elsewhere (a handoff while its claim was in flight) may land
          // after this one: looked at again shortly (verify_atom), and claimed anew while the connection is here.
          self->delayed_send(self, std::chrono::seconds(3), verify_atom::value);
        },
        [self, d, settings, connection](caf::error&) {
          if (d->link != nullptr && d->connection == connection)
            self->delayed_send(self, std::chrono::milliseconds(settings.claim_retry_ms), claim_atom::value);
        });
  };
  auto serve = [self, d, on_frame, publish, claim, commands_connected](bool first) {
    self->monitor(d->link);
    d->state.connected = true;
    on_frame(runtime::wall_ms());
    self->send(d->link, attached_atom::value, first);
    publish(true);
    claim();
    commands_connected();
  };
  // The drone's last known state (a restart, or a restart of the node: Redis) comes from the hub; whatever the
  // drone sent meanwhile is newer and stays.
  self->request(hub, std::chrono::seconds(5), get_atom::value, d->state.info.id)
    .then(
      [d](drone_state& known) {
        if (!d->state.has_telemetry && known.has_telemetry) {
          d->state.has_telemetry = true;
          d->state.last = std::move(known.last);
          d->state.recv = known.recv;
        }
        d->state.last_seen = std::max(d->state.last_seen, known.last_seen);
      },
      [](caf::error&) {});
  ask_fences(0);
  // After a restart: serve the connection the previous incarnation had.
  if (d->link != nullptr)
    serve(!restarted);
  d->idle_since = runtime::mono_ms();
  return {
    [=](attach_atom, drone_link_actor& link, link_id& id, drone_info& info) {
      ++d->attaches;
      if (d->link != nullptr && d->connection != id) {
        runtime::log::info("drone", "connection replaced", {{"drone_id", info.id}});
        self->demonitor(d->link.address());
        self->send(d->link, hangup_atom::value, std::uint16_t{4000},
                   std::string{"replaced by a newer connection with the same drone id"});
      }
      d->link = std::move(link);
      d->connection = std::move(id);
      d->state.info.model = std::move(info.model);
      d->state.info.fw = std::move(info.fw);
      d->state.info.group = std::move(info.group);
      d->state.info.commands = std::move(info.commands);
      d->state.info.declares_commands = info.declares_commands;
      serve(true);
    },
    [=](telemetry_atom, telemetry& t, double recv, link_id& id) {
      if (!is_current(id))
        return; // a frame still in flight from a replaced connection
      if (auto level = d->battery.update(t.battery)) {
        if (*level == battery_monitor::level::ok)
          alarm("low_battery", "warning", "battery back at " + std::to_string(static_cast<int>(t.battery)) + " %",
                nlohmann::json::object(), false);
        else
          alarm("low_battery", *level == battery_monitor::level::critical ? "critical" : "warning",
                "battery at " + std::to_string(static_cast<int>(t.battery)) + " %",
                {{"battery", t.battery}, {"threshold", *level == battery_monitor::level::critical ? settings.battery_critical
                                                                                                 : settings.battery_warn}},
                true);
      }
      if (!d->fences.fences.empty() || d->fences_monitor.breached()) {
        auto change = d->fences_monitor.update(d->fences.fences, t.lon, t.lat, t.alt, t.armed, runtime::mono_ms());
        if (!change.started.empty()) {
          // The strongest action of the fences just broken: land before rtl before alert.
          std::string action;
          nlohmann::json ids = nlohmann::json::array();
          for (auto* f : change.started) {
            ids.push_back(f->id);
            if (f->action == "land" || (f->action == "rtl" && action.empty()))
              action = f->action;
          }
          auto* first = change.started.front();
          alarm("geofence_breach", action.empty() ? "warning" : "critical",
                std::string{first->inclusion ? "left" : "entered"} + " geofence '" + first->name + "'"
                  + (action.empty() ? "" : ": " + action),
                {{"geofences", ids}, {"lat", t.lat}, {"lon", t.lon}, {"alt", t.alt}, {"action", action.empty() ? "alert" : action}},
                true, action);
        } else if (change.ended) {
          alarm("geofence_breach", "warning", "back within every geofence", nlohmann::json::object(), false);
        }
      }
      d->state.last = std::move(t);
      d->state.has_telemetry = true;
      d->state.recv = recv;
      on_frame(recv);
      publish(false);
    },
    [=](alive_atom, link_id& id) {
      if (is_current(id))
        on_frame(runtime::wall_ms());
    },
    [=](passivate_atom) {
      bool idle = d->link == nullptr && settings.passivate_after_ms > 0
                  && runtime::mono_ms() - d->idle_since >= settings.passivate_after_ms;
      return std::make_tuple(idle, d->attaches);
    },
    [=](regroup_atom, std::string& group) {
      // The registry moved the drone to another group: operators see it there from now on, and its fences apply.
      d->state.info.group = std::move(group);
      publish(true);
      d->fences = geofence_set{};
      ask_fences(d->fences_asked);
    },
    [=](geofence_atom, std::uint64_t version) {
      if (version != d->fences.version && version != d->fences_asked)
        ask_fences(version);
    },
    [=](kick_atom, std::uint16_t code, std::string& reason) {
      if (d->link != nullptr)
        self->send(d->link, hangup_atom::value, code, std::move(reason));
    },
    [=](delete_atom) {
      // Removed from the registry: the connection is no longer allowed, and the drone leaves every live view. The
      // removal is this actor's last message to its hub, after every state it published (a state published when
      // the connection ended would otherwise bring the drone back after the registry's removal: the hub keeps
      // what it is sent last). It is published disconnected first: a hub keeps a connected drone.
      if (d->link != nullptr) {
        self->demonitor(d->link.address());
        self->send(d->link, hangup_atom::value, std::uint16_t{4003}, std::string{"drone is not registered"});
        d->link = nullptr;
        d->state.connected = false;
        publish(true);
      }
      self->send(hub, remove_atom::value, d->state.info.id);
      self->quit();
    },
    [=](check_atom) {
      d->timer_pending = false;
      check();
    },
    [=](coalesce_atom) {
      d->coalesce_pending = false;
      if (d->dirty)
        publish(true); // the interval has passed (the timer is set for its end, or later)
    },
    [=](fence_atom, std::uint64_t epoch) {
      // Another member's actor took the drone's newer connection (its claim came after this actor's): that one
      // is the owner.
      if (d->state.epoch != 0 && epoch > d->state.epoch)
        fenced(epoch);
    },
    [=](claim_atom) { claim(); },
    [=](verify_atom) {
      // Whether the drone's recorded claim is still this actor's. Not connected: a higher claim is another
      // member's, which serves the drone now (a partition): this actor stops. Connected: the drone's connection
      // is here, so a higher claim is a stale one (an actor stopped while its claim was in flight; a newer
      // connection elsewhere would have fenced this actor through the hubs by now): claimed again.
      if (settings.owners == nullptr || d->state.epoch == 0)
        return;
      auto mine = d->state.epoch;
      self->request(settings.owners, std::chrono::seconds(10), get_atom::value, d->state.info.id)
        .then(
          [d, fenced, claim, mine](std::uint64_t current) {
            if (current <= d->state.epoch || d->state.epoch != mine)
              return;
            if (d->link == nullptr)
              fenced(current);
            else
              claim();
          },
          [](caf::error&) {});
    },
    [=](command_atom, command& c) { take_command(std::move(c)); },
    [=](mission_atom, std::string& mission_id, std::string& frame, mission_actor& reply_to) {
      // A mission item to deliver (docs/protocol.md "Missions"); the drone's answers about the mission go to
      // whoever asked.
      if (d->link == nullptr) {
        mission_report r;
        r.mission_id = std::move(mission_id);
        r.drone_id = d->state.info.id;
        r.kind = "undelivered";
        r.reason = "the drone is not connected";
        r.at = runtime::wall_ms();
        self->send(reply_to, mission_atom::value, std::move(r));
        return;
      }
      auto& askers = d->mission_askers;
      auto known = std::find_if(askers.begin(), askers.end(), [&](const auto& a) { return a.first == mission_id; });
      if (known != askers.end())
        askers.erase(known);
      if (askers.size() >= 4)
        askers.pop_front();
      askers.emplace_back(std::move(mission_id), std::move(reply_to));
      self->send(d->link, deliver_atom::value, std::move(frame));
    },
    [=](mission_atom, mission_report& r, link_id& id) {
      if (!is_current(id))
        return; // from a replaced connection
      on_frame(runtime::wall_ms());
      r.drone_id = d->state.info.id;
      r.at = runtime::wall_ms();
      // Progress goes to this node's mission service (the database is the truth: the node that uploaded the mission
      // may be gone by now); acks to the upload that asked, which waits for them.
      if (r.kind == "progress" && settings.missions != nullptr) {
        self->send(settings.missions, mission_atom::value, std::move(r));
        return;
      }
      auto& askers = d->mission_askers;
      auto asker = std::find_if(askers.begin(), askers.end(), [&](const auto& a) { return a.first == r.mission_id; });
      if (asker != askers.end())
        self->send(asker->second, mission_atom::value, std::move(r));
      else if (settings.missions != nullptr)
        self->send(settings.missions, mission_atom::value, std::move(r));
    },
    [=](cmd_ack_atom, command_ack& a, link_id& id) {
      if (!is_current(id))
        return; // from a replaced connection
      auto now = runtime::wall_ms();
      on_frame(now);
      auto i = d->commands.find(a.command_id);
      auto result = parse_drone_result(a.result);
      if (i == d->commands.end() || !result)
        return; // not known (final already, or another owner's): ignored, as the protocol says
      act(i->second, i->second.ack(*result, a.progress, a.reason, now), "the drone answered " + a.result);
      commands_changed();
    },
    [=](tick_atom) {
      d->command_timer = false;
      auto now = runtime::wall_ms();
      for (auto& [id, cd] : d->commands) {
        auto step = cd.due(now);
        act(cd, step, step.send ? "sent again: no answer within commands.retry_ms" : "ended: no answer in time");
      }
      commands_changed();
    },
    [=](get_atom) { return d->state; },
    [=](fault_atom) { throw std::runtime_error("injected fault"); },
  };
}

} // namespace dccs::actors
