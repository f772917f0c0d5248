#pragma once
/// Telemetry history over REST: raw samples (JSON or CSV), per-bucket aggregates and a GeoJSON track of one
/// drone over a time range, read from telemetry.samples (docs/protocol.md, "Telemetry history").

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <caf/event_based_actor.hpp>

#include "actors/messages.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// Telemetry history queries (run detached: it blocks on PostgreSQL). Accepts
///   (history_atom, http_query) -> http_answer
/// for kind "telemetry" (GET /api/v1/drones/{id}/telemetry) and kind "track" (GET .../track). A bad query
/// parameter is a 400 naming it; an unavailable database a 503. `max_rows` caps `limit` and track points.
caf::behavior history_actor(caf::event_based_actor* self, runtime::pg_settings db, std::int64_t max_rows);

namespace history {

/// A query parameter a request got wrong: answered with 400 naming it.
struct parameter_error : std::runtime_error {
  parameter_error(std::string name, const std::string& message)
    : std::runtime_error(message), parameter(std::move(name)) {}
  std::string parameter;
};

/// The parameters of a query string (without '?'), percent-decoded ('+' is a space). Throws parameter_error,
/// naming the parameter, for a broken escape or a parameter given twice.
std::map<std::string, std::string> parse_query(std::string_view query);

/// Microseconds since the epoch from an RFC 3339 timestamp (2026-11-26T10:00:00Z,
/// 2026-11-26T10:00:00.250+01:00; a space where the offset's '+' was, as an unencoded '+' arrives in a query
/// string) or from an integer of milliseconds since the epoch. Nothing when `s` is neither.
std::optional<std::int64_t> parse_time(const std::string& s);

/// RFC 3339 in UTC with millisecond precision: 2026-11-26T10:00:00.250Z (sub-millisecond digits dropped).
std::string format_time(std::int64_t us);

/// Seconds of a bucket width (10s, 1m, 5m, 1h, 1d: an integer and one of s, m, h, d), within 1 s..1 day.
std::optional<std::int64_t> parse_bucket(const std::string& s);

/// The answer to one query, without touching a database when the parameters are refused (tests).
http_answer answer(runtime::pg_link& link, const http_query& q, std::int64_t max_rows);

} // namespace history

} // namespace dccs::actors
