#include "actors/history.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <utility>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "actors/drone_json.hpp"
#include "actors/api_errors.hpp"
#include "runtime/secret.hpp"

namespace dccs::actors {

namespace history {

namespace {

constexpr std::int64_t us_per_ms = 1000;
constexpr std::int64_t us_per_s = 1000000;

const char* const csv_type = "text/csv; charset=utf-8";
const char* const geojson_type = "application/geo+json";

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// -- answers --------------------------------------------------------------------------------------------

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_ms(std::string& out, std::int64_t us) {
  append_int(out, floor_div(us, us_per_ms));
}

void append_time_string(std::string& out, std::int64_t us) {
  out += '"';
  out += format_time(us);
  out += '"';
}

void append_csv_text(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
}

/// Appends `,"name":value` (JSON) or `,value` (CSV) for a nullable double; NULL is omitted in JSON and an
/// empty field in CSV.
void append_field(std::string& out, bool csv, const char* name, const pqxx::field& f, bool is_int = false) {
  if (csv) {
    out += ',';
    if (f.is_null())
      return;
  } else {
    if (f.is_null())
      return;
    out += ",\"";
    out += name;
    out += "\":";
  }
  if (is_int)
    append_int(out, f.as<std::int64_t>());
  else
    append_json_number(out, f.as<double>());
}

constexpr const char* raw_columns =
  "SELECT (extract(epoch FROM time) * 1000000)::int8, seq, (extract(epoch FROM received) * 1000000)::int8, lat, lon,"
  " alt, heading, speed, vspeed, battery, armed, mode, roll, pitch, yaw, voltage, sats, fix"
  " FROM telemetry.samples WHERE drone_id = $1 AND time >= $2::timestamptz AND time < $3::timestamptz";

constexpr const char* raw_order = " ORDER BY time, seq LIMIT $4";

constexpr const char* bucket_query_head =
  // Averages rounded (positions to 1e-7 degrees, about a centimetre; the rest to a thousandth), so that a bucket of
  // 0.1 and 0.3 says 0.2 and not 0.20000000000000007.
  "SELECT (extract(epoch FROM b) * 1000000)::int8, count(*), round(avg(lat)::numeric, 7)::float8,"
  " round(avg(lon)::numeric, 7)::float8, round(avg(alt)::numeric, 3)::float8, round(avg(speed)::numeric, 3)::float8,"
  " round(avg(vspeed)::numeric, 3)::float8, round(avg(battery)::numeric, 3)::float8,"
  " round(avg(voltage)::numeric, 3)::float8, min(battery), max(alt)"
  " FROM (SELECT date_bin($4::int8 * interval '1 second', time, timestamptz 'epoch') AS b, lat, lon, alt, speed,"
  " vspeed, battery, voltage FROM telemetry.samples"
  " WHERE drone_id = $1 AND time >= $2::timestamptz AND time < $3::timestamptz";

constexpr const char* bucket_query_tail = ") s GROUP BY b ORDER BY b LIMIT $5";

constexpr const char* track_query =
  "SELECT t_us, lon, lat, alt, n FROM ("
  " SELECT (extract(epoch FROM time) * 1000000)::int8 AS t_us, lon, lat, alt,"
  " row_number() OVER (ORDER BY time, seq) - 1 AS rn, count(*) OVER () AS n FROM telemetry.samples"
  " WHERE drone_id = $1 AND time >= $2::timestamptz AND time < $3::timestamptz) s"
  " WHERE n <= $4 OR rn = 0"
  " OR (rn * ($4 - 1)) / NULLIF(n - 1, 0) <> ((rn - 1) * ($4 - 1)) / NULLIF(n - 1, 0)"
  " ORDER BY rn";

/// Runs `f(tx)` in a read-only transaction bounded by a statement timeout.
template <class F>
auto read(runtime::pg_link& link, F&& f) {
  return link.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    tx.exec0("SET LOCAL statement_timeout = 30000");
    return f(tx);
  });
}

void append_head(std::string& out, const http_query& q, const parameters& p) {
  out += "{\"drone_id\":";
  append_json_string(out, q.id);
  out += ",\"from\":";
  append_time_string(out, p.from_us);
  out += ",\"to\":";
  append_time_string(out, p.to_us);
}

void append_cursor(std::string& out, const std::optional<cursor>& next, const http_query& q, const parameters& p,
                   const cursor_keys& keys) {
  out += "],\"next_cursor\":";
  if (next) {
    out += '"';
    out += encode_cursor(*next, q.id, p, keys.front());
    out += '"';
  } else {
    out += "null";
  }
  out += '}';
}

api_result raw_rows(runtime::pg_link& link, const http_query& q, const parameters& p, const cursor_keys& keys) {
  auto result = read(link, [&](pqxx::transaction_base& tx) {
    if (p.after)
      return tx.exec_params(std::string{raw_columns} + " AND (time, seq) > ($5::timestamptz, $6::int8)" + raw_order,
                            q.id, sql_time(p.from_us), sql_time(p.to_us), p.limit + 1, sql_time(p.after->time_us),
                            p.after->second);
    return tx.exec_params(std::string{raw_columns} + raw_order, q.id, sql_time(p.from_us), sql_time(p.to_us),
                          p.limit + 1);
  });
  auto n = std::min<std::size_t>(result.size(), static_cast<std::size_t>(p.limit));
  std::optional<cursor> next;
  if (result.size() > n)
    next = cursor{'r', result[n - 1][0].as<std::int64_t>(), result[n - 1][1].as<std::int64_t>()};
  api_result a;
  auto& out = a.body;
  out.reserve(64 + n * 300);
  if (p.csv) {
    a.content_type = csv_type;
    out += "time,ts,seq,received,lat,lon,alt,heading,speed,vspeed,battery,armed,mode,roll,pitch,yaw,voltage,sats,"
           "fix\r\n";
  } else {
    append_head(out, q, p);
    out += ",\"rows\":[";
  }
  static constexpr const char* numbers[] = {"lat", "lon", "alt", "heading", "speed", "vspeed", "battery"};
  for (std::size_t i = 0; i < n; ++i) {
    const auto& row = result[i];
    auto t = row[0].as<std::int64_t>();
    auto received = row[2].as<std::int64_t>();
    auto armed = row[10].as<bool>();
    auto mode = row[11].as<std::string>();
    if (p.csv) {
      out += format_time(t);
      out += ',';
      append_ms(out, t);
      out += ',';
      append_int(out, row[1].as<std::int64_t>());
      out += ',';
      out += format_time(received);
      for (int k = 0; k < 7; ++k)
        append_field(out, true, numbers[k], row[3 + k]);
      out += armed ? ",true," : ",false,";
      append_csv_text(out, mode);
    } else {
      if (i > 0)
        out += ',';
      out += "{\"time\":";
      append_time_string(out, t);
      out += ",\"ts\":";
      append_ms(out, t);
      out += ",\"seq\":";
      append_int(out, row[1].as<std::int64_t>());
      out += ",\"received\":";
      append_time_string(out, received);
      for (int k = 0; k < 7; ++k)
        append_field(out, false, numbers[k], row[3 + k]);
      out += armed ? ",\"armed\":true,\"mode\":" : ",\"armed\":false,\"mode\":";
      append_json_string(out, mode);
    }
    append_field(out, p.csv, "roll", row[12]);
    append_field(out, p.csv, "pitch", row[13]);
    append_field(out, p.csv, "yaw", row[14]);
    append_field(out, p.csv, "voltage", row[15]);
    append_field(out, p.csv, "sats", row[16], true);
    append_field(out, p.csv, "fix", row[17], true);
    out += p.csv ? "\r\n" : "}";
  }
  if (!p.csv)
    append_cursor(out, next, q, p, keys);
  return a;
}

api_result bucket_rows(runtime::pg_link& link, const http_query& q, const parameters& p, const cursor_keys& keys) {
  auto width_s = *p.bucket_s;
  auto result = read(link, [&](pqxx::transaction_base& tx) {
    if (p.after) // the bucket after the cursor's starts at cursor + width (buckets are aligned to the epoch)
      return tx.exec_params(std::string{bucket_query_head} + " AND time >= $6::timestamptz" + bucket_query_tail,
                            q.id, sql_time(p.from_us), sql_time(p.to_us), width_s, p.limit + 1,
                            sql_time(p.after->time_us + width_s * us_per_s));
    return tx.exec_params(std::string{bucket_query_head} + bucket_query_tail, q.id, sql_time(p.from_us),
                          sql_time(p.to_us), width_s, p.limit + 1);
  });
  auto n = std::min<std::size_t>(result.size(), static_cast<std::size_t>(p.limit));
  std::optional<cursor> next;
  if (result.size() > n)
    next = cursor{'b', result[n - 1][0].as<std::int64_t>(), width_s};
  static constexpr const char* names[] = {"lat",     "lon",     "alt",         "speed",  "vspeed",
                                          "battery", "voltage", "battery_min", "alt_max"};
  api_result a;
  auto& out = a.body;
  if (p.csv) {
    a.content_type = csv_type;
    out += "time,ts,count";
    for (auto name : names) {
      out += ',';
      out += name;
    }
    out += "\r\n";
  } else {
    append_head(out, q, p);
    out += ",\"bucket\":";
    append_json_string(out, p.bucket_text);
    out += ",\"rows\":[";
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& row = result[i];
    auto t = row[0].as<std::int64_t>();
    if (p.csv) {
      out += format_time(t);
      out += ',';
      append_ms(out, t);
      out += ',';
    } else {
      if (i > 0)
        out += ',';
      out += "{\"time\":";
      append_time_string(out, t);
      out += ",\"ts\":";
      append_ms(out, t);
      out += ",\"count\":";
    }
    append_int(out, row[1].as<std::int64_t>());
    for (int k = 0; k < 9; ++k)
      append_field(out, p.csv, names[k], row[2 + k]);
    out += p.csv ? "\r\n" : "}";
  }
  if (!p.csv)
    append_cursor(out, next, q, p, keys);
  return a;
}

api_result track(runtime::pg_link& link, const http_query& q, const parameters& p, std::int64_t max_rows) {
  auto result = read(link, [&](pqxx::transaction_base& tx) {
    return tx.exec_params(track_query, q.id, sql_time(p.from_us), sql_time(p.to_us), max_rows);
  });
  std::int64_t total = result.empty() ? 0 : result[0][4].as<std::int64_t>();
  api_result a;
  a.content_type = geojson_type;
  auto& out = a.body;
  out.reserve(256 + result.size() * 80);
  // RFC 7946: a LineString has two or more positions; one point is a Point, none a null geometry.
  out += "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":";
  auto position = [&](const pqxx::row& row) {
    out += '[';
    append_json_number(out, row[1].as<double>());
    out += ',';
    append_json_number(out, row[2].as<double>());
    out += ',';
    append_json_number(out, row[3].as<double>());
    out += ']';
  };
  if (result.empty()) {
    out += "null";
  } else if (result.size() == 1) {
    out += "{\"type\":\"Point\",\"coordinates\":";
    position(result[0]);
    out += '}';
  } else {
    out += "{\"type\":\"LineString\",\"coordinates\":[";
    for (std::size_t i = 0; i < result.size(); ++i) {
      if (i > 0)
        out += ',';
      position(result[i]);
    }
    out += "]}";
  }
  out += ",\"properties\":";
  append_head(out, q, p);
  out += ",\"points\":";
  append_int(out, static_cast<std::int64_t>(result.size()));
  out += ",\"samples\":";
  append_int(out, total);
  out += ",\"sampled\":";
  out += total > static_cast<std::int64_t>(result.size()) ? "true" : "false";
  out += ",\"times\":[";
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (i > 0)
      out += ',';
    append_ms(out, result[i][0].as<std::int64_t>());
  }
  out += "]}}]}";
  return a;
}

} // namespace

