#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dccs::sim {

/// What an `ack` frame did to an ack_buffer.
enum class ack_result : std::uint8_t {
  advanced, ///< released one or more kept frames
  stale,    ///< at or below what was already acknowledged: nothing to do (duplicate or old ack)
  beyond    ///< above the highest seq written on this connection: a protocol error, ignored
};

/// The telemetry frames of one drone in --ack mode that no `ack` has covered yet, kept byte for byte.
///
/// Frames are pushed in seq order with consecutive seqs (every generated frame is kept), written in
/// that order through a cursor, and released from the front by acks. After a reconnect, rewind()
/// moves the cursor back to the oldest kept frame so that everything unacknowledged is written again,
/// identical, before any newer frame. Bytes live in one contiguous buffer compacted now and then, so
/// steady streaming with prompt acks allocates nothing. Single-threaded (the drone's shard).
class ack_buffer {
public:
  /// `window`: the most frames kept at once (full() beyond that).
  explicit ack_buffer(std::size_t window) noexcept : window_(window) {}

  /// Frames kept (written or not, not yet acknowledged).
  std::size_t size() const noexcept { return lens_.size() - front_; }
  bool empty() const noexcept { return size() == 0; }
  bool full() const noexcept { return size() >= window_; }

  /// Keeps a new frame. `seq` must follow the previous pushed seq (any seq for the first push).
  /// Returns false (and keeps nothing) if the window is full, the seq is out of order, or the
  /// frame is empty or larger than 65535 bytes.
  bool push(std::uint64_t seq, std::string_view bytes);

  /// Whether a kept frame has not been written on this connection yet.
  bool has_unsent() const noexcept { return cursor_ < lens_.size(); }
  /// The next frame to write (requires has_unsent()). The view is invalidated by push() and ack().
  std::string_view next_unsent() const noexcept {
    return std::string_view(bytes_.data() + cursor_off_, lens_[cursor_]);
  }
  /// Seq of next_unsent().
  std::uint64_t next_unsent_seq() const noexcept { return first_seq_ + (cursor_ - front_); }
  /// The frame returned by next_unsent() is being written: advances the cursor. Returns true if
  /// this frame had already been written before (on an earlier connection): a resend.
  bool mark_sent() noexcept;

  /// A new connection: every kept frame counts as not written on it; acks start over.
  void rewind() noexcept;

  /// Applies `{"type":"ack","seq":seq}`; `released` is set to the number of frames freed.
  ack_result ack(std::uint64_t seq, std::size_t& released) noexcept;

  /// Highest seq acknowledged / written so far in the run, or -1 if none.
  std::int64_t highest_acked() const noexcept { return highest_acked_; }
  std::int64_t highest_sent() const noexcept { return highest_sent_; }

private:
  void compact();

  std::size_t window_;
  std::vector<char> bytes_;          ///< frames back to back; [front_off_, end) is live
  std::vector<std::uint16_t> lens_;  ///< length of each frame; [front_, end) is live
  std::size_t front_ = 0;            ///< index of the oldest kept frame in lens_
  std::size_t front_off_ = 0;        ///< its offset in bytes_
  std::size_t cursor_ = 0;           ///< index of the next frame to write on this connection
  std::size_t cursor_off_ = 0;       ///< its offset in bytes_
  std::uint64_t first_seq_ = 0;      ///< seq of lens_[front_] (or of the next push when empty)
  bool any_pushed_ = false;
  std::int64_t conn_sent_ = -1;      ///< highest seq written on this connection, -1 if none
  std::int64_t highest_acked_ = -1;
  std::int64_t highest_sent_ = -1;
};

/// Recognises `{"type":"ack","seq":N}` written exactly so (no spaces, this key order): the cheap path
/// for the frame a node sends most. Returns false for anything else (the caller then parses fully).
bool parse_ack_fast(std::string_view frame, std::uint64_t& seq) noexcept;

} // namespace dccs::sim
