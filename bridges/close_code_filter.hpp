#pragma once
/// RFC 6455 §7.4.2 for a client's close frame, where Beast 1.74 falls short: Beast fails the connection with 1002
/// for a close code below 1000, 1004-1006, 1014-2999 (and a malformed close frame), but accepts and echoes 5000
/// and above. A stream layer under Beast's WebSocket stream watches the client's frames as they are read and
/// turns such a code into one Beast refuses, so that Beast fails that connection with 1002 too.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace dccs::bridges {

/// Follows the frames a client sends (RFC 6455 §5.2: header, extended length, masking key, payload) across
/// reads of any size. In a close frame whose code is 5000 or more, it rewrites the (masked) high byte of the code
/// so that the code reads as below 256. Plain: tested without a socket.
class close_code_scanner {
public:
  /// Scans `n` bytes just read, in place. Returns how many of them may be handed on now: all, or all but the
  /// last when it is the first byte of a close code whose second byte has not arrived yet; that byte is held
  /// (held()) and goes before the bytes of the next read.
  std::size_t scan(unsigned char* data, std::size_t n);

  /// The byte held back by the last scan(), once (it is forgotten by this call).
  std::optional<unsigned char> take_held() {
    auto b = held_;
    held_.reset();
    return b;
  }

private:
  enum class at { opcode, length, extended_length, mask_key, code, payload };
  void length_known(); ///< the payload length is read: the mask key or the payload follows
  void start_payload();

  at at_ = at::opcode;
  bool close_ = false;
  bool masked_ = false;
  unsigned extended_left_ = 0;
  unsigned key_at_ = 0;
  unsigned char key_[4] = {0, 0, 0, 0};
  std::uint64_t length_ = 0;
  std::uint64_t left_ = 0;
  std::optional<unsigned char> held_;
};

/// A stream layer for `websocket::stream<close_code_filter<NextLayer>>` on the server side: reads go through a
/// close_code_scanner, writes pass through.
template <class NextLayer>
class close_code_filter {
public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  template <class... Args>
  explicit close_code_filter(Args&&... args) : next_(std::forward<Args>(args)...) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return next_.async_write_some(buffers, std::forward<WriteHandler>(handler));
  }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return boost::asio::async_initiate<ReadHandler, void(boost::system::error_code, std::size_t)>(
      [this](auto&& h, const MutableBufferSequence& bufs) { read_some(std::move(h), bufs); }, handler, buffers);
  }

private:
  template <class Handler, class MutableBufferSequence>
  void read_some(Handler&& h, const MutableBufferSequence& buffers) {
    namespace net = boost::asio;
    // Beast reads into one flat buffer: the first non-empty buffer of the sequence is enough for a read_some.
    net::mutable_buffer first;
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it)
      if (net::mutable_buffer b{*it}; b.size() > 0) {
        first = b;
        break;
      }
    auto ex = net::get_associated_executor(h, next_.get_executor());
    auto* data = static_cast<unsigned char*>(first.data());
    std::size_t offset = 0;
    if (auto held = scanner_.take_held()) {
      if (first.size() < 2) {
        // No room for the held byte and the one that decides about it (never the case with Beast's buffer).
        net::post(ex, [h = std::move(h)]() mutable { h(net::error::no_buffer_space, 0); });
        return;
      }
      data[0] = *held;
      offset = 1;
    }
    next_.async_read_some(net::mutable_buffer{data + offset, first.size() - offset},
                          net::bind_executor(ex, [this, data, offset, h = std::move(h)](
                                                   boost::system::error_code ec, std::size_t n) mutable {
                            if (ec && n == 0)
                              return h(ec, std::size_t{0}); // the connection ends: a held byte does not matter
                            h(ec, scanner_.scan(data, n + offset));
                          }));
  }

  NextLayer next_;
  close_code_scanner scanner_;
};

template <class NextLayer>
void teardown(boost::beast::role_type role, close_code_filter<NextLayer>& stream, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, close_code_filter<NextLayer>& stream, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
}

} // namespace dccs::bridges
