#pragma once
/// PostgreSQL access for the dedicated database workers: one connection per worker, re-established with
/// backoff, migrated on every (re)connect, and database failures turned into typed errors.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <pqxx/connection>

#include "runtime/pg_types.hpp"

namespace dccs::runtime {

/// One worker's connection. Blocking and not thread-safe: it belongs to one dedicated thread (a detached
/// actor). `get()` connects when there is no connection and the backoff allows, applies the role's
/// migrations, and returns the connection, or throws db_error(unavailable) at once while waiting out the
/// backoff (doubling from retry_min to retry_max, with jitter). `run()` wraps a unit of work: a lost
/// connection drops it (the next call reconnects) and every failure becomes a db_error with its kind.
class pg_link {
public:
  pg_link(pg_settings settings, dependency_health* health = nullptr);
  ~pg_link();

  pg_link(const pg_link&) = delete;
  pg_link& operator=(const pg_link&) = delete;

  pqxx::connection& get();

  /// Runs `f(conn)`; converts exceptions to db_error (dropping the connection when it broke). A connection
  /// found dead on the first try (the server restarted while this worker was idle) is re-established and `f`
  /// runs once more: nothing of a transaction that never reached its commit was kept, so the caller sees the
  /// database as it is now instead of a 503 for a connection it did not know was gone. Lost during a commit
  /// (outcome unknown) is never retried.
  template <class F>
  auto run(F&& f) -> decltype(f(std::declval<pqxx::connection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto& conn = get();
      last_used_ms_ = now_ms();
      try {
        return f(conn);
      } catch (...) {
        auto e = std::current_exception();
        if (attempt == 0 && lost_before_commit(e))
          continue;
        rethrow_typed(e);
      }
    }
  }

  /// For a worker with nothing to do: connects when there is no connection (and the backoff allows), and,
  /// when the connection has been idle for `idle_ms`, checks it with `SELECT 1`. Keeps the dependency's health
  /// true for /readyz while no work comes. Returns true when the database answered. Never throws.
  bool probe(std::int64_t idle_ms = 2000);

  bool connected() const { return conn_ != nullptr; }

  /// Counts connections made: a worker that prepares per-connection state (temporary tables, prepared
  /// statements) redoes it when this changes.
  std::uint64_t generation() const { return generation_; }

  /// Forgets the connection (after a failure seen outside `run`).
  void drop(const std::string& why);

  /// Milliseconds until the next connection attempt is allowed (0: now).
  std::int64_t retry_in_ms() const;

  const pg_settings& settings() const { return settings_; }

  /// Throws the db_error that matches the exception `e` (dropping the connection if it broke).
  [[noreturn]] void rethrow_typed(std::exception_ptr e);

private:
  pg_settings settings_;
  dependency_health* health_;
  std::unique_ptr<pqxx::connection> conn_;
  std::uint64_t generation_ = 0;
  std::int64_t next_attempt_ms_ = 0;
  std::int64_t last_used_ms_ = 0;
  static std::int64_t now_ms();
  /// True (and the connection dropped) when `e` says the connection was lost outside a commit.
  bool lost_before_commit(std::exception_ptr e);
  std::int64_t delay_ms_ = 0;
  bool logged_down_ = false;
};

} // namespace dccs::runtime
