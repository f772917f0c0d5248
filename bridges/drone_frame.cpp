#include "bridges/drone_frame.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

#include <simdjson.h>

#include "actors/command_model.hpp"
#include "runtime/text.hpp"

namespace dccs::bridges {

namespace {

namespace sj = simdjson;
namespace od = simdjson::ondemand;
using actors::telemetry;

/// Required telemetry fields, as bits.
enum req : std::uint32_t {
  r_seq = 1 << 0, r_ts = 1 << 1, r_lat = 1 << 2, r_lon = 1 << 3, r_alt = 1 << 4, r_heading = 1 << 5,
  r_speed = 1 << 6, r_vspeed = 1 << 7, r_battery = 1 << 8, r_armed = 1 << 9, r_mode = 1 << 10,
  r_all = (1 << 11) - 1,
};

const char* const required_names[] = {"seq", "ts", "lat", "lon", "alt", "heading", "speed", "vspeed",
                                      "battery", "armed", "mode"};

void fail(drone_frame& out, const char* code, std::string message) {
  out.kind = drone_frame::invalid;
  out.error_code = code;
  out.error_message = std::move(message);
}

struct range {
  double lo;
  double hi;
};

/// True when `token` (a scalar's raw text, trailing whitespace included) is a JSON number by RFC 8259's
/// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool json_number_syntax(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  std::size_t i = 0;
  auto digit = [&](std::size_t k) { return k < token.size() && token[k] >= '0' && token[k] <= '9'; };
  if (i < token.size() && token[i] == '-')
    ++i;
  if (!digit(i))
    return false;
  if (token[i] == '0')
    ++i;
  else
    while (digit(i))
      ++i;
  if (i < token.size() && token[i] == '.') {
    ++i;
    if (!digit(i))
      return false;
    while (digit(i))
      ++i;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-'))
      ++i;
    if (!digit(i))
      return false;
    while (digit(i))
      ++i;
  }
  return i == token.size();
}

/// True when the value `v` is valid JSON: a value that is JSON but of the wrong type or out of range is an
/// invalid_field, one that is not JSON at all (NaN, Infinity, -Infinity, tru, 01, a lone '-') is malformed.
bool json_value_syntax(od::value& v) {
  od::json_type type;
  if (v.type().get(type) != sj::SUCCESS)
    return false; // NaN, Infinity: no JSON value starts like that
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r'))
    raw.remove_suffix(1);
  switch (type) {
    case od::json_type::number: return json_number_syntax(raw);
    case od::json_type::boolean: return raw == "true" || raw == "false";
    case od::json_type::null: return raw == "null";
    default: return true; // strings, objects, arrays: their own checks name the field
  }
}

/// Records the error for a value that could not be read as the field needs: malformed when the value is
/// not JSON, else invalid_field with `message`.
void fail_value(od::value& v, std::string message, drone_frame& out) {
  if (!json_value_syntax(v))
    fail(out, "malformed", "frame is not valid JSON (NaN and infinities are not JSON numbers)");
  else
    fail(out, "invalid_field", std::move(message));
}

/// Reads a number within [lo, hi]; records an invalid_field error otherwise.
bool read_number(od::value& v, std::string_view key, range r, double& dst, drone_frame& out) {
  double x;
  if (v.get_double().get(x) != sj::SUCCESS) {
    fail_value(v, "field '" + std::string{key} + "' must be a number", out);
    return false;
  }
  if (!std::isfinite(x) || x < r.lo || x > r.hi) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "field '%.*s' out of range [%g, %g]: %g", static_cast<int>(key.size()),
                  key.data(), r.lo, r.hi, x);
    fail(out, "invalid_field", buf);
    return false;
  }
  dst = x;
  return true;
}

bool read_int(od::value& v, std::string_view key, std::int64_t lo, std::int64_t hi, std::int32_t& dst,
              drone_frame& out) {
  std::int64_t x;
  if (v.get_int64().get(x) != sj::SUCCESS || x < lo || x > hi) {
    fail_value(v,
               "field '" + std::string{key} + "' must be an integer in [" + std::to_string(lo) + ", "
                 + std::to_string(hi) + "]",
               out);
    return false;
  }
  dst = static_cast<std::int32_t>(x);
  return true;
}

