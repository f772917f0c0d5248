#include "auth/login_limits.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>

#include "auth/refresh.hpp"
#include "auth/users.hpp"
#include "runtime/log.hpp"
#include "runtime/secret.hpp"

namespace dccs::auth {

namespace {

using runtime::hex;

/// 128 bits of the SHA-256 of `text`, in hex: a bounded key for anything that is not a name or an address.
std::string digest_key(std::string_view text) { return hex(refresh_token_hash(text).substr(0, 16)); }

std::int64_t seconds_up(local_counters::clock::duration d) {
  auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
  return s < 0 ? 0 : s;
}

/// A counter as Redis holds it: GET and TTL replies.
local_counters::value from_redis(const runtime::redis_reply& get, const runtime::redis_reply& ttl) {
  local_counters::value v;
  if (get.kind == runtime::redis_reply::kind_t::string) {
    char* end = nullptr;
    auto n = std::strtoll(get.str.c_str(), &end, 10);
    if (end != get.str.c_str() && *end == '\0' && n > 0)
      v.count = n;
  }
  if (ttl.kind == runtime::redis_reply::kind_t::integer)
    v.ttl_s = ttl.integer; // -2: no key, -1: no expiry (repaired by the caller)
  return v;
}

bool has_error(const runtime::redis_reply& r, std::string& what) {
  if (r.kind == runtime::redis_reply::kind_t::error) {
    what = r.str;
    return true;
  }
  for (const auto& e : r.elements)
    if (has_error(e, what))
      return true;
  return false;
}

} // namespace

// -- local_counters -------------------------------------------------------------------------------------------

local_counters::value local_counters::get(const std::string& key, clock::time_point now) const {
  auto i = map_.find(key);
  if (i == map_.end() || i->second.expires <= now)
    return {};
  return {i->second.count, std::max<std::int64_t>(1, seconds_up(i->second.expires - now))};
}

std::int64_t local_counters::increment(const std::string& key, std::chrono::seconds window, clock::time_point now) {
  auto i = map_.find(key);
  if (i != map_.end() && i->second.expires > now)
    return ++i->second.count;
  if (i == map_.end())
    make_room(now);
  auto& e = map_[key];
  e.count = 1;
  e.expires = now + window;
  return 1;
}

void local_counters::put(const std::string& key, std::int64_t count, std::chrono::seconds ttl, clock::time_point now) {
  if (map_.find(key) == map_.end())
    make_room(now);
  auto& e = map_[key];
  e.count = count;
  e.expires = now + ttl;
}

void local_counters::make_room(clock::time_point now) {
  if (map_.size() < max_)
    return;
  for (auto i = map_.begin(); i != map_.end();)
    i = i->second.expires <= now ? map_.erase(i) : std::next(i);
  if (map_.size() < max_) {
    warned_full_ = false;
    return;
  }
  if (!warned_full_) {
    runtime::log::warn("auth", "the node's failed-login counters are full: the ones with the fewest failures are "
                               "dropped first",
                       {{"entries", static_cast<std::int64_t>(map_.size())}});
    warned_full_ = true;
  }
  auto victim = std::min_element(map_.begin(), map_.end(), [](const auto& a, const auto& b) {
    return a.second.count != b.second.count ? a.second.count < b.second.count : a.second.expires < b.second.expires;
  });
  map_.erase(victim);
}

// -- keys -----------------------------------------------------------------------------------------------------

std::string login_account_key(std::string_view name) {
  if (valid_user_name(name))
    return std::string{name};
  return "~" + digest_key(name); // no valid name starts with '~'
}

std::string login_address_key(std::string_view address) {
  if (address.empty())
    return "unknown";
  std::string text{address};
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1)
    return text;
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    static constexpr unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char out[INET6_ADDRSTRLEN];
    if (std::memcmp(buf, v4_mapped, sizeof v4_mapped) == 0) {
      if (inet_ntop(AF_INET, buf + 12, out, sizeof out) != nullptr)
        return out;
    } else {
      std::memset(buf + 8, 0, 8); // the /64
      if (inet_ntop(AF_INET6, buf, out, sizeof out) != nullptr)
        return std::string{out} + "/64";
    }
  }
  return "~" + digest_key(address);
}

// -- login_limits ---------------------------------------------------------------------------------------------

login_limits::login_limits(login_limit_settings s) : s_(std::move(s)), local_(s_.max_local_entries) {
  if (s_.per_account < 1)
    s_.per_account = 1;
  if (s_.per_address < 1)
    s_.per_address = 1;
  if (s_.window_s < 1)
    s_.window_s = 1;
  if (s_.known_address_ttl_s < 1)
    s_.known_address_ttl_s = 1;
  if (s_.redis_enabled) {
    client_ = std::make_unique<runtime::redis_client>(s_.redis, s_.io_timeout, s_.retry_min, s_.retry_max);
  } else {
    runtime::log::info("auth", "no Redis (redis.url is empty): failed logins are counted by each node on its own",
                       {{"per_account", s_.per_account},
                        {"per_address", s_.per_address},
                        {"window_s", s_.window_s}});
  }
}

login_limits::~login_limits() = default;

std::string login_limits::account_counter(const std::string& name) const {
  return s_.prefix + "fail:acct:" + login_account_key(name);
}

