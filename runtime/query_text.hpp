#pragma once
/// Query strings and times as the REST API reads and writes them (history, audit log): percent-decoded
/// parameters, strict integers, RFC 3339 times in microseconds since the epoch. Plain functions, fuzzed
/// (tests/fuzz/query_fuzz.cpp).

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dccs::runtime {

/// Accepted times: 0001-01-01T00:00:00Z up to 9999-12-31T23:59:59.999999Z, in microseconds since the epoch.
constexpr std::int64_t min_time_us = -62135596800LL * 1000000;
constexpr std::int64_t max_time_us = 253402300800LL * 1000000 - 1;

/// A query parameter a request got wrong: answered with 400 naming it.
struct parameter_error : std::runtime_error {
  parameter_error(std::string name, const std::string& message)
    : std::runtime_error(message), parameter(std::move(name)) {}
  std::string parameter;
};

/// The parameters of a query string (without '?'), percent-decoded ('+' is a space). Throws parameter_error,
/// naming the parameter, for a broken escape, a parameter given twice, or a name or value that is not UTF-8
/// text without NUL (valid_text). A bad name is named by its percent-encoded form (printable ASCII),
/// so an error answer always carries valid text.
std::map<std::string, std::string> parse_query(std::string_view query);

/// A decimal integer, strictly: an optional '-', then digits, fitting in 64 bits; no '+', no spaces, nothing
/// empty. Nothing otherwise (never saturates).
std::optional<std::int64_t> parse_integer(std::string_view s);

/// Microseconds since the epoch from an RFC 3339 timestamp (2026-11-26T10:00:00Z,
/// 2026-11-26T10:00:00.250+01:00; a space where the offset's '+' was, as an unencoded '+' arrives in a query
/// string) or from an integer of milliseconds since the epoch. Nothing when `s` is neither.
std::optional<std::int64_t> parse_time(const std::string& s);

/// RFC 3339 in UTC with millisecond precision: 2026-11-26T10:00:00.250Z (sub-millisecond digits dropped).
std::string format_time(std::int64_t us);

/// A timestamptz literal PostgreSQL reads the same whatever the session's TimeZone and DateStyle:
/// 2026-11-26 10:00:00.250000+00.
std::string sql_time(std::int64_t us);

} // namespace dccs::runtime
