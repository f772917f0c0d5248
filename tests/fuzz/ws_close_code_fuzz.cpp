// Fuzz target: the scanner under every WebSocket (bridges/close_code_filter.hpp), which follows a client's frames
// across reads and rewrites a close code of 5000 or more so that Beast fails the connection with 1002. The input's
// first byte picks the read size (1 to 255 bytes, or everything at once), the rest is what the client sends.
//
// Properties: nothing crashes; no byte is lost, added or moved (a byte held back for the next read comes first
// in it); how the bytes are cut into reads changes nothing in what Beast gets; scanning what Beast gets again
// changes nothing (a rewritten code is below 256 and stays so); only single bytes change, never a frame's
// header or length.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bridges/close_code_filter.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using dccs::bridges::close_code_scanner;

namespace {

using bytes = std::vector<unsigned char>;

/// What Beast reads when the bytes arrive in reads of at most `chunk` bytes, as close_code_filter feeds it.
bytes through(const bytes& in, std::size_t chunk) {
  close_code_scanner s;
  bytes out;
  out.reserve(in.size() + 1);
  std::size_t pos = 0;
  while (pos < in.size()) {
    // The read lands at the end of `out`: a held byte first, then at most `chunk` new bytes.
    auto start = out.size();
    if (auto held = s.take_held())
      out.push_back(*held);
    auto n = std::min(chunk, in.size() - pos);
    out.insert(out.end(), in.begin() + static_cast<long>(pos), in.begin() + static_cast<long>(pos + n));
    pos += n;
    auto got = out.size() - start;
    auto handed = s.scan(out.data() + start, got);
    FUZZ_CHECK(handed == got || handed + 1 == got);
    out.resize(start + handed);
  }
  if (auto held = s.take_held())
    out.push_back(*held); // the stream ended on a held byte: it was never given to Beast, but it exists
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::size_t chunk = data[0] == 0 ? size : data[0];
  bytes in(data + 1, data + size);
  auto whole = through(in, in.size() + 1);
  auto cut = through(in, chunk);
  FUZZ_CHECK(whole.size() == in.size());
  FUZZ_CHECK(cut == whole);
  FUZZ_CHECK(through(whole, in.size() + 1) == whole);
  std::size_t changed = 0;
  for (std::size_t i = 0; i < in.size(); ++i)
    if (in[i] != whole[i]) {
      ++changed;
      FUZZ_CHECK(i >= 2);                                         // a frame's header comes before it
      FUZZ_CHECK(i + 1 < in.size() && in[i + 1] == whole[i + 1]); // the code's low byte stays
    }
  FUZZ_CHECK(changed * 4 <= in.size()); // one byte per close frame of at least 4 bytes
  return 0;
}
