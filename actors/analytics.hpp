#pragma once
/// Daily flight analytics (docs/protocol.md "Analytics"): the rollup job that keeps telemetry.daily_rollups from
/// telemetry.samples, and the actor that answers GET /api/v1/analytics/daily and /fleet. Both run detached on the
/// nodes of the `analytics` role (they block on PostgreSQL). The figures themselves are analytics_model.hpp's.
///
/// The job, one pass (under a session advisory lock: one pass at a time in the whole cluster):
///   1. claim   under the telemetry writers' maintenance lock, exclusively (it waits for the writes under way and
///              holds new ones for the length of one UPDATE): rollup_state.claimed := min(now − settle, begin +
///              window), begin = the start of the first day, then hour, after `done` that holds telemetry. From
///              this commit on, every writer transaction marks the (drone, UTC hour) of each row it stores with
///              time <= claimed in telemetry.rollup_dirty, in the same transaction.
///   2. count   in one repeatable-read transaction: the samples with done < time <= claimed, each drone's in
///              (time, seq) order (the window is read as stored, unsorted, every drone at once; a drone with a
///              sample out of that order is read again, sorted), through each drone's carried state
///              (rollup_cursors) into the hour rows (added; the answers read days, the sums of their hours);
///              then the marked hours, each computed again from all its samples up to `claimed` (replaced),
///              marks deleted; then done := claimed. A pass that fails leaves done where it was: the next one
///              counts the window again from the same state (nothing is counted twice: the additions commit with
///              done, or not at all).
/// A sample stored after its window was counted is never lost: its writer saw `claimed` at or past its time and
/// marked its hour. A sample counted in a window and marked as well is harmless: the hour is replaced.

#include <cstdint>
#include <string>

#include <caf/event_based_actor.hpp>
#include <pqxx/pqxx>

#include "actors/actors.hpp"
#include "actors/analytics_model.hpp"
#include "runtime/metrics.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// Settings of the analytics job and answers (analytics.*).
struct analytics_settings {
  runtime::pg_settings telemetry;   ///< the rollups and the samples
  runtime::pg_settings fleet;       ///< the registry: each drone's group
  runtime::pg_settings commands;    ///< the alarms
  analytics::rules rules;
  std::int64_t interval_s = 60;     ///< a pass every this long (at once again while catching up)
  std::int64_t settle_s = 10;       ///< samples younger than this wait for the next pass
  std::int64_t window_s = 3600;     ///< a pass counts at most this much time (catching up after a long stop)
  std::int64_t history_days = 30;   ///< where a first pass starts: telemetry.retention_days ago
  std::int64_t retention_days = 730; ///< day rows older than this are deleted
  std::int64_t max_rows = 100000;   ///< most (drone, day) rows one daily answer holds
  std::int64_t dirty_per_pass = 1000; ///< marked hours computed again per pass at most (the rest next pass)
};

namespace analytics {

/// What one pass did.
struct pass_result {
  bool ran = false;              ///< false: another node's pass held the lock
  std::int64_t samples = 0;      ///< samples counted in the window
  std::int64_t drones = 0;       ///< drones with samples in the window
  std::int64_t recomputed = 0;   ///< marked (drone, hour) computed again
  std::int64_t resorted = 0;     ///< drones of the window read again sorted (a sample stored out of its order)
  std::int64_t done_us = 0;      ///< samples up to this time are counted now
  bool caught_up = true;         ///< false: the window was capped, the next pass should follow at once
};

/// One pass of the job on `conn` (the telemetry database), as if the time were `now_ms`. Throws pqxx errors.
pass_result rollup_pass(pqxx::connection& conn, const analytics_settings& s, std::int64_t now_ms);

/// Counters of the job (owned by the node; any may be null).
struct job_metrics {
  runtime::counter* passes = nullptr;
  runtime::counter* failures = nullptr;
  runtime::counter* samples = nullptr;
  runtime::counter* recomputed = nullptr;
  runtime::counter* resorted = nullptr; ///< drones read again sorted (pass_result::resorted)
  runtime::gauge* lag_s = nullptr; ///< now − done after the newest pass
};

} // namespace analytics

/// The rollup job (run detached). A pass at start and every `interval_s` (at once again while catching up,
/// after the database's backoff while it fails). Accepts:
///   (tick_atom)            timer
///   (flush_atom) -> bool   a pass now (tests)
worker_actor::behavior_type analytics_job(worker_actor::pointer self, analytics_settings s,
                                          analytics::job_metrics metrics);

/// The answers of GET /api/v1/analytics/daily and /fleet (run detached). Accepts
///   (analytics_atom, http_query) -> api_result (JSON or CSV), or an api_error
/// with kind "daily" or "fleet". A bad parameter is a 400 naming it; a group the caller does not reach 403; a
/// drone it does not see 404; an unavailable database 503.
analytics_actor::behavior_type analytics_impl(analytics_actor::pointer self, analytics_settings s);

} // namespace dccs::actors
