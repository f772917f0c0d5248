#pragma once
/// Access tokens revoked before they expire: logged-out tokens (their jti), every token of a disabled user, and
/// every token of a user issued before a change to that user (role, groups or password changed; to the second:
/// a token issued in the same second as the change is still accepted). The node's revocation watcher
/// (actors/revocation_guard.hpp) fills it from Redis and PostgreSQL; the bridge consults it, on its I/O threads, for every
/// request and every open operator socket. Thread-safe; every call is a short lock and a hash lookup.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "auth/access.hpp"

namespace dccs::auth {

class revocations {
public:
  /// Whether the token `who` was verified from is revoked: its jti is denied, or its user changed after it
  /// was issued (iat earlier than the change, to the second).
  bool revoked(const principal& who) const {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!who.jti.empty() && denied_.count(who.jti) > 0)
      return true;
    if (disabled_.count(who.name) > 0)
      return true;
    auto i = changed_.find(who.name);
    return i != changed_.end() && who.iat <= i->second;
  }

  /// Replaces what is known about users: those disabled now, and when each recently changed user last changed.
  void set_users(std::unordered_set<std::string> disabled, std::unordered_map<std::string, std::int64_t> changed) {
    std::lock_guard<std::mutex> guard{mtx_};
    disabled_ = std::move(disabled);
    for (auto& [name, at] : changed) {
      auto& t = changed_[name];
      if (at > t)
        t = at;
    }
  }

  /// Denies one token until its expiry (Unix seconds).
  void deny(const std::string& jti, std::int64_t exp) {
    std::lock_guard<std::mutex> guard{mtx_};
    denied_[jti] = exp;
  }

  /// Records a change to a user at `at_s` (Unix seconds, rounded down): tokens issued before it are refused.
  void user_changed(const std::string& name, std::int64_t at_s) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& t = changed_[name];
    if (at_s > t)
      t = at_s;
  }

  /// Forgets denied tokens that have expired anyway, and user changes older than `max_token_age_s` (no token
  /// issued before them is still valid).
  void purge(std::int64_t now_s, std::int64_t max_token_age_s) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = denied_.begin(); i != denied_.end();)
      i = i->second < now_s ? denied_.erase(i) : std::next(i);
    for (auto i = changed_.begin(); i != changed_.end();)
      i = i->second + max_token_age_s < now_s ? changed_.erase(i) : std::next(i);
  }

  std::size_t denied_count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return denied_.size();
  }

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::int64_t> denied_;  ///< jti -> exp
  std::unordered_map<std::string, std::int64_t> changed_; ///< user -> time of the last change
  std::unordered_set<std::string> disabled_;              ///< users disabled now: every token refused
};

} // namespace dccs::auth
