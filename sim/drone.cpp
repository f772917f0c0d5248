#include "sim/drone.hpp"

#include "sim/clock.hpp"
#include "sim/command_parse.hpp"
#include "sim/fleet.hpp"
#include "sim/mission.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dccs::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto backoff_start = std::chrono::milliseconds(200);
constexpr auto backoff_cap = std::chrono::milliseconds(10'000);
/// A connection that lived this long resets the backoff exponent.
constexpr auto stable_connection = std::chrono::seconds(10);

/// Evenly spread phase in [0, 1) for any fleet size (golden-ratio sequence).
double phase_of(std::uint32_t index) noexcept {
  const double x = static_cast<double>(index) * 0.6180339887498949;
  return x - std::floor(x);
}

} // namespace

drone::drone(shard& owner, std::uint32_t index, const flight_model& model)
    : shard_(owner), index_(index), model_(model), rng_(rng::mix(owner.opts().seed ^ 0xb5ad4eceda1ce2a9ULL, index)),
      phase_(phase_of(index)), timer_(owner.executor()),
      loss_rng_(rng::mix(owner.opts().seed ^ 0x6a09e667f3bcc909ULL, index)),
      node_(static_cast<std::uint32_t>(initial_node(index, owner.node_count()))), last_node_(node_) {
  char buf[80];
  const std::size_t n = format_drone_id(buf, sizeof buf, owner.opts().prefix, index);
  id_.assign(buf, n);
  if (owner.opts().ack)
    acks_ = std::make_unique<ack_buffer>(owner.opts().ack_window);
  if (owner.opts().autopilot) { // on the ground at home, disarmed: the model has not flown yet
    commanded();
    if (owner.opts().battery)
      cmd_->pilot->set_battery(*owner.opts().battery);
  }
}

drone::command_state& drone::commanded() {
  if (!cmd_) {
    cmd_ = std::make_unique<command_state>();
    if (!shard_.opts().commands.empty())
      cmd_->pilot = std::make_unique<autopilot>(model_, shard_.opts().commands);
  }
  return *cmd_;
}

void drone::start() {
  if (shard_.stopping()) {
    state_ = state::stopped;
    shard_.on_stopped();
    return;
  }
  state_ = state::queued;
  shard_.gate().request(this);
}

void drone::begin_connect() {
  holds_gate_ = true;
  if (state_ != state::queued) { // stopped while queued
    release_gate();
    return;
  }
  auto& c = shard_.counters();
  c.connect_attempts.add();
  if (attempted_) {
    c.reconnects.add();
    if (node_ != last_node_)
      c.failovers.add();
  }
  attempted_ = true;
  last_node_ = node_;

  ws_.emplace(shard_.executor());
  ws_->text(true);
  ws_->auto_fragment(false);
  ws_->secure_prng(false);       // a load generator needs no cryptographic masking keys
  ws_->write_buffer_bytes(1024); // telemetry frames are ~260 bytes; keeps the per-drone footprint small
  ws_->read_message_max(64 * 1024);
  websocket::stream_base::timeout to{};
  to.handshake_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(shard_.opts().connect_timeout));
  to.idle_timeout = websocket::stream_base::none();
  to.keep_alive_pings = false;
  ws_->set_option(to);
  rbuf_.clear();
  writing_ = close_after_write_ = false;
  if (cmd_) { // acks not written on the previous connection are lost with it (the node asks again); progress is not
    auto& q = cmd_->out;
    q.erase(std::remove_if(q.begin(), q.end(),
                           [](const command_state::outgoing& o) {
                             return o.kind != command_state::frame_kind::mission_progress;
                           }),
            q.end());
  }
  if (acks_)
    acks_->rewind(); // a new connection: nothing kept is written on it yet, no ack of it counts yet

  state_ = state::connecting;
  arm_connect_deadline();
  ++ops_;
  beast::get_lowest_layer(*ws_).async_connect(shard_.node(node_).endpoint, [this](const error_code& ec) {
    --ops_;
    on_connect(ec);
  });
}

void drone::arm_connect_deadline() {
  const auto gen = ++timer_gen_;
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(shard_.opts().connect_timeout)));
  timer_.async_wait([this, gen](const error_code& ec) {
    if (ec || gen != timer_gen_)
      return;
    if (state_ == state::connecting || state_ == state::upgrading || state_ == state::hello)
      fail("timeout waiting for welcome", net::error::timed_out);
  });
}

