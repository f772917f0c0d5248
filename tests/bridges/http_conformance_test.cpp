// The HTTP port as RFC 9110 / RFC 9112 and RFC 6455 want it, over real sockets on 127.0.0.1: HEAD, framing,
// Host, limits, malformed requests, static files, close codes, and the connection cap with its reserve.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <functional>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "tests/bridges/static_fixture.hpp"
#include "tests/support/client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/test_node.hpp"

using namespace dccs::test;
using nlohmann::json;
namespace http = boost::beast::http;

namespace {

/// A TCP connection to the node, for requests written byte for byte.
class raw_socket {
public:
  explicit raw_socket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~raw_socket() { ::close(fd_); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  void send(const std::string& bytes) {
    for (std::size_t at = 0; at < bytes.size();) {
      auto n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0)
        return; // the node closed: what it answered is still readable
      at += static_cast<std::size_t>(n);
    }
  }

  /// Everything the node sends until it closes the connection (true), or until `timeout` passes (false).
  bool read_until_closed(std::string& out, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return false;
      char buf[8192];
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        return true; // EOF, or a reset
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  /// Whether the node closed the connection within `timeout` (without sending anything).
  bool closed_within(std::chrono::milliseconds timeout) {
    std::string ignored;
    return read_until_closed(ignored, timeout);
  }

private:
  int fd_ = -1;
};

struct reply {
  int status = 0;
  std::string body;
  std::string connection;
  std::string content_length;
  std::string content_type;
  std::string retry_after;
};

/// The responses in `data`, in order; `heads[i]`: the i-th answers a HEAD (its header says nothing about its
/// body's presence). Throws when the bytes are not responses.
std::vector<reply> parse_replies(const std::string& data, const std::vector<bool>& heads) {
  std::vector<reply> out;
  std::size_t at = 0;
  for (bool head : heads) {
    http::response_parser<http::string_body> p;
    p.skip(head);
    p.eager(true);
    boost::system::error_code ec;
    auto used = p.put(boost::asio::buffer(data.data() + at, data.size() - at), ec);
    if (ec || !p.is_done())
      throw std::runtime_error("not a complete response at byte " + std::to_string(at) + ": " + data.substr(at, 200));
    at += used;
    auto& m = p.get();
    out.push_back({static_cast<int>(m.result_int()), m.body(), std::string{m[http::field::connection]},
                   std::string{m[http::field::content_length]}, std::string{m[http::field::content_type]},
                   std::string{m[http::field::retry_after]}});
  }
  if (at != data.size())
    throw std::runtime_error("bytes after the last response: " + data.substr(at, 200));
  return out;
}

/// Sends raw bytes, reads until the node closes, and parses the responses.
std::vector<reply> exchange(std::uint16_t port, const std::string& request, const std::vector<bool>& heads) {
  raw_socket s{port};
  s.send(request);
  std::string data;
  REQUIRE(s.read_until_closed(data));
  INFO(data);
  return parse_replies(data, heads);
}

/// One refused request: its JSON error, and the connection closed after it.
void check_refused(std::uint16_t port, const std::string& request, int status, const std::string& code) {
  INFO(request.substr(0, 200));
  auto r = exchange(port, request, {false});
  REQUIRE(r.size() == 1);
  CHECK(r[0].status == status);
  CHECK(r[0].connection == "close");
  CHECK(r[0].content_type == "application/json");
  auto j = json::parse(r[0].body);
  CHECK(j["error"]["code"] == code);
  CHECK(j["error"]["message"].is_string());
}

} // namespace

TEST_CASE("HEAD answers carry the GET answer's headers and no body, and pipelined answers stay intact") {
  static_fixture dir;
  test_node node{{"http.static_dir", dir.root.string()}, {"db.enabled", "false"}, {"http.metrics_public", "true"}};
  auto p = node.port();
  for (std::string target : {"/healthz", "/readyz", "/metrics", "/", "/app.js", "/nope.js", "/api/v1/drones"}) {
    INFO(target);
    auto get = exchange(p, "GET " + target + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", {false});
    // HEAD then GET on one connection: a body after the HEAD answer would be read as the start of the next.
    auto both = exchange(p,
                         "HEAD " + target + " HTTP/1.1\r\nHost: a\r\n\r\n" + "GET " + target
                           + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                         {true, false});
    REQUIRE(both.size() == 2);
    CHECK(both[0].status == get[0].status);
    CHECK(both[0].body.empty());
    if (target != "/metrics") // the metrics change between the two requests
      CHECK(both[0].content_length == std::to_string(get[0].body.size()));
    CHECK(both[1].status == get[0].status);
    if (target != "/metrics" && target != "/readyz")
      CHECK(both[1].body == get[0].body);
  }
}

TEST_CASE("framing that cannot be trusted is refused with 400 and the connection closes") {
  test_node node{{"db.enabled", "false"}};
  auto p = node.port();
  // Content-Length says 5, Transfer-Encoding says otherwise: read by the length, the rest ("GET /healthz...")
  // would be answered as a second request.
  auto smuggled = "POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n"
                  "hello"
                  "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  check_refused(p, smuggled, 400, "bad_transfer_encoding"); // one answer only, then closed
  check_refused(p, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, "bad_transfer_encoding");
  check_refused(p, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                "malformed_request");
  check_refused(p, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
                "unsupported_transfer_encoding");
  check_refused(p, "POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
                "malformed_request");
  // A chunk extension whose quoted value never ends, not even at the line's end: Beast parses it again from its
  // start at every read, so trickled in, it cost time quadratic in its length on the I/O thread (4 MB in 4 KiB
  // writes: 1.3 s), and without a bound it was buffered until the read timed out. Now at most 8 KiB of a chunk
  // header wait in the buffer (24 KiB of a request head).
  for (auto chunk : {"5;x=\"\r\n", "5;x=\"", "5;x=\"\r\n\r\n\r\n"})
    check_refused(p,
                  "POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string{chunk}
                    + std::string(50000, 'a'),
                  400, "malformed_request");
  // While a body is read, a chunk header may be 8 KiB: a well-formed longer one is refused too.
  check_refused(p,
                "POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;x=\""
                  + std::string(10000, 'a') + "\"\r\n{}\r\n0\r\n\r\n",
                400, "malformed_request");
  // An ordinary chunked body is read (then refused for lack of a token, as any anonymous API call).
  auto chunked = exchange(p,
                          "POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close"
                          "\r\n\r\n2;x=y\r\n{}\r\n0\r\n\r\n",
                          {false});
  CHECK(chunked[0].status == 401);
}

TEST_CASE("Host is required once in HTTP/1.1") {
  test_node node{{"db.enabled", "false"}};
  auto p = node.port();
  check_refused(p, "GET /healthz HTTP/1.1\r\n\r\n", 400, "missing_host");
  check_refused(p, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_host");
  check_refused(p, "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_host");
  auto ok = exchange(p, "GET /healthz HTTP/1.0\r\n\r\n", {false}); // HTTP/1.0 needs none
  CHECK(ok[0].status == 200);
}

TEST_CASE("oversized request lines and heads, malformed requests and other versions get an answer") {
  test_node node{{"db.enabled", "false"}};
  auto p = node.port();
  check_refused(p, "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "uri_too_long");
  check_refused(p, "GET /" + std::string(40000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "uri_too_long");
  std::string many = "GET /healthz HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 400; ++i)
    many += "X-Filler-" + std::to_string(i) + ": " + std::string(60, 'x') + "\r\n";
  check_refused(p, many + "\r\n", 431, "header_too_large");
  check_refused(p, "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'x') + "\r\n\r\n", 431,
                "header_too_large");
  check_refused(p, "G@T /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed_request");
  check_refused(p, "GET /healthz HTTP/1.1\r\nHost a\r\n\r\n", 400, "malformed_request");
  check_refused(p, "\x16\x03\x01\x02\x01\x01\xfc\x03\x03 junk\r\n\r\n", 400, "malformed_request");
  check_refused(p, "GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n", 505, "http_version_not_supported");
  check_refused(p, "GET healthz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target");
  // A body over http.max_body is still 413.
  check_refused(p, "POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n", 413, "payload_too_large");
  // An absolute URI is routed by its path.
  auto abs = exchange(p, "GET http://elsewhere/healthz HTTP/1.1\r\nHost: elsewhere\r\nConnection: close\r\n\r\n", {false});
  CHECK(abs[0].status == 200);
  // The node still serves.
  CHECK(http_get(p, "/healthz").status == 200);
}

TEST_CASE("static files: only the app's regular files inside the folder") {
  static_fixture dir;
  test_node node{{"http.static_dir", dir.root.string()}, {"db.enabled", "false"}};
  auto p = node.port();
  auto index = http_get(p, "/");
  CHECK(index.status == 200);
  CHECK(index.body == "<html>index</html>");
  CHECK(index.header("content-security-policy").find("default-src 'self'") == 0);
  CHECK(http_get(p, "/app.js").body == "app();");
  CHECK(http_get(p, "/css/style.css").body == "body{}");
  CHECK(http_get(p, "/css/").body == "<html>css</html>");
  for (auto target : {"/css", "/leak.js", "/out/secret.js", "/README.md", "/readme-link.js", "/.env", "/.hidden/app.js",
                      "/notes.txt", "/fifo.js", "/css/../app.js", "/%2e%2e/outside/secret.js"}) {
    INFO(target);
    auto r = http_get(p, target);
    CHECK(r.status == 404);
    CHECK(r.json()["error"]["code"] == "not_found");
  }
}

TEST_CASE("the built dashboard (web/dist) is served whole: its page and the scripts and styles it names") {
  test_node node{{"http.static_dir", "web/dist"}, {"db.enabled", "false"}};
  auto index = http_get(node.port(), "/");
  REQUIRE(index.status == 200);
  // Every ./assets/... file the page loads answers 200 with its type (the build names them by content hash).
  int assets = 0;
  for (std::size_t at = index.body.find("./assets/"); at != std::string::npos; at = index.body.find("./assets/", at + 1)) {
    auto end = index.body.find('"', at);
    REQUIRE(end != std::string::npos);
    auto path = index.body.substr(at + 1, end - at - 1);
    INFO(path);
    auto r = http_get(node.port(), path);
    CHECK(r.status == 200);
    CHECK((r.content_type.find("text/javascript") == 0 || r.content_type.find("text/css") == 0));
    ++assets;
  }
  CHECK(assets >= 2);
  CHECK(http_get(node.port(), "/../README.md").status == 404);
}

TEST_CASE("a close code RFC 6455 does not allow fails the connection with 1002, on both sockets") {
  test_node node{{"db.enabled", "false"}};
  auto p = node.port();
  auto drone = [&] { return connect_drone(p, "closer"); };
  auto op = [&] { return std::make_unique<ws_client>(p, "/ws/operator", node.admin()); };
  for (auto& [name, open] : std::vector<std::pair<std::string, std::function<std::unique_ptr<ws_client>()>>>{
         {"drone", drone}, {"operator", op}}) {
    for (std::uint16_t code : {5000, 5001, 9999, 65535, 1005, 1006, 1015, 999, 1, 1004, 1016, 2999}) {
      INFO(name << " sends " << code);
      auto c = open();
      CHECK(c->close_with(code) == 1002);
    }
    for (std::uint16_t code : {1000, 1001, 1008, 3000, 4000, 4999}) {
      INFO(name << " sends " << code);
      auto c = open();
      CHECK(c->close_with(code) == code); // a valid code is echoed
    }
  }
  CHECK(http_get(p, "/healthz").status == 200);
}

TEST_CASE("past http.max_connections the reserve serves health checks and operators, past it, 503 and close") {
  test_node node{{"db.enabled", "false"}, {"http.max_connections", "3"}, {"http.reserve_connections", "2"},
                 {"http.metrics_public", "true"}};
  auto p = node.port();
  // A reserve connection is released once its client closed after the answer: until then a request may find
  // the reserve full, so requests that must get through are retried.
  auto status = [&](const std::string& target, const headers& h = {}) {
    try {
      return http_get(p, target, h).status;
    } catch (const std::exception&) {
      return -1; // refused at once and reset
    }
  };
  auto served = [&](const std::string& target, const headers& h = {}) {
    return eventually([&] { return status(target, h) == 200; }, std::chrono::seconds(10));
  };
  auto open_operator = [&] {
    std::unique_ptr<ws_client> c;
    REQUIRE(eventually([&] {
      try {
        c = std::make_unique<ws_client>(p, "/ws/operator", node.admin());
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }, std::chrono::seconds(10)));
    return c;
  };
  // Three idle clients take every regular place (the metrics request itself is in the reserve: 4).
  std::vector<std::unique_ptr<raw_socket>> idle;
  for (int i = 0; i < 3; ++i)
    idle.push_back(std::make_unique<raw_socket>(p));
  REQUIRE(eventually([&] { return node.metric("dccs_http_connections") == 4; }));
  // The reserve: health, readiness, metrics, and requests with credentials; one request each, then closed.
  auto health = exchange(p, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", {false});
  CHECK(health[0].status == 200);
  CHECK(health[0].connection == "close");
  CHECK(served("/readyz"));
  CHECK(served("/api/v1/auth/me", node.admin()));
  auto answer = [&](const std::function<http_result()>& request) {
    http_result r;
    REQUIRE(eventually([&] {
      try {
        r = request();
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }, std::chrono::seconds(10)));
    return r;
  };
  for (auto refused : {answer([&] { return http_get(p, "/api/v1/drones"); }), answer([&] { return http_get(p, "/"); }),
                       answer([&] { return ws_upgrade(p, "/ws/drone"); })}) {
    CHECK(refused.status == 503);
    CHECK(refused.json()["error"]["code"] == "too_many_connections");
    CHECK(refused.header("retry-after") == "5");
  }
  // Operators take both reserve places for good (a drone's upgrade is not for the reserve).
  auto op1 = open_operator();
  auto op2 = open_operator();
  // Everything is taken: a new connection gets 503 at once and is closed, without the node reading a request.
  {
    raw_socket full{p};
    std::string data;
    REQUIRE(full.read_until_closed(data, std::chrono::seconds(5)));
    auto r = parse_replies(data, {false});
    CHECK(r[0].status == 503);
    CHECK(json::parse(r[0].body)["error"]["code"] == "too_many_connections");
  }
  // One reserve place free again: a client that sends nothing waits there (refused at once, it would be closed
  // at once) ...
  op2->close();
  std::unique_ptr<raw_socket> waiting;
  REQUIRE(eventually([&] {
    waiting = std::make_unique<raw_socket>(p);
    return !waiting->closed_within(std::chrono::milliseconds(200));
  }));
  // ... and is closed to make room for the next connection: an idle client cannot keep health checks out.
  auto health2 = exchange(p, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", {false});
  CHECK(health2[0].status == 200);
  CHECK(waiting->closed_within(std::chrono::seconds(5)));
  // The connected operator is served all along.
  op1->send(json{{"type", "subscribe"}, {"drones", "*"}});
  CHECK(op1->read_json()["type"] == "snapshot");
  // Regular places free again: everything is served.
  idle.clear();
  CHECK(eventually([&] { return status("/api/v1/drones") == 401; }, std::chrono::seconds(10)));
  CHECK(node.metric("dccs_http_connections_refused_total") >= 1);
  CHECK(node.metric("dccs_http_reserve_refused_total") >= 3);
  CHECK(node.metric("dccs_http_reserve_evicted_total") >= 1);
}
