// One drone WebSocket (/ws/drone): frames in, welcome, acknowledgements and errors out; its link actor.

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "bridges/server_impl.hpp"
#include "actors/drone_json.hpp"
#include "actors/fleet_store.hpp"
#include "bridges/drone_frame.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/rate_limiter.hpp"

namespace dccs::bridges {

namespace {

class drone_session;

/// The link actor of one drone socket: the socket's only face to the actor system. The drone actor serving the
/// socket (wherever it runs) tells it `attached` and `hangup`; it monitors that actor, and stops when the socket
/// closes (`detach`), which is how the drone actor, monitoring it, learns that the connection ended.
actors::drone_link_actor::behavior_type drone_link_impl(actors::drone_link_actor::pointer self,
                                                       std::weak_ptr<drone_session> socket);

/// Frames a drone connection may have waiting for the socket before it is closed (1008): what it is told that
/// cannot be merged (refusals; acks are merged into one).
constexpr std::size_t max_unread_frames = 1024;

/// One drone connection. Reads frames, parses each once, and sends them to the drone's actor; writes
/// welcome and error frames. All state is touched only on the connection's strand.
class drone_session : public ws_connection<drone_session, tcp::socket>, // a plain socket: the WebSocket's
                      public actors::ack_sink,                         // own idle timeout is enough
                      public std::enable_shared_from_this<drone_session> {
  friend class ws_connection<drone_session, tcp::socket>;

public:
  /// `secret`: the credential from the upgrade's Authorization header (empty when none was sent).
  drone_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, std::string secret)
    : ws_connection(std::move(srv), std::move(socket), std::move(slot)),
      link_id_{srv_->sys.node(), srv_->next_link_id++},
      limiter_(srv_->settings.drone_max_rate, srv_->settings.drone_burst), secret_(std::move(secret)) {
  }

  void run(http::request<http::string_body> req) {
    accept(std::move(req), srv_->settings.drone_max_frame);
  }

  // -- from the link actor (called from actor threads) --

  void attached(actors::drone_actor drone, bool first) {
    net::post(ws_.get_executor(), [self = shared_from_this(), drone = std::move(drone), first]() mutable {
      self->on_attached(std::move(drone), first);
    });
  }

  /// The drone actor serving this socket moved to another member or stopped with its node: connect again
  /// through this node's directory; frames wait meanwhile (drone.pending_frames) and go to the new actor.
  void reroute() {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->on_reroute(); });
  }

  /// A frame from the drone's actor (a command, a command_cancel): written in order with everything else.
  void deliver(std::string frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
      if (self->finished_ || self->closing_)
        return; // the command is sent again on the drone's next connection if it is still open
      if (self->queued() >= max_unread_frames) {
        self->start_close(websocket::close_code::policy_error, "too many unread frames");
        return;
      }
      self->write(std::move(frame));
    });
  }

  void hangup(std::uint16_t code, std::string reason) {
    if (code == 4000)
      srv_->drones_replaced.inc();
    post_close(code, std::move(reason));
  }

  // -- ack_sink (called from the telemetry writer's thread) --

  void committed(std::uint64_t seq) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), seq] {
      std::string frame = "{\"type\":\"ack\",\"seq\":";
      frame += std::to_string(seq);
      frame += '}';
      self->write_superseded(std::move(frame)); // acks are cumulative: a waiting one is replaced by the next
    });
  }

  void refused(std::uint64_t seq) override {
    // Written like an ack (never dropped): the drone must learn of it before any ack that passes this seq.
    net::post(ws_.get_executor(), [self = shared_from_this(), seq] {
      std::string frame = "{\"type\":\"error\",\"code\":\"storage_refused\",\"seq\":";
      frame += std::to_string(seq);
      frame += ",\"message\":\"the database refused this frame; it is not stored and acks do not cover it\"}";
      if (self->queued() >= max_unread_frames) {
        // It does not read what it is told: it reconnects and resends from its last ack instead.
        self->start_close(websocket::close_code::policy_error, "too many unread frames");
        return;
      }
      self->write(std::move(frame));
    });
  }

