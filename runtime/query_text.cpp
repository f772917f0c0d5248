#include "runtime/query_text.hpp"

#include <charconv>
#include <cstdio>
#include <utility>

#include "runtime/text.hpp"

namespace dccs::runtime {

namespace {

constexpr std::int64_t us_per_ms = 1000;
constexpr std::int64_t us_per_s = 1000000;
constexpr std::int64_t us_per_day = 86400 * us_per_s;

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
      auto hi = hex_digit(s[i + 1]);
      auto lo = hex_digit(s[i + 2]);
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

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty())
    return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc{} && res.ptr == s.data() + s.size();
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

} // namespace dccs::runtime
