#include "actors/history.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <utility>

#include "runtime/clock.hpp"
#include "runtime/secret.hpp"
#include "runtime/text.hpp"

// The parsing half of the history API: query strings, times, bucket widths, signed cursors and the checked
// parameters of a query. Nothing here touches a database (tests/fuzz/query_fuzz.cpp builds on this file alone).

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

// -- query string ---------------------------------------------------------------------------------------

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
      auto hi = runtime::hex_digit(s[i + 1]);
      auto lo = runtime::hex_digit(s[i + 2]);
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

/// A timestamptz literal PostgreSQL parses the same whatever the session's TimeZone and DateStyle.
std::string sql_time(std::int64_t us) {
  auto c = to_civil(us);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02u:%02u:%02u.%06lld+00", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute, c.second, static_cast<long long>(c.micros));
  return buf;
}

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
    if (!key || !runtime::valid_text(*key)) {
      auto name = printable(raw_key);
      throw parameter_error(name, "parameter " + name
                                    + (key ? " is not UTF-8 text without NUL characters" : " is badly encoded"));
    }
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!value)
      throw parameter_error(*key, "parameter " + *key + " is badly encoded");
    if (!runtime::valid_text(*value))
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

} // namespace history

} // namespace dccs::actors
