#include "actors/history.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "actors/drone_json.hpp"
#include "actors/http_errors.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/secret.hpp"

namespace dccs::actors {

namespace history {

namespace {

constexpr std::int64_t us_per_ms = 1000;
constexpr std::int64_t us_per_s = 1000000;
constexpr std::int64_t us_per_day = 86400 * us_per_s;
constexpr std::int64_t max_range_us = 31 * us_per_day;
constexpr std::int64_t default_range_us = 3600 * us_per_s;
/// Accepted times: 0001-01-01T00:00:00Z up to 9999-12-31T23:59:59.999999Z.
constexpr std::int64_t min_time_us = -62135596800LL * us_per_s;
constexpr std::int64_t max_time_us = 253402300800LL * us_per_s - 1;

const char* const json_type = "application/json";
const char* const csv_type = "text/csv; charset=utf-8";
const char* const geojson_type = "application/geo+json";


// -- calendar (Howard Hinnant's days_from_civil / civil_from_days) --------------------------------------

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  auto era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  auto mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct civil_time {
  std::int64_t year;
  unsigned month, day, hour, minute, second;
  std::int64_t micros; ///< 0..999999
};

civil_time to_civil(std::int64_t us) {
  auto days = floor_div(us, us_per_day);
  auto rest = us - days * us_per_day;
  civil_time c{};
  civil_from_days(days, c.year, c.month, c.day);
  auto secs = rest / us_per_s;
  c.micros = rest % us_per_s;
  c.hour = static_cast<unsigned>(secs / 3600);
  c.minute = static_cast<unsigned>(secs / 60 % 60);
  c.second = static_cast<unsigned>(secs % 60);
  return c;
}

/// A timestamptz literal PostgreSQL parses the same whatever the session's TimeZone and DateStyle.
std::string sql_time(std::int64_t us) {
  auto c = to_civil(us);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02u:%02u:%02u.%06lld+00", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute, c.second, static_cast<long long>(c.micros));
  return buf;
}

// -- query string ---------------------------------------------------------------------------------------

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Percent-decodes `s` ('+' is a space, as in a form). Nothing when an escape is broken.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      auto hi = hex_value(s[i + 1]);
      auto lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/// UTF-8 text without NUL: what a UTF-8 PostgreSQL stores. (A local copy until runtime::valid_text, written
/// alongside for the frame parser, is on main: then use that one.)
bool valid_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0)
        return false;
      ++i;
      continue;
    }
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF; // the second byte's range
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      lo = c == 0xE0 ? 0xA0 : 0x80; // overlong
      hi = c == 0xED ? 0x9F : 0xBF; // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      lo = c == 0xF0 ? 0x90 : 0x80; // overlong
      hi = c == 0xF4 ? 0x8F : 0xBF; // past U+10FFFF
    } else {
      return false;
    }
    if (i + n >= s.size())
      return false;
    auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < lo || second > hi)
      return false;
    for (std::size_t k = 2; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
        return false;
    i += n + 1;
  }
  return true;
}

/// `s` with every byte outside printable ASCII percent-encoded: a name that can be quoted in an error.
std::string printable(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

// -- cursors --------------------------------------------------------------------------------------------

constexpr const char* b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    auto v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8)
             | static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6)
      out += b64_alphabet[(v >> k) & 63];
  }
  auto rest = in.size() - i;
  if (rest == 1) {
    auto v = static_cast<unsigned char>(in[i]) << 16;
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    auto v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  if (in.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    int x;
    if (c >= 'A' && c <= 'Z')
      x = c - 'A';
    else if (c >= 'a' && c <= 'z')
      x = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      x = c - '0' + 52;
    else if (c == '-')
      x = 62;
    else if (c == '_')
      x = 63;
    else
      return std::nullopt;
    v = (v << 6) | static_cast<unsigned>(x);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xff);
    }
  }
  if (base64url(out) != in) // non-canonical trailing bits
    return std::nullopt;
  return out;
}

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty())
    return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc{} && res.ptr == s.data() + s.size();
}

constexpr std::size_t cursor_mac_bytes = 16;

