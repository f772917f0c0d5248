#pragma once
/// What the HTTP port checks in a request before routing it (RFC 9110 / RFC 9112), and what a request path
/// reaches, as plain functions: the session acts on their answers, so they are tested and fuzzed without a socket.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>

#include "runtime/roles.hpp"

namespace dccs::bridges {

/// Longest request target (the path and query of the request line), bytes: longer is 414.
inline constexpr std::size_t max_request_target = 8192;
/// Largest request head (request line and header fields), bytes: larger is 431 (or 414 when the request line
/// alone does not fit).
inline constexpr std::size_t max_request_head = 16384;

/// The most a connection buffers of what it has read and the parser has not taken yet (a request head, the start
/// of a pipelined request): past it, 400. Beast re-reads an unfinished chunk header from its
/// start at every read, so without a bound a chunk extension that never ends, sent a byte at a time, would cost
/// time quadratic in its length on the I/O thread.
inline constexpr std::size_t max_request_buffer = max_request_head + 8192;
/// The same bound while a body is read (chunk headers and trailers are all that may wait in the buffer then):
/// re-parsing at most this much per read keeps the worst case to milliseconds.
inline constexpr std::size_t max_body_buffer = 8192;

/// A request refused before routing: the HTTP status and the JSON error's code and message. The connection is
/// closed after the answer (the framing of what follows cannot be trusted).
struct request_error {
  unsigned status;
  std::string_view code;
  std::string_view message;
};

/// Checks a parsed request head for what Beast's parser accepts but RFC 9112 refuses: an HTTP version other than
/// 1.0 or 1.1 (505); a target longer than max_request_target (414) or neither a path nor an absolute URI (400);
/// HTTP/1.1 without `Host`, more than one `Host`, or an invalid one (400); `Transfer-Encoding` together with
/// `Content-Length`, in HTTP/1.0, or whose last coding is not `chunked` (400); codings other than `chunked` (501).
/// Nothing when the request may be routed.
std::optional<request_error> check_request(const boost::beast::http::request_header<>& req);

/// The answer to a request Beast's parser refused with `ec`: 414 when the request line alone is over
/// max_request_head, 431 when the header fields are, 413 for a body over http.max_body, 505 for a well-formed
/// version other than 1.0 and 1.1, 400 for any other malformed request. `request_line_read`: whether the parser
/// got past the request line; `received`: the bytes not consumed by the parser (for a version, the request line).
/// Nothing when `ec` is not a parse error (the peer closed, a timeout, a socket error): no one to answer.
std::optional<request_error> parse_failure(const boost::system::error_code& ec, bool request_line_read,
                                           std::string_view received);

/// The origin-form of a request target: the target itself when it is a path, the path and query of an
/// absolute URI (`http://host/a?b` → `/a?b`, `http://host` → `/`), nothing for any other form.
std::optional<std::string_view> origin_form(std::string_view target);

/// What a request path (without its query) reaches, decided on the path alone, before any authentication.
enum class route_kind {
  health,      ///< /healthz
  readiness,   ///< /readyz
  metrics,     ///< /metrics
  jwks,        ///< /.well-known/jwks.json
  auth_public, ///< /api/v1/auth/login, /api/v1/auth/refresh: answered without a token
  api,         ///< anything else under /api: needs an access token
  ws_drone,    ///< /ws/drone
  ws_operator, ///< /ws/operator
  static_file, ///< everything else: the dashboard's files
};

route_kind classify_path(std::string_view path);

/// The role whose node answers a request path (without its query), decided on the path alone, before any
/// authentication (docs/cluster.md, "Roles"): telemetry for /ws/drone and /api/v1/drones[/...]; auth for
/// /api/v1/auth/... (but me and ticket), /api/v1/users[/...] and /api/v1/audit; dashboard for /ws/operator,
/// /api/v1/auth/ticket and the dashboard's files. Nothing for what every node answers: /healthz, /readyz, /metrics,
/// the JWKS, /api/v1/cluster, /api/v1/auth/me, and paths under /api and /ws/ that no route serves (404 anywhere).
std::optional<runtime::role> route_role(std::string_view path);

/// The HTTP base URLs (`http://host:port`) of the members that run `r`, from the cluster actor's membership (the
/// JSON of GET /api/v1/cluster: `members`, each with `http`, `roles` and `self`), in its order; this node and
/// members that announce no HTTP address yet are left out. Malformed JSON is no member.
std::vector<std::string> members_running(const std::string& membership, runtime::role r);

/// The body of the 421 answer to a route of role `r` on a node that does not run it:
/// `{"error":{"code":"misdirected","message":"…","role":"<r>","nodes":[<members_running>…]}}`.
std::string misdirected_body(runtime::role r, const std::vector<std::string>& nodes);

/// Whether a request may use the connections kept in reserve past http.max_connections: health and readiness
/// checks, metrics, logins, and operators' requests that carry credentials (an access token, or a ticket for
/// /ws/operator). Drones, static files and anonymous API calls wait for a regular connection.
bool allowed_in_reserve(route_kind kind, bool has_credentials);

} // namespace dccs::bridges