void drone::on_connect(const error_code& ec) {
  if (state_ != state::connecting)
    return maybe_finished_closing();
  if (ec)
    return fail("connect", ec);
  error_code ignored;
  beast::get_lowest_layer(*ws_).set_option(net::ip::tcp::no_delay(true), ignored);
  state_ = state::upgrading;
  ++ops_;
  const node_target& target = shard_.node(node_);
  ws_->async_handshake(target.host_header, target.path, [this](const error_code& ec) {
    --ops_;
    on_upgrade(ec);
  });
}

void drone::on_upgrade(const error_code& ec) {
  if (state_ != state::upgrading)
    return maybe_finished_closing();
  if (ec)
    return fail("websocket upgrade", ec);
  state_ = state::hello;
  const std::size_t n = format_hello(wbuf_.data(), wbuf_.size(), id_, acks_ != nullptr, shard_.hello_commands());
  writing_ = true;
  ++ops_;
  ws_->async_write(net::buffer(wbuf_.data(), n), [this](const error_code& ec, std::size_t) {
    --ops_;
    on_write(ec, false, 0, false);
  });
  read();
}

void drone::read() {
  ++ops_;
  ws_->async_read(rbuf_, [this](const error_code& ec, std::size_t) {
    --ops_;
    on_read(ec);
  });
}

void drone::on_read(const error_code& ec) {
  if (state_ == state::closing || state_ == state::stopped || state_ == state::backoff)
    return maybe_finished_closing(); // our own close (or failure) being completed
  if (ec) {
    if (ec == websocket::error::closed) {
      const auto code = static_cast<std::uint16_t>(ws_->reason().code);
      shard_.counters().closes[static_cast<std::size_t>(classify_close(code))].add();
      if (code == 4000)
        replaced_ = true; // another connection uses our id: coming back would only flap
      return fail("closed by the node", ec);
    }
    shard_.counters().closes[static_cast<std::size_t>(close_kind::abnormal)].add();
    return fail("read", ec);
  }
  on_message();
  rbuf_.consume(rbuf_.size());
  read();
}

void drone::on_message() {
  // `ack` may come once per frame, so its usual spelling is matched without a parser; `welcome`,
  // `error` and any other spelling are rare, so a real parse is cheap.
  const std::size_t size = rbuf_.size();
  std::uint64_t seq = 0;
  if (parse_ack_fast(std::string_view(static_cast<const char*>(rbuf_.data().data()), size), seq))
    return on_ack(seq);
  rbuf_.prepare(simdjson::SIMDJSON_PADDING); // keeps the readable bytes, guarantees the padding
  const char* data = static_cast<const char*>(rbuf_.data().data());
  std::string_view type;
  auto doc = shard_.parser().iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING));
  if (doc.error() || doc["type"].get_string().get(type))
    type = {};
  if (type == "ack") {
    if (doc["seq"].get_uint64().get(seq) == simdjson::SUCCESS)
      return on_ack(seq);
    shard_.counters().ack_errors.add();
    shard_.log_error_frame(id_, std::string_view(data, size));
  } else if (type == "command" || type == "command_cancel") {
    on_command_frame(data, size); // parses again: `type` points into the parser, which that reuses
  } else if (type == "mission_item") {
    on_mission_frame(data, size);
  } else if (type == "welcome") {
    if (state_ == state::hello)
      on_welcome();
  } else if (type == "error") {
    shard_.counters().errors.add();
    shard_.log_error_frame(id_, std::string_view(data, size));
  } else {
    shard_.log_error_frame(id_, std::string_view(data, size)); // unexpected: show it once or twice
  }
}

void drone::on_ack(std::uint64_t seq) {
  auto& c = shard_.counters();
  if (!acks_) { // we did not ask for acks
    c.ack_errors.add();
    return;
  }
  std::size_t released = 0;
  switch (acks_->ack(seq, released)) {
  case ack_result::advanced:
    c.frames_acked.add(released);
    break;
  case ack_result::stale:
    break;
  case ack_result::beyond:
    c.ack_errors.add();
    break;
  }
}

const telemetry_state& drone::advance_flight() {
  const double dt = shard_.tick_dt();
  if (autopilot* p = cmd_ ? cmd_->pilot.get() : nullptr) {
    p->step(dt); // its acks (progress, completion) go out after this tick's telemetry frame
    return p->state();
  }
  model_.step(dt);
  return model_.state();
}

