#pragma once
/// What PostgreSQL's text (and jsonb) accept, checked at the edge: a string that fails here is refused with
/// `invalid_field` / 400 before it can reach a batch and make the database refuse the whole of it.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dccs::runtime {

/// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above
/// U+10FFFF) and holds no NUL byte: exactly the strings a UTF-8 PostgreSQL database stores in a text column.
/// (JSON parsers turn "\u0000" into a NUL byte; PostgreSQL refuses it in text, COPY and jsonb alike.)
inline bool valid_text(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      if (c == 0)
        return false;
      ++p;
      continue;
    }
    int n;
    unsigned lo = 0x80, hi = 0xBF; // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0; // overlong
      else if (c == 0xED)
        hi = 0x9F; // surrogates U+D800..U+DFFF
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90; // overlong
      else if (c == 0xF4)
        hi = 0x8F; // above U+10FFFF
    } else {
      return false; // a continuation byte first, C0/C1 (overlong), or F5..FF
    }
    if (end - p <= n)
      return false;
    if (p[1] < lo || p[1] > hi)
      return false;
    for (int i = 2; i <= n; ++i)
      if ((p[i] & 0xC0) != 0x80)
        return false;
    p += n + 1;
  }
  return true;
}

/// The value of one hexadecimal digit, -1 for anything else.
/// At most `max` bytes of `s` for an error message: cut on a UTF-8 character boundary, "?" when it is no valid text
/// (a message must stay valid UTF-8 without NUL).
inline std::string printable(std::string_view s, std::size_t max) {
  auto cut = std::min(max, s.size());
  while (cut > 0 && cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  auto shown = s.substr(0, cut);
  return valid_text(shown) ? std::string{shown} : std::string{"?"};
}

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// ASCII case-insensitive equality (bytes outside A-Z compare as they are). Not beast::iequals: Boost 1.74's
/// reads one byte past the end of its arguments when they differ in case (found by the http_request fuzz target
/// under AddressSanitizer, on a request target that ends the parser's buffer).
inline bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z')
      x = static_cast<unsigned char>(x + ('a' - 'A'));
    if (y >= 'A' && y <= 'Z')
      y = static_cast<unsigned char>(y + ('a' - 'A'));
    if (x != y)
      return false;
  }
  return true;
}

/// The items of a comma-separated list, without surrounding spaces (and without trailing `strip` characters).
inline std::vector<std::string> split_list(const std::string& text, const char* strip) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos <= text.size();) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!item.empty() && item.front() == ' ')
      item.erase(0, 1);
    while (!item.empty() && (item.back() == ' ' || std::string_view{strip}.find(item.back()) != std::string_view::npos))
      item.pop_back();
    if (!item.empty())
      out.push_back(item);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

/// Splits "host:port" (an IPv6 host in brackets) into its parts. False, outputs unchanged, unless the port is a
/// number from 1 to 65535 and the host is not empty.
inline bool split_host_port(const std::string& address, std::string& host, std::uint16_t& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() || address.size() - colon > 6)
    return false;
  std::uint32_t p = 0;
  for (auto c : std::string_view{address}.substr(colon + 1)) {
    if (c < '0' || c > '9')
      return false;
    p = p * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (p == 0 || p > 65535)
    return false;
  auto h = address.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  if (h.empty())
    return false;
  host = std::move(h);
  port = static_cast<std::uint16_t>(p);
  return true;
}

} // namespace dccs::runtime
