#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/messages.hpp"

namespace dccs::actors {

/// The fan-out hub's logic, without actors or timers: keeps the newest state of every drone, remembers
/// which drones changed since the last tick, and at each tick hands every subscriber one entry per changed
/// drone it subscribed to (however many frames the drone sent in between) plus the status events.
///
/// Each changed drone is serialized to JSON once per tick; subscribers to all drones share the same batch.
class fanout {
public:
  using sub_id = std::uint64_t;

  /// What one tick produces for one subscriber.
  struct delivery {
    sub_id subscriber;
    fragment_batch drones; ///< null when no subscribed drone changed
    fragment_batch events; ///< null when no subscribed drone changed status
  };

  /// Stores the newest state of a drone and marks it changed.
  void update(const drone_state& st);

  /// Records a status change (also applied to the stored state) for the next tick.
  void event(const status_event& ev);

  /// Adds a subscriber or replaces its subscription.
  void subscribe(sub_id id, subscription sub);

  void unsubscribe(sub_id id);

  /// Every stored drone that `sub` covers, serialized.
  fragment_batch snapshot(const subscription& sub) const;

  /// Produces the deliveries for this tick and clears the changed set and the events.
  std::vector<delivery> tick();

  /// `{"drones":[...]}` with every stored drone.
  std::string list_json() const;

  const drone_state* find(const std::string& id) const;

  std::size_t drones() const { return states_.size(); }
  std::size_t subscribers() const { return subs_.size(); }

private:
  struct sub_entry {
    bool all = true;
    std::unordered_set<std::string> ids;
    bool covers(const std::string& id) const { return all || ids.count(id) > 0; }
  };

  static fragment_batch filter(const fragment_batch& all, const sub_entry& sub);

  std::unordered_map<std::string, drone_state> states_;
  std::vector<std::string> dirty_;
  std::unordered_set<std::string> dirty_set_;
  std::vector<status_event> events_;
  std::unordered_map<sub_id, sub_entry> subs_;
};

} // namespace dccs::actors
