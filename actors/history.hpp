#pragma once
/// Telemetry history over REST: raw samples (JSON or CSV), per-bucket aggregates and a GeoJSON track of one
/// drone over a time range, read from telemetry.samples (docs/protocol.md, "Telemetry history").
/// history_query.cpp parses (query strings, times, cursors; no database), history.cpp answers.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "actors/actors.hpp"
#include "runtime/pg.hpp"
#include "runtime/query_text.hpp"

namespace dccs::actors {

namespace history {

/// The secrets that sign and check cursors, newest first: the first signs, every one is accepted. A node derives
/// them from its signing keys (auth::key_ring::derive_secrets(cursor_key_label)), so every node with the same key
/// files accepts the cursors of the others, across restarts and through a key rotation, while a cursor from a
/// node with other keys (or signed by a key since removed) is refused as not a cursor of the query.
using cursor_keys = std::vector<std::string>;

/// The label of the secret derived from a signing key for cursors.
constexpr const char* cursor_key_label = "dccs history cursor v1";

} // namespace history

/// Telemetry history queries (run detached: it blocks on PostgreSQL). Accepts
///   (history_atom, http_query) -> api_result (JSON, CSV or GeoJSON), or an api_error
/// for kind "telemetry" (GET /api/v1/drones/{id}/telemetry) and kind "track" (GET .../track). A bad query
/// parameter is a 400 naming it; an unavailable database a 503. `max_rows` caps `limit` and track points.
/// Cursors are signed with `keys` (with none, a random key: cursors then die with the actor).
history_actor::behavior_type history_impl(history_actor::pointer self, runtime::pg_settings db,
                                          std::int64_t max_rows, history::cursor_keys keys);

namespace history {

// Query strings and times are read by runtime/query_text.hpp (the audit log reads its queries the same way).
using runtime::format_time;
using runtime::parameter_error;
using runtime::parse_integer;
using runtime::parse_query;
using runtime::parse_time;
using runtime::sql_time;

/// Seconds of a bucket width (10s, 1m, 5m, 1h, 1d: an integer and one of s, m, h, d), within 1 s..1 day.
std::optional<std::int64_t> parse_bucket(const std::string& s);

/// Where the next page starts: after the row (time, seq), or (buckets) at the bucket after `time`.
struct cursor {
  char kind = 'r'; ///< 'r' raw rows, 'b' buckets
  std::int64_t time_us = 0;
  std::int64_t second = 0; ///< seq of the last row, or the bucket width in seconds
};

/// The checked parameters of one query.
struct parameters {
  std::int64_t from_us = 0;
  std::int64_t to_us = 0;
  bool from_given = false; ///< `from` was in the query (else to − 1 hour)
  bool to_given = false;   ///< `to` was in the query (else now)
  std::int64_t limit = 0;
  std::optional<std::int64_t> bucket_s;
  std::string bucket_text;
  std::optional<cursor> after;
  bool csv = false;
};

/// Parses and checks the parameters of `q` (kind "track" takes `from` and `to` only), the cursor included:
/// it must carry a valid MAC under one of `keys` for this query — the drone, `from` and `to` as given (a value, or
/// absent) and the bucket width. `limit` and `format` are not part of it (a client may change the page size or
/// ask the next page as CSV). Throws parameter_error naming the first bad parameter. Touches no database.
parameters parse_parameters(const http_query& q, std::int64_t max_rows, const cursor_keys& keys);

/// The text of cursor `c` for the query (`drone_id`, `p`), signed with `key`:
/// sign_cursor("<kind>2:<time us>:<seq or bucket seconds>", ...).
std::string encode_cursor(const cursor& c, std::string_view drone_id, const parameters& p, std::string_view key);

/// A cursor's text from its readable part: base64url(`payload`) "." base64url(the first 16 bytes of HMAC-SHA256,
/// under `key`, over the payload and the query: drone, from and to as given, bucket width). parse_parameters
/// checks the MAC before it reads the payload (the fuzz target signs arbitrary payloads with it to get past).
std::string sign_cursor(std::string_view payload, std::string_view drone_id, const parameters& p,
                        std::string_view key);

/// The answer to one query, without touching a database when the parameters are refused (tests).
caf::expected<api_result> answer(runtime::pg_link& link, const http_query& q, std::int64_t max_rows, const cursor_keys& keys);

} // namespace history

} // namespace dccs::actors