caf::expected<api_result> answer(runtime::pg_link& link, const http_query& q, std::int64_t max_rows,
                                 const cursor_keys& keys) {
  if (q.kind != "telemetry" && q.kind != "track")
    return api_error(errc::not_found, "not_found", "no history resource " + q.kind);
  try {
    auto p = parse_parameters(q, max_rows, keys);
    if (q.kind == "track")
      return track(link, q, p, max_rows);
    return p.bucket_s ? bucket_rows(link, q, p, keys) : raw_rows(link, q, p, keys);
  } catch (const parameter_error& e) {
    return api_error(errc::invalid_request, "invalid_parameter", e.what(), "parameter", e.parameter);
  } catch (const runtime::db_error& e) {
    return db_failure(e);
  }
}

} // namespace history

history_actor::behavior_type history_impl(history_actor::pointer self, runtime::pg_settings db,
                                          std::int64_t max_rows, history::cursor_keys keys) {
  auto link = std::make_shared<runtime::pg_link>(std::move(db));
  max_rows = std::max<std::int64_t>(1, max_rows);
  if (keys.empty())
    keys.push_back(runtime::random_token(32));
  auto shared_keys = std::make_shared<const history::cursor_keys>(std::move(keys));
  (void)self;
  return {
    [link, max_rows, shared_keys](history_atom, const http_query& q) -> caf::result<api_result> {
      return history::answer(*link, q, max_rows, *shared_keys);
    },
  };
}

} // namespace dccs::actors
