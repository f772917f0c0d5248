#pragma once
/// PostgreSQL array literals for statements that pass a list as one parameter (`= ANY($1::text[])`, `unnest`).

#include <charconv>
#include <string>
#include <type_traits>
#include <vector>

namespace dccs::runtime {

/// A PostgreSQL array literal of texts, every element quoted (an unquoted NULL, a valid drone id, would be read
/// as SQL NULL) and `"` and `\` escaped.
inline std::string pg_text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1)
      out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

/// A PostgreSQL array literal of numbers (`{1,2.5}`), for `$n::int8[]` or `$n::float8[]`. Doubles are written in
/// their shortest form that reads back to the same value (std::to_chars), and must be finite.
template <class T>
std::string pg_number_array(const std::vector<T>& values) {
  static_assert(std::is_arithmetic_v<T>, "numbers only");
  std::string out = "{";
  char buf[32];
  for (const auto& v : values) {
    if (out.size() > 1)
      out += ',';
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
  }
  out += '}';
  return out;
}

} // namespace dccs::runtime