/// What a cursor's MAC covers: the cursor's text and the query it belongs to, each field length-prefixed.
std::string cursor_message(std::string_view payload, std::string_view drone_id, const parameters& p) {
  std::string m = "dccs-cursor";
  auto field = [&m](std::string_view v) {
    m += '|';
    m += std::to_string(v.size());
    m += ':';
    m += v;
  };
  field(payload);
  field(drone_id);
  field(p.from_given ? std::to_string(p.from_us) : "-");
  field(p.to_given ? std::to_string(p.to_us) : "-");
  field(p.bucket_s ? std::to_string(*p.bucket_s) : "-");
  return m;
}

std::string cursor_mac(std::string_view key, std::string_view payload, std::string_view drone_id,
                       const parameters& p) {
  return runtime::hmac_sha256(key, cursor_message(payload, drone_id, p)).substr(0, cursor_mac_bytes);
}

/// The cursor in `text` when it is one this node made for this query (drone, from, to, bucket).
std::optional<cursor> decode_cursor(std::string_view text, std::string_view drone_id, const parameters& p,
                                    const cursor_keys& keys) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto payload = unbase64url(text.substr(0, dot));
  auto mac = unbase64url(text.substr(dot + 1));
  if (!payload || !mac || mac->size() != cursor_mac_bytes)
    return std::nullopt;
  bool signed_here = false;
  for (auto& key : keys)
    signed_here = runtime::equal_constant_time(cursor_mac(key, *payload, drone_id, p), *mac) || signed_here;
  if (!signed_here)
    return std::nullopt;
  // Made by a node with our keys: still checked, as any input is.
  auto& s = *payload;
  if (s.size() < 3 || (s[0] != 'r' && s[0] != 'b') || s[1] != '2' || s[2] != ':')
    return std::nullopt;
  std::string_view body{s};
  body.remove_prefix(3);
  auto colon = body.find(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  cursor c;
  c.kind = s[0];
  if (!parse_int(body.substr(0, colon), c.time_us) || !parse_int(body.substr(colon + 1), c.second))
    return std::nullopt;
  if (c.time_us < min_time_us || c.time_us > max_time_us || c.second < 0)
    return std::nullopt;
  return c;
}

// -- parameters -----------------------------------------------------------------------------------------

bool accepts_csv(const std::string& accept) {
  auto lower = accept;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("text/csv") != std::string::npos && lower.find("application/json") == std::string::npos;
}

parameters parse_request(const http_query& q, std::int64_t max_rows, const cursor_keys& keys) {
  bool track = q.kind == "track";
  auto args = parse_query(q.query);
  for (auto& [k, v] : args) {
    bool known = k == "from" || k == "to"
                 || (!track && (k == "limit" || k == "cursor" || k == "bucket" || k == "format"));
    if (!known)
      throw parameter_error(k, "unknown parameter " + k);
  }
  auto get = [&](const char* name) -> const std::string* {
    auto i = args.find(name);
    return i == args.end() ? nullptr : &i->second;
  };
  auto time_of = [&](const char* name) {
    auto t = parse_time(*get(name));
    if (!t)
      throw parameter_error(name, std::string{"parameter "} + name
                                    + " must be an RFC 3339 time (2026-11-26T10:00:00Z) or milliseconds since "
                                      "the epoch");
    return *t;
  };
  parameters p;
  p.to_given = get("to") != nullptr;
  p.from_given = get("from") != nullptr;
  p.to_us = p.to_given ? time_of("to") : static_cast<std::int64_t>(runtime::wall_ms()) * us_per_ms;
  p.from_us = p.from_given ? time_of("from") : p.to_us - default_range_us;
  if (p.from_us >= p.to_us)
    throw parameter_error("from", "parameter from must be before to");
  if (p.to_us - p.from_us > max_range_us)
    throw parameter_error("from", "parameter from: the range from..to is longer than 31 days");
  p.limit = std::min<std::int64_t>(1000, max_rows);
  if (auto v = get("limit")) {
    std::int64_t n = 0;
    if (!parse_int(*v, n) || n < 1)
      throw parameter_error("limit", "parameter limit must be an integer from 1 to " + std::to_string(max_rows));
    p.limit = std::min(n, max_rows);
  }
  if (auto v = get("bucket")) {
    p.bucket_s = parse_bucket(*v);
    if (!p.bucket_s)
      throw parameter_error("bucket", "parameter bucket must be a width from 1s to 1d, such as 10s, 5m, 1h or 1d");
    p.bucket_text = *v;
  }
  if (auto v = get("cursor")) {
    p.after = decode_cursor(*v, q.id, p, keys);
    bool fits = p.after && (p.bucket_s ? p.after->kind == 'b' && p.after->second == *p.bucket_s
                                       : p.after->kind == 'r');
    if (!fits)
      throw parameter_error("cursor", "parameter cursor is not a cursor of this query (pass next_cursor as is, "
                                      "with the same drone, from, to and bucket)");
  }
  p.csv = accepts_csv(q.accept);
  if (auto v = get("format")) {
    if (*v == "csv")
      p.csv = true;
    else if (*v == "json")
      p.csv = false;
    else
      throw parameter_error("format", "parameter format must be json or csv");
  }
  return p;
}

