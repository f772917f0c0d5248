#include "actors/safety_model.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;

double cross(geo_point o, geo_point a, geo_point b) {
  return (a.lon - o.lon) * (b.lat - o.lat) - (a.lat - o.lat) * (b.lon - o.lon);
}

bool on_segment(geo_point p, geo_point a, geo_point b) {
  return std::min(a.lon, b.lon) <= p.lon && p.lon <= std::max(a.lon, b.lon) && std::min(a.lat, b.lat) <= p.lat
         && p.lat <= std::max(a.lat, b.lat);
}

int sign(double v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

/// Whether segments p1-p2 and q1-q2 intersect (touching included).
bool segments_meet(geo_point p1, geo_point p2, geo_point q1, geo_point q2) {
  int d1 = sign(cross(q1, q2, p1)), d2 = sign(cross(q1, q2, p2));
  int d3 = sign(cross(p1, p2, q1)), d4 = sign(cross(p1, p2, q2));
  if (d1 * d2 < 0 && d3 * d4 < 0)
    return true;
  return (d1 == 0 && on_segment(p1, q1, q2)) || (d2 == 0 && on_segment(p2, q1, q2))
         || (d3 == 0 && on_segment(q1, p1, p2)) || (d4 == 0 && on_segment(q2, p1, p2));
}

bool in_band(const geofence& f, double alt) {
  return (!f.has_floor || alt >= f.floor) && (!f.has_ceiling || alt <= f.ceiling);
}

using problem = std::optional<std::pair<std::string, std::string>>;

problem fail(std::string field, std::string message) { return std::make_pair(std::move(field), std::move(message)); }

problem parse_ring(const json& polygon, std::vector<geo_point>& ring) {
  if (!polygon.is_object())
    return fail("polygon", "field 'polygon' must be a GeoJSON Polygon object");
  for (auto& [key, value] : polygon.items())
    if (key != "type" && key != "coordinates" && key != "bbox")
      return fail("polygon", "unknown member '" + runtime::printable(key, 32) + "' of the polygon");
  auto type = polygon.find("type");
  if (type == polygon.end() || *type != "Polygon")
    return fail("polygon.type", "polygon.type must be \"Polygon\" (a MultiPolygon is several fences)");
  auto coords = polygon.find("coordinates");
  if (coords == polygon.end() || !coords->is_array() || coords->empty())
    return fail("polygon.coordinates", "polygon.coordinates must be an array holding one linear ring");
  if (coords->size() > 1)
    return fail("polygon.coordinates", "holes are not supported: give the outer ring only (an exclusion fence "
                                       "inside an inclusion fence does what a hole does)");
  auto& r = (*coords)[0];
  if (!r.is_array() || r.size() < 4)
    return fail("polygon.coordinates", "the ring must have at least 4 positions (a triangle, closed)");
  if (r.size() > max_fence_points)
    return fail("polygon.coordinates", "the ring may have at most " + std::to_string(max_fence_points) + " positions");
  ring.clear();
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto& p = r[i];
    auto where = "polygon.coordinates[0][" + std::to_string(i) + "]";
    if (!p.is_array() || p.size() < 2 || p.size() > 3 || !p[0].is_number() || !p[1].is_number())
      return fail(where, where + " must be a position [lon, lat]");
    auto lon = p[0].get<double>(), lat = p[1].get<double>();
    if (!std::isfinite(lon) || lon < -180 || lon > 180)
      return fail(where, where + ": longitude must be from -180 to 180");
    if (!std::isfinite(lat) || lat < -90 || lat > 90)
      return fail(where, where + ": latitude must be from -90 to 90");
    ring.push_back({lon, lat});
  }
  if (ring.front().lon != ring.back().lon || ring.front().lat != ring.back().lat)
    return fail("polygon.coordinates", "the ring must be closed: its last position equal to its first (RFC 7946)");
  // Area (shoelace) and simplicity: a fence must enclose something and must not cross itself.
  double area = 0;
  for (std::size_t i = 0; i + 1 < ring.size(); ++i)
    area += ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat;
  if (std::abs(area) < 1e-12)
    return fail("polygon.coordinates", "the ring encloses no area");
  auto n = ring.size() - 1; // edges
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      bool adjacent = j == i + 1 || (i == 0 && j == n - 1);
      if (adjacent)
        continue;
      if (segments_meet(ring[i], ring[i + 1], ring[j], ring[j + 1]))
        return fail("polygon.coordinates", "the ring crosses itself (edges " + std::to_string(i) + " and "
                                             + std::to_string(j) + ")");
    }
  return std::nullopt;
}

