#pragma once
/// The latest state of every drone in Redis: the mirror that writes it, and the reader of what it wrote.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/fleet_metrics.hpp"
#include "runtime/pg.hpp"
#include "runtime/redis.hpp"

namespace dccs::actors {

/// Redis settings (the latest state per drone); `enabled` false without redis.url.
struct redis_settings {
  bool enabled = false;
  runtime::redis_endpoint endpoint;
  std::chrono::milliseconds io_timeout{1000};
  std::chrono::milliseconds retry_min{250};
  std::chrono::milliseconds retry_max{10000};
  std::int64_t ttl_s = 86400;
  std::int64_t interval_ms = 1000;
  std::string prefix = "dccs:drone:"; ///< key of a drone: prefix + id
};

/// Mirrors the latest state of every drone to Redis (run detached): every `interval_ms`, the drones whose
/// state changed since their last write, pipelined, each as `SET prefix+id <drone JSON> EX ttl_s` — so each
/// drone is written at most once per interval. When Redis is down, writes are skipped and counted, and the
/// client reconnects with backoff; the live view does not depend on it.
/// Accepts:
///   (tick_atom)            timer
///   (flush_atom) -> bool   write now (true when Redis took everything)
mirror_actor::behavior_type redis_mirror(mirror_actor::pointer self, redis_settings s, hub_actor hub,
                                         fleet_metrics metrics,
                           runtime::node_health* health);

/// Parses a drone JSON object (as written by append_drone_json) back into a state. False on failure.
bool parse_drone_state(const std::string& json, drone_state& out);

} // namespace dccs::actors
