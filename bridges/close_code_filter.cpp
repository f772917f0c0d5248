#include "bridges/close_code_filter.hpp"

#include <algorithm>

namespace dccs::bridges {

void close_code_scanner::length_known() {
  if (masked_) {
    key_at_ = 0;
    at_ = at::mask_key;
  } else {
    start_payload();
  }
}

void close_code_scanner::start_payload() {
  left_ = length_;
  if (left_ == 0)
    at_ = at::opcode;
  else if (close_ && left_ >= 2)
    at_ = at::code;
  else
    at_ = at::payload;
}

std::size_t close_code_scanner::scan(unsigned char* data, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    auto b = data[i];
    switch (at_) {
      case at::opcode:
        close_ = (b & 0x0f) == 0x8;
        at_ = at::length;
        ++i;
        break;
      case at::length: {
        masked_ = (b & 0x80) != 0;
        auto len7 = static_cast<unsigned>(b & 0x7f);
        ++i;
        length_ = 0;
        if (len7 == 126 || len7 == 127) {
          extended_left_ = len7 == 126 ? 2 : 8;
          at_ = at::extended_length;
          break;
        }
        length_ = len7;
        length_known();
        break;
      }
      case at::extended_length:
        length_ = (length_ << 8) | b;
        ++i;
        if (--extended_left_ == 0)
          length_known();
        break;
      case at::mask_key:
        key_[key_at_++] = b;
        ++i;
        if (key_at_ == 4)
          start_payload();
        break;
      case at::code: {
        auto k0 = masked_ ? key_[0] : 0;
        auto k1 = masked_ ? key_[1] : 0;
        if (i + 1 == n) {
          held_ = b; // the code's second byte is not here yet: decide when it is
          return n - 1;
        }
        unsigned code = (static_cast<unsigned>(b ^ k0) << 8) | static_cast<unsigned>(data[i + 1] ^ k1);
        if (code >= 5000)
          data[i] = static_cast<unsigned char>(k0); // high byte 0: a code below 256, which Beast refuses
        i += 2;
        left_ -= 2;
        at_ = left_ == 0 ? at::opcode : at::payload;
        break;
      }
      case at::payload: {
        auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n - i));
        i += skip;
        left_ -= skip;
        if (left_ == 0)
          at_ = at::opcode;
        break;
      }
    }
  }
  return n;
}

} // namespace dccs::bridges
