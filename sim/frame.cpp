#include "sim/frame.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

namespace dccs::sim {

namespace {

/// Appends to a fixed buffer; remembers overflow instead of checking at every call site.
class writer {
public:
  writer(char* buf, std::size_t cap) noexcept : p_(buf), begin_(buf), end_(buf + cap) {}

  void raw(std::string_view s) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < s.size()) {
      ok_ = false;
      return;
    }
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  void uint(std::uint64_t v) noexcept { check(std::to_chars(p_, end_, v)); }
  void sint(std::int64_t v) noexcept { check(std::to_chars(p_, end_, v)); }

  /// Fixed notation with `precision` decimals; -0 is written as 0.
  void fixed(double v, int precision) noexcept {
    if (!std::isfinite(v))
      v = 0.0; // never emit NaN/Inf, which JSON does not have
    static constexpr double scale[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (precision < 0 || precision > 9) {
      ok_ = false;
      return;
    }
    if (std::fabs(v) * scale[precision] < 0.5)
      v = 0.0;
    check(std::to_chars(p_, end_, v, std::chars_format::fixed, precision));
  }

  /// Milliseconds with a three-digit fraction from microseconds (exact, no floating point).
  void millis(std::int64_t us) noexcept {
    if (us < 0)
      us = 0;
    uint(static_cast<std::uint64_t>(us / 1000));
    char frac[4] = {'.', static_cast<char>('0' + us / 100 % 10), static_cast<char>('0' + us / 10 % 10),
                    static_cast<char>('0' + us % 10)};
    raw(std::string_view(frac, 4));
  }

  std::size_t finish() const noexcept { return ok_ ? static_cast<std::size_t>(p_ - begin_) : 0; }

private:
  void check(std::to_chars_result r) noexcept {
    if (r.ec != std::errc{})
      ok_ = false;
    else
      p_ = r.ptr;
  }

  char* p_;
  char* begin_;
  char* end_;
  bool ok_ = true;
};

} // namespace

std::size_t format_drone_id(char* buf, std::size_t cap, std::string_view prefix,
                            std::uint32_t index) noexcept {
  writer w(buf, cap);
  w.raw(prefix);
  char digits[5];
  for (int i = 4; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + index % 10);
    index /= 10;
  }
  w.raw(std::string_view(digits, 5));
  return w.finish();
}

std::size_t format_hello(char* buf, std::size_t cap, std::string_view id, bool ack,
                         std::string_view commands) noexcept {
  writer w(buf, cap);
  w.raw(R"({"type":"hello","drone_id":")");
  w.raw(id);
  w.raw(ack ? R"(","model":"sim-quad","fw":"1.0","ack":true)" : R"(","model":"sim-quad","fw":"1.0")");
  if (!commands.empty()) {
    w.raw(R"(,"commands":)");
    w.raw(commands);
  }
  w.raw("}");
  return w.finish();
}

std::size_t format_telemetry(char* buf, std::size_t cap, const telemetry_state& t, std::uint64_t seq,
                             std::int64_t ts_us) noexcept {
  writer w(buf, cap);
  w.raw(R"({"type":"telemetry","seq":)");
  w.uint(seq);
  w.raw(R"(,"ts":)");
  w.millis(ts_us);
  w.raw(R"(,"lat":)");
  w.fixed(t.lat, 7);
  w.raw(R"(,"lon":)");
  w.fixed(t.lon, 7);
  w.raw(R"(,"alt":)");
  w.fixed(t.alt, 2);
  w.raw(R"(,"heading":)");
  // Rounding may turn 359.996 into "360.00", which is still inside the protocol's 0..360.
  w.fixed(t.heading, 2);
  w.raw(R"(,"speed":)");
  w.fixed(t.speed, 2);
  w.raw(R"(,"vspeed":)");
  w.fixed(t.vspeed, 2);
  w.raw(R"(,"battery":)");
  w.fixed(t.battery, 2);
  w.raw(t.armed ? R"(,"armed":true,"mode":")" : R"(,"armed":false,"mode":")");
  w.raw(mode_name(t.mode));
  w.raw(R"(","roll":)");
  w.fixed(t.roll, 2);
  w.raw(R"(,"pitch":)");
  w.fixed(t.pitch, 2);
  w.raw(R"(,"yaw":)");
  w.fixed(t.yaw, 2);
  w.raw(R"(,"voltage":)");
  w.fixed(t.voltage, 2);
  w.raw(R"(,"sats":)");
  w.sint(t.sats);
  w.raw(R"(,"fix":)");
  w.sint(t.fix);
  w.raw("}");
  return w.finish();
}

} // namespace dccs::sim
