// One operator WebSocket (/ws/operator): subscriptions in, snapshots, updates and status events out; its link
// actor; the token that opened it is revalidated every second.

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
#include "bridges/operator_frame.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/rate_limiter.hpp"

namespace dccs::bridges {

namespace {

class operator_session;

/// The link actor of one operator socket: writes what its session actor delivers; stops when the socket closes.
actors::operator_link_actor::behavior_type operator_link_impl(actors::operator_link_actor::pointer self,
                                                             std::weak_ptr<operator_session> socket);

/// One operator connection: forwards subscriptions to its session actor and writes what the actor
/// delivers, one frame at a time.
class operator_session : public ws_connection<operator_session, beast::tcp_stream>,
                         public std::enable_shared_from_this<operator_session> {
  friend class ws_connection<operator_session, beast::tcp_stream>;

public:
  operator_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, auth::principal who)
    : ws_connection(std::move(srv), std::move(socket), std::move(slot)),
      limiter_(srv_->settings.operator_max_rate, srv_->settings.operator_max_rate * 2), who_(std::move(who)),
      scope_(auth::read_scope(who_)) {
  }

  /// The token this socket was opened with expired or was revoked (logout, user disabled or changed): close
  /// with 4001 — the client gets a new token and ticket and reconnects, with what its user may now see.
  void revalidate(std::int64_t now_s) override {
    const char* why = nullptr;
    std::string name;
    {
      std::lock_guard<std::mutex> guard{who_mtx_};
      name = who_.name;
      if (who_.exp <= now_s)
        why = "access token expired";
      else if (srv_->services.revocations && srv_->services.revocations->revoked(who_))
        why = "access revoked";
    }
    if (why != nullptr && !revoked_.exchange(true)) {
      runtime::log::info("operator", "closing a socket whose access ended", {{"user", name}, {"reason", why}});
      post_close(4001, why);
    }
  }

  void run(http::request<http::string_body> req) { accept(std::move(req), srv_->settings.operator_max_frame); }

  // -- from the link actor (called from actor threads) --

  void deliver(std::string frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
      self->write(std::move(frame), true);
    });
  }

  void hangup(std::uint16_t code, std::string reason) { post_close(code, std::move(reason)); }

private:
  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    srv_->add(shared_from_this());
    srv_->operators_connected.add(1);
    registered_ = true;
    link_ = srv_->sys.spawn(operator_link_impl, std::weak_ptr<operator_session>{shared_from_this()});
    session_ = srv_->sys.spawn(actors::session_impl, link_, srv_->hub, srv_->settings.operator_max_events,
                               srv_->actor_metrics_);
    if (srv_->stopping) {
      start_close(websocket::close_code::going_away, "node shutting down");
      return;
    }
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&operator_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      finish();
      return;
    }
    if (closing_)
      return;
    if (!limiter_.allow(runtime::mono_ms())) {
      start_close(websocket::close_code::policy_error, "rate limit exceeded");
      return;
    }
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    handle(text);
    do_read();
  }

  void error(const char* code, std::string message) {
    caf::anon_send(session_, actors::error_atom::value, std::string{code}, std::move(message));
  }

  void handle(const std::string& text) {
    auto frame = parse_operator_frame(text);
    if (frame.kind == operator_frame::invalid)
      return error(frame.error_code.c_str(), std::move(frame.error_message));
    if (frame.kind == operator_frame::auth)
      return renew(frame.token);
    frame.sub.scope = scope_; // what this user may see: auth/access.hpp decides, the hub applies it
    caf::anon_send(session_, actors::subscribe_atom::value, std::move(frame.sub));
  }

  /// {"type":"auth","token":"<access token>"}: the same user's newer token (after a refresh) carries the socket
  /// on past the old token's expiry, without a new snapshot. A token of another user, role or groups closes the
  /// socket (4001: reconnect with what the new token allows); an invalid one is an error frame.
  void renew(const std::string& token) {
    beast::error_code ec;
    auto remote = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    const char* why = "";
    auto next = srv_->verify_token(token, ec ? std::string{} : remote.address().to_string(), why);
    if (!next)
      return error("invalid_token", why);
    {
      std::lock_guard<std::mutex> guard{who_mtx_};
      if (next->name != who_.name || next->role != who_.role || next->groups != who_.groups) {
        if (!revoked_.exchange(true))
          start_close(4001, "a token of another user, role or groups: reconnect");
        return;
      }
      who_ = std::move(*next);
    }
    std::string frame = "{\"type\":\"authenticated\",\"expires_at\":";
    frame += std::to_string(who_.exp);
    frame += '}';
    caf::anon_send(session_, actors::notice_atom::value, std::string{}, std::move(frame));
  }

  /// A frame the session actor delivered was written: it may send the next.
  void on_written() { caf::anon_send(session_, actors::ready_atom::value); }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    if (session_)
      caf::anon_send_exit(session_, caf::exit_reason::user_shutdown);
    session_ = nullptr;
    if (link_)
      caf::anon_send(link_, actors::detach_atom::value);
    link_ = nullptr;
    if (registered_) {
      srv_->operators_connected.add(-1);
      srv_->remove(this);
    }
  }

  runtime::rate_limiter limiter_;
  beast::flat_buffer buffer_;
  actors::operator_link_actor link_;
  actors::session_actor session_;
  std::mutex who_mtx_;   ///< who_ is read by the revalidation sweep, from another thread
  auth::principal who_;
  const auth::scope scope_;
  std::atomic<bool> revoked_{false};
};

actors::operator_link_actor::behavior_type operator_link_impl(actors::operator_link_actor::pointer self,
                                                             std::weak_ptr<operator_session> socket) {
  return {
    [socket](actors::deliver_atom, std::string& frame) {
      if (auto s = socket.lock())
        s->deliver(std::move(frame));
    },
    [socket](actors::hangup_atom, std::uint16_t code, std::string& reason) {
      if (auto s = socket.lock())
        s->hangup(code, std::move(reason));
    },
    [self](actors::detach_atom) { self->quit(); },
  };
}

} // namespace

void start_operator_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, auth::principal who,
                            http::request<http::string_body> req) {
  std::make_shared<operator_session>(std::move(socket), std::move(srv), std::move(slot), std::move(who))
    ->run(std::move(req));
}

} // namespace dccs::bridges
