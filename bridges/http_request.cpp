#include "bridges/http_request.hpp"

#include "runtime/text.hpp"

#include <nlohmann/json.hpp>

#include <vector>

#include <boost/beast/http/error.hpp>

namespace dccs::bridges {

namespace http = boost::beast::http;

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// RFC 3986 unreserved, sub-delims and '%' (pct-encoded is checked loosely: the host is not decoded).
bool is_host_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
    return true;
  return std::string_view{"-._~%!$&'()*+,;="}.find(c) != std::string_view::npos;
}

bool all_digits(std::string_view s) {
  for (char c : s)
    if (!is_digit(c))
      return false;
  return true;
}

/// RFC 9110 §7.2: Host = uri-host [ ":" port ]; uri-host is an IP-literal ("[...]"), an IPv4 address or a
/// reg-name. Empty is allowed (a target URI without an authority).
bool valid_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos || close == 1)
      return false;
    for (char c : host.substr(1, close - 1))
      if (!(is_host_char(c) || c == ':'))
        return false;
    auto rest = host.substr(close + 1);
    return rest.empty() || (rest.front() == ':' && all_digits(rest.substr(1)));
  }
  auto colon = host.find(':');
  auto name = host.substr(0, colon);
  for (char c : name)
    if (!is_host_char(c))
      return false;
  return colon == std::string_view::npos || all_digits(host.substr(colon + 1));
}

/// The items of a comma-separated field value (RFC 9110 §5.6.1), without optional whitespace; empty items are
/// left out.
std::vector<std::string_view> list_items(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto comma = value.find(',', pos);
    auto item = value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (!item.empty())
      out.push_back(item);
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

using runtime::iequals_ascii;

std::string_view view(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

} // namespace

std::optional<request_error> check_request(const http::request_header<>& req) {
  auto version = req.version();
  if (version != 10 && version != 11)
    return request_error{505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served"};
  auto target = view(req.target());
  if (target.size() > max_request_target)
    return request_error{414, "uri_too_long", "the request target is longer than 8192 bytes"};
  if (!origin_form(target))
    return request_error{400, "bad_target", "the request target must be a path (or an absolute http URI)"};
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (an HTTP/1.0 client may leave it out), and a valid one.
  auto hosts = req.equal_range(http::field::host);
  auto host_count = std::distance(hosts.first, hosts.second);
  if (host_count == 0 && version == 11)
    return request_error{400, "missing_host", "an HTTP/1.1 request needs a Host header"};
  if (host_count > 1)
    return request_error{400, "duplicate_host", "a request may carry only one Host header"};
  if (host_count == 1 && !valid_host(view(hosts.first->value())))
    return request_error{400, "bad_host", "the Host header is not a valid host[:port]"};
  // RFC 9112 §6.1 and §6.3: a body's length comes from Transfer-Encoding (when chunked is its last coding) or
  // from Content-Length, never both; anything else makes the framing of what follows unreliable.
  auto codings_fields = req.equal_range(http::field::transfer_encoding);
  if (codings_fields.first != codings_fields.second) {
    if (version == 10)
      return request_error{400, "bad_transfer_encoding", "Transfer-Encoding is not allowed in HTTP/1.0"};
    if (req.count(http::field::content_length) != 0)
      return request_error{400, "bad_transfer_encoding", "Transfer-Encoding and Content-Length together"};
    std::vector<std::string_view> codings;
    for (auto f = codings_fields.first; f != codings_fields.second; ++f)
      for (auto item : list_items(view(f->value())))
        codings.push_back(item);
    if (codings.empty() || !iequals_ascii(codings.back(), "chunked"))
      return request_error{400, "bad_transfer_encoding", "the last transfer coding must be chunked"};
    if (codings.size() > 1) {
      for (std::size_t i = 0; i + 1 < codings.size(); ++i)
        if (iequals_ascii(codings[i], "chunked"))
          return request_error{400, "bad_transfer_encoding", "chunked may be applied only once"};
      return request_error{501, "unsupported_transfer_encoding", "only the chunked transfer coding is supported"};
    }
  }
  return std::nullopt;
}

std::optional<request_error> parse_failure(const boost::system::error_code& ec, bool request_line_read,
                                           std::string_view received) {
  if (ec.category() != http::make_error_code(http::error::end_of_stream).category())
    return std::nullopt; // not the parser's: the socket, a timeout
  if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == http::error::need_more
      || ec == http::error::need_buffer)
    return std::nullopt; // the peer closed (with or without a whole request): no one to answer
  if (ec == http::error::body_limit)
    return request_error{413, "payload_too_large", "request body too large"};
  if (ec == http::error::buffer_overflow)
    return request_error{400, "malformed_request", "a chunk header or trailer is too long"};
  if (ec == http::error::header_limit) {
    if (!request_line_read)
      return request_error{414, "uri_too_long", "the request line is longer than 16384 bytes"};
    return request_error{431, "header_too_large", "the request's header fields are larger than 16384 bytes"};
  }
  if (ec == http::error::bad_version) {
    // Beast reads HTTP/1.0 and HTTP/1.1 only; another well-formed version is 505, anything else 400.
    auto line = received.substr(0, received.find('\n'));
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    auto version = line.substr(line.rfind(' ') + 1);
    if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) && version[6] == '.'
        && is_digit(version[7]))
      return request_error{505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served"};
  }
  return request_error{400, "malformed_request", "the request is not valid HTTP/1.1"};
}

