#include "runtime/pg.hpp"

#include <algorithm>
#include <random>

#include <pqxx/pqxx>

#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/migrate.hpp"

namespace dccs::runtime {

const char* to_string(db_errc e) {
  switch (e) {
    case db_errc::unavailable: return "unavailable";
    case db_errc::conflict: return "conflict";
    case db_errc::invalid: return "invalid";
    case db_errc::failed: return "failed";
    case db_errc::disabled: return "disabled";
  }
  return "failed";
}

const char* dependency_health::name() const {
  switch (state.load()) {
    case disabled: return "disabled";
    case up: return "up";
    case down: return "down";
    default: return "connecting";
  }
}

void dependency_health::set(state_t s) {
  if (state.exchange(s) != s)
    since_ms = static_cast<std::int64_t>(wall_ms());
}

std::string node_health::json() const {
  std::string out = "{\"postgres.fleet\":\"";
  out += fleet_db.name();
  out += "\",\"postgres.telemetry\":\"";
  out += telemetry_db.name();
  out += "\",\"redis\":\"";
  out += redis.name();
  out += "\"}";
  return out;
}

bool node_health::starting() const {
  auto unknown = [](const dependency_health& d) { return d.state.load() == dependency_health::connecting; };
  return unknown(fleet_db) || unknown(telemetry_db) || unknown(redis);
}

bool node_health::degraded() const {
  auto bad = [](const dependency_health& d) { return d.state.load() == dependency_health::down; };
  return bad(fleet_db) || bad(telemetry_db) || bad(redis);
}

pg_link::pg_link(pg_settings settings, dependency_health* health)
  : settings_(std::move(settings)), health_(health) {
}

pg_link::~pg_link() = default;

std::int64_t pg_link::retry_in_ms() const {
  return conn_ ? 0 : std::max<std::int64_t>(0, next_attempt_ms_ - mono_ms());
}

std::string with_connect_timeout(const std::string& url, int seconds) {
  if (seconds <= 0 || url.find("connect_timeout") != std::string::npos)
    return url;
  auto param = "connect_timeout=" + std::to_string(seconds);
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0)
    return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
  return url.empty() ? param : url + " " + param;
}

pqxx::connection& pg_link::get() {
  if (conn_)
    return *conn_;
  auto now = mono_ms();
  if (now < next_attempt_ms_)
    throw db_error(db_errc::unavailable, "PostgreSQL (" + settings_.role + ") is unavailable");
  try {
    auto conn = std::make_unique<pqxx::connection>(with_connect_timeout(settings_.url, settings_.connect_timeout_s));
    auto result = migrate(*conn, settings_.role);
    if (!result.applied.empty())
      log::info("db", "schema migrated",
                {{"role", settings_.role}, {"from", result.from_version}, {"to", result.to_version}});
    conn_ = std::move(conn);
    ++generation_;
    delay_ms_ = 0;
    if (health_)
      health_->set(dependency_health::up);
    if (logged_down_)
      log::info("db", "PostgreSQL is back", {{"role", settings_.role}});
    logged_down_ = false;
    return *conn_;
  } catch (const std::exception& e) {
    // libpq's messages name host and port, never the password.
    std::string what = e.what();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' '))
      what.pop_back();
    static thread_local std::minstd_rand rng{std::random_device{}()};
    auto min = settings_.retry_min.count();
    auto max = std::max<std::int64_t>(min, settings_.retry_max.count());
    delay_ms_ = delay_ms_ == 0 ? min : std::min<std::int64_t>(max, delay_ms_ * 2);
    auto jitter = static_cast<std::int64_t>(rng() % static_cast<unsigned>(delay_ms_ / 4 + 1));
    next_attempt_ms_ = now + delay_ms_ + jitter;
    if (health_)
      health_->set(dependency_health::down);
    if (!logged_down_ || delay_ms_ >= max)
      log::warn("db", "cannot connect to PostgreSQL, retrying",
                {{"role", settings_.role}, {"error", what}, {"retry_ms", delay_ms_ + jitter}});
    logged_down_ = true;
    throw db_error(db_errc::unavailable, "PostgreSQL (" + settings_.role + ") is unavailable: " + what);
  }
}

void pg_link::drop(const std::string& why) {
  if (!conn_)
    return;
  conn_.reset();
  if (health_)
    health_->set(dependency_health::down);
  log::warn("db", "PostgreSQL connection lost", {{"role", settings_.role}, {"error", why}});
  logged_down_ = true;
  delay_ms_ = 0;
  next_attempt_ms_ = 0; // the first reconnect is immediate
}

std::int64_t pg_link::now_ms() {
  return mono_ms();
}

bool pg_link::lost_before_commit(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const pqxx::in_doubt_error&) {
    return false;
  } catch (const pqxx::broken_connection& x) {
    drop(x.what());
    return true;
  } catch (const pqxx::sql_error& x) {
    // The server ended the session (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now) or
    // the connection failed (class 08).
    auto state = x.sqlstate();
    if (state.rfind("57P0", 0) == 0 || state.rfind("08", 0) == 0 || (conn_ && !conn_->is_open())) {
      drop(x.what());
      return true;
    }
    return false;
  } catch (...) {
    return false;
  }
}

bool pg_link::probe(std::int64_t idle_ms) {
  try {
    bool fresh = !conn_;
    if (!fresh && mono_ms() - last_used_ms_ < idle_ms)
      return true;
    run([&](pqxx::connection& conn) {
      if (!fresh) {
        pqxx::nontransaction tx{conn};
        tx.exec("SELECT 1");
      }
      return 0;
    });
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

void pg_link::rethrow_typed(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const db_error&) {
    throw;
  } catch (const pqxx::broken_connection& x) {
    drop(x.what());
    throw db_error(db_errc::unavailable, "PostgreSQL (" + settings_.role + ") connection lost");
  } catch (const pqxx::in_doubt_error& x) {
    drop(x.what());
    throw db_error(db_errc::unavailable, "PostgreSQL (" + settings_.role + ") connection lost during commit");
  } catch (const pqxx::unique_violation& x) {
    throw db_error(db_errc::conflict, "already exists");
  } catch (const pqxx::foreign_key_violation& x) {
    throw db_error(db_errc::conflict, "refers to something that does not exist");
  } catch (const pqxx::check_violation& x) {
    throw db_error(db_errc::invalid, "a value is out of range");
  } catch (const pqxx::data_exception& x) {
    throw db_error(db_errc::invalid, std::string{"invalid value: "} + x.what());
  } catch (const pqxx::sql_error& x) {
    // The connection may still be broken (server shut down with a FATAL message).
    if (conn_ && !conn_->is_open())
      drop(x.what());
    auto state = x.sqlstate();
    if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0 || state == "53300") {
      drop(x.what());
      throw db_error(db_errc::unavailable, "PostgreSQL (" + settings_.role + ") is unavailable");
    }
    log::error("db", "query failed", {{"role", settings_.role}, {"sqlstate", state}, {"error", x.what()}});
    throw db_error(db_errc::failed, "database query failed");
  } catch (const std::exception& x) {
    if (conn_ && !conn_->is_open())
      drop(x.what());
    log::error("db", "database call failed", {{"role", settings_.role}, {"error", x.what()}});
    throw db_error(db_errc::failed, "database call failed");
  }
}

} // namespace dccs::runtime
