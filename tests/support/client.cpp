#include "tests/support/client.hpp"

#include "runtime/clock.hpp"
#include <cmath>

#include <stdexcept>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <sys/socket.h>
#include <sys/time.h>

namespace dccs::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

void set_timeout(tcp::socket& s, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = t.count() / 1000;
  tv.tv_usec = (t.count() % 1000) * 1000;
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

} // namespace

struct ws_client::impl {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  std::chrono::milliseconds timeout{10000};
  bool closed = false;
  std::uint16_t code = 0;
  std::string error;
};

ws_client::ws_client(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout)
  : ws_client(port, path, headers{}, timeout) {
}

ws_client::ws_client(std::uint16_t port, const std::string& path, const headers& extra,
                     std::chrono::milliseconds timeout)
  : impl_(std::make_unique<impl>()) {
  impl_->timeout = timeout;
  auto& sock = impl_->ws.next_layer();
  sock.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  set_timeout(sock, timeout);
  impl_->ws.set_option(websocket::stream_base::decorator([extra](websocket::request_type& req) {
    for (auto& [name, value] : extra)
      req.set(name, value);
  }));
  impl_->ws.handshake("127.0.0.1:" + std::to_string(port), path);
  impl_->ws.text(true);
}

ws_client::~ws_client() {
  if (!impl_->closed) {
    beast::error_code ec;
    impl_->ws.next_layer().shutdown(tcp::socket::shutdown_both, ec);
    impl_->ws.next_layer().close(ec);
  }
}

void ws_client::send(const std::string& text) {
  impl_->ws.write(net::buffer(text));
}

std::optional<std::string> ws_client::read() {
  if (impl_->closed)
    return std::nullopt;
  // An asynchronous read run for at most `timeout`: returns as soon as a frame arrives.
  beast::flat_buffer buf;
  beast::error_code ec;
  bool done = false;
  impl_->ws.async_read(buf, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  impl_->ioc.restart();
  impl_->ioc.run_for(impl_->timeout);
  if (!done) {
    beast::error_code ignored;
    impl_->ws.next_layer().cancel(ignored);
    impl_->ioc.restart();
    impl_->ioc.run();
    impl_->closed = true;
    impl_->error = "timed out waiting for a frame";
    return std::nullopt;
  }
  if (ec) {
    impl_->closed = true;
    // The close frame's code, when one arrived (the teardown after it may still report a socket error).
    impl_->code = impl_->ws.reason().code;
    impl_->error = ec.message();
    return std::nullopt;
  }
  return beast::buffers_to_string(buf.data());
}

nlohmann::json ws_client::read_json() {
  auto text = read();
  if (!text)
    throw std::runtime_error("connection closed or timed out while waiting for a frame");
  return nlohmann::json::parse(*text);
}

std::uint16_t ws_client::read_until_close() {
  while (read()) {
  }
  return impl_->code;
}

std::uint16_t ws_client::close_code() const {
  return impl_->code;
}

std::string ws_client::last_error() const {
  return impl_->error;
}

bool ws_client::closed() const {
  return impl_->closed;
}

void ws_client::close() {
  if (impl_->closed)
    return;
  beast::error_code ec;
  impl_->ws.close(websocket::close_code::normal, ec);
  impl_->closed = true;
}

std::uint16_t ws_client::close_with(std::uint16_t code) {
  if (impl_->closed)
    return impl_->code;
  beast::error_code ec;
  impl_->ws.close(websocket::close_reason{code}, ec); // reads until the server's close frame (or the timeout)
  impl_->closed = true;
  impl_->code = impl_->ws.reason().code;
  if (ec)
    impl_->error = ec.message();
  return impl_->code;
}

std::unique_ptr<ws_client> connect_drone(std::uint16_t port, const std::string& id, const std::string& secret) {
  auto c = std::make_unique<ws_client>(port, "/ws/drone");
  nlohmann::json hello{{"type", "hello"}, {"drone_id", id}, {"model", "test-quad"}, {"fw", "1.2.3"}};
  if (!secret.empty())
    hello["secret"] = secret;
  c->send(hello);
  auto welcome = c->read_json();
  if (welcome.value("type", "") != "welcome")
    throw std::runtime_error("expected welcome, got " + welcome.dump());
  return c;
}

std::uint16_t hello_close_code(std::uint16_t port, const std::string& id, const std::string& secret,
                               const headers& extra) {
  ws_client c{port, "/ws/drone", extra};
  nlohmann::json hello{{"type", "hello"}, {"drone_id", id}, {"model", "test-quad"}, {"fw", "1.2.3"}};
  if (!secret.empty())
    hello["secret"] = secret;
  c.send(hello);
  if (c.read())
    return 0;
  return c.close_code();
}

// Whole milliseconds of the test process's start: stored samples fall in a partition of today, inside retention.
const double telemetry_epoch_ms = std::floor(dccs::runtime::wall_ms());

nlohmann::json telemetry_frame(std::uint64_t seq, double lat, double lon, double alt) {
  return {{"type", "telemetry"}, {"seq", seq},      {"ts", telemetry_epoch_ms + static_cast<double>(seq)},
          {"lat", lat},          {"lon", lon},      {"alt", alt},
          {"heading", 90.0},     {"speed", 12.5},   {"vspeed", 0.5},
          {"battery", 87.5},     {"armed", true},   {"mode", "MISSION"},
          {"sats", 14},          {"fix", 3}};
}

http_result http_request(std::uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers) {
  net::io_context ioc;
  tcp::socket sock{ioc};
  sock.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  set_timeout(sock, std::chrono::seconds(10));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  for (auto& [name, value] : headers)
    req.set(name, value);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  beast::error_code write_ec;
  http::write(sock, req, write_ec); // the server may answer (413) and close before the body is sent
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  http_result out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string{res[http::field::content_type]};
  out.body = res.body();
  for (auto& f : res) {
    std::string name{f.name_string()};
    for (auto& ch : name)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.headers.emplace_back(std::move(name), std::string{f.value()});
  }
  return out;
}

http_result ws_upgrade(std::uint16_t port, const std::string& path, const headers& extra) {
  headers h{{"Upgrade", "websocket"},
            {"Connection", "Upgrade"},
            {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
            {"Sec-WebSocket-Version", "13"}};
  h.insert(h.end(), extra.begin(), extra.end());
  return http_request(port, "GET", path, {}, h);
}

nlohmann::json next_of_type(ws_client& ws, const std::string& type) {
  while (auto text = ws.read()) {
    auto j = nlohmann::json::parse(*text);
    if (j.is_object() && j.value("type", "") == type)
      return j;
  }
  return nullptr;
}

} // namespace dccs::test