// -- answers --------------------------------------------------------------------------------------------

http_answer error_answer(std::uint16_t status, const char* code, const std::string& message,
                         const std::string* parameter = nullptr) {
  http_answer a;
  a.status = status;
  a.content_type = json_type;
  a.body = "{\"error\":{\"code\":";
  append_json_string(a.body, code);
  a.body += ",\"message\":";
  append_json_string(a.body, message);
  if (parameter) {
    a.body += ",\"parameter\":";
    append_json_string(a.body, *parameter);
  }
  a.body += "}}";
  return a;
}

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
  "SELECT (extract(epoch FROM b) * 1000000)::int8, count(*), avg(lat), avg(lon), avg(alt), avg(speed), avg(vspeed),"
  " avg(battery), avg(voltage), min(battery), max(alt)"
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

http_answer raw_rows(runtime::pg_link& link, const http_query& q, const parameters& p, const cursor_keys& keys) {
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
  http_answer a;
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

http_answer bucket_rows(runtime::pg_link& link, const http_query& q, const parameters& p, const cursor_keys& keys) {
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
  http_answer a;
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

http_answer track(runtime::pg_link& link, const http_query& q, const parameters& p, std::int64_t max_rows) {
  auto result = read(link, [&](pqxx::transaction_base& tx) {
    return tx.exec_params(track_query, q.id, sql_time(p.from_us), sql_time(p.to_us), max_rows);
  });
  std::int64_t total = result.empty() ? 0 : result[0][4].as<std::int64_t>();
  http_answer a;
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

std::optional<std::int64_t> read_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size())
    return std::nullopt;
  std::int64_t v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

} // namespace

parameters parse_parameters(const http_query& q, std::int64_t max_rows, const cursor_keys& keys) {
  return parse_request(q, max_rows, keys);
}

std::string encode_cursor(const cursor& c, std::string_view drone_id, const parameters& p, std::string_view key) {
  std::string payload{c.kind};
  payload += "2:"; // format version 2: signed
  payload += std::to_string(c.time_us);
  payload += ':';
  payload += std::to_string(c.second);
  return sign_cursor(payload, drone_id, p, key);
}

std::string sign_cursor(std::string_view payload, std::string_view drone_id, const parameters& p,
                        std::string_view key) {
  return base64url(payload) + "." + base64url(cursor_mac(key, payload, drone_id, p));
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t v = 0;
  if (!parse_int(s, v))
    return std::nullopt;
  return v;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty())
      continue;
    auto eq = part.find('=');
    auto raw_key = part.substr(0, eq);
    auto key = percent_decode(raw_key);
    if (!key || !valid_text(*key)) {
      auto name = printable(raw_key);
      throw parameter_error(name, "parameter " + name
                                    + (key ? " is not UTF-8 text without NUL characters" : " is badly encoded"));
    }
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!value)
      throw parameter_error(*key, "parameter " + *key + " is badly encoded");
    if (!valid_text(*value))
      throw parameter_error(*key, "parameter " + *key + " must be UTF-8 text without NUL characters");
    if (!out.emplace(*key, std::move(*value)).second)
      throw parameter_error(*key, "parameter " + *key + " is given more than once");
  }
  return out;
}