problem parse_altitude(const json& v, const char* name, bool& has, double& out) {
  if (v.is_null()) {
    has = false;
    return std::nullopt;
  }
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < -1000 || v.get<double>() > 20000)
    return fail(name, std::string{"field '"} + name + "' must be a number of metres from -1000 to 20000, or null");
  has = true;
  out = v.get<double>();
  return std::nullopt;
}

} // namespace

bool inside_ring(const std::vector<geo_point>& ring, double lon, double lat) {
  if (ring.size() < 4)
    return false;
  geo_point p{lon, lat};
  bool inside = false;
  for (std::size_t i = 0, j = ring.size() - 2; i + 1 < ring.size(); j = i++) {
    auto a = ring[i], b = ring[j];
    if (sign(cross(a, b, p)) == 0 && on_segment(p, a, b))
      return true; // on the border
    if ((a.lat > lat) != (b.lat > lat) && lon < (b.lon - a.lon) * (lat - a.lat) / (b.lat - a.lat) + a.lon)
      inside = !inside;
  }
  return inside;
}

bool segment_crosses_ring(const std::vector<geo_point>& ring, geo_point a, geo_point b) {
  for (std::size_t i = 0; i + 1 < ring.size(); ++i)
    if (segments_meet(a, b, ring[i], ring[i + 1]))
      return true;
  return false;
}

bool breaks(const geofence& f, double lon, double lat, double alt) {
  bool inside = inside_ring(f.ring, lon, lat);
  if (f.inclusion)
    return !inside || !in_band(f, alt);
  return inside && in_band(f, alt);
}

bool leg_breaks(const geofence& f, geo_point a, double alt_a, geo_point b, double alt_b) {
  if (breaks(f, a.lon, a.lat, alt_a) || breaks(f, b.lon, b.lat, alt_b))
    return true;
  bool crosses = segment_crosses_ring(f.ring, a, b);
  if (f.inclusion)
    return crosses; // both ends inside and in the band (else breaks() said so): it leaves only by crossing the border
  // Exclusion: the leg passes through the polygon; the altitude between the ends is between theirs.
  if (!crosses)
    return false;
  double lo = std::min(alt_a, alt_b), hi = std::max(alt_a, alt_b);
  return (!f.has_floor || hi >= f.floor) && (!f.has_ceiling || lo <= f.ceiling);
}

