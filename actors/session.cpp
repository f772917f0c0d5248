#include "actors/actors.hpp"

#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/drone_json.hpp"
#include "runtime/clock.hpp"

namespace dccs::actors {

namespace {

/// Keyed notices (distinct commands, alarms, leases, mission drones) one session holds for a slow reader.
constexpr std::size_t max_notices = 4096;
/// Most drones in one update frame. When more changed while the socket was busy, they go out in frames of this
/// many, the longest waiting first: a browser then handles ~0.5 MB at a time, not 5 MB in one task (10,000
/// drones), and no drone waits behind newer changes of others.
constexpr std::size_t max_update_drones = 1000;

struct session_state {
  operator_link_actor link;
  bool in_flight = false;
  std::deque<std::string> control;             ///< error frames: always sent first
  /// Keyed notices (command, alarm, lease, mission news) waiting, oldest first: a newer frame of the same key
  /// replaces the waiting one in its place, so that a slow operator gets every command's newest state.
  std::deque<std::string> notice_order;
  std::unordered_map<std::string, std::string> notices;
  fragment_batch snapshot;                     ///< a snapshot waiting to go out
  std::deque<fragment_batch> events;           ///< status events waiting
  std::size_t queued_events = 0;
  fragment_batch direct;                       ///< the newest update batch, while nothing else waits
  std::unordered_map<std::string, std::string> merged; ///< newest JSON per drone, once updates pile up
  std::deque<std::string> merged_order; ///< merged's drones, the longest waiting first (ids no longer in merged
                                        ///< are skipped: removed drones)
  bool subscribing = false;                    ///< a subscription is at the hub, its snapshot not back yet
  std::optional<subscription> next;            ///< the newest subscription asked for meanwhile
};

void append_frame(std::string& out, const char* type, const char* key, const fragment_batch& batch) {
  out += "{\"type\":\"";
  out += type;
  out += "\",\"server_time\":";
  append_json_number(out, runtime::wall_ms());
  out += ",\"";
  out += key;
  out += "\":[";
  bool first = true;
  for (auto& f : *batch) {
    if (!first)
      out += ',';
    first = false;
    out += f.json;
  }
  out += "]}";
}

} // namespace

session_actor::behavior_type session_impl(session_actor::pointer self, operator_link_actor link, hub_actor hub,
                                          std::size_t max_events, actor_metrics metrics) {
  auto st = std::make_shared<session_state>();
  st->link = std::move(link);
  // Sends the next frame if the socket is free: errors, then the snapshot, then events, then updates.
  auto pump = [self, st] {
    if (st->in_flight)
      return;
    std::string frame;
    if (!st->control.empty()) {
      frame = std::move(st->control.front());
      st->control.pop_front();
    } else if (!st->notice_order.empty()) {
      auto i = st->notices.find(st->notice_order.front());
      frame = std::move(i->second);
      st->notices.erase(i);
      st->notice_order.pop_front();
    } else if (st->snapshot) {
      append_frame(frame, "snapshot", "drones", st->snapshot);
      st->snapshot = nullptr;
    } else if (!st->events.empty()) {
      frame.reserve(st->queued_events * 96 + 64);
      frame += "{\"type\":\"status\",\"events\":[";
      bool first = true;
      for (auto& batch : st->events)
        for (auto& f : *batch) {
          if (!first)
            frame += ',';
          first = false;
          frame += f.json;
        }
      frame += "]}";
      st->events.clear();
      st->queued_events = 0;
    } else if (st->direct) {
      append_frame(frame, "update", "drones", st->direct);
      st->direct = nullptr;
    } else if (!st->merged.empty()) {
      frame.reserve(std::min(st->merged.size(), max_update_drones) * 512 + 64);
      frame += "{\"type\":\"update\",\"server_time\":";
      append_json_number(frame, runtime::wall_ms());
      frame += ",\"drones\":[";
      std::size_t taken = 0;
      while (taken < max_update_drones && !st->merged_order.empty()) {
        auto i = st->merged.find(st->merged_order.front());
        st->merged_order.pop_front();
        if (i == st->merged.end())
          continue; // removed meanwhile
        if (taken++ > 0)
          frame += ',';
        frame += i->second;
        st->merged.erase(i);
      }
      if (st->merged.empty())
        st->merged_order.clear(); // only ids of removed drones can be left: the line never outgrows the backlog
      frame += "]}";
    } else {
      return;
    }
    st->in_flight = true;
    self->send(st->link, deliver_atom::value, std::move(frame));
  };
  // A drone's newest state among the updates waiting: a drone new to the line goes to its end, one already in it
  // keeps its place. True when it was new.
  auto keep = [st](const fragment& f) {
    auto [it, added] = st->merged.try_emplace(f.drone_id, f.json);
    if (added)
      st->merged_order.push_back(f.drone_id);
    else
      it->second = f.json;
    return added;
  };
  // The batch held for a free socket joins the line (something else arrived before it went out).
  auto park_direct = [st, keep] {
    if (!st->direct)
      return;
    for (auto& f : *st->direct)
      keep(f);
    st->direct = nullptr;
  };
  // Folds a batch into what waits, keeping only the newest state per drone.
  auto merge = [st, metrics, keep, park_direct](const fragment_batch& batch) {
    park_direct();
    std::size_t replaced = 0;
    for (auto& f : *batch)
      if (!keep(f))
        ++replaced;
    if (replaced > 0 && metrics.operator_updates_dropped)
      metrics.operator_updates_dropped->inc(replaced);
  };
  return {
    [self, hub, st](subscribe_atom, subscription& sub) {
      // One subscription at the hub at a time: each costs a snapshot of what it covers, so an operator who
      // changes it faster than the hub answers gets the newest one only, not a snapshot per change.
      if (st->subscribing) {
        st->next = std::move(sub);
        return;
      }
      st->subscribing = true;
      self->send(hub, subscribe_atom::value, std::move(sub));
    },
    [st, pump](error_atom, const std::string& code, const std::string& message) {
      std::string frame = "{\"type\":\"error\",\"code\":";
      append_json_string(frame, code);
      frame += ",\"message\":";
      append_json_string(frame, message);
      frame += '}';
      if (st->control.size() < 64)
        st->control.push_back(std::move(frame));
      pump();
    },
    [st, pump, metrics](notice_atom, std::string& key, std::string& frame) {
      if (key.empty()) {
        if (st->control.size() < 64)
          st->control.push_back(std::move(frame));
        else if (metrics.operator_notices_dropped)
          metrics.operator_notices_dropped->inc(); // a slow operator: counted, never waited for
      } else if (auto i = st->notices.find(key); i != st->notices.end()) {
        i->second = std::move(frame); // the newer state of the same command, alarm, lease or mission drone
        if (metrics.operator_notices_dropped)
          metrics.operator_notices_dropped->inc();
      } else {
        // Distinct things waiting are bounded too (a slow reader of a very busy fleet): the oldest goes first.
        if (st->notice_order.size() >= max_notices) {
          st->notices.erase(st->notice_order.front());
          st->notice_order.pop_front();
          if (metrics.operator_notices_dropped)
            metrics.operator_notices_dropped->inc();
        }
        st->notice_order.push_back(key);
        st->notices.emplace(std::move(key), std::move(frame));
      }
      pump();
    },
    [st, pump, park_direct](removed_atom, fragment_batch& batch) {
      // Drones this operator may no longer see: told before anything else, and nothing older about them follows.
      park_direct();
      // Status events still waiting about these drones are dropped too (rare: copies are fine here).
      std::unordered_set<std::string> gone;
      for (auto& f : *batch)
        gone.insert(f.drone_id);
      std::deque<fragment_batch> events;
      for (auto& batch_of_events : st->events) {
        auto kept = std::make_shared<std::vector<fragment>>();
        for (auto& f : *batch_of_events)
          if (!gone.count(f.drone_id))
            kept->push_back(f);
        st->queued_events -= batch_of_events->size() - kept->size();
        if (!kept->empty())
          events.push_back(std::move(kept));
      }
      st->events = std::move(events);
      std::string frame = "{\"type\":\"remove\",\"drones\":[";
      bool first = true;
      for (auto& f : *batch) {
        st->merged.erase(f.drone_id);
        if (!first)
          frame += ',';
        first = false;
        frame += f.json;
      }
      frame += "]}";
      // Keyed notices waiting were news the operator could see when they came: they go before the remove frame, so
      // that nothing about these drones follows it. The remove frame itself is never dropped (removals are rare).
      for (auto& key : st->notice_order)
        st->control.push_back(std::move(st->notices[key]));
      st->notice_order.clear();
      st->notices.clear();
      st->control.push_back(std::move(frame));
      pump();
    },
    [self, hub, st, pump](snapshot_atom, fragment_batch& batch) {
      st->subscribing = false;
      if (st->next) {
        // Already out of date: the newer subscription's snapshot follows.
        st->subscribing = true;
        self->send(hub, subscribe_atom::value, std::move(*st->next));
        st->next.reset();
        return;
      }
      // A snapshot supersedes every update that waits.
      st->snapshot = std::move(batch);
      st->direct = nullptr;
      st->merged.clear();
      st->merged_order.clear();
      pump();
    },
    [st, pump, merge](update_atom, fragment_batch& batch) {
      if (!st->direct && st->merged.empty() && batch->size() <= max_update_drones)
        st->direct = std::move(batch); // the common case: no copy at all
      else
        merge(batch);
      pump();
    },
    [st, pump, max_events, metrics](events_atom, fragment_batch& batch) {
      st->queued_events += batch->size();
      st->events.push_back(std::move(batch));
      // Bounded: drop the oldest events of a slow operator.
      while (st->queued_events > max_events && st->events.size() > 1) {
        st->queued_events -= st->events.front()->size();
        if (metrics.operator_events_dropped)
          metrics.operator_events_dropped->inc(st->events.front()->size());
        st->events.pop_front();
      }
      pump();
    },
    [st, pump](ready_atom) {
      st->in_flight = false;
      pump();
    },
  };
}

} // namespace dccs::actors
