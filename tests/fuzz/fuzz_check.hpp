#pragma once
/// What the fuzz targets share: a property check that stops the run (libFuzzer records the input as a crash; the
/// corpus replay fails), and an independent UTF-8 check for the properties of what a parser lets through.

#include <cstdio>
#include <cstdlib>
#include <string_view>

/// Aborts with the condition and where, when `cond` is false. Always on (not an assert: NDEBUG is irrelevant).
#define FUZZ_CHECK(cond)                                                                                         \
  do {                                                                                                           \
    if (!(cond)) {                                                                                               \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);                        \
      std::abort();                                                                                              \
    }                                                                                                            \
  } while (false)

namespace dccs::fuzz {

/// Well-formed UTF-8 (RFC 3629), NUL allowed: written apart from runtime::valid_text so that the properties
/// check the parsers against a second implementation.
inline bool utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size())
      return false;
    for (std::size_t k = 1; k <= n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr unsigned min_of[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

/// Text a UTF-8 PostgreSQL stores: well-formed UTF-8 without NUL.
inline bool storable(std::string_view s) {
  return utf8(s) && s.find('\0') == std::string_view::npos;
}

} // namespace dccs::fuzz
