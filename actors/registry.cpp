#include "actors/registry.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

using json = nlohmann::json;

std::string rfc3339(double ms) {
  auto secs = static_cast<std::time_t>(std::floor(ms / 1000));
  auto millis = static_cast<int>(ms - static_cast<double>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

/// Characters (code points) of a UTF-8 string; nlohmann::json has checked that it is valid UTF-8.
std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

/// True when PostgreSQL's jsonb stores `v`: no key and no string anywhere in it holds a NUL ("\u0000").
bool storable_json(const json& v) {
  if (v.is_string())
    return runtime::valid_text(v.get_ref<const std::string&>());
  if (v.is_object()) {
    for (auto& [k, x] : v.items())
      if (!runtime::valid_text(k) || !storable_json(x))
        return false;
  } else if (v.is_array()) {
    for (auto& x : v)
      if (!storable_json(x))
        return false;
  }
  return true;
}

} // namespace

nlohmann::json registry_json(const registry_row& r) {
  json j;
  j["id"] = r.id;
  j["name"] = r.name;
  j["model"] = r.model;
  j["firmware"] = r.firmware;
  if (r.home_lat && r.home_lon) {
    j["home"] = {{"lat", *r.home_lat}, {"lon", *r.home_lon}};
    j["home"]["alt"] = r.home_alt ? json(*r.home_alt) : json(nullptr);
  } else {
    j["home"] = nullptr;
  }
  j["group"] = r.group;
  j["credential"] = r.credential; // never the hash
  j["metadata"] = json::parse(r.metadata, nullptr, false);
  j["created_at"] = rfc3339(r.created_ms);
  j["last_seen"] = r.last_seen_ms > 0 ? json(rfc3339(r.last_seen_ms)) : json(nullptr);
  return j;
}

drone_state placeholder(const registry_row& r) {
  drone_state st;
  st.info.id = r.id;
  st.info.model = r.model;
  st.info.fw = r.firmware;
  st.info.group = r.group;
  st.status = link_status::lost;
  st.connected = false;
  st.last_seen = r.last_seen_ms;
  return st;
}

namespace {

const char* describe(auth::permission p) {
  switch (p) {
    case auth::permission::read_drones: return "read this drone";
    case auth::permission::manage_drones: return "change this drone or its credential";
    case auth::permission::command: return "command this drone";
    default: return "do this";
  }
}

} // namespace

caf::error drone_not_found(const std::string& id) {
  return registry_error(errc::not_found, "not_found", "no drone with id '" + id + "'");
}

std::optional<caf::error> drone_permission(const http_query& q, const std::string& group, auth::permission p) {
  if (!auth::allows(q.who, auth::permission::read_drones, group))
    return drone_not_found(q.id);
  if (!auth::allows(q.who, p, group))
    return registry_error(errc::forbidden, "forbidden", std::string{"role '"} + q.who.role + "' may not " + describe(p));
  return std::nullopt;
}

caf::error registry_error(errc kind, const std::string& code, const std::string& message, const std::string& field) {
  return api_error(kind, code, message, field.empty() ? "" : "field", field);
}

std::optional<caf::error> parse_input(const std::string& body, bool creating, registry_input& in) {
  auto bad = [](const std::string& field, const std::string& message) {
    return registry_error(errc::invalid_request, "invalid_field", message, field);
  };
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return registry_error(errc::invalid_request, "malformed", "the request body is not valid JSON");
  if (!doc.is_object())
    return registry_error(errc::invalid_request, "malformed", "the request body must be a JSON object");
  for (auto& [key, v] : doc.items()) {
    auto text = [&](std::size_t max, std::optional<std::string>& out) -> std::optional<caf::error> {
      if (!v.is_string() || utf8_length(v.get_ref<const std::string&>()) > max)
        return bad(key, "field '" + key + "' must be a string of at most " + std::to_string(max) + " characters");
      if (!runtime::valid_text(v.get_ref<const std::string&>()))
        return bad(key, "field '" + key + "' must be text without NUL characters");
      out = v.get<std::string>();
      return std::nullopt;
    };
    std::optional<caf::error> err;
    if (key == "id") {
      if (!creating)
        return bad(key, "field 'id' cannot be changed");
      if (!v.is_string() || !valid_drone_id(v.get<std::string>()))
        return bad(key, "field 'id' must be 1-64 characters of A-Z a-z 0-9 _ . -");
      in.id = v.get<std::string>();
    } else if (key == "group") {
      if (!v.is_string() || !valid_drone_id(v.get<std::string>()))
        return bad(key, "field 'group' must be 1-64 characters of A-Z a-z 0-9 _ . -");
      in.group = v.get<std::string>();
    } else if (key == "name") {
      err = text(128, in.name);
    } else if (key == "model") {
      err = text(64, in.model);
    } else if (key == "firmware") {
      err = text(64, in.firmware);
    } else if (key == "home") {
      in.has_home = true;
      if (v.is_null())
        continue;
      if (!v.is_object())
        return bad(key, "field 'home' must be an object {lat, lon, alt} or null");
      for (auto& [k, x] : v.items()) {
        if (k != "lat" && k != "lon" && k != "alt")
          return bad("home." + k, "unknown field 'home." + k + "'");
        if (!x.is_number() || !std::isfinite(x.get<double>()))
          return bad("home." + k, "field 'home." + k + "' must be a number");
      }
      if (!v.contains("lat") || !v.contains("lon"))
        return bad(key, "field 'home' needs lat and lon");
      auto lat = v["lat"].get<double>();
      auto lon = v["lon"].get<double>();
      if (lat < -90 || lat > 90)
        return bad("home.lat", "field 'home.lat' must be between -90 and 90");
      if (lon < -180 || lon > 180)
        return bad("home.lon", "field 'home.lon' must be between -180 and 180");
      in.home_lat = lat;
      in.home_lon = lon;
      if (v.contains("alt")) {
        auto alt = v["alt"].get<double>();
        if (alt < -1000 || alt > 100000)
          return bad("home.alt", "field 'home.alt' must be between -1000 and 100000");
        in.home_alt = alt;
      }
    } else if (key == "metadata") {
      if (!v.is_object())
        return bad(key, "field 'metadata' must be a JSON object");
      if (!storable_json(v))
        return bad(key, "field 'metadata' must not hold NUL characters (\\u0000) in its keys or strings");
      auto dumped = v.dump();
      if (dumped.size() > 16384)
        return bad(key, "field 'metadata' must be at most 16384 bytes of JSON");
      in.metadata = std::move(dumped);
    } else {
      return bad(key, "unknown field '" + key + "'");
    }
    if (err)
      return err;
  }
  if (creating && !in.id)
    return bad("id", "field 'id' is required");
  return std::nullopt;
}

} // namespace dccs::actors
