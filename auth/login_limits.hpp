#pragma once
/// Failed-login limits, per account and per client address, counted in Redis so that every node of a cluster
/// enforces the same limit (auth.login_failures_per_account, auth.login_failures_per_address,
/// auth.login_window_s).
///
/// Each counter is a fixed window: the first failure creates the key with the window as its TTL (INCR, then
/// EXPIRE NX, in one MULTI/EXEC); later failures raise the count and never extend the TTL, so a lock always
/// lifts at most one window after the failure that started it, whatever the attacker keeps doing. While a
/// counter is at its limit, check() refuses before any password is looked at (nothing increments then), with
/// the seconds left of the window (the key's TTL) for Retry-After. A success deletes the account's counter,
/// not the address's (an attacker cannot clear their address with an account of their own).
///
/// Known addresses: a success also remembers the (account, address) pair for known_address_ttl_s. When an
/// account is at its limit, a login from an address known for it that is not itself at the limit (and has
/// fewer failures than the account limit) is still let through to the password check: the real user, from
/// where they usually log in, is not locked out by an attacker elsewhere. A fresh address gets no such pass,
/// so many addresses buy an attacker no extra guesses on one account (see docs/security.md).
///
/// Names and addresses: a valid user name is its own key, anything else is hashed (SHA-256) into a bounded
/// key (an unknown name counts exactly like a known one: the answers do not tell them apart). An IPv4 address
/// is its own key, an IPv4-mapped IPv6 address counts as the IPv4 one, any other IPv6 address by its /64 (one
/// host usually holds a whole /64).
///
/// Without Redis (redis.url empty) or while Redis is unreachable, the node's own counters decide (a log line
/// says so, once per outage): the limits then hold per node instead of per cluster, but they hold. The node's
/// counters are kept all the time, alongside Redis (which decides while it answers: a success on another node
/// cleared the account there), so an outage starts from what this node saw rather than from zero. The memory
/// they take is bounded (max_local_entries: when full, the entries with the fewest failures go first).
///
/// Not thread-safe and blocking (Redis round trips): owned by the auth service's detached actor.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/redis.hpp"

namespace dccs::auth {

struct login_limit_settings {
  std::int64_t per_account = 10;     ///< failures of one account within a window before it is refused
  std::int64_t per_address = 50;     ///< failures from one address within a window before it is refused
  std::int64_t window_s = 900;       ///< the window, seconds
  std::int64_t known_address_ttl_s = 30 * 86400; ///< how long a successful login makes its address known
  bool redis_enabled = false;        ///< false: the node's own counters only
  runtime::redis_endpoint redis;
  std::chrono::milliseconds io_timeout{500};
  std::chrono::milliseconds retry_min{250};
  std::chrono::milliseconds retry_max{10000};
  std::string prefix = "dccs:auth:"; ///< keys: <prefix>fail:acct:<name>, <prefix>fail:addr:<address>, <prefix>known:...
  std::size_t max_local_entries = 100000;
};

/// What check() decided.
struct login_verdict {
  bool limited = false;
  std::string limit;              ///< when limited: "account", "address" or "account+address" (for the audit)
  std::int64_t retry_after_s = 0; ///< when limited: seconds until every counter that refused expires (>= 1)
  bool known_address = false;     ///< the account is at its limit, but this address is known for it: let through
};

/// Fixed-window counters in memory (the node's own view; also the fallback when Redis is away).
class local_counters {
public:
  using clock = std::chrono::steady_clock;

  struct value {
    std::int64_t count = 0;
    std::int64_t ttl_s = 0; ///< whole seconds left, rounded up (0 when absent)
  };

  explicit local_counters(std::size_t max_entries) : max_(max_entries == 0 ? 1 : max_entries) {}

  /// The count and time left of `key`; {0, 0} when absent or expired.
  value get(const std::string& key, clock::time_point now) const;

  /// Adds one; an absent or expired key starts a window of `window` from now. Returns the new count.
  std::int64_t increment(const std::string& key, std::chrono::seconds window, clock::time_point now);

  /// Sets `key` to `count` for `ttl` from now (a new window).
  void put(const std::string& key, std::int64_t count, std::chrono::seconds ttl, clock::time_point now);

  void erase(const std::string& key) { map_.erase(key); }
  std::size_t size() const { return map_.size(); }

private:
  struct entry {
    std::int64_t count = 0;
    clock::time_point expires;
  };
  /// Makes room for one more entry: drops the expired ones, then (still full) the one with the fewest failures
  /// (the soonest to expire among them).
  void make_room(clock::time_point now);

  std::unordered_map<std::string, entry> map_;
  std::size_t max_;
  bool warned_full_ = false;
};

/// The counter key of a user name (see above).
std::string login_account_key(std::string_view name);

/// The counter key of a client address (see above).
std::string login_address_key(std::string_view address);

class login_limits {
public:
  using clock = std::chrono::steady_clock;

  explicit login_limits(login_limit_settings s);
  ~login_limits();

  login_limits(const login_limits&) = delete;
  login_limits& operator=(const login_limits&) = delete;

  /// Before the password is checked: may `name` try to log in from `address`? Answers the same for a known
  /// and an unknown name.
  login_verdict check(const std::string& name, const std::string& address, clock::time_point now = clock::now());

  /// A failed login (any: unknown name, wrong password, disabled user): both counters go up.
  void failed(const std::string& name, const std::string& address, clock::time_point now = clock::now());

  /// A successful login: the account's counter is cleared, the address becomes known for the account.
  void succeeded(const std::string& name, const std::string& address, clock::time_point now = clock::now());

  /// True when the last call used Redis; false without Redis or while it is unreachable.
  bool shared() const { return shared_; }

  const login_limit_settings& settings() const { return s_; }

private:
  /// The replies, or nothing when Redis is not configured, unreachable, or answered an error (logged).
  std::optional<std::vector<runtime::redis_reply>> redis(const std::vector<std::vector<std::string>>& commands);
  void redis_down(const std::string& why);

  std::string account_counter(const std::string& name) const;
  std::string address_counter(const std::string& address) const;
  std::string known_key(const std::string& name, const std::string& address) const;

  login_limit_settings s_;
  std::unique_ptr<runtime::redis_client> client_;
  local_counters local_;
  bool shared_ = false;
  bool down_logged_ = false;
};

} // namespace dccs::auth
