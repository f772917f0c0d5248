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

struct named_number {
  const char* name;
  double telemetry::*field;
};

/// The telemetry fields every entry carries, in protocol order (after seq).
constexpr named_number required_numbers[] = {
  {"ts", &telemetry::ts},           {"lat", &telemetry::lat},     {"lon", &telemetry::lon},
  {"alt", &telemetry::alt},         {"heading", &telemetry::heading}, {"speed", &telemetry::speed},
  {"vspeed", &telemetry::vspeed},   {"battery", &telemetry::battery},
};

template <class T>
struct optional_field {
  std::uint8_t bit;
  const char* name;
  T telemetry::*field;
};

constexpr optional_field<double> optional_numbers[] = {
  {telemetry::has_roll, "roll", &telemetry::roll},
  {telemetry::has_pitch, "pitch", &telemetry::pitch},
  {telemetry::has_yaw, "yaw", &telemetry::yaw},
  {telemetry::has_voltage, "voltage", &telemetry::voltage},
};

constexpr optional_field<std::int32_t> optional_integers[] = {
  {telemetry::has_sats, "sats", &telemetry::sats},
  {telemetry::has_fix, "fix", &telemetry::fix},
};

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
  key(out, "group");
  append_json_string(out, st.info.group);
  key(out, "commands");
  if (st.info.declares_commands) {
    out += '[';
    for (std::size_t i = 0; i < st.info.commands.size(); ++i) {
      if (i > 0)
        out += ',';
      append_json_string(out, st.info.commands[i]);
    }
    out += ']';
  } else {
    out += "null"; // the drone did not say
  }
  key(out, "last_seen");
  if (st.last_seen > 0)
    append_json_number(out, st.last_seen);
  else
    out += "null"; // a registered drone never seen (not 1970)
  if (st.epoch != 0) {
    key(out, "owner_epoch");
    append_int(out, static_cast<long long>(st.epoch));
  }
  if (!st.node.empty()) {
    key(out, "node");
    append_json_string(out, st.node);
  }
  if (st.has_telemetry) {
    auto& t = st.last;
    key(out, "seq");
    append_int(out, static_cast<long long>(t.seq));
    key(out, "recv");
    append_json_number(out, st.recv);
    for (auto& [name, field] : required_numbers) {
      key(out, name);
      append_json_number(out, t.*field);
    }
    key(out, "armed");
    out += t.armed ? "true" : "false";
    key(out, "mode");
    append_json_string(out, t.mode);
    for (auto& [bit, name, field] : optional_numbers)
      if (t.present & bit) {
        key(out, name);
        append_json_number(out, t.*field);
      }
    for (auto& [bit, name, field] : optional_integers)
      if (t.present & bit) {
        key(out, name);
        append_int(out, t.*field);
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
