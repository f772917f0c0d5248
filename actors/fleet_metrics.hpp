#pragma once
/// The counters the fleet store and the Redis mirror keep (one set per node).

#include "runtime/metrics.hpp"

namespace dccs::actors {

/// Counters of the registry and of Redis (owned by the node).
struct fleet_metrics {
  runtime::counter* refused = nullptr;         ///< hellos refused (unregistered)
  runtime::counter* registered = nullptr;      ///< drones registered automatically at hello
  runtime::counter* register_refused = nullptr; ///< drones the database refused to register (skipped)
  runtime::counter* redis_writes = nullptr;    ///< drone states written to Redis
  runtime::counter* redis_skipped = nullptr;   ///< drone states not written because Redis was down
  runtime::counter* rehydrated = nullptr;      ///< drone states restored at startup
};

} // namespace dccs::actors
