#include "sim/mission.hpp"

#include "sim/command.hpp"

#include <iterator>

namespace dccs::sim {

namespace {

constexpr const char* item_action_names[] = {"none", "photo", "land", "rtl"};
constexpr const char* final_action_names[] = {"rtl", "land", "hold"};
constexpr std::size_t max_reason = 256;

} // namespace

const char* item_action_name(item_action a) noexcept {
  const auto i = static_cast<std::size_t>(a);
  return i < std::size(item_action_names) ? item_action_names[i] : "none";
}

std::optional<item_action> item_action_of(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(item_action_names); ++i)
    if (name == item_action_names[i])
      return static_cast<item_action>(i);
  return std::nullopt;
}

const char* final_action_name(final_action a) noexcept {
  const auto i = static_cast<std::size_t>(a);
  return i < std::size(final_action_names) ? final_action_names[i] : "rtl";
}

std::optional<final_action> final_action_of(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(final_action_names); ++i)
    if (name == final_action_names[i])
      return static_cast<final_action>(i);
  return std::nullopt;
}

const char* mission_result_name(mission_result r) noexcept {
  switch (r) {
  case mission_result::accepted:
    return "accepted";
  case mission_result::denied:
    return "denied";
  case mission_result::error:
    return "error";
  case mission_result::unsupported:
    return "unsupported";
  }
  return "error";
}

const char* mission_event_name(mission_event_kind e) noexcept {
  switch (e) {
  case mission_event_kind::current:
    return "current";
  case mission_event_kind::reached:
    return "reached";
  case mission_event_kind::completed:
    return "completed";
  case mission_event_kind::aborted:
    return "aborted";
  case mission_event_kind::failed:
    return "failed";
  }
  return "failed";
}

std::string format_mission_ack(const mission_ack& a) {
  std::string out;
  out.reserve(96 + a.mission_id.size() + a.reason.size());
  out += R"({"type":"mission_ack","mission_id":")";
  append_escaped(out, a.mission_id);
  out += R"(","seq":)";
  out += std::to_string(a.seq);
  out += R"(,"result":")";
  out += mission_result_name(a.result);
  out += '"';
  if (!a.reason.empty()) {
    out += R"(,"reason":")";
    append_escaped(out, clip_utf8(a.reason, max_reason));
    out += '"';
  }
  out += '}';
  return out;
}

std::string format_mission_progress(const mission_event& e) {
  std::string out;
  out.reserve(96 + e.mission_id.size() + e.reason.size());
  out += R"({"type":"mission_progress","mission_id":")";
  append_escaped(out, e.mission_id);
  out += R"(","event":")";
  out += mission_event_name(e.event);
  out += '"';
  if (e.seq >= 0) {
    out += R"(,"seq":)";
    out += std::to_string(e.seq);
  }
  if (!e.reason.empty()) {
    out += R"(,"reason":")";
    append_escaped(out, clip_utf8(e.reason, max_reason));
    out += '"';
  }
  out += '}';
  return out;
}

} // namespace dccs::sim
