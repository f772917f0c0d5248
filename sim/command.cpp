#include "sim/command.hpp"

#include <cstdio>

namespace dccs::sim {

namespace {

constexpr const char* kind_names[] = {"arm",  "disarm", "takeoff", "land",     "rtl",       "goto",
                                      "hold", "resume", "set_mode", "set_speed", "mission_start"};
static_assert(sizeof kind_names / sizeof kind_names[0] == static_cast<std::size_t>(command_kind::count_));

constexpr std::size_t max_reason = 256;

} // namespace

void append_escaped(std::string& out, std::string_view s) {
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c; // UTF-8 passes through: simdjson validated what came from the node, our own text is ASCII
    }
  }
}

const char* kind_name(command_kind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < static_cast<std::size_t>(command_kind::count_) ? kind_names[i] : "?";
}

std::optional<command_kind> kind_of(std::string_view name) noexcept {
  for (std::size_t i = 0; i < static_cast<std::size_t>(command_kind::count_); ++i)
    if (name == kind_names[i])
      return static_cast<command_kind>(i);
  return std::nullopt;
}

std::optional<kind_set> kind_set::parse(std::string_view text, std::string& error) {
  if (text == "all")
    return all();
  if (text == "none")
    return none();
  kind_set s = none();
  for (;;) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto k = kind_of(item);
    if (!k) {
      error = "'" + std::string(item) + "' is no command kind (all, none, or a list of: arm, disarm, takeoff, land, "
                                        "rtl, goto, hold, resume, set_mode, set_speed, mission_start)";
      return std::nullopt;
    }
    s.add(*k);
    if (comma == std::string_view::npos)
      return s;
    text.remove_prefix(comma + 1);
  }
}

std::string kind_set::json_array() const {
  std::string out = "[";
  for (std::size_t i = 0; i < static_cast<std::size_t>(command_kind::count_); ++i)
    if (contains(static_cast<command_kind>(i))) {
      if (out.size() > 1)
        out += ',';
      out += '"';
      out += kind_names[i];
      out += '"';
    }
  return out + "]";
}

const char* result_name(command_result r) noexcept {
  switch (r) {
  case command_result::accepted:
    return "accepted";
  case command_result::in_progress:
    return "in_progress";
  case command_result::succeeded:
    return "succeeded";
  case command_result::failed:
    return "failed";
  case command_result::temporarily_rejected:
    return "temporarily_rejected";
  case command_result::denied:
    return "denied";
  case command_result::unsupported:
    return "unsupported";
  case command_result::cancelled:
    return "cancelled";
  }
  return "failed";
}

std::string_view clip_utf8(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes)
    return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) // s[n] continues a character: cut before it
    --n;
  return s.substr(0, n);
}

std::string format_command_ack(const command_ack& a) {
  std::string out;
  out.reserve(96 + a.command_id.size() + a.reason.size());
  out += R"({"type":"command_ack","command_id":")";
  append_escaped(out, a.command_id);
  out += R"(","result":")";
  out += result_name(a.result);
  out += '"';
  if (a.progress >= 0) {
    out += R"(,"progress":)";
    out += std::to_string(a.progress > 100 ? 100 : a.progress);
  }
  if (!a.reason.empty()) {
    out += R"(,"reason":")";
    append_escaped(out, clip_utf8(a.reason, max_reason));
    out += '"';
  }
  out += '}';
  return out;
}

} // namespace dccs::sim
