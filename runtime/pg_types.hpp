#pragma once
/// The database types that callers of the database workers share (errors, health, settings), without libpqxx:
/// actors/actors.hpp includes this, and only the workers that talk to PostgreSQL include runtime/pg.hpp.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

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

} // namespace dccs::runtime
