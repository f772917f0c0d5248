#include "runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace dccs::runtime::log {

namespace {

std::atomic<int> threshold_{static_cast<int>(level::info)};
std::atomic<int> format_{static_cast<int>(format::text)};
std::mutex out_mutex_;

const char* level_name(level lvl) {
  switch (lvl) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    default: return "off";
  }
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

} // namespace

bool parse_level(std::string_view text, level& out) {
  static constexpr std::pair<std::string_view, level> names[] = {
    {"debug", level::debug}, {"info", level::info}, {"warn", level::warn},
    {"error", level::error}, {"off", level::off}};
  for (auto& [name, lvl] : names)
    if (name == text) {
      out = lvl;
      return true;
    }
  return false;
}

void configure(level lvl, format fmt) {
  threshold_ = static_cast<int>(lvl);
  format_ = static_cast<int>(fmt);
}

bool enabled(level lvl) {
  return static_cast<int>(lvl) >= threshold_.load(std::memory_order_relaxed) && lvl != level::off;
}

void write(level lvl, std::string_view component, std::string_view message,
           std::initializer_list<field> fields) {
  std::string line;
  if (static_cast<format>(format_.load()) == format::json) {
    nlohmann::json rec;
    rec["ts"] = timestamp();
    rec["level"] = level_name(lvl);
    rec["component"] = std::string{component};
    rec["msg"] = std::string{message};
    for (auto& [key, value] : fields)
      rec[key] = value;
    line = rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = timestamp();
    line += ' ';
    std::string lv = level_name(lvl);
    for (auto& ch : lv)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    lv.resize(5, ' ');
    line += lv;
    line += " [";
    line += component;
    line += "] ";
    line += message;
    for (auto& [key, value] : fields) {
      line += ' ';
      line += key;
      line += '=';
      line += value.is_string() ? value.get<std::string>()
                                : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  line += '\n';
  std::lock_guard<std::mutex> guard{out_mutex_};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace dccs::runtime::log
