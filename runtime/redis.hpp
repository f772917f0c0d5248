#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace dccs::runtime {

/// Where a Redis server is and how to log in to it.
struct redis_endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password; ///< empty: no AUTH
  int db = 0;           ///< SELECTed after connecting when not 0
  std::string user;     ///< Redis 6 ACL user for `AUTH user password`; empty: `AUTH password` (the default user)
};

/// Parses redis://[[user]:password@]host[:port][/db] (user and password may be percent-encoded; an IPv6 host
/// goes in brackets). Returns false and sets `error` (naming what is wrong, never quoting the password) on bad
/// input; `out` is then unchanged.
bool parse_redis_url(std::string_view url, redis_endpoint& out, std::string& error);

/// One reply, copied out of hiredis's redisReply. `str` holds the bytes of a string, the text of a status or of
/// an error; `integer` an integer; `elements` the items of an array (a nil array comes back as kind `nil`).
/// kind_t is scoped: an unscoped `integer` enumerator would clash with the `integer` member.
struct redis_reply {
  enum class kind_t { string, status, integer, nil, array, error };
  kind_t kind = kind_t::nil;
  std::string str;
  long long integer = 0;
  std::vector<redis_reply> elements;
};

/// Thrown when the connection fails (connect refused, timeout, I/O error, server closed). A reply of kind
/// `error` is NOT thrown.
struct redis_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A blocking Redis connection on hiredis that reconnects with exponential backoff. NOT thread-safe: meant
/// to be used from one dedicated thread (a detached CAF actor), never from an actor on the shared scheduler.
///
/// ```
///                  ensure_connected(): attempt ok
///   disconnected ─────────────────────────────────► connected
///     ▲   │ attempt failed: wait backoff (jittered),    │
///     │   └─ backoff doubles up to retry_max            │ I/O error, timeout, server closed:
///     └─────────────────────────────────────────────────┘ redis_error thrown, wait retry_min
/// ```
///
/// Commands take their arguments as binary-safe strings (NUL bytes included). While it does I/O the client
/// blocks SIGPIPE on the calling thread (and discards one it caused), so a write to a dead server is an error
/// here, not the end of the process.
class redis_client {
public:
  redis_client(redis_endpoint ep, std::chrono::milliseconds io_timeout, std::chrono::milliseconds retry_min,
               std::chrono::milliseconds retry_max);
  ~redis_client();

  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// True when connected. When not connected and the backoff delay since the last failed attempt has passed,
  /// tries once to connect (and AUTH/SELECT, in one round trip); on failure doubles the delay up to retry_max
  /// (with jitter), records the error and returns false. An attempt (connect, then AUTH/SELECT/PING in one
  /// round trip) blocks at most about io_timeout; between attempts it returns false at once.
  bool ensure_connected();

  bool connected() const { return ctx_ != nullptr; }

  /// Sends all commands in one write (pipelining) and returns one reply per command, in order. On a
  /// connection failure (or when not connected): drops the connection, records the error, throws
  /// redis_error (the next ensure_connected reconnects after the backoff). Throws std::invalid_argument,
  /// before sending anything, for a command without arguments.
  std::vector<redis_reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  /// One command: pipeline() of one.
  redis_reply command(const std::vector<std::string>& args);

  /// The last connection error ("" before any); never contains the password.
  const std::string& last_error() const { return last_error_; }

  /// "host:port/db", for messages (never the password).
  std::string describe() const;

private:
  using clock = std::chrono::steady_clock;

  bool connect_once();
  void fail(std::string what); // records, drops the connection, schedules the next attempt
  std::string redact(std::string text) const;

  redis_endpoint ep_;
  std::chrono::milliseconds io_timeout_;
  std::chrono::milliseconds retry_min_;
  std::chrono::milliseconds retry_max_;
  std::chrono::milliseconds backoff_; // delay before the attempt after the next failure
  clock::time_point next_attempt_;    // no attempt before this
  redisContext* ctx_ = nullptr;
  std::string last_error_;
  std::minstd_rand rng_;
};

} // namespace dccs::runtime