int drone::copies() {
  const options& o = shard_.opts();
  if (o.drop_rate > 0.0 && loss_rng_.uniform() < o.drop_rate)
    return 0;
  if (o.dup_rate > 0.0 && loss_rng_.uniform() < o.dup_rate)
    return 2;
  return 1;
}

void drone::on_command_frame(const char* data, std::size_t size) {
  auto& c = shard_.counters();
  if (state_ != state::streaming)
    return; // a node commands a drone it welcomed
  const int n = copies();
  if (n == 0) {
    c.command_rx_dropped.add();
    return;
  }
  if (n == 2)
    c.command_rx_doubled.add();
  command_frame f;
  if (!parse_command_frame(shard_.parser(), simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING), f)) {
    c.command_errors.add();
    shard_.log_error_frame(id_, std::string_view(data, size));
    return;
  }
  for (int i = 0; i < n; ++i)
    on_command(f);
}

void drone::on_command(const command_frame& f) {
  auto& c = shard_.counters();
  command_state& s = commanded();
  if (f.cancel)
    c.command_cancels.add();
  else
    c.commands_received.add();
  if (!s.pilot) { // --commands none: a drone that does not implement commands
    if (!f.cancel)
      c.commands_refused.add();
    const pilot_message a =
        command_ack{f.request.id, command_result::unsupported, -1, "this drone executes no commands"};
    return send_pilot_messages(&a);
  }
  if (f.cancel) {
    s.pilot->cancel(f.request.id);
  } else {
    switch (s.pilot->handle(f.request, wall_clock_ms())) {
    case command_outcome::executed:
      c.commands_executed.add();
      break;
    case command_outcome::refused:
      c.commands_refused.add();
      break;
    case command_outcome::duplicate:
      c.commands_duplicate.add();
      break;
    }
  }
  send_pilot_messages();
}

void drone::on_mission_frame(const char* data, std::size_t size) {
  auto& c = shard_.counters();
  if (state_ != state::streaming)
    return;
  const int n = copies();
  if (n == 0) {
    c.mission_rx_dropped.add();
    return;
  }
  if (n == 2)
    c.mission_rx_doubled.add();
  mission_item_frame f;
  if (!parse_mission_item_frame(shard_.parser(),
                                simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING), f)) {
    c.mission_errors.add();
    shard_.log_error_frame(id_, std::string_view(data, size));
    return;
  }
  command_state& s = commanded();
  for (int i = 0; i < n; ++i) {
    c.mission_items_received.add();
    if (!s.pilot) { // --commands none
      const pilot_message a =
          mission_ack{f.mission_id, f.seq, mission_result::unsupported, "this drone executes no commands"};
      send_pilot_messages(&a);
      continue;
    }
    s.pilot->handle_mission_item(f);
    send_pilot_messages();
  }
}

void drone::send_pilot_messages(const pilot_message* extra) {
  command_state& s = *cmd_;
  auto& c = shard_.counters();
  s.msgs.clear();
  if (s.pilot) {
    s.pilot->take_messages(s.msgs);
    if (s.pilot->photos() != s.photos) {
      c.mission_photos.add(s.pilot->photos() - s.photos);
      s.photos = s.pilot->photos();
    }
  }
  if (extra)
    s.msgs.push_back(*extra);
  if (s.msgs.empty())
    return;
  using kind = command_state::frame_kind;
  for (const pilot_message& m : s.msgs) {
    if (const auto* e = std::get_if<mission_event>(&m)) { // progress: never lost nor doubled on purpose
      switch (e->event) {
      case mission_event_kind::current:
        break;
      case mission_event_kind::reached:
        c.mission_items_reached.add();
        break;
      case mission_event_kind::completed:
        c.missions_completed.add();
        break;
      case mission_event_kind::aborted:
        c.missions_aborted.add();
        break;
      case mission_event_kind::failed:
        c.missions_failed.add();
        break;
      }
      s.out.push_back({format_mission_progress(*e), kind::mission_progress});
      continue;
    }
    const auto* ma = std::get_if<mission_ack>(&m);
    const int n = copies();
    if (n == 0) {
      (ma ? c.mission_tx_dropped : c.command_tx_dropped).add();
      continue;
    }
    if (n == 2)
      (ma ? c.mission_tx_doubled : c.command_tx_doubled).add();
    command_state::outgoing o{ma ? format_mission_ack(*ma) : format_command_ack(std::get<command_ack>(m)),
                              ma ? kind::mission_ack : kind::command_ack};
    if (n == 2)
      s.out.push_back(o);
    s.out.push_back(std::move(o));
  }
  s.msgs.clear();
  if (!writing_ && state_ == state::streaming && !s.out.empty())
    write_queued();
}

