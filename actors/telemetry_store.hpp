#pragma once
/// Telemetry history: the buffer between the network threads and the node's telemetry writer, and the
/// actors that write rows to PostgreSQL and keep its partitions.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/actors.hpp"
#include "runtime/metrics.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// The connection of a drone that asked for acknowledgements, as the writer sees it.
class ack_sink {
public:
  virtual ~ack_sink() = default;
  /// Every telemetry frame this connection handed to the buffer, up to and including the one with `seq`,
  /// is committed. Called on the writer's thread, in commit order; must return at once.
  virtual void committed(std::uint64_t seq) = 0;
  /// The database refused the row of the frame with `seq` for its content: it is dropped, never stored.
  /// Called before any `committed` that passes `seq`, on the writer's thread; must return at once.
  virtual void refused(std::uint64_t seq) = 0;
};

/// One telemetry sample on its way to the database.
struct telemetry_row {
  std::string drone_id;
  telemetry t;
  double received = 0;           ///< node wall clock, ms since epoch
  std::int64_t received_us = 0;  ///< monotonic clock, µs (receive-to-commit latency)
  std::weak_ptr<ack_sink> ack;   ///< set when the drone asked for acknowledgements
};

/// Counters of the telemetry path (owned by the node).
struct telemetry_metrics {
  runtime::counter* committed = nullptr;     ///< rows committed
  runtime::counter* duplicates = nullptr;    ///< rows already stored (resent frames)
  runtime::counter* dropped = nullptr;       ///< best-effort rows dropped because the buffer was full
  runtime::counter* dropped_refused = nullptr; ///< rows dropped because the database refused their content
  runtime::counter* refused = nullptr;       ///< acknowledged rows refused because the buffer was full
  runtime::counter* batches = nullptr;       ///< transactions committed
  runtime::counter* copied = nullptr;        ///< of them, rows copied straight into the table
  runtime::counter* staged = nullptr;        ///< of them, rows written through the staging table
  runtime::counter* failures = nullptr;      ///< batch writes that failed (retried)
  runtime::gauge* buffered_rows = nullptr;   ///< rows waiting
  runtime::gauge* buffered_bytes = nullptr;  ///< their estimated memory
  runtime::histogram* latency = nullptr;     ///< receive-to-commit, ms
  runtime::counter* partitions_created = nullptr;
  runtime::counter* partitions_dropped = nullptr;
};

/// Rows waiting for the writer: filled by the network threads, emptied by the writer, bounded in memory.
/// Best-effort and acknowledged rows wait in two queues: past the bound, the oldest best-effort rows are
/// dropped (and counted) to make room; an acknowledged row that still finds no room is refused, and its
/// connection is told to come back later (the drone keeps the frame and resends it). Thread-safe.
class telemetry_buffer {
public:
  telemetry_buffer(std::size_t max_bytes, std::size_t batch_rows, telemetry_metrics metrics);

  /// Called (outside the lock) when the buffer holds a full batch, once per batch. Set and read under the lock.
  void on_batch(std::function<void()> wake) {
    std::lock_guard<std::mutex> guard{mtx_};
    wake_ = std::move(wake);
  }

  /// Adds a row. Returns false when an acknowledged row was refused (never for best-effort rows).
  bool push(telemetry_row&& row);

  /// Moves up to `max` rows into `out` (acknowledged rows in arrival order, then best-effort ones).
  void take(std::vector<telemetry_row>& out, std::size_t max);

  std::size_t rows() const;
  std::size_t bytes() const;

  /// Rows the writer took and has not committed yet (it keeps them while PostgreSQL is down).
  std::size_t writing() const { return writing_.load(std::memory_order_relaxed); }
  void set_writing(std::size_t n) { writing_.store(n, std::memory_order_relaxed); }
  std::size_t max_bytes() const { return max_bytes_; }

  /// Estimated memory of one row.
  static std::size_t row_bytes(const telemetry_row& r);

private:
  void account(std::int64_t rows, std::int64_t bytes);

  mutable std::mutex mtx_;
  std::deque<telemetry_row> acked_;
  std::deque<telemetry_row> best_effort_;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
  std::size_t batch_rows_;
  bool wake_sent_ = false;
  std::atomic<std::size_t> writing_{0};
  std::function<void()> wake_;
  telemetry_metrics metrics_;
};

using telemetry_buffer_ptr = std::shared_ptr<telemetry_buffer>;

/// Settings of the writer and of partition maintenance.
struct telemetry_settings {
  runtime::pg_settings db;
  std::int64_t flush_ms = 100;
  std::size_t batch_rows = 5000;
  std::int64_t retention_days = 30;
  std::int64_t partitions_ahead = 3;
  std::int64_t maintenance_s = 3600;
};

/// Telemetry writer (run detached: it blocks on PostgreSQL). Every `flush_ms` it writes the rows waiting at
/// that moment, and in between it writes whenever a full batch (`batch_rows`) waits; each batch is one
/// transaction: COPY into a temporary table, then
/// one INSERT ... ON CONFLICT DO NOTHING into telemetry.samples (a resent frame is stored once). After the
/// commit it tells each acknowledged connection the newest seq committed. A batch that fails because the
/// database is unavailable is kept and retried (after the connection's backoff) before anything newer, so
/// commits stay in arrival order. A batch the database refuses for its content is split in halves, each its
/// own transaction, down to the single rows it refuses: those are dropped (counted, logged once per batch,
/// and told to their acknowledged connection before any ack past them), every other row is stored.
/// Accepts:
///   (tick_atom)             timer
///   (check_atom)            from the buffer: a full batch waits
///   (flush_atom) -> bool    write everything buffered now (true when the buffer is empty afterwards)
writer_actor::behavior_type telemetry_writer(writer_actor::pointer self, telemetry_buffer_ptr buffer,
                                             telemetry_settings s, telemetry_metrics metrics,
                                             runtime::dependency_health* health);

/// Partition maintenance (run detached). At start and every `maintenance_s`: creates the daily partitions
/// from yesterday to `partitions_ahead` days ahead (moving rows that waited in the default partition),
/// drops partitions older than `retention_days`, and deletes expired rows from the default partition.
/// Serialized across nodes by an advisory lock.
/// Accepts:
///   (tick_atom)            timer
///   (flush_atom) -> bool   run now (tests)
maintenance_actor::behavior_type telemetry_maintenance(maintenance_actor::pointer self, telemetry_settings s,
                                                       telemetry_metrics metrics);

/// The partition of telemetry.samples that holds UTC day `day` (days since 1970-01-01): samples_YYYYMMDD.
std::string partition_name(std::int64_t day);

} // namespace dccs::actors
