#include "sim/command_log.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace dccs::sim::command_log {

namespace {

std::mutex mutex;                 // guards file's writes, flush and close
std::atomic<std::FILE*> file{nullptr}; // null: not open (the common case costs one load)

} // namespace

std::string format_line(std::string_view id, std::uint64_t attempt, std::int64_t wall_us) {
  std::string out;
  out.reserve(id.size() + 40);
  for (const char c : id)
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  out += '\t';
  out += std::to_string(attempt);
  out += '\t';
  out += std::to_string(wall_us);
  out += '\n';
  return out;
}

bool open(const std::string& path, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    error = "--command-log: cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  std::lock_guard<std::mutex> lock(mutex);
  if (std::FILE* old = file.exchange(f))
    std::fclose(old);
  return true;
}

void note(std::string_view id, std::uint64_t attempt) noexcept {
  if (file.load(std::memory_order_acquire) == nullptr)
    return;
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  try {
    const std::string line = format_line(id, attempt, static_cast<std::int64_t>(now));
    std::lock_guard<std::mutex> lock(mutex);
    if (std::FILE* f = file.load())
      std::fwrite(line.data(), 1, line.size(), f);
  } catch (...) {
    // out of memory: one line less
  }
}

void flush() noexcept {
  std::lock_guard<std::mutex> lock(mutex);
  if (std::FILE* f = file.load())
    std::fflush(f);
}

void close() noexcept {
  std::lock_guard<std::mutex> lock(mutex);
  if (std::FILE* f = file.exchange(nullptr))
    std::fclose(f);
}

} // namespace dccs::sim::command_log