std::string login_limits::address_counter(const std::string& address) const {
  return s_.prefix + "fail:addr:" + login_address_key(address);
}

std::string login_limits::known_key(const std::string& name, const std::string& address) const {
  return s_.prefix + "known:" + login_account_key(name) + ":" + login_address_key(address);
}

void login_limits::redis_down(const std::string& why) {
  shared_ = false;
  if (down_logged_)
    return;
  down_logged_ = true;
  runtime::log::warn("auth",
                     "Redis is unavailable: failed logins are counted by this node on its own until it is back",
                     {{"redis", client_->describe()}, {"error", why}});
}

std::optional<std::vector<runtime::redis_reply>>
login_limits::redis(const std::vector<std::vector<std::string>>& commands) {
  if (!client_) {
    shared_ = false;
    return std::nullopt;
  }
  if (!client_->ensure_connected()) {
    redis_down(client_->last_error());
    return std::nullopt;
  }
  std::vector<runtime::redis_reply> replies;
  try {
    replies = client_->pipeline(commands);
  } catch (const runtime::redis_error& e) {
    redis_down(e.what());
    return std::nullopt;
  }
  for (const auto& r : replies) {
    std::string what;
    if (has_error(r, what)) {
      redis_down("error reply: " + what);
      return std::nullopt;
    }
  }
  if (down_logged_) {
    down_logged_ = false;
    runtime::log::info("auth", "Redis is back: failed-login counters are shared again",
                       {{"redis", client_->describe()}});
  }
  shared_ = true;
  return replies;
}

login_verdict login_limits::check(const std::string& name, const std::string& address, clock::time_point now) {
  auto acct_key = account_counter(name);
  auto addr_key = address_counter(address);
  auto known = known_key(name, address);
  auto acct = local_.get(acct_key, now);
  auto addr = local_.get(addr_key, now);
  bool is_known = local_.get(known, now).count > 0;
  if (auto r = redis({{"GET", acct_key}, {"TTL", acct_key}, {"GET", addr_key}, {"TTL", addr_key},
                      {"EXISTS", known}})) {
    auto& rep = *r;
    auto ra = from_redis(rep[0], rep[1]);
    auto rb = from_redis(rep[2], rep[3]);
    // A counter without expiry would lock for ever, one with a longer one (auth.login_window_s lowered since)
    // for longer than a window. failed() makes neither (INCR and EXPIRE NX commit together), but whatever made
    // them, they get one window from now.
    std::vector<std::vector<std::string>> repair;
    for (auto* v : {&ra, &rb}) {
      if (v->count > 0 && (v->ttl_s == -1 || v->ttl_s > s_.window_s)) {
        repair.push_back({"EXPIRE", v == &ra ? acct_key : addr_key, std::to_string(s_.window_s)});
        v->ttl_s = s_.window_s;
      }
    }
    if (!repair.empty()) {
      runtime::log::warn("auth", "a failed-login counter in Redis had no expiry, or a longer one than the window: "
                                 "it expires after one window now");
      redis(repair);
    }
    // Redis is the cluster's view: it wins (a success on another node cleared the account there).
    acct = ra;
    addr = rb;
    is_known = rep[4].kind == runtime::redis_reply::kind_t::integer && rep[4].integer > 0;
  }
  login_verdict v;
  bool acct_limited = acct.count >= s_.per_account;
  bool addr_limited = addr.count >= s_.per_address;
  if (acct_limited && !addr_limited && is_known && addr.count < s_.per_account) {
    v.known_address = true;
    acct_limited = false;
  }
  if (!acct_limited && !addr_limited)
    return v;
  v.limited = true;
  v.limit = acct_limited && addr_limited ? "account+address" : acct_limited ? "account" : "address";
  std::int64_t wait = 0;
  if (acct_limited)
    wait = std::max(wait, acct.ttl_s);
  if (addr_limited)
    wait = std::max(wait, addr.ttl_s);
  v.retry_after_s = std::clamp<std::int64_t>(wait, 1, s_.window_s);
  return v;
}

void login_limits::failed(const std::string& name, const std::string& address, clock::time_point now) {
  auto acct_key = account_counter(name);
  auto addr_key = address_counter(address);
  auto window = std::chrono::seconds(s_.window_s);
  local_.increment(acct_key, window, now);
  local_.increment(addr_key, window, now);
  auto w = std::to_string(s_.window_s);
  // One transaction: a counter never exists without its expiry (EXPIRE NX: the first failure sets the window,
  // the later ones leave it).
  redis({{"MULTI"},
         {"INCR", acct_key},
         {"EXPIRE", acct_key, w, "NX"},
         {"INCR", addr_key},
         {"EXPIRE", addr_key, w, "NX"},
         {"EXEC"}});
}

void login_limits::succeeded(const std::string& name, const std::string& address, clock::time_point now) {
  auto acct_key = account_counter(name);
  auto known = known_key(name, address);
  local_.erase(acct_key);
  local_.put(known, 1, std::chrono::seconds(s_.known_address_ttl_s), now);
  redis({{"DEL", acct_key}, {"SET", known, "1", "EX", std::to_string(s_.known_address_ttl_s)}});
}

} // namespace dccs::auth
