#include "sim/command_parse.hpp"

#include "sim/command_log.hpp"

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

} // namespace dccs::sim
