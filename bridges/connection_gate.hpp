#pragma once
/// How many connections the HTTP port holds (http.max_connections, http.reserve_connections), and the accept
/// loop's throttled error log: plain classes, tested without a socket.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace dccs::runtime {
class gauge;
}

namespace dccs::bridges {

/// The process's file-descriptor limit (RLIMIT_NOFILE, soft).
std::uint64_t descriptor_limit();

/// File descriptors kept for everything but the HTTP port's connections (databases, Redis, cluster links,
/// files being served, logs): a tenth of the limit, at least 64.
std::uint64_t reserved_descriptors(std::uint64_t fd_limit);

/// http.max_connections = 0 (automatic): the file-descriptor limit less reserved_descriptors() and the
/// connection reserve, at least 1.
std::size_t automatic_max_connections(std::uint64_t fd_limit, std::size_t reserve);

/// Counts the open connections of the HTTP port, HTTP and WebSocket alike, against http.max_connections and
/// the reserve past it. Safe from any thread.
///
///   open:  0 ........ max_connections ........ max_connections + reserve ........
///          regular    | reserve (one request each: health,  | full (503 and close,
///                     |  metrics, login, operators with     |  or evict an idle
///                     |  credentials; the rest 503)         |  reserve connection)
class connection_gate {
public:
  enum class tier { regular, reserve, full };

  connection_gate(std::size_t max_connections, std::size_t reserve, runtime::gauge* open_gauge = nullptr);

  /// The tier of a new connection, which is counted unless the tier is `full`.
  tier admit();

  /// Counts a connection past the limits: one that takes the place of an evicted one, whose slot is released
  /// as soon as its socket closes.
  void admit_anyway();

  /// A counted connection closed.
  void release();

  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  std::size_t max_connections() const { return max_; }
  std::size_t reserve() const { return reserve_; }

private:
  const std::size_t max_;
  const std::size_t reserve_;
  runtime::gauge* gauge_;
  std::atomic<std::size_t> open_{0};
};

/// A counted connection: releases its place in the gate when destroyed. Moves with the socket (an HTTP
/// connection that becomes a WebSocket keeps its place).
class connection_slot {
public:
  connection_slot() = default;
  explicit connection_slot(connection_gate* gate) : gate_(gate) {}
  connection_slot(connection_slot&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
  connection_slot& operator=(connection_slot&& other) noexcept {
    if (this != &other) {
      reset();
      gate_ = other.gate_;
      other.gate_ = nullptr;
    }
    return *this;
  }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot() { reset(); }

  void reset() {
    if (gate_ != nullptr)
      gate_->release();
    gate_ = nullptr;
  }

private:
  connection_gate* gate_ = nullptr;
};

/// Something that happens in bursts (accept failures) and is logged at most once per interval, with how many
/// times it happened since the last line. Not thread-safe (the accept loop runs on one strand).
class log_throttle {
public:
  explicit log_throttle(std::int64_t interval_ms) : interval_ms_(interval_ms) {}

  /// Counts one occurrence at `now_ms`. Returns how many occurrences the log line written now should report
  /// (this one included), or 0 when no line is due yet.
  std::uint64_t hit(std::int64_t now_ms) {
    ++pending_;
    if (logged_ && now_ms - last_ms_ < interval_ms_)
      return 0;
    logged_ = true;
    last_ms_ = now_ms;
    auto n = pending_;
    pending_ = 0;
    return n;
  }

private:
  std::int64_t interval_ms_;
  std::int64_t last_ms_ = 0;
  bool logged_ = false;
  std::uint64_t pending_ = 0;
};

} // namespace dccs::bridges