void drone::write_queued() {
  command_state& s = *cmd_;
  s.wbuf = std::move(s.out.front().frame); // the frame must outlive the write; the queue may grow meanwhile
  s.wkind = s.out.front().kind;
  s.out.pop_front();
  writing_ = true;
  ++ops_;
  ws_->async_write(net::buffer(s.wbuf), [this](const error_code& ec, std::size_t) {
    --ops_;
    if (!ec) {
      auto& c = shard_.counters();
      switch (cmd_->wkind) {
      case command_state::frame_kind::command_ack:
        c.command_acks_sent.add();
        break;
      case command_state::frame_kind::mission_ack:
        c.mission_acks_sent.add();
        break;
      case command_state::frame_kind::mission_progress:
        c.mission_progress_sent.add();
        break;
      }
    }
    on_write(ec, false, 0, false);
  });
}

void drone::on_welcome() {
  state_ = state::streaming;
  ++timer_gen_;
  timer_.cancel();
  release_gate();
  connected_at_ = clock::now();
  shard_.on_connected(node_);
  if (shard_.opts().scheduler == scheduler_kind::timers) {
    const auto offset = std::chrono::duration_cast<clock::duration>(shard_.period() * phase_);
    next_tick_ = connected_at_ + offset;
    schedule_own_tick();
  }
  if (acks_) { // everything kept goes out again, oldest first, before any new frame
    budget_ = shard_.ack_budget();
    pump();
  }
}

void drone::schedule_own_tick() {
  const auto gen = ++timer_gen_;
  const auto now = clock::now();
  if (now - next_tick_ > shard_.period()) { // fell behind by more than a period: do not burst
    shard_.counters().late_ticks.add();
    next_tick_ = now;
  }
  timer_.expires_at(next_tick_);
  timer_.async_wait([this, gen](const error_code& ec) {
    if (ec || gen != timer_gen_ || state_ != state::streaming)
      return;
    const auto late = clock::now() - next_tick_;
    if (late.count() > 0)
      shard_.counters().observe_lag(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(late).count()));
    next_tick_ += shard_.period();
    tick();
    if (state_ == state::streaming)
      schedule_own_tick();
  });
}

void drone::tick() {
  if (state_ != state::streaming)
    return;
  if (acks_)
    return tick_acked();
  const telemetry_state& t = advance_flight();
  if (writing_) { // the previous frame (or a command_ack) is still queued in the socket: do not pile up
    shard_.counters().skipped.add();
    if (cmd_)
      send_pilot_messages();
    return;
  }
  const std::size_t n = format_telemetry(wbuf_.data(), wbuf_.size(), t, seq_, wall_clock_us());
  ++seq_;
  writing_ = true;
  ++ops_;
  ws_->async_write(net::buffer(wbuf_.data(), n), [this, n](const error_code& ec, std::size_t) {
    --ops_;
    on_write(ec, true, n, false);
  });
  if (cmd_)
    send_pilot_messages();
}

void drone::tick_acked() {
  budget_ = shard_.ack_budget();
  const telemetry_state& t = advance_flight();
  if (!shard_.draining()) {
    auto& c = shard_.counters();
    if (acks_->full()) {
      c.ack_stalls.add();
    } else {
      // Not into wbuf_: it may be in use by a write in flight.
      char frame[max_frame_size];
      const std::size_t n = format_telemetry(frame, sizeof frame, t, seq_, wall_clock_us());
      if (acks_->push(seq_, std::string_view(frame, n))) {
        ++seq_;
        c.frames_kept.add();
      }
    }
  }
  pump();
  if (cmd_)
    send_pilot_messages();
}

void drone::pump() {
  if (state_ != state::streaming || writing_)
    return;
  if (cmd_ && !cmd_->out.empty()) // command_acks first: they are few and the node waits for them
    return write_queued();
  if (budget_ == 0 || !acks_->has_unsent())
    return;
  --budget_;
  const std::string_view frame = acks_->next_unsent();
  const std::size_t n = frame.size();
  std::memcpy(wbuf_.data(), frame.data(), n); // the kept bytes may move (push, ack) while the write is in flight
  const bool resend = acks_->mark_sent();
  writing_ = true;
  ++ops_;
  ws_->async_write(net::buffer(wbuf_.data(), n), [this, n, resend](const error_code& ec, std::size_t) {
    --ops_;
    on_write(ec, true, n, resend);
  });
}