/// A hello's `commands`: an array of at most 32 strings; the known command kinds among them are kept, in protocol
/// order, each once (a kind this node does not know, from a newer drone, is left out).
bool read_command_kinds(od::value& v, drone_frame& out) {
  od::array a;
  if (v.get_array().get(a) != sj::SUCCESS) {
    fail_value(v, "field 'commands' must be an array of command kinds", out);
    return false;
  }
  bool listed[std::size(actors::command_kinds)] = {};
  std::size_t n = 0;
  for (auto item : a) {
    std::string_view s;
    if (item.get_string().get(s) != sj::SUCCESS || ++n > 32) {
      fail(out, "invalid_field", "field 'commands' must be an array of at most 32 command kinds (strings)");
      return false;
    }
    for (std::size_t i = 0; i < std::size(actors::command_kinds); ++i)
      if (s == actors::command_kinds[i])
        listed[i] = true;
  }
  out.info.commands.clear();
  for (std::size_t i = 0; i < std::size(actors::command_kinds); ++i)
    if (listed[i])
      out.info.commands.emplace_back(actors::command_kinds[i]);
  out.info.declares_commands = true;
  return true;
}

bool read_string(od::value& v, std::string_view key, std::size_t min_len, std::size_t max_len,
                 std::string& dst, drone_frame& out) {
  std::string_view s;
  auto e = v.get_string().get(s);
  if (e == sj::STRING_ERROR) { // a broken escape or a lone UTF-16 surrogate (\ud800)
    fail(out, "invalid_field", "field '" + std::string{key} + "' must be valid Unicode text");
    return false;
  }
  if (e != sj::SUCCESS) {
    fail_value(v, "field '" + std::string{key} + "' must be a string", out);
    return false;
  }
  // What the database would refuse is refused here, for this frame alone (a NUL is legal JSON, "\u0000").
  if (!runtime::valid_text(s)) {
    fail(out, "invalid_field", "field '" + std::string{key} + "' must be UTF-8 text without NUL characters");
    return false;
  }
  if (s.size() < min_len || s.size() > max_len) {
    fail(out, "invalid_field",
         "field '" + std::string{key} + "' must have " + std::to_string(min_len) + " to "
           + std::to_string(max_len) + " characters");
    return false;
  }
  dst.assign(s.data(), s.size());
  return true;
}

struct parser_holder {
  od::parser parser;
  std::string buffer;
};

thread_local parser_holder tls;

} // namespace

