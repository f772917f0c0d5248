#pragma once

#include "sim/ack.hpp"
#include "sim/autopilot.hpp"
#include "sim/command.hpp"
#include "sim/flight.hpp"
#include "sim/frame.hpp"
#include "sim/rng.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dccs::sim {

class shard;
struct command_frame;

/// One virtual drone: its flight model and its WebSocket connection to `/ws/drone` of one node.
///
/// With several nodes (--url), drone i starts on node i mod n (initial_node) and every reconnect goes
/// to the next node (next_node), whatever ended the previous connection or attempt.
///
/// Lifecycle: queued (waiting for a handshake slot) → connecting → upgrading → hello (waiting for
/// `welcome`) → streaming (one telemetry frame per tick) → closing → backoff → queued ... With --ack,
/// a tick keeps the new frame in an ack_buffer and the drone writes kept frames in seq order (after a
/// reconnect the unacknowledged ones first), several per tick while it catches up. A drone is
/// driven entirely by handlers on its shard's executor, so it needs no locking. It is never
/// destroyed while its io_context runs.
///
/// Commands: the first `command`, `command_cancel` or `mission_item` frame hands the flight from the scripted model
/// to an autopilot (with --autopilot it has it from the start) that executes them; its `command_ack`s,
/// `mission_ack`s and `mission_progress` frames wait in one queue, in the order given, and go out between telemetry
/// frames, one write at a time like everything on the socket. A reconnect forgets the acks not yet written (the
/// node asks again) but keeps the progress frames: nothing would repeat them.
class drone {
public:
  drone(shard& owner, std::uint32_t index, const flight_model& model);
  drone(const drone&) = delete;
  drone& operator=(const drone&) = delete;

  /// Starts the first connection (through the shard's handshake gate).
  void start();
  /// Called by the gate when this drone may start a handshake.
  void begin_connect();
  /// One telemetry period has elapsed: advance the flight model and send a frame if connected.
  void tick();
  /// Shutdown: closes the connection (close code 1000) and never reconnects.
  void stop();
  /// Shutdown deadline passed: closes the socket without a close handshake.
  void force_close();

  /// Fraction of the telemetry period by which this drone's ticks are offset, in [0, 1).
  double phase() const noexcept { return phase_; }
  const std::string& id() const noexcept { return id_; }
  /// The kept frames with --ack, nullptr without.
  const ack_buffer* acks() const noexcept { return acks_.get(); }
  /// The autopilot flying this drone, nullptr while the scripted flight does.
  const autopilot* pilot() const noexcept { return cmd_ ? cmd_->pilot.get() : nullptr; }

private:
  enum class state : std::uint8_t { idle, queued, connecting, upgrading, hello, streaming, closing, backoff, stopped };
  using clock = std::chrono::steady_clock;
  using ws_stream = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;
  /// What a drone needs once it is commanded, apart: most drones of a load test never are.
  struct command_state {
    enum class frame_kind : std::uint8_t { command_ack, mission_ack, mission_progress };
    struct outgoing {
      std::string frame;
      frame_kind kind;
    };
    std::unique_ptr<autopilot> pilot;  ///< flies the drone (nullptr with --commands none)
    std::deque<outgoing> out;          ///< frames waiting for the socket
    std::string wbuf;                  ///< the frame being written
    frame_kind wkind = frame_kind::command_ack;
    std::vector<pilot_message> msgs;   ///< scratch: the autopilot's new messages
    std::uint64_t photos = 0;          ///< the autopilot's photos already counted
  };

  void on_connect(const boost::system::error_code& ec);
  void on_upgrade(const boost::system::error_code& ec);
  void read();
  void on_read(const boost::system::error_code& ec);
  void on_message();
  void on_write(const boost::system::error_code& ec, bool telemetry, std::size_t bytes, bool resend);
  /// --ack: keeps a new frame (unless draining or the window is full), then writes what it may.
  void tick_acked();
  /// --ack: writes the next kept frame not yet written on this connection, if the socket is free
  /// and this tick's budget allows; called again when that write completes.
  void pump();
  /// --ack: an `ack` frame arrived.
  void on_ack(std::uint64_t seq);
  void send_close();
  /// Tears the connection down (if not already) and waits for pending operations to finish.
  void fail(const char* what, const boost::system::error_code& ec);
  /// Called after every completed operation while closing: continues once nothing is pending.
  void maybe_finished_closing();
  void schedule_reconnect();
  void release_gate();
  void arm_connect_deadline();
  void schedule_own_tick();
  void on_welcome();
  /// Advances the flight (scripted or commanded) by one tick and returns what telemetry reports.
  const telemetry_state& advance_flight();
  /// A `command` or `command_cancel` frame (`data`, `size`, padded) arrived.
  void on_command_frame(const char* data, std::size_t size);
  void on_command(const command_frame& f);
  /// A `mission_item` frame (`data`, `size`, padded) arrived.
  void on_mission_frame(const char* data, std::size_t size);
  /// Creates cmd_ (and its autopilot, taking over from the scripted flight) if there is none yet.
  command_state& commanded();
  /// --drop-rate / --dup-rate: how many times a frame is delivered (0, 1 or 2).
  int copies();
  /// Queues the autopilot's new messages (and `extra`, if any) and writes the first if the socket is free. Acks are
  /// subject to --drop-rate and --dup-rate, mission_progress frames are not.
  void send_pilot_messages(const pilot_message* extra = nullptr);
  /// Writes the first queued frame.
  void write_queued();

  shard& shard_;
  std::uint32_t index_;
  std::string id_;
  flight_model model_;
  rng rng_; ///< backoff jitter
  double phase_;

  std::optional<ws_stream> ws_;
  boost::asio::steady_timer timer_; ///< connect deadline, backoff, or ticks in --scheduler timers
  boost::beast::flat_buffer rbuf_;
  std::array<char, max_frame_size> wbuf_{};
  std::unique_ptr<ack_buffer> acks_; ///< --ack only
  std::unique_ptr<command_state> cmd_; ///< from the first command frame on (from the start with --autopilot)
  rng loss_rng_; ///< --drop-rate, --dup-rate: a stream of its own, so that they change no other random choice

  state state_ = state::idle;
  std::uint32_t ops_ = 0;       ///< socket operations in flight
  std::uint32_t timer_gen_ = 0; ///< invalidates stale timer handlers
  std::uint32_t attempt_ = 0;   ///< consecutive failed attempts (backoff exponent)
  std::uint32_t node_ = 0;      ///< index of the node (--url) of the current or next attempt
  std::uint32_t last_node_ = 0; ///< node of the previous attempt (a reconnect elsewhere is a failover)
  std::uint64_t seq_ = 0;
  std::uint32_t budget_ = 0; ///< --ack: frames this drone may still write before its next tick
  bool writing_ = false;
  bool close_after_write_ = false;
  bool holds_gate_ = false;
  bool attempted_ = false;
  bool replaced_ = false;
  clock::time_point connected_at_{};
  clock::time_point next_tick_{};
};

} // namespace dccs::sim
