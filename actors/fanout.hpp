#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/messages.hpp"

namespace dccs::actors {

/// The fan-out hub's logic, without actors or timers: keeps the newest state of every drone, remembers
/// which drones changed, and at each tick hands every subscriber the changed drones it subscribed to, plus
/// the status events.
///
/// Rate bound: a drone is published at most once per `min_interval_ms` (1000 / hub.rate). A drone that
/// changes again sooner stays pending and goes out, with its newest state only, in the first tick after its
/// interval ends. Ticks come often (every hub.flush_ms), so an update waits at most one short tick when the
/// drone is slower than the bound, and many drones still share one socket write.
///
/// Each published drone is serialized to JSON once, and only when some subscriber sees it; subscribers to all
/// drones share the same batch.
class fanout {
public:
  using sub_id = std::uint64_t;

  explicit fanout(std::int64_t min_interval_ms = 100) : min_interval_(min_interval_ms) {
  }

  /// What one tick produces for one subscriber.
  struct delivery {
    sub_id subscriber;
    fragment_batch drones; ///< null when no subscribed drone changed
    fragment_batch events; ///< null when no subscribed drone changed status
    fragment_batch removed; ///< drones the subscriber saw that it may no longer see (moved to another group,
                            ///< deleted); each fragment's json is the id as a JSON string. Null when none.
  };

  /// Stores the newest state of a drone and marks it changed.
  void update(const drone_state& st);
  void update(drone_state&& st);

  /// Records a status change (also applied to the stored state) for the next tick.
  void event(const status_event& ev);

  /// Adds a subscriber or replaces its subscription.
  void subscribe(sub_id id, subscription sub);

  void unsubscribe(sub_id id);

  /// Every stored drone that `sub` covers (its ids, within its scope of groups), serialized.
  fragment_batch snapshot(const subscription& sub) const;

  /// Produces the deliveries for this tick (monotonic time `now_ms`): every pending drone whose interval
  /// has passed, and every event.
  std::vector<delivery> tick(std::int64_t now_ms);

  /// Drones changed but held back by the rate bound.
  std::size_t pending() const { return dirty_.size(); }

  /// `{"drones":[...],"next_cursor":...}`: the stored drones of the groups in `scope`, in id order, at most
  /// `limit` of them after the id `after` (empty: from the first).
  std::string list_json(const auth::scope& scope, std::size_t limit = SIZE_MAX, const std::string& after = {}) const;

  const drone_state* find(const std::string& id) const;

  /// The stored states of the groups in `scope`, in id order, at most `limit` of them after the id `after`.
  state_list page(const auth::scope& scope, std::size_t limit, const std::string& after) const;

  /// Every stored state changed (updated, status, group) after version `since`; the answer carries the
  /// current version, the `since` of the next call.
  state_list changes(std::uint64_t since) const;

  /// No actor serves the drone any more (its supervisor gave up): not connected, and lost from now on.
  void offline(const std::string& id, double at);

  /// Forgets the drones not connected whose last sign of life (node wall clock, ms) is older than `cutoff`;
  /// drones never seen (last_seen 0: registered, restored) stay. Returns how many went.
  std::size_t sweep(double cutoff);

  /// The subscribers that see drone `id` of group `group` (its id subscribed, the group in their scope).
  std::vector<sub_id> audience(const std::string& id, const std::string& group) const;
  /// Drone states serialized by tick() so far: only those some subscriber sees.
  std::uint64_t serialized() const { return serialized_; }
  /// Drones stored.
  std::size_t size() const { return states_.size(); }

  /// Calls `f(const drone_state&)` for every stored drone.
  template <class F>
  void for_each(F&& f) const {
    for (auto& [id, e] : states_)
      f(e.state);
  }

  /// Restores a drone remembered elsewhere (Redis, the registry) after a restart: stored when the drone is
  /// unknown here, or when what is stored is older and not connected. Returns true when stored.
  bool restore(const drone_state& st);

  /// Moves a drone to another group (the registry changed it); published with the next tick, and subscribers
  /// that saw it in its old group but do not reach the new one are told it is gone.
  void regroup(const std::string& id, const std::string& group);

  /// Forgets a drone that is not connected (passivated, left the registry); subscribers are told it is gone.
  /// Returns false when it is connected, unless `even_connected` (another member's hub removed its own drone:
  /// the connected state here is one it never sent the end of).
  bool remove(const std::string& id, bool even_connected = false);

private:
  struct sub_entry {
    bool all = true;
    std::unordered_set<std::string> ids;
    auth::scope scope; ///< the drone groups the subscriber may see
    bool covers(const std::string& id) const { return all || ids.count(id) > 0; }
    /// Drone `id` of group `group` is for this subscriber: its id subscribed, its group in the scope.
    bool sees(const std::string& id, const std::string& group) const { return covers(id) && scope.covers(group); }
  };

  struct entry {
    drone_state state;
    std::int64_t last_published = -1000000000;
    bool published_telemetry = false; ///< the last publication carried telemetry
    bool dirty = false;
    std::uint64_t version = 0; ///< version_ when it last changed
  };

  std::map<std::string_view, const drone_state*> first_after(const auth::scope& scope, std::size_t limit,
                                                             const std::string& after, bool& more) const;
  static fragment_batch filter(const fragment_batch& all, const sub_entry& sub);
  using stored = std::pair<const std::string, entry>; ///< an element of states_ (its address is stable)
  void mark(stored& n);
  /// Whether some subscriber sees drone `id` of group `group`.
  bool seen_by_any(const std::string& id, const std::string& group) const;

  std::int64_t min_interval_;
  std::uint64_t version_ = 0; ///< bumped by every change of a stored state
  std::uint64_t serialized_ = 0;
  std::unordered_map<std::string, entry> states_;
  std::vector<stored*> dirty_; ///< changed, not yet published (an element leaves before it is erased)
  std::vector<status_event> events_;
  std::vector<std::pair<std::string, std::string>> removals_; ///< (drone id, the group it was visible in)
  std::unordered_map<sub_id, sub_entry> subs_;
};

} // namespace dccs::actors
