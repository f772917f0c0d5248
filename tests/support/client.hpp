#pragma once
/// Test clients over real sockets on 127.0.0.1: a blocking WebSocket client and an HTTP GET.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dccs::test {

/// A blocking WebSocket client. Every read gives up after `timeout` (a bound on a failing test, not a
/// pause: reads return as soon as a frame arrives); a timed-out client counts as closed.
/// Extra request headers: (name, value) pairs.
using headers = std::vector<std::pair<std::string, std::string>>;

class ws_client {
public:
  ws_client(std::uint16_t port, const std::string& path,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// With extra headers on the upgrade request (Authorization, Origin).
  ws_client(std::uint16_t port, const std::string& path, const headers& extra,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~ws_client();

  void send(const std::string& text);
  void send(const nlohmann::json& j) { send(j.dump()); }

  /// The next text frame, or nothing when the connection closed or the timeout passed.
  std::optional<std::string> read();

  /// The next frame parsed as JSON (throws when the read fails).
  nlohmann::json read_json();

  /// Reads until the server closes; returns the close code (0 on timeout or a connection without one).
  std::uint16_t read_until_close();

  /// Close code received, once closed.
  std::uint16_t close_code() const;
  bool closed() const;

  /// Why the last read failed (for test diagnostics).
  std::string last_error() const;

  void close();

  /// Sends a close frame with `code` (valid or not) and waits for the server's; returns the code it carries (0
  /// when none came).
  std::uint16_t close_with(std::uint16_t code);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The next text frame on `ws` whose "type" is `type` (other frames are skipped); null when the connection closed or
/// the read timed out first.
nlohmann::json next_of_type(ws_client& ws, const std::string& type);

/// A drone that said hello (with its secret in the hello, when given) and got its welcome.
std::unique_ptr<ws_client> connect_drone(std::uint16_t port, const std::string& id, const std::string& secret = {});

/// A drone that says hello (with `secret` in it, when given; `extra` headers on the upgrade); returns the close
/// code it is answered with, or 0 when it was welcomed instead.
std::uint16_t hello_close_code(std::uint16_t port, const std::string& id, const std::string& secret = {},
                               const headers& extra = {});

/// The `ts` of telemetry_frame(0, ...): whole milliseconds of the test process's start.
extern const double telemetry_epoch_ms;

/// A telemetry frame with the given position and seq (ts = telemetry_epoch_ms + seq); the other fields hold
/// plausible values.
nlohmann::json telemetry_frame(std::uint64_t seq, double lat, double lon, double alt = 100);

struct http_result {
  int status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; ///< every response header, names in lower case
  /// The value of a response header ("" when absent); `name` in lower case.
  std::string header(const std::string& name) const {
    for (auto& [n, v] : headers)
      if (n == name)
        return v;
    return {};
  }
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// One HTTP request on a new connection, with extra request headers (name, value).
http_result http_request(std::uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body = {},
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

inline http_result http_get(std::uint16_t port, const std::string& target, const headers& extra = {}) {
  return http_request(port, "GET", target, {}, extra);
}

/// The status of a WebSocket upgrade the server refused (101 when it was accepted), and the refusal's body.
http_result ws_upgrade(std::uint16_t port, const std::string& path, const headers& extra = {});

} // namespace dccs::test
