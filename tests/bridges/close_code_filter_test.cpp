// The scanner under the WebSocket stream that makes Beast fail a client's close code of 5000 or more
// (bridges/close_code_filter.hpp), on client frames cut into reads of every size.

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "bridges/close_code_filter.hpp"

using dccs::bridges::close_code_scanner;

namespace {

using bytes = std::vector<unsigned char>;
constexpr std::array<unsigned char, 4> key{0x37, 0xfa, 0x21, 0x3d};

/// A masked client frame (FIN set).
bytes frame(unsigned opcode, const bytes& payload) {
  bytes out{static_cast<unsigned char>(0x80 | opcode)};
  auto n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<unsigned char>(0x80 | n));
  } else if (n < 65536) {
    out.push_back(0x80 | 126);
    out.push_back(static_cast<unsigned char>(n >> 8));
    out.push_back(static_cast<unsigned char>(n));
  } else {
    out.push_back(0x80 | 127);
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> (8 * i)));
  }
  out.insert(out.end(), key.begin(), key.end());
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(payload[i] ^ key[i % 4]);
  return out;
}

bytes close_frame(unsigned code, const std::string& reason = "") {
  bytes payload{static_cast<unsigned char>(code >> 8), static_cast<unsigned char>(code)};
  payload.insert(payload.end(), reason.begin(), reason.end());
  return frame(0x8, payload);
}

/// The stream as Beast sees it after the scanner, when the bytes arrive in reads of at most `chunk` bytes (a
/// held byte goes before the next read, as close_code_filter puts it).
bytes through(const bytes& in, std::size_t chunk) {
  close_code_scanner s;
  bytes out;
  std::size_t pos = 0;
  while (pos < in.size()) {
    bytes buf;
    if (auto held = s.take_held())
      buf.push_back(*held);
    auto n = std::min(chunk, in.size() - pos);
    buf.insert(buf.end(), in.begin() + static_cast<long>(pos), in.begin() + static_cast<long>(pos + n));
    pos += n;
    auto handed = s.scan(buf.data(), buf.size());
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(handed));
  }
  return out;
}

/// The close code of the close frame at `at` in a stream of masked frames, as Beast reads it.
unsigned code_at(const bytes& stream, std::size_t at) {
  auto len7 = stream[at + 1] & 0x7f;
  REQUIRE(len7 < 126);
  auto k = stream.begin() + static_cast<long>(at + 2);
  auto p = at + 6;
  return (static_cast<unsigned>(stream[p] ^ k[0]) << 8) | static_cast<unsigned>(stream[p + 1] ^ k[1]);
}

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

} // namespace

TEST_CASE("a close code of 5000 or more reaches Beast as one below 256, whatever the reads") {
  for (unsigned code : {5000u, 5001u, 5119u, 5120u, 9999u, 65535u}) {
    auto in = cat({frame(0x1, bytes(10, 'x')), frame(0x9, {}), close_frame(code, "bye")});
    auto close_at = in.size() - close_frame(code, "bye").size();
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 13u, 1000u}) {
      INFO(code << " in reads of " << chunk);
      auto out = through(in, chunk);
      REQUIRE(out.size() == in.size());
      CHECK(code_at(out, close_at) < 256);
      CHECK(bytes(out.begin(), out.begin() + static_cast<long>(close_at + 6))
            == bytes(in.begin(), in.begin() + static_cast<long>(close_at + 6))); // nothing else changes
      CHECK(out.back() == in.back());
    }
  }
}

TEST_CASE("valid close codes, other frames and long payloads pass unchanged") {
  std::string text(70000, 'a');
  text[300] = '\x88'; // bytes in payloads that look like a close frame are payload
  text[301] = '\x82';
  auto in = cat({frame(0x1, bytes(text.begin(), text.end())), frame(0x2, bytes(200, 0x88)), frame(0x8, {}),
                 close_frame(1000), close_frame(4999, "ok"), close_frame(3000), close_frame(1005),
                 close_frame(999)});
  for (std::size_t chunk : {1u, 5u, 4096u, 1u << 20}) {
    INFO(chunk);
    CHECK(through(in, chunk) == in);
  }
}

TEST_CASE("an unmasked close frame is scanned too (Beast fails it anyway)") {
  bytes in{0x88, 0x02, 0x13, 0x88}; // 5000, unmasked
  auto out = through(in, 3);
  REQUIRE(out.size() == 4);
  CHECK(out[2] == 0x00);
  CHECK(out[3] == 0x88);
}