private:
  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    srv_->add(shared_from_this());
    srv_->drones_connected.add(1);
    registered_ = true;
    if (srv_->stopping) {
      start_close(websocket::close_code::going_away, "node shutting down");
      return;
    }
    hello_timer_.emplace(ws_.get_executor());
    hello_timer_->expires_after(std::chrono::milliseconds(srv_->settings.drone_hello_timeout_ms));
    hello_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->said_hello_)
        self->start_close(websocket::close_code::policy_error, "no hello in time");
    });
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&drone_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::message_too_big)
        srv_->drones_closed_size.inc();
      finish();
      return;
    }
    if (closing_)
      return;
    if (!limiter_.allow(runtime::mono_ms())) {
      srv_->drones_closed_rate.inc();
      runtime::log::warn("drone", "rate limit exceeded, closing",
                         {{"drone_id", drone_id_}, {"link", link_id_.n}});
      start_close(websocket::close_code::policy_error, "rate limit exceeded");
      return;
    }
    auto data = buffer_.cdata();
    std::string_view text{static_cast<const char*>(data.data()), data.size()};
    if (!ws_.got_text())
      reject("malformed", "frames must be JSON text frames");
    else
      on_frame(text);
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > 4096)
      buffer_.shrink_to_fit(); // a large frame must not pin memory for the life of the connection
    if (!closing_)
      do_read();
  }

  void on_frame(std::string_view text) {
    auto recv = runtime::wall_ms();
    parse_drone_frame(text, frame_);
    switch (frame_.kind) {
      case drone_frame::invalid:
        reject(frame_.error_code, frame_.error_message);
        return;
      case drone_frame::hello:
        if (said_hello_) {
          reject("duplicate_hello", "hello was already received on this connection");
          return;
        }
        said_hello_ = true;
        hello_timer_.reset();
        drone_id_ = frame_.info.id;
        if (frame_.ack) {
          if (srv_->services.telemetry)
            ack_ = shared_from_this();
          else
            reject("ack_unavailable", "this node does not store telemetry: no acknowledgements will be sent");
        }
        srv_->frames_accepted.inc();
        if (secret_.empty())
          secret_ = std::move(frame_.secret);
        link_ = srv_->sys.spawn(drone_link_impl, std::weak_ptr<drone_session>{shared_from_this()});
        info_ = std::move(frame_.info);
        if (srv_->services.fleet) {
          admit(info_, std::move(secret_));
        } else {
          // No registry, so no credentials: every drone is in the default group.
          info_.group = srv_->settings.default_group;
          connect();
        }
        secret_.clear();
        return;
      case drone_frame::telemetry:
      case drone_frame::heartbeat:
        if (!said_hello_) {
          reject("hello_required", "the first frame must be hello");
          return;
        }
        srv_->frames_accepted.inc();
        if (!drone_) {
          if (pending_.size() >= srv_->settings.drone_pending_frames) {
            reject("busy", "frame dropped: the drone is still being attached");
            return;
          }
          pending_.push_back({frame_.kind == drone_frame::telemetry, std::move(frame_.t), recv});
          return;
        }
        forward(frame_.kind == drone_frame::telemetry, std::move(frame_.t), recv);
        return;
      case drone_frame::command_ack:
        if (!said_hello_) {
          reject("hello_required", "the first frame must be hello");
          return;
        }
        srv_->frames_accepted.inc();
        // Commands come from the drone's actor, after the attach: an ack before it answers nothing.
        if (drone_)
          caf::anon_send(drone_, actors::cmd_ack_atom::value, std::move(frame_.ack_frame), link_id_);
        return;
      case drone_frame::mission_ack:
      case drone_frame::mission_progress:
        if (!said_hello_) {
          reject("hello_required", "the first frame must be hello");
          return;
        }
        srv_->frames_accepted.inc();
        // Mission items come from the drone's actor, after the attach: an answer before it has nothing to answer.
        if (drone_)
          caf::anon_send(drone_, actors::mission_atom::value, std::move(frame_.mission), link_id_);
        return;
    }
  }

  /// Hands a telemetry frame to the writer. False when the frame was refused (acknowledged drone, buffer
  /// full): the connection then closes with 1013 and the drone resends after reconnecting.
  bool store(const actors::telemetry& t, double recv) {
    actors::telemetry_row row;
    row.drone_id = drone_id_;
    row.t = t;
    row.received = recv;
    row.received_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count();
    row.ack = ack_;
    if (srv_->services.telemetry->push(std::move(row)))
      return true;
    srv_->drones_backlogged.inc();
    runtime::log::warn("drone", "telemetry buffer full, closing acknowledged connection",
                       {{"drone_id", drone_id_}, {"link", link_id_.n}});
    start_close(websocket::close_code::try_again_later, "telemetry storage is behind, resend later");
    return false;
  }

  /// Asks the registry whether this drone may connect (hello: its id and secret), then connects it, in the
  /// group the registry names, or closes.
  void admit(actors::drone_info info, std::string secret) {
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<drone_session> self, actors::fleet_actor fleet,
                       actors::drone_info info, std::string secret) {
      a->request(fleet, std::chrono::seconds(10), actors::admit_atom::value, info, std::move(secret))
        .then(
          [self](std::uint16_t code, std::string& group) mutable {
            if (code == actors::admit_ok) {
              net::post(self->ws_.get_executor(), [self, group = std::move(group)]() mutable {
                self->info_.group = std::move(group);
                self->connect();
              });
              return;
            }
            self->post_close(code, code == actors::admit_refused ? "drone authentication failed"
                                                                  : "registry unavailable, try again later");
          },
          [self](caf::error&) { self->post_close(websocket::close_code::try_again_later, "registry unavailable, try again later"); });
    }, shared_from_this(), srv_->services.fleet, std::move(info), std::move(secret));
  }

  /// Sends the connection to the drone's actor through this node's directory (which forwards it to the member
  /// that owns the drone). Without an answer (`attached`) within drone.attach_timeout_ms the socket closes with
  /// 1013: the drone reconnects later.
  void connect() {
    if (finished_ || closing_)
      return;
    caf::anon_send(srv_->directory, actors::connect_atom::value, info_, link_, link_id_);
    attach_timer_.emplace(ws_.get_executor());
    attach_timer_->expires_after(std::chrono::milliseconds(srv_->settings.drone_attach_timeout_ms));
    attach_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->drone_)
        self->start_close(websocket::close_code::try_again_later, "no drone actor answered, try again later");
    });
  }

  void on_reroute() {
    if (finished_ || closing_)
      return;
    drone_ = nullptr; // frames wait in pending_ until the new actor answers
    if (++reroutes_ > max_reroutes) {
      start_close(websocket::close_code::try_again_later, "the drone's actor keeps moving, try again later");
      return;
    }
    srv_->drones_rerouted.inc();
    connect();
  }

  void forward(bool is_telemetry, actors::telemetry&& t, double recv) {
    if (is_telemetry && srv_->services.telemetry && !store(t, recv))
      return;
    if (drone_remote_)
      srv_->frames_forwarded.inc();
    if (is_telemetry)
      caf::anon_send(drone_, actors::telemetry_atom::value, std::move(t), recv, link_id_);
    else
      caf::anon_send(drone_, actors::alive_atom::value, link_id_);
  }

  void on_attached(actors::drone_actor drone, bool first) {
    drone_ = std::move(drone);
    drone_remote_ = drone_ != nullptr && drone_.node() != srv_->sys.node();
    attach_timer_.reset();
    if (finished_)
      return; // the socket closed while the actor was being attached (its link actor is gone: the actor knows)
    if (first && !welcomed_ && !closing_) {
      welcomed_ = true;
      std::string welcome = "{\"type\":\"welcome\",\"server_time\":";
      actors::append_json_number(welcome, runtime::wall_ms());
      welcome += ",\"drone_id\":";
      actors::append_json_string(welcome, drone_id_);
      welcome += '}';
      write(std::move(welcome));
    }
    for (auto& p : pending_)
      if (!closing_)
        forward(p.telemetry, std::move(p.t), p.recv);
    pending_.clear();
    pending_.shrink_to_fit();
  }

  void reject(const std::string& code, const std::string& message) {
    srv_->frames_rejected.inc();
    if (queued() >= 16)
      return; // the client does not read its errors: do not buffer without bound
    std::string frame = "{\"type\":\"error\",\"code\":";
    actors::append_json_string(frame, code);
    frame += ",\"message\":";
    actors::append_json_string(frame, message);
    frame += '}';
    write(std::move(frame));
  }

  void on_closing() {
    hello_timer_.reset();
    attach_timer_.reset();
  }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    hello_timer_.reset();
    attach_timer_.reset();
    if (link_ != nullptr)
      caf::anon_send(link_, actors::detach_atom::value); // the drone actor monitors it: this is the detach
    if (registered_) {
      srv_->drones_connected.add(-1);
      srv_->remove(this);
    }
  }

  struct pending_frame {
    bool telemetry;
    actors::telemetry t;
    double recv;
  };

  actors::link_id link_id_;
  actors::drone_link_actor link_; ///< this socket's face to the actor system (from the hello on)
  runtime::rate_limiter limiter_;
  beast::flat_buffer buffer_;
  drone_frame frame_;
  std::optional<net::steady_timer> hello_timer_;
  std::optional<net::steady_timer> attach_timer_; ///< from each connect until the drone actor answers
  actors::drone_info info_;                       ///< from the hello (group: the registry's), for reroutes
  unsigned reroutes_ = 0;
  static constexpr unsigned max_reroutes = 32;    ///< per connection: a drone is not bounced around forever
  bool welcomed_ = false;
  std::vector<pending_frame> pending_;
  std::string drone_id_;
  actors::drone_actor drone_;
  bool drone_remote_ = false; ///< drone_ runs on another cluster member (its frames cross the cluster link)
  std::weak_ptr<actors::ack_sink> ack_; ///< set when the drone asked for acknowledgements
  std::string secret_;                  ///< until the hello: the credential from the upgrade request
  bool said_hello_ = false;
};