void parse_drone_frame(std::string_view text, drone_frame& out) {
  out = drone_frame{};
  auto& buf = tls.buffer;
  buf.assign(text.data(), text.size());
  if (buf.capacity() < text.size() + sj::SIMDJSON_PADDING)
    buf.reserve(text.size() + sj::SIMDJSON_PADDING);
  sj::padded_string_view view{buf.data(), buf.size(), buf.capacity()};
  od::document doc;
  if (tls.parser.iterate(view).get(doc) != sj::SUCCESS) {
    fail(out, "malformed", "frame is not valid JSON");
    return;
  }
  od::object obj;
  if (doc.get_object().get(obj) != sj::SUCCESS) {
    fail(out, "malformed", "frame is not a JSON object");
    return;
  }
  std::string_view type;
  bool has_type = false;
  std::uint32_t seen = 0;
  bool has_id = false;
  // The fields of a command_ack are checked only when the frame is one (in other frames they are unknown fields,
  // ignored): the first problem waits here until the type is known.
  drone_frame ack_problem;
  bool ack_bad = false, has_command_id = false, has_result = false;
  // The fields of mission frames likewise (`result` and `seq` are shared with command_ack and telemetry: their
  // values are checked against the frame's type at the end).
  drone_frame mission_problem;
  bool mission_bad = false, result_unknown = false, has_mission_id = false, has_event = false;
  std::string raw_result;
  out.ack_frame = actors::command_ack{};
  auto& t = out.t;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != sj::SUCCESS) {
      fail(out, "malformed", "frame is not valid JSON");
      return;
    }
    od::value v;
    if (field.value().get(v) != sj::SUCCESS) {
      fail(out, "malformed", "frame is not valid JSON");
      return;
    }
    bool ok = true;
    if (key == "type") {
      std::string_view s;
      if (v.get_string().get(s) != sj::SUCCESS) {
        fail_value(v, "field 'type' must be a string", out);
        return;
      }
      if (!runtime::valid_text(s)) {
        fail(out, "invalid_field", "field 'type' must be UTF-8 text without NUL characters");
        return;
      }
      // The parser's string buffer stays valid until the next document: copy into the output struct.
      out.error_message.assign(s.data(), s.size());
      type = out.error_message;
      has_type = true;
    } else if (key == "seq") {
      std::uint64_t x;
      ok = v.get_uint64().get(x) == sj::SUCCESS && x <= (std::uint64_t{1} << 63) - 1;
      if (!ok) {
        fail_value(v, "field 'seq' must be an unsigned integer", out);
        return;
      }
      t.seq = x;
      seen |= r_seq;
    } else if (key == "ts") {
      ok = read_number(v, key, {0, 1e15}, t.ts, out);
      seen |= r_ts;
    } else if (key == "lat") {
      ok = read_number(v, key, {-90, 90}, t.lat, out);
      seen |= r_lat;
    } else if (key == "lon") {
      ok = read_number(v, key, {-180, 180}, t.lon, out);
      seen |= r_lon;
    } else if (key == "alt") {
      ok = read_number(v, key, {-1000, 100000}, t.alt, out);
      seen |= r_alt;
    } else if (key == "heading") {
      ok = read_number(v, key, {0, 360}, t.heading, out);
      seen |= r_heading;
    } else if (key == "speed") {
      ok = read_number(v, key, {0, 1000}, t.speed, out);
      seen |= r_speed;
    } else if (key == "vspeed") {
      ok = read_number(v, key, {-1000, 1000}, t.vspeed, out);
      seen |= r_vspeed;
    } else if (key == "battery") {
      ok = read_number(v, key, {0, 100}, t.battery, out);
      seen |= r_battery;
    } else if (key == "armed") {
      bool b;
      if (v.get_bool().get(b) != sj::SUCCESS) {
        fail_value(v, "field 'armed' must be true or false", out);
        return;
      }
      t.armed = b;
      seen |= r_armed;
    } else if (key == "mode") {
      ok = read_string(v, key, 1, 32, t.mode, out);
      seen |= r_mode;
    } else if (key == "roll") {
      ok = read_number(v, key, {-180, 360}, t.roll, out);
      t.present |= telemetry::has_roll;
    } else if (key == "pitch") {
      ok = read_number(v, key, {-180, 360}, t.pitch, out);
      t.present |= telemetry::has_pitch;
    } else if (key == "yaw") {
      ok = read_number(v, key, {-180, 360}, t.yaw, out);
      t.present |= telemetry::has_yaw;
    } else if (key == "voltage") {
      ok = read_number(v, key, {0, 1000}, t.voltage, out);
      t.present |= telemetry::has_voltage;
    } else if (key == "sats") {
      ok = read_int(v, key, 0, 255, t.sats, out);
      t.present |= telemetry::has_sats;
    } else if (key == "fix") {
      ok = read_int(v, key, 0, 10, t.fix, out);
      t.present |= telemetry::has_fix;
    } else if (key == "drone_id") {
      ok = read_string(v, key, 1, 64, out.info.id, out);
      if (ok && !valid_drone_id(out.info.id)) {
        fail(out, "invalid_field", "field 'drone_id' must be 1-64 characters of A-Z a-z 0-9 _ . -");
        return;
      }
      has_id = true;
    } else if (key == "model") {
      ok = read_string(v, key, 0, 64, out.info.model, out);
    } else if (key == "fw") {
      ok = read_string(v, key, 0, 64, out.info.fw, out);
    } else if (key == "commands") {
      ok = read_command_kinds(v, out);
    } else if (key == "secret") {
      ok = read_string(v, key, 1, 128, out.secret, out);
    } else if (key == "command_id") {
      if (!ack_bad && read_string(v, key, 36, 36, out.ack_frame.command_id, ack_problem)) {
        if (!actors::valid_command_id(out.ack_frame.command_id)) {
          fail(ack_problem, "invalid_field", "field 'command_id' must be a command id (a UUID)");
          ack_bad = true;
        }
      } else {
        ack_bad = true;
      }
      has_command_id = true;
    } else if (key == "result") {
      if (read_string(v, key, 1, 32, raw_result, ack_problem)) {
        result_unknown = !actors::parse_drone_result(raw_result);
        out.ack_frame.result = raw_result;
      } else {
        ack_bad = mission_bad = true;
        mission_problem.error_code = ack_problem.error_code;
        mission_problem.error_message = ack_problem.error_message;
      }
      has_result = true;
    } else if (key == "mission_id") {
      if (!mission_bad && read_string(v, key, 36, 36, out.mission.mission_id, mission_problem)) {
        if (!actors::valid_command_id(out.mission.mission_id)) {
          fail(mission_problem, "invalid_field", "field 'mission_id' must be a mission id (a UUID)");
          mission_bad = true;
        }
      } else {
        mission_bad = true;
      }
      has_mission_id = true;
    } else if (key == "event") {
      if (!mission_bad && !read_string(v, key, 1, 16, out.mission.result, mission_problem))
        mission_bad = true;
      has_event = true;
    } else if (key == "progress") {
      if (ack_bad || !read_number(v, key, {0, 100}, out.ack_frame.progress, ack_problem))
        ack_bad = true;
    } else if (key == "reason") {
      if (ack_bad || !read_string(v, key, 0, 256, out.ack_frame.reason, ack_problem)) {
        if (!ack_bad) {
          mission_problem.error_code = ack_problem.error_code;
          mission_problem.error_message = ack_problem.error_message;
          mission_bad = true;
        }
        ack_bad = true;
      }
    } else if (key == "ack") {
      bool b = false;
      if (v.get_bool().get(b) != sj::SUCCESS) {
        fail_value(v, "field 'ack' must be true or false", out);
        return;
      }
      out.ack = b;
    }
    // Unknown fields are skipped by the on-demand parser.
    if (!ok)
      return;
  }
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == sj::SUCCESS) {
    fail(out, "malformed", "trailing content after the JSON object");
    return;
  }
  if (!has_type) {
    fail(out, "missing_field", "field 'type' is required");
    return;
  }
  if (type == "telemetry") {
    if ((seen & r_all) != r_all) {
      for (int i = 0; i < 11; ++i)
        if (!(seen & (1u << i))) {
          fail(out, "missing_field", std::string{"field '"} + required_names[i] + "' is required");
          return;
        }
    }
    out.kind = drone_frame::telemetry;
  } else if (type == "heartbeat") {
    out.ts = (seen & r_ts) ? t.ts : 0;
    out.kind = drone_frame::heartbeat;
  } else if (type == "command_ack") {
    if (!ack_bad && result_unknown) {
      fail(ack_problem, "invalid_field",
           "field 'result' must be one of accepted, in_progress, succeeded, failed, temporarily_rejected, denied, "
           "unsupported, cancelled");
      ack_bad = true;
    }
    if (ack_bad) {
      fail(out, ack_problem.error_code.c_str(), ack_problem.error_message);
      return;
    }
    if (!has_command_id || !has_result) {
      fail(out, "missing_field", std::string{"field '"} + (has_command_id ? "result" : "command_id") + "' is required");
      return;
    }
    out.kind = drone_frame::command_ack;
  } else if (type == "mission_ack" || type == "mission_progress") {
    // {"type":"mission_ack","mission_id","seq","result":accepted|denied|error|unsupported,"reason"?}
    // {"type":"mission_progress","mission_id","event":current|reached|completed|aborted|failed,"seq"?,"reason"?}
    const bool is_ack = type == "mission_ack";
    if (mission_bad) {
      fail(out, mission_problem.error_code.c_str(), mission_problem.error_message);
      return;
    }
    if (!has_mission_id) {
      fail(out, "missing_field", "field 'mission_id' is required");
      return;
    }
    if (is_ack ? !has_result : !has_event) {
      fail(out, "missing_field", is_ack ? "field 'result' is required" : "field 'event' is required");
      return;
    }
    if ((is_ack || out.mission.result == "current" || out.mission.result == "reached") && !(seen & r_seq)) {
      fail(out, "missing_field", "field 'seq' is required");
      return;
    }
    if (is_ack) {
      if (raw_result != "accepted" && raw_result != "denied" && raw_result != "error" && raw_result != "unsupported") {
        fail(out, "invalid_field", "field 'result' must be one of accepted, denied, error, unsupported");
        return;
      }
      out.mission.result = raw_result;
    } else if (out.mission.result != "current" && out.mission.result != "reached" && out.mission.result != "completed" &&
               out.mission.result != "aborted" && out.mission.result != "failed") {
      fail(out, "invalid_field", "field 'event' must be one of current, reached, completed, aborted, failed");
      return;
    }
    if (seen & r_seq) {
      if (t.seq > 100000) {
        fail(out, "invalid_field", "field 'seq' must be a mission item index (0 to 100000)");
        return;
      }
      out.mission.seq = static_cast<std::int64_t>(t.seq);
    }
    out.mission.kind = is_ack ? "ack" : "progress";
    out.mission.reason = std::move(out.ack_frame.reason);
    out.kind = is_ack ? drone_frame::mission_ack : drone_frame::mission_progress;
  } else if (type == "hello") {
    if (!has_id) {
      fail(out, "missing_field", "field 'drone_id' is required");
      return;
    }
    out.kind = drone_frame::hello;
  } else {
    auto cut = std::min<std::size_t>(type.size(), 32);
    while (cut > 0 && cut < type.size() && (static_cast<unsigned char>(type[cut]) & 0xC0) == 0x80)
      --cut; // never split a UTF-8 sequence: the error frame stays valid UTF-8
    std::string shown{type.substr(0, cut)};
    fail(out, "unknown_type", "unknown frame type '" + shown + "'");
    return;
  }
  out.error_message.clear();
}

} // namespace dccs::bridges