std::optional<std::int64_t> parse_time(const std::string& text) {
  std::string_view s{text};
  if (s.empty())
    return std::nullopt;
  if (s.find_first_not_of("-0123456789") == std::string_view::npos) {
    std::int64_t ms = 0;
    if (!parse_int(s, ms) || ms < min_time_us / us_per_ms || ms > max_time_us / us_per_ms)
      return std::nullopt;
    return ms * us_per_ms;
  }
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto year = read_digits(s, 0, 4);
  auto month = read_digits(s, 5, 2);
  auto day = read_digits(s, 8, 2);
  auto hour = read_digits(s, 11, 2);
  auto minute = read_digits(s, 14, 2);
  auto second = read_digits(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-'
      || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (*year < 1 || *month < 1 || *month > 12 || *day < 1
      || *day > days_in_month(*year, static_cast<unsigned>(*month)) || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    std::int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) {
        micros += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9)
      return std::nullopt;
  }
  if (pos >= s.size())
    return std::nullopt;
  std::int64_t offset_s = 0;
  char sign = s[pos];
  if (sign == 'Z' || sign == 'z') {
    ++pos;
  } else if (sign == '+' || sign == '-' || sign == ' ') {
    auto oh = read_digits(s, pos + 1, 2);
    auto om = read_digits(s, pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':' || *oh > 23 || *om > 59)
      return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (sign == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;
  auto sec = *second == 60 ? 59 : *second; // a leap second: the last representable instant of its minute
  auto days = days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  auto us = ((days * 86400 + *hour * 3600 + *minute * 60 + sec) - offset_s) * us_per_s + micros;
  if (*second == 60)
    us += us_per_s - 1 - micros;
  if (us < min_time_us || us > max_time_us)
    return std::nullopt;
  return us;
}

std::string format_time(std::int64_t us) {
  auto c = to_civil(us);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%03lldZ", static_cast<long long>(c.year), c.month,
                c.day, c.hour, c.minute, c.second, static_cast<long long>(c.micros / 1000));
  return buf;
}

std::optional<std::int64_t> parse_bucket(const std::string& s) {
  if (s.size() < 2)
    return std::nullopt;
  std::int64_t n = 0;
  auto digits = std::string_view{s}.substr(0, s.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos || !parse_int(digits, n) || n > 86400)
    return std::nullopt;
  std::int64_t unit = 0;
  switch (s.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  auto seconds = n * unit;
  if (seconds < 1 || seconds > 86400)
    return std::nullopt;
  return seconds;
}

http_answer answer(runtime::pg_link& link, const http_query& q, std::int64_t max_rows, const cursor_keys& keys) {
  if (q.kind != "telemetry" && q.kind != "track")
    return error_answer(404, "not_found", "no history resource " + q.kind);
  if (q.method != "GET")
    return error_answer(405, "method_not_allowed", "history answers GET only");
  try {
    auto p = parse_request(q, max_rows, keys);
    if (q.kind == "track")
      return track(link, q, p, max_rows);
    return p.bucket_s ? bucket_rows(link, q, p, keys) : raw_rows(link, q, p, keys);
  } catch (const parameter_error& e) {
    return error_answer(400, "invalid_parameter", e.what(), &e.parameter);
  } catch (const runtime::db_error& e) {
    return db_error_answer(e);
  }
}

} // namespace history

caf::behavior history_actor(caf::event_based_actor* self, runtime::pg_settings db, std::int64_t max_rows,
                            history::cursor_keys keys) {
  auto link = std::make_shared<runtime::pg_link>(std::move(db));
  max_rows = std::max<std::int64_t>(1, max_rows);
  if (keys.empty())
    keys.push_back(runtime::random_token(32));
  auto shared_keys = std::make_shared<const history::cursor_keys>(std::move(keys));
  (void)self;
  return {
    [link, max_rows, shared_keys](history_atom, const http_query& q) -> http_answer {
      return history::answer(*link, q, max_rows, *shared_keys);
    },
  };
}

} // namespace dccs::actors
