#include "sim/command_parse.hpp"

#include "sim/command_log.hpp"

#include <cstdint>
#include <cstdio>
#include <utility>

namespace dccs::sim {

namespace {

/// Reads one number of `params`; a value of another type is noted, not fatal (only its kind knows whether it matters).
void read_param(simdjson::ondemand::value v, std::optional<double>& out, std::uint8_t flag, command_params& p) {
  double d = 0;
  if (v.get_double().get(d) == simdjson::SUCCESS)
    out = d;
  else
    p.wrong_type |= flag;
}

/// Notes `why` as the frame's error unless it already has one (the first problem is the one reported).
void note(std::string& error, std::string why) {
  if (error.empty())
    error = std::move(why);
}

std::string range_error(const char* name, double lo, double hi) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s must be within %g to %g", name, lo, hi);
  return buf;
}

/// Reads a number within [lo, hi] into `out`; null counts as absent when `nullable`. Problems go to `error`.
void read_number(simdjson::ondemand::value v, const char* name, double lo, double hi, bool nullable,
                 std::optional<double>& out, std::string& error) {
  bool is_null = false;
  if (nullable && v.is_null().get(is_null) == simdjson::SUCCESS && is_null)
    return;
  double d = 0;
  if (v.get_double().get(d) != simdjson::SUCCESS)
    return note(error, std::string(name) + " must be a number");
  if (!(d >= lo && d <= hi))
    return note(error, range_error(name, lo, hi));
  out = d;
}

} // namespace

bool parse_command_frame(simdjson::ondemand::parser& parser, simdjson::padded_string_view text, command_frame& out) {
  namespace sj = simdjson;
  out = command_frame{};
  command_request& r = out.request;
  auto doc = parser.iterate(text);
  sj::ondemand::object obj;
  if (doc.get_object().get(obj) != sj::SUCCESS)
    return false;
  bool is_command = false, is_cancel = false, has_id = false, has_kind = false;
  for (auto field : obj) {
    std::string_view key;
    sj::ondemand::value v;
    if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(v) != sj::SUCCESS)
      return false; // not JSON: nothing can be answered
    if (key == "type") {
      std::string_view type;
      if (v.get_string().get(type) != sj::SUCCESS)
        return false;
      is_command = type == "command";
      is_cancel = type == "command_cancel";
    } else if (key == "command_id") {
      std::string_view id;
      if (v.get_string().get(id) != sj::SUCCESS || id.empty() || id.size() > max_command_id)
        return false;
      r.id.assign(id);
      has_id = true;
    } else if (key == "kind") {
      std::string_view kind;
      if (v.get_string().get(kind) == sj::SUCCESS) {
        r.kind.assign(kind);
        has_kind = true;
      } else if (r.error.empty()) {
        r.error = "kind must be a string";
      }
    } else if (key == "params") {
      bool is_null = false;
      if (v.is_null().get(is_null) == sj::SUCCESS && is_null)
        continue;
      sj::ondemand::object params;
      if (v.get_object().get(params) != sj::SUCCESS) {
        if (r.error.empty())
          r.error = "params must be an object";
        continue;
      }
      for (auto p : params) {
        std::string_view name;
        sj::ondemand::value pv;
        if (p.unescaped_key().get(name) != sj::SUCCESS || p.value().get(pv) != sj::SUCCESS)
          return false;
        if (name == "alt")
          read_param(pv, r.params.alt, command_params::f_alt, r.params);
        else if (name == "lat")
          read_param(pv, r.params.lat, command_params::f_lat, r.params);
        else if (name == "lon")
          read_param(pv, r.params.lon, command_params::f_lon, r.params);
        else if (name == "speed")
          read_param(pv, r.params.speed, command_params::f_speed, r.params);
        else if (name == "mode") {
          std::string_view mode;
          if (pv.get_string().get(mode) == sj::SUCCESS)
            r.params.mode.emplace(mode);
          else
            r.params.wrong_type |= command_params::f_mode;
        } else if (name == "mission_id") {
          std::string_view mission;
          if (pv.get_string().get(mission) == sj::SUCCESS)
            r.params.mission_id.emplace(mission);
          else
            r.params.wrong_type |= command_params::f_mission_id;
        }
      }
    } else if (key == "expires_at") {
      bool is_null = false;
      if (v.is_null().get(is_null) == sj::SUCCESS && is_null)
        continue;
      double at = 0;
      if (v.get_double().get(at) == sj::SUCCESS)
        r.expires_at = at;
      else if (r.error.empty())
        r.error = "expires_at must be a number";
    } else if (key == "attempt") {
      std::uint64_t attempt = 0;
      if (v.get_uint64().get(attempt) == sj::SUCCESS)
        r.attempt = attempt; // informative only: a repeat is recognised by its id
    }
  }
  if (!(is_command || is_cancel) || !has_id)
    return false;
  out.cancel = is_cancel;
  if (is_command && !has_kind && r.error.empty())
    r.error = "kind is required";
  if (is_command)
    command_log::note(r.id, r.attempt); // --command-log: when the frame came, for measuring delivery
  return true;
}

