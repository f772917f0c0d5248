#include "sim/ack.hpp"

#include <charconv>
#include <cstring>

namespace dccs::sim {

bool ack_buffer::push(std::uint64_t seq, std::string_view bytes) {
  if (full() || bytes.empty() || bytes.size() > 0xffff)
    return false;
  if (!any_pushed_) {
    first_seq_ = seq;
    any_pushed_ = true;
  } else if (seq != first_seq_ + size()) {
    return false;
  }
  if (front_ == lens_.size()) { // nothing kept: start the storage over instead of growing it
    bytes_.clear();
    lens_.clear();
    front_ = front_off_ = cursor_ = cursor_off_ = 0;
  }
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  lens_.push_back(static_cast<std::uint16_t>(bytes.size()));
  return true;
}

bool ack_buffer::mark_sent() noexcept {
  const auto seq = static_cast<std::int64_t>(next_unsent_seq());
  cursor_off_ += lens_[cursor_];
  ++cursor_;
  conn_sent_ = seq;
  const bool resend = seq <= highest_sent_;
  if (!resend)
    highest_sent_ = seq;
  return resend;
}

void ack_buffer::rewind() noexcept {
  cursor_ = front_;
  cursor_off_ = front_off_;
  conn_sent_ = -1;
}

ack_result ack_buffer::ack(std::uint64_t seq, std::size_t& released) noexcept {
  released = 0;
  if (conn_sent_ < 0 || seq > static_cast<std::uint64_t>(conn_sent_))
    return ack_result::beyond;
  if (empty() || seq < first_seq_)
    return ack_result::stale;
  // Every kept frame up to seq was written on this connection, so it lies before the cursor.
  released = static_cast<std::size_t>(seq - first_seq_) + 1;
  for (std::size_t i = 0; i < released; ++i)
    front_off_ += lens_[front_ + i];
  front_ += released;
  first_seq_ = seq + 1;
  highest_acked_ = static_cast<std::int64_t>(seq);
  compact();
  return ack_result::advanced;
}

void ack_buffer::compact() {
  // Move the live part to the start once the dead prefix is the larger half: amortised O(1) per byte.
  if (front_ == lens_.size()) {
    bytes_.clear();
    lens_.clear();
    front_ = front_off_ = cursor_ = cursor_off_ = 0;
    return;
  }
  if (front_off_ < 4096 || front_off_ < bytes_.size() / 2)
    return;
  bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(front_off_));
  lens_.erase(lens_.begin(), lens_.begin() + static_cast<std::ptrdiff_t>(front_));
  cursor_ -= front_;
  cursor_off_ -= front_off_;
  front_ = front_off_ = 0;
}

bool parse_ack_fast(std::string_view frame, std::uint64_t& seq) noexcept {
  constexpr std::string_view head = R"({"type":"ack","seq":)";
  if (frame.size() < head.size() + 2 || std::memcmp(frame.data(), head.data(), head.size()) != 0 || frame.back() != '}')
    return false;
  const char* first = frame.data() + head.size();
  const char* last = frame.data() + frame.size() - 1;
  if (*first < '0' || *first > '9')
    return false;
  const auto [p, ec] = std::from_chars(first, last, seq);
  return ec == std::errc{} && p == last;
}

} // namespace dccs::sim
