// One HTTP connection: request checks, the REST router, the token/ticket/origin gate, the short-lived request
// actors, static files, and the hand-over of WebSocket upgrades.

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
#include <nlohmann/json.hpp>

#include "actors/drone_json.hpp"
#include "actors/fleet_store.hpp"
#include "actors/list_page.hpp"
#include "auth/jwt.hpp"
#include "bridges/api_status.hpp"
#include "bridges/http_request.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/secret.hpp"
#include "runtime/text.hpp"

namespace dccs::bridges {

namespace {

// -- HTTP -----------------------------------------------------------------------------------------------

/// One HTTP connection: reads requests, answers REST and static files, and hands WebSocket upgrades to
/// the drone or operator session classes. Answers that need an actor are produced asynchronously: a
/// short-lived actor makes the request and posts the response back onto this connection's strand.
class http_session : public std::enable_shared_from_this<http_session>, public reserve_waiter {
public:
  /// `reserve`: a connection past http.max_connections, which serves one request of the kinds the reserve is
  /// for (allowed_in_reserve) and closes.
  http_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot, bool reserve)
    : srv_(std::move(srv)), slot_(std::move(slot)), stream_(std::move(socket)), reserve_(reserve) {
  }

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&http_session::do_read, shared_from_this()));
  }

  void evict() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] { close_socket(self->stream_); });
  }