void drone::on_write(const error_code& ec, bool telemetry, std::size_t bytes, bool resend) {
  writing_ = false;
  if (!ec && telemetry) {
    auto& c = shard_.counters();
    c.frames_sent.add();
    c.bytes_sent.add(bytes);
    if (resend)
      c.frames_resent.add();
  }
  if (state_ == state::closing || state_ == state::stopped || state_ == state::backoff)
    return maybe_finished_closing();
  if (ec)
    return fail("write", ec);
  if (cmd_ && !cmd_->out.empty())
    write_queued();
  else if (acks_)
    pump();
}

void drone::send_close() {
  close_after_write_ = false;
  state_ = state::closing;
  ++ops_;
  ws_->async_close(websocket::close_code::normal, [this](const error_code&) {
    --ops_;
    maybe_finished_closing(); // the pending read completes when the node's close frame arrives
  });
}

void drone::stop() {
  switch (state_) {
  case state::idle:
  case state::queued:
  case state::backoff:
    ++timer_gen_;
    timer_.cancel();
    state_ = state::stopped;
    shard_.on_stopped();
    return;
  case state::connecting:
  case state::upgrading:
  case state::hello:
    return fail("shutdown", net::error::operation_aborted);
  case state::streaming:
    ++timer_gen_;
    timer_.cancel();
    shard_.counters().disconnects.add();
    shard_.on_disconnected(node_);
    if (writing_) { // one write at a time: the close frame follows the frame being written
      close_after_write_ = true;
      state_ = state::closing;
    } else {
      send_close();
    }
    return;
  case state::closing:
  case state::stopped:
    return;
  }
}

void drone::force_close() {
  if (ws_ && state_ != state::stopped) {
    error_code ignored;
    beast::get_lowest_layer(*ws_).close(ignored);
  }
}

void drone::fail(const char* what, const error_code& ec) {
  if (state_ == state::closing || state_ == state::stopped || state_ == state::backoff)
    return;
  auto& c = shard_.counters();
  if (state_ == state::streaming) {
    c.disconnects.add();
    shard_.on_disconnected(node_);
    if (clock::now() - connected_at_ >= stable_connection)
      attempt_ = 0;
  } else {
    release_gate();
    if (!shard_.stopping()) {
      c.connect_failures.add();
      shard_.log_failure(id_, node_, what, ec);
    }
  }
  state_ = state::closing;
  ++timer_gen_;
  timer_.cancel();
  if (ws_) {
    error_code ignored;
    beast::get_lowest_layer(*ws_).close(ignored); // pending operations complete with operation_aborted
  }
  maybe_finished_closing();
}

void drone::maybe_finished_closing() {
  if (state_ != state::closing)
    return;
  if (close_after_write_ && !writing_) {
    send_close();
    return;
  }
  if (ops_ > 0)
    return;
  ws_.reset();
  if (shard_.stopping() || replaced_) {
    state_ = state::stopped;
    shard_.on_stopped();
    return;
  }
  schedule_reconnect();
}

void drone::schedule_reconnect() {
  // Exponential backoff with "equal jitter": a random delay in [d/2, d], d = 200 ms * 2^attempt, capped.
  const double base_ms = static_cast<double>(backoff_start.count()) * std::ldexp(1.0, static_cast<int>(std::min<std::uint32_t>(attempt_, 20)));
  const double cap_ms = static_cast<double>(backoff_cap.count());
  const double d = std::min(base_ms, cap_ms);
  const double delay_ms = rng_.uniform(d / 2.0, d);
  attempt_ = std::min<std::uint32_t>(attempt_ + 1, 20);
  // The connection (or attempt) ended without a shutdown or a replacement: try the next node.
  node_ = static_cast<std::uint32_t>(next_node(node_, shard_.node_count()));
  state_ = state::backoff;
  const auto gen = ++timer_gen_;
  timer_.expires_after(std::chrono::duration_cast<clock::duration>(std::chrono::duration<double, std::milli>(delay_ms)));
  timer_.async_wait([this, gen](const error_code& ec) {
    if (ec || gen != timer_gen_ || state_ != state::backoff)
      return;
    start();
  });
}

void drone::release_gate() {
  if (holds_gate_) {
    holds_gate_ = false;
    shard_.gate().release();
  }
}

} // namespace dccs::sim