std::optional<std::string_view> origin_form(std::string_view target) {
  if (!target.empty() && target.front() == '/')
    return target;
  // absolute-form (RFC 9112 §3.2.2): a server must accept it.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() < scheme.size() || !iequals_ascii(target.substr(0, scheme.size()), scheme))
      continue;
    auto rest = target.substr(scheme.size());
    auto end = rest.find_first_of("/?#");
    if (end == std::string_view::npos)
      return std::string_view{"/"};
    if (rest[end] != '/')
      return std::nullopt; // "http://host?q": no path to route
    return rest.substr(end);
  }
  return std::nullopt;
}

route_kind classify_path(std::string_view path) {
  if (path == "/healthz")
    return route_kind::health;
  if (path == "/readyz")
    return route_kind::readiness;
  if (path == "/metrics")
    return route_kind::metrics;
  if (path == "/.well-known/jwks.json")
    return route_kind::jwks;
  if (path == "/ws/drone")
    return route_kind::ws_drone;
  if (path == "/ws/operator")
    return route_kind::ws_operator;
  if (path == "/api/v1/auth/login" || path == "/api/v1/auth/refresh")
    return route_kind::auth_public;
  if (path == "/api" || path.substr(0, 5) == "/api/")
    return route_kind::api;
  return route_kind::static_file;
}

std::optional<runtime::role> route_role(std::string_view path) {
  using runtime::role;
  // `path` is `prefix` or below it (`prefix/...`).
  auto under = [path](std::string_view prefix) {
    return path.substr(0, prefix.size()) == prefix && (path.size() == prefix.size() || path[prefix.size()] == '/');
  };
  switch (classify_path(path)) {
    case route_kind::health:
    case route_kind::readiness:
    case route_kind::metrics:
    case route_kind::jwks:
      return std::nullopt;
    case route_kind::ws_drone:
      return role::telemetry;
    case route_kind::ws_operator:
      return role::dashboard;
    case route_kind::auth_public:
      return role::auth;
    case route_kind::api:
      break;
    case route_kind::static_file:
      // Paths under /ws/ other than the two sockets are no endpoint anywhere; the rest is the dashboard's files.
      if (under("/ws"))
        return std::nullopt;
      return role::dashboard;
  }
  // Answered from the token alone (me), or about the cluster itself: every node.
  if (path == "/api/v1/auth/me" || path == "/api/v1/cluster")
    return std::nullopt;
  // A ticket is redeemed by /ws/operator on the node that issued it; the map's settings are the dashboard's.
  if (path == "/api/v1/auth/ticket" || path == "/api/v1/config/web")
    return role::dashboard;
  if (under("/api/v1/auth") || under("/api/v1/users") || path == "/api/v1/audit")
    return role::auth;
  if (under("/api/v1/analytics"))
    return role::analytics;
  // A drone's commands (/api/v1/drones/{id}/commands) and the commands themselves; geofences and alarms.
  if (under("/api/v1/commands") || under("/api/v1/geofences") || under("/api/v1/alarms")
      || under("/api/v1/missions"))
    return role::commands;
  if (under("/api/v1/drones")) {
    auto rest = path.substr(std::string_view{"/api/v1/drones"}.size());
    if (rest.size() > 1) {
      auto slash = rest.find('/', 1);
      if (slash != std::string_view::npos && (rest.substr(slash) == "/commands" || rest.substr(slash) == "/control"))
        return role::commands;
    }
    return role::telemetry;
  }
  return std::nullopt;
}

std::vector<std::string> members_running(const std::string& membership, runtime::role r) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(membership, nullptr, false);
  if (!j.is_object() || !j.contains("members") || !j["members"].is_array())
    return out;
  for (auto& m : j["members"]) {
    if (!m.is_object() || m.value("self", false) || !m.contains("roles") || !m["roles"].is_array())
      continue;
    std::vector<std::string> roles;
    for (auto& name : m["roles"])
      if (name.is_string())
        roles.push_back(name.get<std::string>());
    auto http = m.contains("http") && m["http"].is_string() ? m["http"].get<std::string>() : std::string{};
    if (!http.empty() && runtime::announces(roles, r))
      out.push_back("http://" + http);
  }
  return out;
}

std::string misdirected_body(runtime::role r, const std::vector<std::string>& nodes) {
  auto name = std::string{runtime::to_string(r)};
  auto message = nodes.empty()
                   ? "this node does not run the '" + name + "' role, and no live cluster member that runs it is known"
                   : "this node does not run the '" + name + "' role: send the request to one of the nodes named";
  nlohmann::json body{{"error", {{"code", "misdirected"}, {"message", message}, {"role", name}, {"nodes", nodes}}}};
  return body.dump();
}

bool allowed_in_reserve(route_kind kind, bool has_credentials) {
  switch (kind) {
    case route_kind::health:
    case route_kind::readiness:
    case route_kind::metrics:
    case route_kind::auth_public:
      return true;
    case route_kind::api:
    case route_kind::ws_operator:
      return has_credentials;
    case route_kind::jwks:
    case route_kind::ws_drone:
    case route_kind::static_file:
      return false;
  }
  return false;
}

} // namespace dccs::bridges
