// Fuzz target: the HTTP request path up to routing, as the HTTP port runs it (bridges/server.cpp, http_session):
// raw bytes from a client go through Beast's request parser with the server's limits, the head first and then
// the body, in reads of a size the input's first byte picks; a refused request is answered as parse_failure and
// check_request say; an accepted one is reduced to its origin-form path and classified (classify_path,
// allowed_in_reserve, route_role); pipelined requests follow while the connection stays open.
//
// Properties: nothing crashes or throws; every refusal is one of the documented statuses with a code and a
// message; an accepted request has exactly one body framing that Beast and check_request agree on (no
// Transfer-Encoding with Content-Length, chunked last: nothing for a request smuggler to play with), one Host in
// HTTP/1.1, a target of at most 8 KiB whose origin-form is a path; the reserve never serves a route without
// credentials that it refuses with them.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "bridges/http_request.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace http = boost::beast::http;
using namespace dccs::bridges;

namespace {

constexpr std::size_t max_body = 1 << 20; // http.max_body's default

/// The client's bytes as the socket delivers them: at most `read_size` per read, into the session's buffer.
struct connection {
  std::string_view in;
  std::size_t at = 0;
  std::size_t read_size = 0;
  boost::beast::flat_buffer buffer{max_request_buffer}; // as the session's

  /// One read: false at the end of the input (the client closed).
  bool read() {
    if (at == in.size())
      return false;
    auto n = std::min({read_size, in.size() - at, buffer.max_size() - buffer.size()});
    auto dst = buffer.prepare(n);
    std::memcpy(dst.data(), in.data() + at, n);
    buffer.commit(n);
    at += n;
    return true;
  }

  /// What http::read_header (head) or http::read (the rest) does: feeds the parser until the part is complete,
  /// the parser refuses the bytes, or the input ends.
  boost::system::error_code read_part(http::request_parser<http::string_body>& p, bool head) {
    for (;;) {
      if (head ? p.is_header_done() : p.is_done())
        return {};
      boost::system::error_code ec;
      if (buffer.size() > 0) {
        auto used = p.put(buffer.data(), ec);
        buffer.consume(used);
        if (!ec && used > 0)
          continue;
        if (ec && ec != http::error::need_more)
          return ec;
      }
      if (buffer.size() == buffer.max_size())
        return http::error::buffer_overflow; // what Beast's read reports when the buffer has no room left
      if (!read()) {
        if (!p.got_some())
          return http::error::end_of_stream;
        p.put_eof(ec);
        return ec ? ec : http::error::partial_message;
      }
    }
  }
};

bool documented_refusal(const request_error& e) {
  switch (e.status) {
    case 400:
    case 413:
    case 414:
    case 431:
    case 501:
    case 505:
      break;
    default:
      return false;
  }
  return !e.code.empty() && !e.message.empty() && dccs::fuzz::utf8(e.code) && dccs::fuzz::utf8(e.message);
}

std::string_view view(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  connection c;
  // The first byte picks the read size: 1 to 255 bytes per read, or everything at once (0).
  c.read_size = data[0] == 0 ? size : data[0];
  c.in = std::string_view{reinterpret_cast<const char*>(data + 1), size - 1};
  for (int request = 0; request < 16; ++request) {
    c.buffer.max_size(std::max(c.buffer.size(), max_request_buffer));
    http::request_parser<http::string_body> p;
    p.header_limit(max_request_head);
    p.body_limit(max_body);
    auto ec = c.read_part(p, true);
    if (!ec) {
      auto& req = p.get();
      if (auto bad = check_request(req)) {
        FUZZ_CHECK(documented_refusal(*bad));
        FUZZ_CHECK(bad->status != 413 && bad->status != 431);
        return 0; // answered, then the connection closes
      }
      // What the node routes: framing both sides agree on, one Host, a bounded target with a path.
      FUZZ_CHECK(req.version() == 10 || req.version() == 11);
      auto hosts = req.count(http::field::host);
      FUZZ_CHECK(hosts <= 1 && (hosts == 1 || req.version() == 10));
      bool te = req.count(http::field::transfer_encoding) != 0;
      FUZZ_CHECK(!(te && req.count(http::field::content_length) != 0));
      FUZZ_CHECK(te == p.chunked()); // a Transfer-Encoding the node accepts is one Beast reads as chunked
      auto target = view(req.target());
      FUZZ_CHECK(target.size() <= max_request_target);
      auto origin = origin_form(target);
      FUZZ_CHECK(origin && !origin->empty() && origin->front() == '/');
      auto path = origin->substr(0, origin->find('?'));
      auto kind = classify_path(path);
      FUZZ_CHECK(classify_path(path) == kind);
      FUZZ_CHECK(!allowed_in_reserve(kind, false) || allowed_in_reserve(kind, true));
      if (kind == route_kind::health || kind == route_kind::readiness)
        FUZZ_CHECK(allowed_in_reserve(kind, false));
      if (kind == route_kind::ws_drone || kind == route_kind::static_file)
        FUZZ_CHECK(!allowed_in_reserve(kind, true));
      // Every path has at most one role, the same every time; the health routes are every node's.
      auto role = route_role(path);
      FUZZ_CHECK(route_role(path) == role);
      if (kind == route_kind::health || kind == route_kind::readiness || kind == route_kind::metrics)
        FUZZ_CHECK(!role);
      if (kind == route_kind::ws_drone)
        FUZZ_CHECK(role == dccs::runtime::role::telemetry);
      c.buffer.max_size(std::max(c.buffer.size(), max_body_buffer)); // as the session does for the body
      ec = c.read_part(p, false);
      if (!ec) {
        FUZZ_CHECK(p.get().body().size() <= max_body);
        if (!p.get().keep_alive())
          return 0;
        continue; // the next pipelined request
      }
    }
    auto line_read = !p.get().target().empty();
    auto bad = parse_failure(ec, line_read, {static_cast<const char*>(c.buffer.data().data()), c.buffer.size()});
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
      FUZZ_CHECK(!bad); // the client left: nobody to answer
      return 0;
    }
    FUZZ_CHECK(bad && documented_refusal(*bad));
    FUZZ_CHECK(bad->status != 501);
    if (ec == http::error::header_limit)
      FUZZ_CHECK(bad->status == (line_read ? 431u : 414u));
    if (ec == http::error::body_limit)
      FUZZ_CHECK(bad->status == 413);
    return 0;
  }
  return 0;
}
