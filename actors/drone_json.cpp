#include "actors/drone_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace dccs::actors {

const char* to_string(link_status s) {
  switch (s) {
    case link_status::online: return "online";
    case link_status::stale: return "stale";
    default: return "lost";
  }
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json_number(std::string& out, double x) {
  if (!std::isfinite(x)) {
    out += "null";
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

namespace {

void append_int(std::string& out, long long x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

void key(std::string& out, const char* k) {
  out += ",\"";
  out += k;
  out += "\":";
}

} // namespace

void append_drone_json(std::string& out, const drone_state& st) {
  out += "{\"id\":";
  append_json_string(out, st.info.id);
  out += ",\"status\":\"";
  out += to_string(st.status);
  out += '"';
  key(out, "connected");
  out += st.connected ? "true" : "false";
  key(out, "model");
  append_json_string(out, st.info.model);
  key(out, "fw");
  append_json_string(out, st.info.fw);
  key(out, "last_seen");
  append_json_number(out, st.last_seen);
  if (st.has_telemetry) {
    auto& t = st.last;
    key(out, "seq");
    append_int(out, static_cast<long long>(t.seq));
    key(out, "ts");
    append_json_number(out, t.ts);
    key(out, "recv");
    append_json_number(out, st.recv);
    key(out, "lat");
    append_json_number(out, t.lat);
    key(out, "lon");
    append_json_number(out, t.lon);
    key(out, "alt");
    append_json_number(out, t.alt);
    key(out, "heading");
    append_json_number(out, t.heading);
    key(out, "speed");
    append_json_number(out, t.speed);
    key(out, "vspeed");
    append_json_number(out, t.vspeed);
    key(out, "battery");
    append_json_number(out, t.battery);
    key(out, "armed");
    out += t.armed ? "true" : "false";
    key(out, "mode");
    append_json_string(out, t.mode);
    if (t.present & telemetry::has_roll) {
      key(out, "roll");
      append_json_number(out, t.roll);
    }
    if (t.present & telemetry::has_pitch) {
      key(out, "pitch");
      append_json_number(out, t.pitch);
    }
    if (t.present & telemetry::has_yaw) {
      key(out, "yaw");
      append_json_number(out, t.yaw);
    }
    if (t.present & telemetry::has_voltage) {
      key(out, "voltage");
      append_json_number(out, t.voltage);
    }
    if (t.present & telemetry::has_sats) {
      key(out, "sats");
      append_int(out, t.sats);
    }
    if (t.present & telemetry::has_fix) {
      key(out, "fix");
      append_int(out, t.fix);
    }
  }
  out += '}';
}

void append_event_json(std::string& out, const status_event& ev) {
  out += "{\"drone_id\":";
  append_json_string(out, ev.drone_id);
  out += ",\"status\":\"";
  out += to_string(ev.status);
  out += "\",\"previous\":\"";
  out += to_string(ev.previous);
  out += "\",\"at\":";
  append_json_number(out, ev.at);
  out += '}';
}

} // namespace dccs::actors
