#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace dccs::runtime::log {

/// Severity, lowest first.
enum class level { debug = 0, info, warn, error, off };

/// Output format: one human-readable line per record, or one JSON object per line.
enum class format { text, json };

/// One structured field of a record.
using field = std::pair<const char*, nlohmann::json>;

/// Parses "debug", "info", "warn", "error" or "off"; returns false for anything else.
bool parse_level(std::string_view text, level& out);

/// Sets the threshold and the format for the whole process (thread-safe).
void configure(level threshold, format fmt);

/// True when records at `lvl` are written.
bool enabled(level lvl);

/// Writes one record to stderr, atomically with respect to other records.
void write(level lvl, std::string_view component, std::string_view message,
           std::initializer_list<field> fields = {});

inline void debug(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::debug))
    write(level::debug, c, m, f);
}
inline void info(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::info))
    write(level::info, c, m, f);
}
inline void warn(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::warn))
    write(level::warn, c, m, f);
}
inline void error(std::string_view c, std::string_view m, std::initializer_list<field> f = {}) {
  if (enabled(level::error))
    write(level::error, c, m, f);
}

} // namespace dccs::runtime::log
