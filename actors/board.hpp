#pragma once

#include <memory>
#include <mutex>

#include "actors/fanout.hpp"

namespace dccs::actors {

/// The node's table of the newest state per drone (the fan-out core), shared by the drone actors that
/// write it and the hub that publishes it.
///
/// Why not a message per frame to the hub: measured on 2 cores, every telemetry frame costing a second
/// actor message (drone -> hub) doubled the scheduler's wake-ups, and they were the largest single cost of
/// the ingest path. A drone actor now writes its newest state here under a short lock (a copy and a
/// hash-map update); the hub ticks, takes what is due and serializes it. Drone actors on other nodes will
/// keep using the hub's (state_atom, ...) messages, which land in the same table.
class board {
public:
  explicit board(std::int64_t min_interval_ms) : core_(min_interval_ms) {
  }

  /// Runs `f(fanout&)` under the lock.
  template <class F>
  decltype(auto) with(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    return f(core_);
  }

private:
  std::mutex mtx_;
  fanout core_;
};

using board_ptr = std::shared_ptr<board>;

} // namespace dccs::actors
