#pragma once

#include <cstdint>

#include "actors/messages.hpp"

namespace dccs::actors {

/// Derives a drone's link status from the time of its last frame. Plain logic: every call takes the
/// current monotonic time in milliseconds, so it is tested without clocks or actors.
class link_watchdog {
public:
  link_watchdog(std::int64_t stale_after_ms, std::int64_t lost_after_ms)
    : stale_after_(stale_after_ms), lost_after_(lost_after_ms) {
  }

  /// Records a frame (any frame is a sign of life).
  void on_frame(std::int64_t now) { last_frame_ = now; seen_ = true; }

  /// Status at `now`.
  link_status status(std::int64_t now) const {
    if (!seen_)
      return link_status::lost;
    auto silence = now - last_frame_;
    if (silence < stale_after_)
      return link_status::online;
    if (silence < lost_after_)
      return link_status::stale;
    return link_status::lost;
  }

  /// When the status changes next if no frame arrives, or -1 when it is already `lost`.
  std::int64_t next_change(std::int64_t now) const {
    switch (status(now)) {
      case link_status::online: return last_frame_ + stale_after_;
      case link_status::stale: return last_frame_ + lost_after_;
      default: return -1;
    }
  }

private:
  std::int64_t stale_after_;
  std::int64_t lost_after_;
  std::int64_t last_frame_ = 0;
  bool seen_ = false;
};

} // namespace dccs::actors
