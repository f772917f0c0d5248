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

namespace dccs::runtime {

/// What went wrong with a database call, as callers (and HTTP answers) distinguish it.
enum class db_errc : std::uint8_t {
  unavailable = 1, ///< no connection (down, refused, lost mid-call): try again later (HTTP 503)
  conflict = 2,    ///< a unique or foreign key constraint refused the change (HTTP 409)
  invalid = 3,     ///< the database refused a value (check constraint, bad data) (HTTP 400)
  failed = 4,      ///< anything else (a bug or a broken schema) (HTTP 500)
  disabled = 5,    ///< storage is switched off by configuration (db.enabled = false) (HTTP 503)
};

const char* to_string(db_errc e);

/// A database failure with its kind. `what()` is a message fit for a log line and an API answer: it names
/// the problem, never the connection string.
class db_error : public std::runtime_error {
public:
  db_error(db_errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  db_errc code() const { return code_; }

private:
  db_errc code_;
};

/// Health of one dependency, written by the worker that uses it, read by /readyz and /metrics.
struct dependency_health {
  enum state_t : int { disabled = 0, up = 1, down = 2, connecting = 3 };
  std::atomic<int> state{connecting};
  std::atomic<std::int64_t> since_ms{0}; ///< wall clock of the last change
  const char* name() const;
  void set(state_t s);
};

/// Health of every dependency of the node (owned by the node, shared by its workers).
struct node_health {
  dependency_health fleet_db;
  dependency_health telemetry_db;
  dependency_health redis;
  /// {"postgres.fleet":"up",...}, as /readyz shows it.
  std::string json() const;
  /// True when something the node is configured to use is down.
  bool degraded() const;
  /// True while a dependency the node is configured to use has not been reached or refused yet (first contact).
  bool starting() const;
};

/// Settings of one role's connection.
struct pg_settings {
  std::string role; ///< fleet, telemetry or auth: the migrations applied on connect
  std::string url;  ///< libpq connection string (empty: libpq defaults and PG* variables)
  std::chrono::milliseconds retry_min{250};
  std::chrono::milliseconds retry_max{10000};
  int connect_timeout_s = 5; ///< libpq connect_timeout: a server that does not answer costs this, not forever
};

/// `url` with libpq's connect_timeout set to `seconds` (URI or key=value form), unless it sets one itself or
/// `seconds` is 0.
std::string with_connect_timeout(const std::string& url, int seconds);

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
