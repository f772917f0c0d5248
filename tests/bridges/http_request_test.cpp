// The checks of a request before routing (bridges/http_request.hpp), on requests parsed by Beast's parser with
// the server's limits, as the HTTP port parses them.

#include <catch2/catch.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <nlohmann/json.hpp>

#include "bridges/http_request.hpp"

using namespace dccs::bridges;
namespace http = boost::beast::http;

namespace {

/// What the HTTP port answers before routing a raw request: the status of the refusal, or 0 when it is routed.
unsigned verdict(const std::string& raw) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(max_request_head);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  if (!ec && !parser.is_header_done())
    ec = http::error::need_more;
  if (ec == http::error::need_more && raw.size() > max_request_head)
    ec = http::error::header_limit; // what the stream read reports once it has read past the limit
  if (ec) {
    auto bad = parse_failure(ec, !parser.get().target().empty(), raw);
    return bad ? bad->status : 0;
  }
  auto bad = check_request(parser.get());
  return bad ? bad->status : 0;
}

std::string code_of(const std::string& raw) {
  http::request_parser<http::string_body> parser;
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  REQUIRE(!ec);
  auto bad = check_request(parser.get());
  return bad ? std::string{bad->code} : "";
}

} // namespace

TEST_CASE("a well-formed request passes the checks") {
  CHECK(verdict("GET /healthz HTTP/1.1\r\nHost: node.example:8080\r\n\r\n") == 0);
  CHECK(verdict("GET / HTTP/1.0\r\n\r\n") == 0); // HTTP/1.0 may leave Host out
  CHECK(verdict("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") == 0);
  CHECK(verdict("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 0);
  CHECK(verdict("GET / HTTP/1.1\r\nHost: \r\n\r\n") == 0); // empty: a target without an authority
  CHECK(verdict("POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}") == 0);
  CHECK(verdict("POST /api/v1/drones HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        == 0);
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n") == 0);
  CHECK(verdict("GET http://node.example/healthz HTTP/1.1\r\nHost: node.example\r\n\r\n") == 0);
  CHECK(verdict("GET /" + std::string(max_request_target - 1, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
}

TEST_CASE("Host: missing in HTTP/1.1, twice, or invalid is 400") {
  CHECK(verdict("GET /healthz HTTP/1.1\r\n\r\n") == 400);
  CHECK(code_of("GET /healthz HTTP/1.1\r\n\r\n") == "missing_host");
  CHECK(verdict("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(code_of("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == "duplicate_host");
  CHECK(code_of("GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == "duplicate_host");
  for (auto host : {"a b", "a/b", "a@b", "a:b:c", "a:80x", "[::1", "[]", "[::1]x"}) {
    INFO(host);
    CHECK(code_of(std::string{"GET / HTTP/1.1\r\nHost: "} + host + "\r\n\r\n") == "bad_host");
  }
}

TEST_CASE("Transfer-Encoding: only chunked, last, once, never with Content-Length or in HTTP/1.0") {
  // Read by its Content-Length, the rest of this one would be taken for the next request (request smuggling).
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello") == 400);
  CHECK(code_of("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n")
        == "bad_transfer_encoding");
  // Beast refuses these itself (a parse error is a 400 too).
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n") == 400);
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n") == 400);
  // chunked must be the last coding: otherwise the body's length is unknown.
  CHECK(code_of("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == "bad_transfer_encoding");
  CHECK(code_of("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n") == "bad_transfer_encoding");
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n")
        == 400); // Beast: chunked, then another Transfer-Encoding
  CHECK(code_of("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n") == "bad_transfer_encoding");
  CHECK(code_of("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == "bad_transfer_encoding");
  CHECK(code_of("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == "bad_transfer_encoding");
  // A coding the node does not implement, under chunked: 501.
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n") == 501);
  CHECK(verdict("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        == 501);
}

TEST_CASE("an overlong request line is 414, an oversized head 431, garbage 400, other versions 505") {
  CHECK(verdict("GET /" + std::string(max_request_target, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 414);
  CHECK(verdict("GET /" + std::string(max_request_head + 10, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n") == 414);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 400; ++i)
    many += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'x') + "\r\n";
  many += "\r\n";
  CHECK(verdict(many) == 431);
  CHECK(verdict("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(max_request_head, 'x') + "\r\n\r\n") == 431);
  for (auto raw : {"\x16\x03\x01\x02\x01\xfc\x03\x03\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n",
                   "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost a\r\n\r\n",
                   "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
                   "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    INFO(raw);
    CHECK(verdict(raw) == 400);
  }
  CHECK(verdict("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(verdict("GET / HTTP/0.9\r\nHost: a\r\n\r\n") == 505);
  CHECK(verdict("GET / HTTP/1.x\r\nHost: a\r\n\r\n") == 400);
  CHECK(verdict("GET / HTTPS/1.1\r\nHost: a\r\n\r\n") == 400);
  http::request<http::string_body> v2{http::verb::get, "/", 20}; // what Beast's parser never lets through
  v2.set(http::field::host, "a");
  CHECK(check_request(v2)->status == 505);
  CHECK(verdict("GET healthz HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(verdict("GET ftp://a/healthz HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(verdict("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n") == 400);
}

TEST_CASE("parse errors that are not the client's request are not answered") {
  CHECK_FALSE(parse_failure(http::error::end_of_stream, false, ""));
  CHECK_FALSE(parse_failure(http::error::partial_message, false, "GET / HT"));
  CHECK_FALSE(parse_failure(boost::asio::error::connection_reset, true, ""));
  CHECK_FALSE(parse_failure(boost::asio::error::timed_out, false, ""));
  CHECK(parse_failure(http::error::body_limit, true, "")->status == 413);
}

TEST_CASE("origin_form: a path as it is, the path of an absolute URI") {
  CHECK(origin_form("/a?b") == std::string_view{"/a?b"});
  CHECK(origin_form("http://host:80/a?b") == std::string_view{"/a?b"});
  CHECK(origin_form("HTTPS://host") == std::string_view{"/"});
  CHECK(origin_form("htTp://host/a") == std::string_view{"/a"});
  std::string ends_here = "htTp://"; // compared up to its last byte, never past it (AddressSanitizer)
  CHECK(origin_form(std::string_view{ends_here}) == std::string_view{"/"});
  CHECK_FALSE(origin_form("http://host?q"));
  CHECK_FALSE(origin_form("*"));
  CHECK_FALSE(origin_form(""));
  CHECK_FALSE(origin_form("host:443"));
}

TEST_CASE("paths are classified before authentication, and the reserve serves only some of them") {
  CHECK(classify_path("/healthz") == route_kind::health);
  CHECK(classify_path("/readyz") == route_kind::readiness);
  CHECK(classify_path("/metrics") == route_kind::metrics);
  CHECK(classify_path("/.well-known/jwks.json") == route_kind::jwks);
  CHECK(classify_path("/api/v1/auth/login") == route_kind::auth_public);
  CHECK(classify_path("/api/v1/auth/refresh") == route_kind::auth_public);
  CHECK(classify_path("/api/v1/auth/me") == route_kind::api);
  CHECK(classify_path("/api") == route_kind::api);
  CHECK(classify_path("/apix") == route_kind::static_file);
  CHECK(classify_path("/ws/drone") == route_kind::ws_drone);
  CHECK(classify_path("/ws/operator") == route_kind::ws_operator);
  CHECK(classify_path("/healthz/") == route_kind::static_file);
  CHECK(classify_path("/") == route_kind::static_file);
  for (auto kind : {route_kind::health, route_kind::readiness, route_kind::metrics, route_kind::auth_public})
    CHECK(allowed_in_reserve(kind, false));
  CHECK(allowed_in_reserve(route_kind::api, true));
  CHECK_FALSE(allowed_in_reserve(route_kind::api, false));
  CHECK(allowed_in_reserve(route_kind::ws_operator, true));
  CHECK_FALSE(allowed_in_reserve(route_kind::ws_operator, false));
  CHECK_FALSE(allowed_in_reserve(route_kind::ws_drone, true)); // a drone's secret as a bearer does not count
  CHECK_FALSE(allowed_in_reserve(route_kind::static_file, true));
}

TEST_CASE("every route belongs to one role, or is answered by every node") {
  using dccs::runtime::role;
  auto none = std::optional<role>{};
  // Every node: health, metrics, keys, the cluster, the caller's own token, and paths no route serves.
  for (auto path : {"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/api/v1/cluster",
                    "/api/v1/auth/me", "/api", "/api/", "/api/v1", "/api/v1/nothing", "/api/v1/dronesx",
                    "/api/v1/userss", "/api/v1/audit/x", "/ws/other", "/ws", "/ws/"}) {
    INFO(path);
    CHECK(route_role(path) == none);
  }
  for (auto path : {"/ws/drone", "/api/v1/drones", "/api/v1/drones/", "/api/v1/drones/d1",
                    "/api/v1/drones/d1/telemetry", "/api/v1/drones/d1/track", "/api/v1/drones/d1/secret"}) {
    INFO(path);
    CHECK(route_role(path) == role::telemetry);
  }
  for (auto path : {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/other",
                    "/api/v1/auth", "/api/v1/users", "/api/v1/users/", "/api/v1/users/alice", "/api/v1/audit"}) {
    INFO(path);
    CHECK(route_role(path) == role::auth);
  }
  for (auto path : {"/", "/index.html", "/app.js", "/assets/x.css", "/healthz/", "/apix", "/ws/operator",
                    "/api/v1/auth/ticket", "/api/v1/config/web"}) {
    INFO(path);
    CHECK(route_role(path) == role::dashboard);
  }
  for (auto path : {"/api/v1/analytics", "/api/v1/analytics/daily", "/api/v1/analytics/fleet", "/api/v1/analytics/x"}) {
    INFO(path);
    CHECK(route_role(path) == role::analytics);
  }
  CHECK(route_role("/api/v1/analyticsx") == none);
}

TEST_CASE("a 421 names the live members that run the role, this node left out") {
  using dccs::runtime::role;
  std::string membership = R"({"self":"a","members":[
    {"id":"a","http":"127.0.0.1:8080","roles":["dashboard","auth"],"self":true},
    {"id":"b","http":"127.0.0.1:8081","roles":["all"],"self":false},
    {"id":"c","http":"127.0.0.1:8082","roles":["telemetry"],"self":false},
    {"id":"d","http":"","roles":["all"],"self":false},
    {"id":"e","http":"10.0.0.5:80","roles":["auth"]}]})";
  CHECK(members_running(membership, role::telemetry) == std::vector<std::string>{"http://127.0.0.1:8081", "http://127.0.0.1:8082"});
  CHECK(members_running(membership, role::auth) == std::vector<std::string>{"http://127.0.0.1:8081", "http://10.0.0.5:80"});
  CHECK(members_running(membership, role::commands) == std::vector<std::string>{"http://127.0.0.1:8081"});
  CHECK(members_running("not json", role::auth).empty());
  CHECK(members_running(R"({"members":[{"http":"x:1","roles":"all"}]})", role::auth).empty());

  auto body = nlohmann::json::parse(misdirected_body(role::auth, {"http://127.0.0.1:8081"}));
  CHECK(body["error"]["code"] == "misdirected");
  CHECK(body["error"]["role"] == "auth");
  CHECK(body["error"]["nodes"] == nlohmann::json::array({"http://127.0.0.1:8081"}));
  CHECK(body["error"]["message"].get<std::string>().find("'auth'") != std::string::npos);
  auto nobody = nlohmann::json::parse(misdirected_body(role::telemetry, {}));
  CHECK(nobody["error"]["nodes"] == nlohmann::json::array());
  CHECK(nobody["error"]["message"].get<std::string>().find("no live cluster member") != std::string::npos);
}
