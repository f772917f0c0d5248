// Fuzz target: the drone frame parser (bridges/drone_frame.hpp), what every drone's WebSocket text frame goes
// through first. Properties: it never throws or crashes, a frame it accepts holds only what the protocol allows
// (finite numbers in range, ids of the allowed characters, text PostgreSQL can store), and a refused frame
// says why with a known code and a message that is valid UTF-8 (it goes back to the drone in a text frame).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/command_model.hpp"
#include "bridges/drone_frame.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using dccs::bridges::drone_frame;
using dccs::fuzz::storable;
using dccs::fuzz::utf8;

namespace {

bool in(double x, double lo, double hi) {
  return std::isfinite(x) && x >= lo && x <= hi;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  drone_frame f;
  dccs::bridges::parse_drone_frame(text, f);
  switch (f.kind) {
    case drone_frame::telemetry: {
      auto& t = f.t;
      FUZZ_CHECK(in(t.ts, 0, 1e15));
      FUZZ_CHECK(in(t.lat, -90, 90));
      FUZZ_CHECK(in(t.lon, -180, 180));
      FUZZ_CHECK(in(t.alt, -1000, 100000));
      FUZZ_CHECK(in(t.heading, 0, 360));
      FUZZ_CHECK(in(t.speed, 0, 1000));
      FUZZ_CHECK(in(t.vspeed, -1000, 1000));
      FUZZ_CHECK(in(t.battery, 0, 100));
      FUZZ_CHECK(in(t.roll, -180, 360) && in(t.pitch, -180, 360) && in(t.yaw, -180, 360));
      FUZZ_CHECK(in(t.voltage, 0, 1000));
      FUZZ_CHECK(t.sats >= 0 && t.sats <= 255 && t.fix >= 0 && t.fix <= 10);
      FUZZ_CHECK(t.seq <= (std::uint64_t{1} << 63) - 1);
      FUZZ_CHECK(!t.mode.empty() && t.mode.size() <= 32);
      FUZZ_CHECK(storable(t.mode)); // a NUL or a bad byte would make PostgreSQL refuse a whole batch
      FUZZ_CHECK(f.error_code.empty() && f.error_message.empty());
      break;
    }
    case drone_frame::hello:
      FUZZ_CHECK(dccs::bridges::valid_drone_id(f.info.id));
      FUZZ_CHECK(f.info.model.size() <= 64 && f.info.fw.size() <= 64 && f.secret.size() <= 128);
      FUZZ_CHECK(storable(f.info.model) && storable(f.info.fw) && storable(f.secret));
      FUZZ_CHECK(f.error_code.empty() && f.error_message.empty());
      break;
    case drone_frame::heartbeat:
      FUZZ_CHECK(in(f.ts, 0, 1e15));
      break;
    case drone_frame::command_ack:
      FUZZ_CHECK(dccs::actors::valid_command_id(f.ack_frame.command_id));
      FUZZ_CHECK(dccs::actors::parse_drone_result(f.ack_frame.result).has_value());
      FUZZ_CHECK(f.ack_frame.progress == -1 || in(f.ack_frame.progress, 0, 100));
      FUZZ_CHECK(f.ack_frame.reason.size() <= 256 && storable(f.ack_frame.reason));
      break;
    case drone_frame::mission_ack:
    case drone_frame::mission_progress: {
      auto& m = f.mission;
      FUZZ_CHECK(dccs::actors::valid_command_id(m.mission_id));
      FUZZ_CHECK(m.seq >= -1 && m.seq <= 100000);
      if (f.kind == drone_frame::mission_ack)
        FUZZ_CHECK(m.kind == "ack" && m.seq >= 0 &&
                   (m.result == "accepted" || m.result == "denied" || m.result == "error" || m.result == "unsupported"));
      else
        FUZZ_CHECK(m.kind == "progress" &&
                   (m.result == "current" || m.result == "reached" || m.result == "completed" || m.result == "aborted" ||
                    m.result == "failed") &&
                   (m.seq >= 0 || (m.result != "current" && m.result != "reached")));
      FUZZ_CHECK(m.reason.size() <= 256 && storable(m.reason));
      break;
    }
    case drone_frame::invalid:
      FUZZ_CHECK(f.error_code == "malformed" || f.error_code == "unknown_type" || f.error_code == "missing_field"
                 || f.error_code == "invalid_field");
      FUZZ_CHECK(!f.error_message.empty() && utf8(f.error_message));
      break;
  }
  // A frame the parser accepts parses the same again (the parser keeps per-thread state between frames).
  if (f.kind != drone_frame::invalid) {
    drone_frame again;
    dccs::bridges::parse_drone_frame(text, again);
    FUZZ_CHECK(again.kind == f.kind && again.t.seq == f.t.seq && again.t.mode == f.t.mode
               && again.info.id == f.info.id);
  }
  return 0;
}