private:
  using response = http::response<http::string_body>;

  /// Reads the next request's head; the body follows once the head passed its checks.
  void do_read() {
    parser_.emplace();
    parser_->body_limit(srv_->settings.max_body);
    parser_->header_limit(max_request_head);
    head_ = false;
    buffer_.max_size(std::max(buffer_.size(), max_request_buffer));
    // A reserve connection has a few seconds to send its request: it holds a scarce place.
    stream_.expires_after(reserve_ ? std::chrono::seconds(5) : std::chrono::seconds(30));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_failure(ec);
    if (reserve_ && !claim())
      return; // evicted meanwhile: the socket is being closed
    auto& req = parser_->get();
    version_ = req.version() == 10 ? 10 : 11;
    keep_alive_ = req.keep_alive() && !reserve_;
    head_ = req.method() == http::verb::head;
    if (auto bad = check_request(req))
      return refuse(*bad);
    auto target = std::string_view{req.target().data(), req.target().size()};
    if (auto origin = origin_form(target); origin && origin->data() != target.data())
      req.target(std::string{*origin}); // absolute-form: routed by its path
    if (reserve_) {
      target = std::string_view{req.target().data(), req.target().size()};
      auto kind = classify_path(target.substr(0, target.find('?')));
      bool credentials = !bearer_text(req).empty() || (kind == route_kind::ws_operator && has_ticket(target));
      if (!allowed_in_reserve(kind, credentials)) {
        srv_->reserve_refused.inc();
        return refuse({503, "too_many_connections",
                       "the node is at http.max_connections: only health checks, metrics, logins and "
                       "authenticated operators are served now, try again later"});
      }
    }
    if (parser_->is_done())
      return on_read({}, 0);
    // Not below what is buffered already: a dynamic buffer must never hold more than its maximum.
    buffer_.max_size(std::max(buffer_.size(), max_body_buffer));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  /// A request that could not be read: answered when the parser refused it (400, 413, 414, 431), closed
  /// otherwise (the client left, a timeout).
  void on_failure(beast::error_code ec) {
    if (ec == http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto data = buffer_.cdata();
    bool line_read = parser_ && !parser_->get().target().empty();
    if (auto bad = parse_failure(ec, line_read, {static_cast<const char*>(data.data()), data.size()}))
      return refuse(*bad);
  }

  /// Answers with an error and closes the connection (what follows the request cannot be trusted).
  void refuse(const request_error& e) {
    keep_alive_ = false;
    auto res = make(static_cast<http::status>(e.status), json_error(e.code, e.message));
    if (e.status == 503)
      res.set(http::field::retry_after, "5");
    send(std::move(res));
  }

  static bool has_ticket(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos)
      return false;
    auto query = target.substr(q + 1);
    return query.substr(0, 7) == "ticket=" || query.find("&ticket=") != std::string_view::npos;
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return on_failure(ec);
    auto req = parser_->release();
    srv_->http_requests.inc();
    {
      // A route of a role this node does not run (node.roles): 421 before anything else, an upgrade included.
      auto target = std::string_view{req.target().data(), req.target().size()};
      if (auto role = route_role(target.substr(0, target.find('?'))); role && !srv_->settings.roles.runs(*role))
        return misdirected(*role, std::string{target}, websocket::is_upgrade(req));
    }
    if (websocket::is_upgrade(req)) {
      auto path = std::string_view{req.target().data(), req.target().size()};
      path = path.substr(0, path.find('?'));
      if (path == "/ws/drone") {
        // The drone's secret may come here or in its hello; the registry checks it at the hello.
        auto secret = bearer_text(req);
        stream_.expires_never();
        start_drone_session(stream_.release_socket(), srv_, std::move(slot_), std::string{secret}, std::move(req));
        return;
      }
      if (path == "/ws/operator") {
        if (!origin_allowed(req))
          return send(make(http::status::forbidden,
                           json_error("forbidden_origin", "this origin may not open an operator WebSocket")));
        // A ticket is spent by the node that issued it (maybe another member): the answer comes back on this strand.
        if (auto ticket = ticket_param(std::string_view{req.target().data(), req.target().size()}))
          return redeem_then_upgrade(std::string{*ticket}, std::move(req));
        auto who = operator_credentials(req);
        if (!who)
          return;
        stream_.expires_never();
        start_operator_session(stream_.release_socket(), srv_, std::move(slot_), std::move(*who), std::move(req));
        return;
      }
      return send(make(http::status::not_found, json_error("not_found", "no WebSocket endpoint at this path")));
    }
    route(req);
  }

  /// A response to the request being served. The answer to a HEAD request has the headers of the GET answer
  /// (its Content-Length too) and no body.
  response make(http::status status, std::string body, const char* type = "application/json") {
    response res{status, version_};
    res.set(http::field::server, "dccs");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    if (head_)
      res.body().clear();
    return res;
  }

  void send(response res) { write(std::make_shared<response>(std::move(res))); }

  /// Writes a response (string or file body), then reads the next request or ends the connection.
  template <class Body>
  void write(std::shared_ptr<http::response<Body>> res) {
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      if (!res->keep_alive())
        return self->linger();
      self->do_read();
    });
  }

  /// After the last answer: no more writes, and what the client still sends is read and dropped (for at most 2 s
  /// and 64 KiB) before the socket closes. Closing with unread data would reset the connection, and the reset can
  /// destroy the answer before the client read it.
  void linger(std::size_t drained = 0) {
    if (drained == 0) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.expires_after(std::chrono::seconds(2));
      buffer_.consume(buffer_.size());
    }
    if (drained > 64 * 1024)
      return;
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this(), drained](beast::error_code ec, std::size_t n) {
      if (ec)
        return;
      self->linger(drained + n + 1);
    });
  }

  /// Posts a response produced on another thread back onto this connection's strand.
  void send_later(http::status status, std::string body) {
    net::post(stream_.get_executor(), [self = shared_from_this(), status, body = std::move(body)]() mutable {
      self->send(self->make(status, std::move(body)));
    });
  }

  void route(http::request<http::string_body>& req) {
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto path = target.substr(0, target.find('?'));
    auto method = req.method();
    bool read_only = method == http::verb::get || method == http::verb::head;
    auto not_allowed = [&](const char* allow) {
      auto res = make(http::status::method_not_allowed,
                      json_error("method_not_allowed", "method not allowed on this path"));
      res.set(http::field::allow, allow);
      send(std::move(res));
    };
    if (path == "/healthz") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      std::string body = "{\"status\":\"ok\",\"node\":";
      actors::append_json_string(body, srv_->settings.node_name);
      body += '}';
      return send(make(http::status::ok, std::move(body)));
    }
    if (path == "/readyz") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (srv_->ready && !srv_->stopping) {
        // Ready while the node serves the live view; a dependency that is down makes it "degraded" (still
        // 200: drones and operators are served, rows wait in the buffer) and is named.
        auto* health = srv_->services.health;
        if (health == nullptr)
          return send(make(http::status::ok, "{\"status\":\"ready\"}"));
        // Until every dependency has been reached (or has refused) once, the node is still starting: 503.
        bool starting = health->starting();
        std::string body = "{\"status\":\"";
        body += starting ? "starting" : health->degraded() ? "degraded" : "ready";
        body += "\",\"dependencies\":";
        body += health->json();
        if (srv_->services.telemetry) {
          body += ",\"telemetry_buffer\":{\"rows\":";
          body += std::to_string(srv_->services.telemetry->rows());
          body += ",\"writing\":";
          body += std::to_string(srv_->services.telemetry->writing());
          body += ",\"bytes\":";
          body += std::to_string(srv_->services.telemetry->bytes());
          body += ",\"max_bytes\":";
          body += std::to_string(srv_->services.telemetry->max_bytes());
          body += '}';
        }
        body += '}';
        return send(make(starting ? http::status::service_unavailable : http::status::ok, std::move(body)));
      }
      return send(make(http::status::service_unavailable,
                       srv_->stopping ? "{\"status\":\"stopping\"}" : "{\"status\":\"starting\"}"));
    }
    if (path == "/.well-known/jwks.json") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (!srv_->services.keys)
        return send(make(http::status::not_found, json_error("not_found", "this node issues no tokens")));
      auto res = make(http::status::ok, srv_->services.keys->jwks_json(), "application/jwk-set+json");
      res.set(http::field::cache_control, "public, max-age=300");
      return send(std::move(res));
    }
    auto client_address = [&] { return this->client_address(req); };
    if (path == "/api/v1/auth/login" || path == "/api/v1/auth/refresh") {
      if (method != http::verb::post)
        return not_allowed("POST");
      if (!srv_->services.auth)
        return storage_disabled();
      actors::http_query q;
      q.method = "POST";
      q.body = std::move(req.body());
      q.address = client_address(); // for the audit trail and the failed-login limits
      if (path == "/api/v1/auth/login")
        return ask(srv_->services.auth, actors::login_atom::value, std::move(q));
      return ask(srv_->services.auth, actors::refresh_atom::value, std::move(q));
    }
    if (path == "/metrics") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (!srv_->settings.metrics_public) {
        auto who = authenticate(req);
        if (!who || !permit(*who, auth::permission::manage_keys, "the metrics are for admins"))
          return;
      }
      return send(make(http::status::ok, srv_->metrics.render(), "text/plain; version=0.0.4"));
    }
    if (path.substr(0, 5) != "/api/" && path != "/api") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      return serve_static(path, method == http::verb::head);
    }
    // -- everything below needs an access token --
    auto who = authenticate(req);
    if (!who)
      return;
    static constexpr std::string_view drones_prefix = "/api/v1/drones";
    auto query = target.find('?') == std::string_view::npos ? std::string_view{} : target.substr(target.find('?') + 1);
    const double read_ms = runtime::mono_ms_fine();
    auto make_query = [&](std::string id, std::string kind) {
      actors::http_query q;
      q.method = std::string{req.method_string()};
      q.id = std::move(id);
      q.kind = std::move(kind);
      q.query = std::string{query};
      q.body = std::move(req.body());
      auto accept = req[http::field::accept];
      q.accept = std::string{accept.data(), accept.size()};
      q.who = *who;
      q.address = client_address();
      auto key = req["Idempotency-Key"];
      q.idempotency_key = std::string{key.data(), key.size()};
      q.read_ms = read_ms;
      return q;
    };
    auto& commands = srv_->services.commands;
    static constexpr std::string_view commands_prefix = "/api/v1/commands/";
    if (path.size() > commands_prefix.size() && path.substr(0, commands_prefix.size()) == commands_prefix) {
      auto id = path.substr(commands_prefix.size());
      if (id.find('/') != std::string_view::npos)
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (!(read_only || method == http::verb::delete_))
        return not_allowed("GET, HEAD, DELETE");
      if (!commands)
        return storage_disabled();
      if (read_only)
        return ask(commands, actors::get_atom::value, make_query(std::string{id}, ""));
      return ask(commands, actors::cancel_atom::value, make_query(std::string{id}, ""));
    }
    // Geofences: /api/v1/geofences (GET, POST) and /api/v1/geofences/{id} (GET, PATCH, DELETE).
    static constexpr std::string_view geofences_prefix = "/api/v1/geofences";
    if (path == geofences_prefix || (path.size() > geofences_prefix.size() && path.substr(0, geofences_prefix.size() + 1) == "/api/v1/geofences/")) {
      auto id = path.size() > geofences_prefix.size() + 1 ? path.substr(geofences_prefix.size() + 1) : std::string_view{};
      if (id.find('/') != std::string_view::npos)
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (id.empty() ? !(read_only || method == http::verb::post)
                     : !(read_only || method == http::verb::patch || method == http::verb::delete_))
        return not_allowed(id.empty() ? "GET, HEAD, POST" : "GET, HEAD, PATCH, DELETE");
      if (!srv_->services.safety)
        return storage_disabled();
      return ask(srv_->services.safety, actors::geofence_atom::value, make_query(std::string{id}, ""));
    }
    // Alarms: /api/v1/alarms (GET), /api/v1/alarms/{id} (GET), /api/v1/alarms/{id}/acknowledge|clear (POST).
    static constexpr std::string_view alarms_prefix = "/api/v1/alarms";
    if (path == alarms_prefix || (path.size() > alarms_prefix.size() && path.substr(0, alarms_prefix.size() + 1) == "/api/v1/alarms/")) {
      auto rest = path.size() > alarms_prefix.size() + 1 ? path.substr(alarms_prefix.size() + 1) : std::string_view{};
      auto slash = rest.find('/');
      auto id = rest.substr(0, slash);
      auto action = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      if ((slash != std::string_view::npos && action != "acknowledge" && action != "clear") || (id.empty() && !rest.empty()))
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (action.empty() ? !read_only : method != http::verb::post)
        return not_allowed(action.empty() ? "GET, HEAD" : "POST");
      if (!srv_->services.safety)
        return storage_disabled();
      return ask(srv_->services.safety, actors::alarm_atom::value, make_query(std::string{id}, std::string{action}));
    }
    // Missions: /api/v1/missions (GET, POST), /api/v1/missions/{id} (GET, PATCH, DELETE),
    // /api/v1/missions/{id}/validate, /assign, /upload, /start, /pause, /resume and /abort (POST).
    static constexpr std::string_view missions_prefix = "/api/v1/missions";
    if (path == missions_prefix || (path.size() > missions_prefix.size() && path.substr(0, missions_prefix.size() + 1) == "/api/v1/missions/")) {
      auto rest = path.size() > missions_prefix.size() + 1 ? path.substr(missions_prefix.size() + 1) : std::string_view{};
      auto slash = rest.find('/');
      auto id = rest.substr(0, slash);
      auto action = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      if ((slash != std::string_view::npos && action != "validate" && action != "assign" && action != "upload" &&
           action != "start" && action != "pause" && action != "resume" && action != "abort") ||
          (id.empty() && !rest.empty()))
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (!action.empty() ? method != http::verb::post
          : id.empty()    ? !(read_only || method == http::verb::post)
                          : !(read_only || method == http::verb::patch || method == http::verb::delete_))
        return not_allowed(!action.empty() ? "POST" : id.empty() ? "GET, HEAD, POST" : "GET, HEAD, PATCH, DELETE");
      if (!srv_->services.missions)
        return storage_disabled();
      return ask(srv_->services.missions, actors::mission_atom::value, make_query(std::string{id}, std::string{action}));
    }
    // Analytics: /api/v1/analytics/daily, /drones and /fleet (GET).
    if (path == "/api/v1/analytics/daily" || path == "/api/v1/analytics/drones" || path == "/api/v1/analytics/fleet") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      // The role decides here; the groups the caller reaches decide in the analytics actor.
      if (!auth::role_allows(who->role, auth::permission::read_analytics))
        return send(make(http::status::forbidden,
                         json_error("forbidden", "analytics are for the admin, operator and analytics roles")));
      if (!srv_->services.analytics)
        return storage_disabled();
      return ask(srv_->services.analytics, actors::analytics_atom::value,
                 make_query("", std::string{path.substr(std::string_view{"/api/v1/analytics/"}.size())}));
    }
    if (path.substr(0, 18) == "/api/v1/analytics/" || path == "/api/v1/analytics")
      return send(make(http::status::not_found, json_error("not_found", "no such API route")));
    if (path == "/api/v1/config/web") {
      // What the dashboard needs to draw its map (any signed-in user; nothing here is secret).
      if (!read_only)
        return not_allowed("GET, HEAD");
      const auto& t = srv_->settings.tiles;
      nlohmann::json web{{"tile_url", t.url}, {"tile_attribution", t.attribution}, {"tile_max_zoom", t.max_zoom}};
      return send(make(http::status::ok, web.dump()));
    }
    if (path == "/api/v1/auth/me") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      nlohmann::json me{{"name", who->name}, {"role", who->role}, {"groups", who->groups}, {"expires_at", who->exp}};
      return send(make(http::status::ok, me.dump()));
    }
    if (path == "/api/v1/auth/ticket") {
      if (method != http::verb::post)
        return not_allowed("POST");
      return issue_ticket(*who);
    }
    if (path == "/api/v1/auth/logout") {
      if (method != http::verb::post)
        return not_allowed("POST");
      // The access token stops working here at once, and on every node once the watcher has shared it.
      srv_->services.revocations->deny(who->jti, who->exp);
      if (srv_->services.guard)
        caf::anon_send(srv_->services.guard, actors::deny_atom::value, who->jti, who->exp);
      if (!srv_->services.auth)
        return send(make(http::status::no_content, ""));
      return ask(srv_->services.auth, actors::logout_atom::value, make_query("", ""));
    }
    if (path == "/api/v1/audit") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (!permit(*who, auth::permission::read_audit, "the audit log is for admins"))
        return;
      if (!srv_->services.auth)
        return storage_disabled();
      return ask(srv_->services.auth, actors::audit_atom::value, make_query("", ""));
    }
    if (path == "/api/v1/cluster") {
      if (!read_only)
        return not_allowed("GET, HEAD");
      if (!permit(*who, auth::permission::manage_keys, "the cluster's membership is for admins"))
        return;
      return cluster_status();
    }
    static constexpr std::string_view users_prefix = "/api/v1/users";
    if (path == users_prefix || path == "/api/v1/users/"
        || (path.size() > users_prefix.size() + 1 && path.substr(0, users_prefix.size() + 1) == "/api/v1/users/")) {
      std::string name = path.size() > users_prefix.size() + 1 ? std::string{path.substr(users_prefix.size() + 1)} : "";
      if (name.find('/') != std::string::npos)
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (name.empty() ? !(read_only || method == http::verb::post) : !(read_only || method == http::verb::patch))
        return not_allowed(name.empty() ? "GET, HEAD, POST" : "GET, HEAD, PATCH");
      if (!permit(*who, auth::permission::manage_users, "users are managed by admins"))
        return;
      if (!srv_->services.auth)
        return storage_disabled();
      return ask(srv_->services.auth, actors::users_atom::value, make_query(std::move(name), ""));
    }
    auto& fleet = srv_->services.fleet;
    if (path == drones_prefix || path == "/api/v1/drones/") {
      if (read_only)
        return fleet ? ask(fleet, actors::list_atom::value, make_query("", "")) : list_drones(*who, query);
      if (method == http::verb::post)
        return fleet ? ask(fleet, actors::create_atom::value, make_query("", "")) : storage_disabled();
      return not_allowed("GET, HEAD, POST");
    }
    if (path.size() > drones_prefix.size() + 1 && path.substr(0, drones_prefix.size() + 1) == "/api/v1/drones/") {
      auto rest = path.substr(drones_prefix.size() + 1);
      auto slash = rest.find('/');
      auto id = rest.substr(0, slash);
      auto sub = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      if (!valid_drone_id(id))
        return send(make(http::status::bad_request,
                         json_error("invalid_drone_id", "drone id must be 1-64 characters of A-Z a-z 0-9 _ . -")));
      if (sub == "telemetry" || sub == "track") {
        if (!read_only)
          return not_allowed("GET, HEAD");
        auto& history = srv_->services.history;
        if (!history || !fleet)
          return storage_disabled();
        // The registry decides whether the caller sees this drone, then the history answers.
        return ask_then(fleet, actors::authorize_atom::value, history, actors::history_atom::value,
                        make_query(std::string{id}, std::string{sub}));
      }
      if (sub == "commands") {
        if (!(read_only || method == http::verb::post))
          return not_allowed("GET, HEAD, POST");
        if (!commands || !fleet)
          return storage_disabled();
        // The registry decides whether the caller may see (list) this drone; a new command is authorized by the
        // journal itself, from the registry's row, on its way to being journaled.
        if (read_only)
          return ask_then(fleet, actors::authorize_atom::value, commands, actors::list_atom::value,
                          make_query(std::string{id}, "read"));
        return ask(commands, actors::create_atom::value, make_query(std::string{id}, "command"));
      }
      if (sub == "control") {
        if (!(read_only || method == http::verb::post || method == http::verb::delete_))
          return not_allowed("GET, HEAD, POST, DELETE");
        if (!commands || !fleet)
          return storage_disabled();
        return ask_then(fleet, actors::authorize_atom::value, commands, actors::control_atom::value,
                        make_query(std::string{id}, read_only ? "read" : "command"));
      }
      if (sub == "secret") {
        if (!fleet)
          return storage_disabled();
        if (method == http::verb::post)
          return ask(fleet, actors::rotate_atom::value, make_query(std::string{id}, ""));
        if (method == http::verb::delete_)
          return ask(fleet, actors::revoke_atom::value, make_query(std::string{id}, ""));
        return not_allowed("POST, DELETE");
      }
      if (slash != std::string_view::npos)
        return send(make(http::status::not_found, json_error("not_found", "no such API route")));
      if (read_only)
        return fleet ? ask(fleet, actors::get_atom::value, make_query(std::string{id}, ""))
                     : get_drone(std::string{id}, *who);
      if (method == http::verb::patch)
        return fleet ? ask(fleet, actors::patch_atom::value, make_query(std::string{id}, "")) : storage_disabled();
      if (method == http::verb::delete_)
        return fleet ? ask(fleet, actors::delete_atom::value, make_query(std::string{id}, "")) : storage_disabled();
      return not_allowed("GET, HEAD, PATCH, DELETE");
    }
    return send(make(http::status::not_found, json_error("not_found", "no such API route")));
  }

  /// The text after "Bearer " in the Authorization header (empty when there is none).
  static std::string_view bearer_text(const http::request<http::string_body>& req) {
    auto header = req[http::field::authorization];
    std::string_view value{header.data(), header.size()};
    constexpr std::string_view scheme = "Bearer ";
    if (value.size() <= scheme.size() || !runtime::iequals_ascii(value.substr(0, scheme.size()), scheme))
      return {};
    return value.substr(scheme.size());
  }

  void unauthorized(const char* message) {
    auto res = make(http::status::unauthorized, json_error("unauthorized", message));
    res.set(http::field::www_authenticate, "Bearer realm=\"dccs\"");
    send(std::move(res));
  }

  /// The client's address: the peer's, or, when the peer is a trusted reverse proxy (http.trusted_proxies), the
  /// nearest address in X-Forwarded-For that is not one of those proxies.
  std::string client_address(const http::request<http::string_body>& req) {
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (ec)
      return {};
    auto peer = remote.address().to_string();
    auto& trusted = srv_->settings.trusted_proxies;
    auto is_trusted = [&](const std::string& a) { return std::find(trusted.begin(), trusted.end(), a) != trusted.end(); };
    if (trusted.empty() || !is_trusted(peer))
      return peer;
    // Every X-Forwarded-For line, in order (a proxy may add its own line instead of extending the client's).
    std::string joined;
    auto lines = req.equal_range("X-Forwarded-For");
    for (auto l = lines.first; l != lines.second; ++l) {
      if (!joined.empty())
        joined += ',';
      joined.append(l->value().data(), l->value().size());
    }
    auto hops = split_list(joined, "");
    for (auto i = hops.rbegin(); i != hops.rend(); ++i) {
      net::ip::make_address(*i, ec);
      if (ec)
        return peer; // a malformed hop: believe nothing past our proxy
      if (!is_trusted(*i))
        return *i;
    }
    return peer;
  }

  /// Checks an access token (see server::impl::verify_token), for this connection's client.
  std::optional<auth::principal> verify_token(std::string_view token, const char*& why,
                                              const http::request<http::string_body>& req) {
    return srv_->verify_token(token, client_address(req), why);
  }

  /// The caller of a REST request (Authorization: Bearer <access token>). Without a valid token, answers 401
  /// (with WWW-Authenticate) and returns nothing.
  std::optional<auth::principal> authenticate(const http::request<http::string_body>& req) {
    auto token = bearer_text(req);
    if (token.empty()) {
      unauthorized("an access token is required (Authorization: Bearer <token>)");
      return std::nullopt;
    }
    const char* why = "";
    auto who = verify_token(token, why, req);
    if (!who)
      unauthorized(why);
    return who;
  }

  /// A permission without a drone (auth/access.hpp decides); answers 403 and returns false when refused.
  bool permit(const auth::principal& who, auth::permission p, const char* message) {
    if (auth::allows(who, p))
      return true;
    send(make(http::status::forbidden, json_error("forbidden", message)));
    return false;
  }

  /// Browsers send Origin with every WebSocket upgrade; a page of another origin must not open an operator
  /// socket with the user's credentials (cross-site WebSocket hijacking). Allowed: no Origin (not a browser),
  /// the node's own origin (scheme://Host), or an origin of http.allowed_origins.
  bool origin_allowed(const http::request<http::string_body>& req) const {
    auto header = req[http::field::origin];
    if (header.empty())
      return true;
    std::string origin{header.data(), header.size()};
    while (!origin.empty() && origin.back() == '/')
      origin.pop_back();
    auto host_header = req[http::field::host];
    std::string host{host_header.data(), host_header.size()};
    if (!host.empty() && (runtime::iequals_ascii(origin, "http://" + host) || runtime::iequals_ascii(origin, "https://" + host)))
      return true;
    for (auto& allowed : srv_->settings.allowed_origins)
      if (runtime::iequals_ascii(origin, allowed))
        return true;
    return false;
  }

  /// The value of the first `ticket` parameter of an upgrade's target, if it has one.
  static std::optional<std::string_view> ticket_param(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos)
      return std::nullopt;
    auto query = target.substr(q + 1);
    for (std::size_t pos = 0; pos <= query.size();) {
      auto amp = query.find('&', pos);
      auto part = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
      if (part.substr(0, 7) == "ticket=")
        return part.substr(7);
      if (amp == std::string_view::npos)
        break;
      pos = amp + 1;
    }
    return std::nullopt;
  }

  /// POST /api/v1/auth/ticket: a single-use ticket for /ws/operator, from the node's ticket actor.
  void issue_ticket(const auth::principal& who) {
    if (!srv_->services.tickets)
      return send(make(http::status::service_unavailable,
                       json_error("unavailable", "this node issues no operator tickets")));
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::ticket_actor tickets,
                       auth::principal who, std::int64_t ttl_s) {
      a->request(tickets, std::chrono::seconds(5), actors::ticket_atom::value, std::move(who))
        .then(
          [self, ttl_s](std::string& ticket) {
            if (ticket.empty())
              return self->send_later(http::status::too_many_requests,
                                      json_error("too_many_tickets",
                                                 "too many tickets outstanding: use or let expire the ones issued"));
            nlohmann::json body{{"ticket", std::move(ticket)}, {"expires_in", ttl_s}};
            self->send_later(http::status::ok, body.dump());
          },
          [self](caf::error& err) {
            self->send_later(http::status::service_unavailable,
                             json_error("unavailable", "no ticket could be issued in time: " + caf::to_string(err)));
          });
    }, shared_from_this(), srv_->services.tickets, who, srv_->settings.ticket_ttl_s);
  }

  /// An operator upgrade with ?ticket=...: the node's ticket actor spends the ticket (or has the member that issued
  /// it spend it), and the answer continues the upgrade on this connection's strand — the I/O thread never waits.
  /// The ticket text is never logged.
  void redeem_then_upgrade(std::string ticket, http::request<http::string_body> req) {
    if (!srv_->services.tickets)
      return unauthorized("the ticket is not valid (unknown, used or expired)");
    auto pending = std::make_shared<http::request<http::string_body>>(std::move(req));
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::ticket_actor tickets,
                       std::string ticket, std::shared_ptr<http::request<http::string_body>> req) {
      a->request(tickets, std::chrono::seconds(5), actors::redeem_atom::value, std::move(ticket))
        .then([self, req](auth::principal& who) { self->redeemed(std::move(who), {}, req); },
              [self, req](caf::error& err) { self->redeemed(std::nullopt, std::move(err), req); });
    }, shared_from_this(), srv_->services.tickets, std::move(ticket), std::move(pending));
  }

  /// The ticket actor's answer (from an actor's thread): the upgrade goes on, or 401 (503 when the node's own ticket
  /// actor did not answer). The redeeming node checks its own revocations too, as for a bearer token.
  void redeemed(std::optional<auth::principal> who, caf::error err, std::shared_ptr<http::request<http::string_body>> req) {
    net::post(stream_.get_executor(), [self = shared_from_this(), who = std::move(who), err = std::move(err),
                                       req = std::move(req)]() mutable {
      if (!who) {
        if (err.category() != caf::atom("dccs"))
          return self->send(self->make(http::status::service_unavailable,
                                       json_error("unavailable", "the ticket could not be checked in time")));
        if (err.code() == static_cast<std::uint8_t>(actors::errc::ticket_revoked))
          return self->unauthorized("the access token behind this ticket has been revoked");
        return self->unauthorized("the ticket is not valid (unknown, used or expired)");
      }
      if (self->srv_->services.revocations && self->srv_->services.revocations->revoked(*who))
        return self->unauthorized("the access token behind this ticket has been revoked");
      self->stream_.expires_never();
      start_operator_session(self->stream_.release_socket(), self->srv_, std::move(self->slot_), std::move(*who),
                             std::move(*req));
    });
  }

  /// The operator of a WebSocket upgrade without a ticket: an Authorization header (tickets, what browsers use as
  /// they cannot set headers on a WebSocket, are redeem_then_upgrade's). 401 otherwise.
  std::optional<auth::principal> operator_credentials(const http::request<http::string_body>& req) {
    if (bearer_text(req).empty()) {
      unauthorized("a ticket (POST /api/v1/auth/ticket, then ?ticket=...) or an access token is required");
      return std::nullopt;
    }
    return authenticate(req);
  }

  void storage_disabled() {
    send(make(http::status::service_unavailable,
              json_error("storage_disabled", "this node keeps no registry or history (db.enabled = false)")));
  }

  /// Asks an actor that serves API requests (registry, history, auth) and writes its answer.
  template <class Handle, class Atom>
  void ask(const Handle& target, Atom atom, actors::http_query q) {
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, Handle target, Atom atom,
                       actors::http_query q) {
      a->request(target, std::chrono::seconds(30), atom, std::move(q))
        .then([self](actors::api_result& r) { self->send_result(std::move(r)); },
              [self](caf::error& err) { self->send_refusal(err); });
    }, shared_from_this(), target, atom, std::move(q));
  }

  /// Asks `first` (whose result lets the request go on), then `second` for the answer.
  template <class Handle1, class Atom1, class Handle2, class Atom2>
  void ask_then(const Handle1& first, Atom1 atom1, const Handle2& second, Atom2 atom2, actors::http_query q) {
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, Handle1 first, Atom1 atom1,
                       Handle2 second, Atom2 atom2, actors::http_query q) {
      auto failed = [self](caf::error& err) { self->send_refusal(err); };
      a->request(first, std::chrono::seconds(30), atom1, q)
        .then(
          [a, self, second, atom2, q, failed](actors::api_result& allowed) mutable {
            // The registry's answer names the drone's group (for the commands journal).
            auto j = nlohmann::json::parse(allowed.body, nullptr, false);
            if (j.is_object() && j.contains("group") && j["group"].is_string())
              q.group = j["group"].get<std::string>();
            a->request(second, std::chrono::seconds(30), atom2, std::move(q))
              .then([self](actors::api_result& r) { self->send_result(std::move(r)); }, failed);
          },
          failed);
    }, shared_from_this(), first, atom1, second, atom2, std::move(q));
  }

  /// An actor's result as HTTP: found 200, created 201, done 204 (no body).
  void send_result(actors::api_result r) {
    auto status = static_cast<http::status>(status_of(r.outcome));
    if (status == http::status::no_content)
      r.body.clear();
    net::post(stream_.get_executor(), [self = shared_from_this(), status, r = std::move(r)]() mutable {
      self->send(self->make(status, std::move(r.body), r.content_type.c_str()));
    });
  }

  /// A refusal as HTTP: the status of its kind, the one error body (runtime/http_error.hpp), Retry-After for
  /// too_many. An error that is no refusal (a timeout, a member lost) is 503: try again.
  void send_refusal(const caf::error& err) {
    auto p = actors::problem_of(err);
    if (!p) {
      send_later(http::status::service_unavailable,
                 json_error("unavailable", "the request could not be answered in time: " + caf::to_string(err)));
      return;
    }
    auto status = static_cast<http::status>(status_of(p->kind));
    auto body = runtime::error_body(p->code, p->message, p->key, p->value);
    net::post(stream_.get_executor(), [self = shared_from_this(), status, body = std::move(body),
                                       retry = p->retry_after_s]() mutable {
      auto res = self->make(status, std::move(body));
      if (retry > 0)
        res.set(http::field::retry_after, std::to_string(retry));
      self->send(std::move(res));
    });
  }

  /// A request for a route of `role`, which this node does not run: 421 Misdirected Request naming the live members
  /// that run it (the cluster actor's membership, asked by a request actor: the I/O thread never waits), with the
  /// same request's URL on the first of them as `Location` (a hint: 421 is not a redirect, nothing follows it).
  void misdirected(runtime::role role, std::string target, bool upgrade) {
    if (!srv_->services.cluster)
      return send_misdirected(role, {}, target, upgrade);
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::node_actor cluster,
                       runtime::role role, std::string target, bool upgrade) {
      a->request(cluster, std::chrono::seconds(2), actors::members_atom::value)
        .then(
          [self, role, target, upgrade](std::string& membership) {
            self->misdirected_later(role, members_running(membership, role), target, upgrade);
          },
          [self, role, target, upgrade](caf::error&) { self->misdirected_later(role, {}, target, upgrade); });
    }, shared_from_this(), srv_->services.cluster, role, std::move(target), upgrade);
  }

  void misdirected_later(runtime::role role, std::vector<std::string> nodes, std::string target, bool upgrade) {
    net::post(stream_.get_executor(), [self = shared_from_this(), role, nodes = std::move(nodes),
                                       target = std::move(target), upgrade]() {
      self->send_misdirected(role, nodes, target, upgrade);
    });
  }

  void send_misdirected(runtime::role role, const std::vector<std::string>& nodes, const std::string& target,
                        bool upgrade) {
    auto res = make(http::status::misdirected_request, misdirected_body(role, nodes));
    if (!nodes.empty()) {
      // The first node named, the same path and query; a WebSocket's in its own scheme.
      auto location = upgrade ? "ws" + nodes.front().substr(4) : nodes.front();
      res.set(http::field::location, location + target); // (an absolute-form target was made a path on reading)
    }
    send(std::move(res));
  }

  /// GET /api/v1/cluster: the members as this node sees them (a single node: {"enabled":false}).
  void cluster_status() {
    if (!srv_->services.cluster)
      return send(make(http::status::ok, R"({"enabled":false,"members":[]})"));
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::node_actor cluster) {
      a->request(cluster, std::chrono::seconds(5), actors::members_atom::value)
        .then(
          [self](std::string& body) {
            auto j = nlohmann::json::parse(body);
            j["enabled"] = true;
            self->send_later(http::status::ok, j.dump());
          },
          [self](caf::error& err) {
            self->send_later(http::status::service_unavailable,
                             json_error("unavailable", "the cluster's membership could not be read: " + caf::to_string(err)));
          });
    }, shared_from_this(), srv_->services.cluster);
  }

  // The request actors take their inputs as spawn arguments, not captures: CAF 0.17 dereferences a null
  // argument tuple when a function-based actor is spawned without arguments (UBSan reports it).
  // Without a registry (db.enabled = false) the hub answers, within the caller's groups.
  void list_drones(const auth::principal& who, std::string_view query) {
    actors::list_page page;
    if (auto bad = actors::parse_list_page(query, page))
      return send(make(http::status::bad_request, json_error("invalid_parameter", bad->second)));
    actors::subscription scope;
    scope.scope = auth::read_scope(who);
    srv_->sys.spawn([](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::hub_actor hub,
                       actors::subscription scope, std::uint64_t limit, std::string after) {
      a->request(hub, std::chrono::seconds(5), actors::list_atom::value, scope, limit, std::move(after))
        .then([self](std::string& body) { self->send_later(http::status::ok, std::move(body)); },
              [self](caf::error& err) {
                self->send_later(http::status::service_unavailable,
                                 json_error("unavailable", "fleet state unavailable: " + caf::to_string(err)));
              });
    }, shared_from_this(), srv_->hub, std::move(scope), std::uint64_t{page.limit}, std::move(page.after));
  }

  void get_drone(std::string id, const auth::principal& who) {
    actors::subscription scope;
    scope.scope = auth::read_scope(who);
    auto fn = [](caf::event_based_actor* a, std::shared_ptr<http_session> self, actors::directory_actor dir,
                 actors::hub_actor hub, std::string id, actors::subscription scope) {
      auto not_found = [self, id] {
        self->send_later(http::status::not_found, json_error("not_found", "no drone with id '" + id + "'"));
      };
      auto from_hub = [a, self, hub, id, not_found, scope] {
        // The drone has no active actor: answer from the last state the hub saw.
        a->request(hub, std::chrono::seconds(5), actors::get_atom::value, id, scope)
          .then([self](std::string& body) { self->send_later(http::status::ok, std::move(body)); },
                [not_found](caf::error&) { not_found(); });
      };
      a->request(dir, std::chrono::seconds(5), actors::get_atom::value, id)
        .then(
          [a, self, from_hub, scope, not_found](actors::drone_actor& drone) {
            a->request(drone, std::chrono::seconds(5), actors::get_atom::value)
              .then(
                [self, scope, not_found](actors::drone_state& st) {
                  if (!scope.scope.covers(st.info.group))
                    return not_found();
                  std::string body;
                  actors::append_drone_json(body, st);
                  self->send_later(http::status::ok, std::move(body));
                },
                [from_hub](caf::error&) { from_hub(); });
          },
          [from_hub](caf::error&) { from_hub(); });
    };
    srv_->sys.spawn(fn, shared_from_this(), srv_->directory, srv_->hub, std::move(id), std::move(scope));
  }

  /// What the dashboard's files are sent with: revalidated on every load (a new version is picked up at once), no
  /// script, frame or connection from elsewhere, no MIME sniffing, no referrer.
  template <class Res>
  void set_static_headers(Res& res) const {
    res.set(http::field::cache_control, "no-cache");
    res.set("Content-Security-Policy", dashboard_csp(srv_->settings.tiles.origin));
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
  }

  void serve_static(std::string_view path, bool head) {
    auto found = srv_->static_dir.open(path);
    if (found.what == static_files::outcome::unavailable)
      return send(make(http::status::service_unavailable,
                       json_error("unavailable", "the node is out of file descriptors, try again later")));
    beast::error_code ec;
    http::file_body::value_type body;
    if (found.what == static_files::outcome::found)
      body.reset(std::move(found.file), ec);
    if (found.what != static_files::outcome::found || ec)
      return send(make(http::status::not_found, json_error("not_found", "no such file")));
    auto size = body.size();
    if (head) {
      auto res = make(http::status::ok, "", found.mime);
      set_static_headers(res);
      res.content_length(size);
      return send(std::move(res));
    }
    auto res = std::make_shared<http::response<http::file_body>>(
      std::piecewise_construct, std::make_tuple(std::move(body)), std::make_tuple(http::status::ok, version_));
    res->set(http::field::server, "dccs");
    res->set(http::field::content_type, found.mime);
    set_static_headers(*res);
    res->content_length(size);
    res->keep_alive(keep_alive_);
    write(std::move(res));
  }

  impl_ptr srv_; // before stream_: see ws_connection
  connection_slot slot_; // handed to the WebSocket session on an upgrade
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{max_request_buffer};
  std::optional<http::request_parser<http::string_body>> parser_;
  const bool reserve_;
  bool keep_alive_ = true;
  bool head_ = false; ///< the request being answered is a HEAD
  unsigned version_ = 11;
};

} // namespace

std::shared_ptr<reserve_waiter> start_http_session(tcp::socket&& socket, impl_ptr srv, connection_slot slot,
                                                   bool reserve) {
  auto session = std::make_shared<http_session>(std::move(socket), std::move(srv), std::move(slot), reserve);
  std::shared_ptr<reserve_waiter> waiter;
  if (reserve)
    waiter = session;
  session->run();
  return waiter;
}

} // namespace dccs::bridges
