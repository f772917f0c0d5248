#pragma once
/// PostgreSQL array literals for statements that pass a list as one parameter (`= ANY($1::text[])`, `unnest`).

#include <string>
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

} // namespace dccs::runtime
