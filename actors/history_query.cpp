#include "actors/history.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <utility>

#include "auth/base64url.hpp"
#include "runtime/clock.hpp"
#include "runtime/query_text.hpp"
#include "runtime/secret.hpp"
#include "runtime/text.hpp"

// The parsing half of the history API: query strings, times, bucket widths, signed cursors and the checked
// parameters of a query. Nothing here touches a database (tests/fuzz/query_fuzz.cpp builds on this file alone).

namespace dccs::actors {

namespace history {

namespace {

using runtime::max_time_us;
using runtime::min_time_us;
constexpr std::int64_t us_per_ms = 1000;
constexpr std::int64_t us_per_s = 1000000;
constexpr std::int64_t us_per_day = 86400 * us_per_s;
constexpr std::int64_t max_range_us = 31 * us_per_day;
constexpr std::int64_t default_range_us = 3600 * us_per_s;

// -- cursors --------------------------------------------------------------------------------------------

// Cursor texts are unpadded base64url (canonical: auth/base64url.hpp refuses texts with stray trailing bits).
using auth::base64url_decode;
using auth::base64url_encode;

bool parse_int(std::string_view s, std::int64_t& out) {
  auto v = runtime::parse_integer(s);
  if (!v)
    return false;
  out = *v;
  return true;
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
  auto payload = base64url_decode(text.substr(0, dot));
  auto mac = base64url_decode(text.substr(dot + 1));
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
  return base64url_encode(payload) + "." + base64url_encode(cursor_mac(key, payload, drone_id, p));
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