bool parse_mission_item_frame(simdjson::ondemand::parser& parser, simdjson::padded_string_view text,
                              mission_item_frame& out) {
  namespace sj = simdjson;
  out = mission_item_frame{};
  std::string& error = out.error;
  auto doc = parser.iterate(text);
  sj::ondemand::object obj;
  if (doc.get_object().get(obj) != sj::SUCCESS)
    return false;
  bool is_item = false, has_id = false, has_seq = false, has_count = false, has_item = false, has_final = false;
  for (auto field : obj) {
    std::string_view key;
    sj::ondemand::value v;
    if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(v) != sj::SUCCESS)
      return false; // not JSON: nothing can be answered
    if (key == "type") {
      std::string_view type;
      if (v.get_string().get(type) != sj::SUCCESS)
        return false;
      is_item = type == "mission_item";
    } else if (key == "mission_id") {
      std::string_view id;
      if (v.get_string().get(id) != sj::SUCCESS || id.empty() || id.size() > max_mission_id)
        return false;
      out.mission_id.assign(id);
      has_id = true;
    } else if (key == "seq") {
      std::uint64_t seq = 0;
      if (v.get_uint64().get(seq) != sj::SUCCESS || seq > UINT32_MAX)
        return false; // the ack could not name it
      out.seq = static_cast<std::uint32_t>(seq);
      has_seq = true;
    } else if (key == "count") {
      has_count = true;
      std::uint64_t count = 0;
      if (v.get_uint64().get(count) != sj::SUCCESS)
        note(error, "count must be an unsigned integer");
      else if (count < 1 || count > max_mission_items)
        note(error, "count must be within 1 to " + std::to_string(max_mission_items));
      else
        out.count = static_cast<std::uint32_t>(count);
    } else if (key == "final_action") {
      has_final = true;
      std::string_view name;
      std::optional<final_action> a;
      if (v.get_string().get(name) == sj::SUCCESS)
        a = final_action_of(name);
      if (a)
        out.at_end = *a;
      else
        note(error, "final_action must be rtl, land or hold");
    } else if (key == "item") {
      has_item = true;
      sj::ondemand::object item;
      if (v.get_object().get(item) != sj::SUCCESS) {
        note(error, "item must be an object");
        continue;
      }
      std::optional<double> lat, lon, alt, speed, hold;
      for (auto f : item) {
        std::string_view name;
        sj::ondemand::value iv;
        if (f.unescaped_key().get(name) != sj::SUCCESS || f.value().get(iv) != sj::SUCCESS)
          return false;
        if (name == "lat")
          read_number(iv, "item.lat", -90, 90, false, lat, error);
        else if (name == "lon")
          read_number(iv, "item.lon", -180, 180, false, lon, error);
        else if (name == "alt")
          read_number(iv, "item.alt", -1000, 100000, false, alt, error);
        else if (name == "speed")
          read_number(iv, "item.speed", 0.1, 1000, true, speed, error);
        else if (name == "hold_s")
          read_number(iv, "item.hold_s", 0, max_hold_s, true, hold, error);
        else if (name == "action") {
          std::string_view action;
          std::optional<item_action> a;
          if (iv.get_string().get(action) == sj::SUCCESS)
            a = item_action_of(action);
          if (a)
            out.item.action = *a;
          else
            note(error, "item.action must be none, photo, land or rtl");
        }
      }
      for (const auto& [given, name] : {std::pair{&lat, "item.lat"}, {&lon, "item.lon"}, {&alt, "item.alt"}})
        if (!*given)
          note(error, std::string(name) + " is required");
      out.item.lat = lat.value_or(0);
      out.item.lon = lon.value_or(0);
      out.item.alt = alt.value_or(0);
      out.item.speed = speed;
      out.item.hold_s = hold.value_or(0);
    }
  }
  if (!is_item || !has_id || !has_seq)
    return false;
  if (!has_count)
    note(error, "count is required");
  if (!has_item)
    note(error, "item is required");
  if (!has_final)
    note(error, "final_action is required");
  if (error.empty() && out.seq >= out.count)
    error = "seq " + std::to_string(out.seq) + " is not below count " + std::to_string(out.count);
  return true;
}

} // namespace dccs::sim