actors::drone_link_actor::behavior_type drone_link_impl(actors::drone_link_actor::pointer self,
                                                       std::weak_ptr<drone_session> socket) {
  auto drone = std::make_shared<caf::actor_addr>(); // the drone actor serving the socket, monitored
  self->set_down_handler([socket, drone](caf::down_msg& dm) {
    if (dm.source != *drone)
      return;
    *drone = caf::actor_addr{};
    if (dm.reason == caf::exit_reason::unhandled_exception)
      return; // its supervisor restarts it (and it attaches again) or gives up (and hangs up with 1011)
    // Stopped with its node (left, lost) or handed off: the drone's new owner serves the socket.
    if (auto s = socket.lock())
      s->reroute();
  });
  return {
    [self, socket, drone](actors::attached_atom, bool first) {
      auto sender = caf::actor_cast<actors::drone_actor>(self->current_sender());
      if (sender == nullptr)
        return;
      if (*drone != sender.address()) {
        if (*drone)
          self->demonitor(*drone);
        *drone = sender.address();
        self->monitor(sender);
      }
      if (auto s = socket.lock())
        s->attached(std::move(sender), first);
    },
    [socket](actors::hangup_atom, std::uint16_t code, std::string& reason) {
      if (auto s = socket.lock())
        s->hangup(code, std::move(reason));
    },
    [socket](actors::deliver_atom, std::string& frame) {
      if (auto s = socket.lock())
        s->deliver(std::move(frame));
    },
    [self](actors::detach_atom) { self->quit(); },
    [self, socket, drone](actors::reroute_atom) {
      if (*drone)
        self->demonitor(*drone);
      *drone = caf::actor_addr{};
      if (auto s = socket.lock())
        s->reroute();
    },
  };
}

} // namespace

void start_drone_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, std::string secret,
                         http::request<http::string_body> req) {
  // The upgrade was read on the control context: the socket moves to the drones' (no operation is pending on it;
  // the client waits for the 101 before its first frame).
  beast::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  tcp::socket moved{srv->drone_executor()};
  if (!ec) {
    auto fd = socket.release(ec);
    if (!ec) {
      moved.assign(protocol, fd, ec);
      if (ec)
        ::close(fd);
    }
  }
  if (ec) {
    runtime::log::warn("http", "a drone connection could not move to the drones' I/O threads", {{"error", ec.message()}});
    return; // the socket (or its descriptor) closes here; the slot is released
  }
  std::make_shared<drone_session>(std::move(moved), std::move(srv), std::move(slot), std::move(secret))
    ->run(std::move(req));
}

} // namespace dccs::bridges