std::optional<std::pair<std::string, std::string>> parse_geofence(const json& body, geofence& out) {
  if (!body.is_object())
    return fail("", "the body must be a JSON object");
  for (auto& [key, value] : body.items())
    if (key != "name" && key != "group" && key != "kind" && key != "polygon" && key != "floor" && key != "ceiling"
        && key != "action")
      return fail(runtime::printable(key, 32), "unknown field '" + runtime::printable(key, 32) + "'");
  for (const char* required : {"name", "group", "kind", "polygon"})
    if (!body.contains(required))
      return fail(required, std::string{"field '"} + required + "' is required");
  auto& name = body["name"];
  if (!name.is_string() || name.get_ref<const std::string&>().empty() || name.get_ref<const std::string&>().size() > 100)
    return fail("name", "field 'name' must be a string of 1 to 100 characters");
  auto& group = body["group"];
  if (!group.is_string() || !valid_drone_id(group.get_ref<const std::string&>())) // the registry's rule for groups
    return fail("group", "field 'group' must be a group name (1-64 characters of A-Z a-z 0-9 _ . -)");
  auto& kind = body["kind"];
  if (!kind.is_string() || (kind != "inclusion" && kind != "exclusion"))
    return fail("kind", "field 'kind' must be \"inclusion\" or \"exclusion\"");
  std::vector<geo_point> ring;
  if (auto p = parse_ring(body["polygon"], ring))
    return p;
  geofence f;
  f.name = name.get<std::string>();
  f.group = group.get<std::string>();
  f.inclusion = kind == "inclusion";
  f.ring = std::move(ring);
  if (auto v = body.find("floor"); v != body.end())
    if (auto p = parse_altitude(*v, "floor", f.has_floor, f.floor))
      return p;
  if (auto v = body.find("ceiling"); v != body.end())
    if (auto p = parse_altitude(*v, "ceiling", f.has_ceiling, f.ceiling))
      return p;
  if (f.has_floor && f.has_ceiling && f.floor >= f.ceiling)
    return fail("ceiling", "field 'ceiling' must be above 'floor'");
  if (auto a = body.find("action"); a != body.end()) {
    if (!a->is_string() || (*a != "alert" && *a != "rtl" && *a != "land"))
      return fail("action", "field 'action' must be \"alert\", \"rtl\" or \"land\"");
    f.action = a->get<std::string>();
  }
  f.id = out.id;
  f.created_by = out.created_by;
  f.created_at = out.created_at;
  f.updated_at = out.updated_at;
  out = std::move(f);
  return std::nullopt;
}

json polygon_json(const std::vector<geo_point>& ring) {
  json coords = json::array();
  for (auto& p : ring)
    coords.push_back(json::array({p.lon, p.lat}));
  return json{{"type", "Polygon"}, {"coordinates", json::array({coords})}};
}

geofence_monitor::change geofence_monitor::update(const std::vector<geofence>& fences, double lon, double lat,
                                                  double alt, bool armed, double now_ms) {
  change out;
  if (!armed) {
    breached_.clear();
    compliant_since_ = -1;
    return out;
  }
  std::set<std::string> now_broken;
  for (auto& f : fences)
    if (breaks(f, lon, lat, alt)) {
      now_broken.insert(f.id);
      if (breached_.count(f.id) == 0)
        out.started.push_back(&f);
    }
  if (!now_broken.empty()) {
    for (auto& id : now_broken)
      breached_.insert(id);
    compliant_since_ = -1;
    return out;
  }
  if (breached_.empty())
    return out;
  if (compliant_since_ < 0)
    compliant_since_ = now_ms;
  if (now_ms - compliant_since_ >= static_cast<double>(clear_after_ms_)) {
    breached_.clear();
    compliant_since_ = -1;
    out.ended = true;
  }
  return out;
}

std::optional<battery_monitor::level> battery_monitor::update(double battery) {
  auto next = level_;
  if (battery < critical_)
    next = level::critical;
  else if (battery < warn_)
    next = level_ == level::critical && battery < critical_ + hysteresis_ ? level::critical : level::warning;
  else if (battery >= warn_ + hysteresis_)
    next = level::ok;
  else if (level_ == level::critical)
    next = level::warning; // between warn and warn + hysteresis: no longer critical, not yet clear
  if (next == level_)
    return std::nullopt;
  level_ = next;
  return next;
}

bool valid_alarm_kind(std::string_view kind) {
  return std::any_of(std::begin(alarm_kinds), std::end(alarm_kinds), [&](const char* k) { return kind == k; });
}

bool valid_alarm_state(std::string_view state) {
  return std::any_of(std::begin(alarm_states), std::end(alarm_states), [&](const char* k) { return state == k; });
}

} // namespace dccs::actors
