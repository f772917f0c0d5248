#include "actors/fleet_store.hpp"
#include "actors/list_page.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "actors/drone_json.hpp"
#include "actors/http_errors.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/text.hpp"
#include "runtime/secret.hpp"

namespace dccs::actors {

namespace {

using json = nlohmann::json;

/// One row of fleet.drones.
struct registry_row {
  std::string id;
  std::string name;
  std::string model;
  std::string firmware;
  std::optional<double> home_lat;
  std::optional<double> home_lon;
  std::optional<double> home_alt;
  std::string metadata = "{}";
  double created_ms = 0;
  double last_seen_ms = 0; ///< 0: never seen
  std::string group;
  std::string credential = "none"; ///< none, active or revoked
  std::string secret_hash;         ///< hex SHA-256 of the drone's secret, when active
  mutable std::string json; ///< registry_json(*this).dump(), made when first needed
};

constexpr const char* registry_columns =
  "id, name, model, firmware, home_lat, home_lon, home_alt, metadata::text,"
  " extract(epoch from created_at) * 1000, coalesce(extract(epoch from last_seen) * 1000, 0), group_name,"
  " credential, coalesce(encode(secret_hash, 'hex'), '')";

registry_row read_row(const pqxx::row& r) {
  registry_row x;
  x.id = r[0].as<std::string>();
  x.name = r[1].as<std::string>();
  x.model = r[2].as<std::string>();
  x.firmware = r[3].as<std::string>();
  if (!r[4].is_null())
    x.home_lat = r[4].as<double>();
  if (!r[5].is_null())
    x.home_lon = r[5].as<double>();
  if (!r[6].is_null())
    x.home_alt = r[6].as<double>();
  x.metadata = r[7].as<std::string>();
  x.created_ms = r[8].as<double>();
  x.last_seen_ms = r[9].as<double>();
  x.group = r[10].as<std::string>();
  x.credential = r[11].as<std::string>();
  x.secret_hash = r[12].as<std::string>();
  return x;
}

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

json registry_json(const registry_row& r) {
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

/// The live-view object of a drone that has only a registry entry.
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

http_answer answer(std::uint16_t status, std::string body) {
  return http_answer{status, "application/json", std::move(body), {}};
}

http_answer error_answer(std::uint16_t status, const std::string& code, const std::string& message,
                         const std::string& field = {}) {
  json e{{"code", code}, {"message", message}};
  if (!field.empty())
    e["field"] = field;
  return answer(status, json{{"error", e}}.dump());
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

/// The registry fields of a POST or PATCH body, checked. `error` is set (and names the field) on failure.
struct registry_input {
  std::optional<std::string> id, name, model, firmware, group;
  bool has_home = false;
  std::optional<double> home_lat, home_lon, home_alt; ///< all empty with has_home: clear
  std::optional<std::string> metadata;
};

std::optional<http_answer> parse_input(const std::string& body, bool creating, registry_input& in) {
  auto bad = [](const std::string& field, const std::string& message) {
    return error_answer(400, "invalid_field", message, field);
  };
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return error_answer(400, "malformed", "the request body is not valid JSON");
  if (!doc.is_object())
    return error_answer(400, "malformed", "the request body must be a JSON object");
  for (auto& [key, v] : doc.items()) {
    auto text = [&](std::size_t max, std::optional<std::string>& out) -> std::optional<http_answer> {
      if (!v.is_string() || utf8_length(v.get_ref<const std::string&>()) > max)
        return bad(key, "field '" + key + "' must be a string of at most " + std::to_string(max) + " characters");
      if (!runtime::valid_text(v.get_ref<const std::string&>()))
        return bad(key, "field '" + key + "' must be text without NUL characters");
      out = v.get<std::string>();
      return std::nullopt;
    };
    std::optional<http_answer> err;
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

const char* describe(auth::permission p) {
  switch (p) {
    case auth::permission::read_drones: return "read this drone";
    case auth::permission::manage_drones: return "change this drone or its credential";
    case auth::permission::command: return "command this drone";
    default: return "do this";
  }
}

std::string nullable(pqxx::transaction_base& tx, const std::optional<double>& v) {
  return v ? pqxx::to_string(*v) : std::string{"NULL"};
}

struct fleet_state {
  fleet_state(fleet_settings s, runtime::node_health* health)
    : settings(std::move(s)), link(settings.db, health ? &health->fleet_db : nullptr),
      redis(settings.redis.endpoint, settings.redis.io_timeout, settings.redis.retry_min, settings.redis.retry_max) {}
  fleet_settings settings;
  runtime::pg_link link;
  runtime::redis_client redis;
  std::uint64_t loaded_generation = 0;
  std::unordered_map<std::string, registry_row> registry;
  std::uint64_t seen_version = 0; ///< the hub's version up to which last-seen times are written
  bool seen_query_out = false;    ///< a changes query to the hub is on its way
  /// Admitted at hello, not yet in the registry: id -> (model, firmware). Inserted in one statement per batch
  /// (a fleet of new drones connecting at once is one INSERT, not one per drone), or once the database is back.
  std::unordered_map<std::string, std::pair<std::string, std::string>> to_register;
  bool register_scheduled = false;
  bool restored = false;
};

using fleet_state_ptr = std::shared_ptr<fleet_state>;

} // namespace

bool parse_drone_state(const std::string& text, drone_state& out) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string())
    return false;
  try {
    out = drone_state{};
    out.info.id = j["id"].get<std::string>();
    out.info.model = j.value("model", "");
    out.info.fw = j.value("fw", "");
    out.info.group = j.value("group", "");
    auto status = j.value("status", "lost");
    out.status = status == "online" ? link_status::online : status == "stale" ? link_status::stale : link_status::lost;
    out.connected = j.value("connected", false);
    out.last_seen = j.value("last_seen", 0.0);
    if (j.contains("seq")) {
      auto& t = out.last;
      out.has_telemetry = true;
      out.recv = j.value("recv", 0.0);
      t.seq = j["seq"].get<std::uint64_t>();
      t.ts = j.value("ts", 0.0);
      t.lat = j.value("lat", 0.0);
      t.lon = j.value("lon", 0.0);
      t.alt = j.value("alt", 0.0);
      t.heading = j.value("heading", 0.0);
      t.speed = j.value("speed", 0.0);
      t.vspeed = j.value("vspeed", 0.0);
      t.battery = j.value("battery", 0.0);
      t.armed = j.value("armed", false);
      t.mode = j.value("mode", "");
      auto opt = [&](const char* name, std::uint8_t bit, auto& field) {
        if (j.contains(name)) {
          field = j[name].get<std::remove_reference_t<decltype(field)>>();
          t.present |= bit;
        }
      };
      opt("roll", telemetry::has_roll, t.roll);
      opt("pitch", telemetry::has_pitch, t.pitch);
      opt("yaw", telemetry::has_yaw, t.yaw);
      opt("voltage", telemetry::has_voltage, t.voltage);
      opt("sats", telemetry::has_sats, t.sats);
      opt("fix", telemetry::has_fix, t.fix);
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

caf::behavior fleet_store(caf::event_based_actor* self, fleet_settings s, hub_actor hub, directory_actor directory,
                          fleet_metrics metrics, runtime::node_health* health) {
  auto st = std::make_shared<fleet_state>(std::move(s), health);
  auto key = [st](const std::string& id) { return st->settings.redis.prefix + id; };
  // Connects if needed and (re)loads the registry after every new connection. Throws db_error.
  auto ensure = [self, st, hub, key, metrics]() {
    st->link.run([&](pqxx::connection& conn) {
      if (st->loaded_generation == st->link.generation())
        return 0;
      pqxx::work tx{conn};
      auto rows = tx.exec(std::string{"SELECT "} + registry_columns + " FROM fleet.drones");
      tx.commit();
      st->registry.clear();
      for (const auto& r : rows) {
        auto row = read_row(r);
        st->registry[row.id] = std::move(row);
      }
      st->loaded_generation = st->link.generation();
      if (!st->restored) {
        // A restarted node shows the fleet as it was: Redis states first (newest), then the registry.
        st->restored = true;
        state_list remembered;
        std::unordered_set<std::string> from_redis;
        if (st->settings.redis.enabled && st->redis.ensure_connected()) {
          try {
            std::vector<std::vector<std::string>> gets;
            std::vector<std::string> ids;
            for (auto& [id, row] : st->registry) {
              ids.push_back(id);
              gets.push_back({"GET", key(id)});
            }
            for (std::size_t i = 0; i < gets.size(); i += 1000) {
              std::vector<std::vector<std::string>> chunk(gets.begin() + i,
                                                         gets.begin() + std::min(gets.size(), i + 1000));
              auto replies = st->redis.pipeline(chunk);
              for (std::size_t k = 0; k < replies.size(); ++k) {
                drone_state ds;
                if (replies[k].kind == runtime::redis_reply::kind_t::string && parse_drone_state(replies[k].str, ds)) {
                  ds.connected = false;
                  ds.info.group = st->registry[ids[i + k]].group; // the registry decides, not the cached copy
                  ds.status = link_status::lost;
                  remembered.states.push_back(std::move(ds));
                  from_redis.insert(ids[i + k]);
                }
              }
            }
          } catch (const runtime::redis_error& e) {
            runtime::log::warn("fleet", "cannot read drone states from Redis", {{"error", e.what()}});
          }
        }
        for (auto& [id, row] : st->registry)
          if (!from_redis.count(id))
            remembered.states.push_back(placeholder(row));
        auto from_cache = from_redis.size();
        self->request(hub, std::chrono::seconds(30), restore_atom::value, std::move(remembered))
          .then(
            [metrics, from_cache](std::uint64_t restored) {
              if (metrics.rehydrated)
                metrics.rehydrated->inc(restored);
              if (restored > 0)
                runtime::log::info("fleet", "fleet restored", {{"drones", restored}, {"from_redis", from_cache}});
            },
            [](caf::error& e) {
              runtime::log::warn("fleet", "the live view did not take the restored fleet", {{"error", caf::to_string(e)}});
            });
      }
      return 0;
    });
  };
  // The registry row of a drone, read fresh from the database (another node may have changed its group or its
  // credential, or removed it), and kept in the cache. Every decision about one drone (admission, permissions,
  // changes) goes through here; only lists use the cache, reloaded every sweep. Throws db_error.
  auto lookup = [st, ensure](const std::string& id) -> const registry_row* {
    ensure();
    return st->link.run([&](pqxx::connection& conn) -> const registry_row* {
      pqxx::work tx{conn};
      auto rows = tx.exec(std::string{"SELECT "} + registry_columns + " FROM fleet.drones WHERE id = " + tx.quote(id));
      tx.commit();
      if (rows.empty()) {
        st->registry.erase(id);
        return nullptr;
      }
      auto row = read_row(rows[0]);
      return &(st->registry[id] = std::move(row));
    });
  };
  // The Redis state of drones not live here: id -> drone JSON.
  auto from_redis = [st, key](const std::vector<std::string>& ids) {
    std::unordered_map<std::string, std::string> out;
    if (!st->settings.redis.enabled || ids.empty() || !st->redis.ensure_connected())
      return out;
    try {
      for (std::size_t i = 0; i < ids.size(); i += 1000) {
        std::vector<std::string> cmd{"MGET"};
        for (std::size_t k = i; k < std::min(ids.size(), i + 1000); ++k)
          cmd.push_back(key(ids[k]));
        auto reply = st->redis.command(cmd);
        for (std::size_t k = 0; k < reply.elements.size(); ++k)
          if (reply.elements[k].kind == runtime::redis_reply::kind_t::string)
            out[ids[i + k]] = std::move(reply.elements[k].str);
      }
    } catch (const runtime::redis_error&) {
      // Redis down: the registry answers instead.
    }
    return out;
  };
  // Adds "registered" (and the registry object) to a drone JSON object.
  auto annotate = [](std::string& obj, const registry_row* row) {
    obj.pop_back();
    obj += ",\"registered\":";
    obj += row ? "true" : "false";
    if (row) {
      if (row->json.empty())
        row->json = registry_json(*row).dump();
      obj += ",\"registry\":";
      obj += row->json;
    }
    obj += '}';
  };
  // Registers the drones admitted since the last call, in one statement. Keeps them while the database is
  // unavailable. When the database refuses the statement for its content, each drone is tried alone: one
  // drone it refuses is skipped (logged, counted, tried again at its next hello), the others are registered.
  using pending_drone = std::pair<const std::string, std::pair<std::string, std::string>>;
  auto insert_drones = [st](const std::vector<const pending_drone*>& drones) {
    return st->link.run([&](pqxx::connection& conn) {
      std::string ids = "{", models = "{", firmwares = "{";
      auto element = [](std::string& out, const std::string& v) {
        if (out.size() > 1)
          out += ',';
        out += '"';
        for (char c : v) {
          if (c == '"' || c == '\\')
            out += '\\';
          out += c;
        }
        out += '"';
      };
      for (const auto* d : drones) {
        element(ids, d->first);
        element(models, d->second.first);
        element(firmwares, d->second.second);
      }
      ids += '}';
      models += '}';
      firmwares += '}';
      pqxx::work tx{conn};
      auto r = tx.exec("INSERT INTO fleet.drones (id, model, firmware, group_name) SELECT u.*, "
                       + tx.quote(st->settings.default_group) + " FROM unnest(" + tx.quote(ids)
                       + "::text[], " + tx.quote(models) + "::text[], " + tx.quote(firmwares)
                       + "::text[]) AS u ON CONFLICT (id) DO NOTHING RETURNING " + registry_columns);
      tx.commit();
      return r;
    });
  };
  auto register_pending = [st, ensure, metrics, insert_drones]() {
    st->register_scheduled = false;
    if (st->to_register.empty())
      return;
    auto registered = [&](const pqxx::result& rows) {
      for (const auto& r : rows) {
        auto row = read_row(r);
        runtime::log::info("fleet", "drone registered at first hello", {{"drone_id", row.id}});
        st->registry[row.id] = std::move(row);
      }
      if (metrics.registered)
        metrics.registered->inc(rows.size());
    };
    std::vector<const pending_drone*> all;
    all.reserve(st->to_register.size());
    for (const auto& d : st->to_register)
      all.push_back(&d);
    try {
      ensure();
      registered(insert_drones(all));
      st->to_register.clear();
      return;
    } catch (const runtime::db_error& e) {
      if (e.code() == runtime::db_errc::unavailable) {
        runtime::log::warn("fleet", "registering new drones failed, will retry",
                           {{"drones", st->to_register.size()}, {"error", e.what()}});
        return;
      }
    }
    // Refused for its content: one drone at a time, so that one bad row costs no other drone its registration.
    std::vector<std::string> done;
    for (const auto* d : all) {
      try {
        registered(insert_drones({d}));
        done.push_back(d->first);
      } catch (const runtime::db_error& e) {
        if (e.code() == runtime::db_errc::unavailable)
          break; // the rest wait for the next attempt
        runtime::log::warn("fleet", "drone could not be registered, skipped until its next hello",
                           {{"drone_id", d->first}, {"error", e.what()}});
        if (metrics.register_refused)
          metrics.register_refused->inc();
        done.push_back(d->first);
      }
    }
    for (auto& id : done)
      st->to_register.erase(id);
  };
  // Writes last-seen times into the registry (only ever forward). False when the database did not take them.
  auto write_seen = [st, ensure](const std::vector<std::pair<std::string, double>>& changed) -> bool {
    if (changed.empty())
      return true;
    try {
      ensure();
      st->link.run([&](pqxx::connection& conn) {
        std::string ids = "{";
        std::string times = "{";
        for (auto& [id, t] : changed) {
          if (ids.size() > 1) {
            ids += ',';
            times += ',';
          }
          // Quoted: an unquoted NULL (a valid drone id) would be read as SQL NULL.
          ids += '"';
          ids += id; // [A-Za-z0-9_.-]: nothing to escape inside the quotes
          ids += '"';
          times += pqxx::to_string(t);
        }
        ids += '}';
        times += '}';
        pqxx::work tx{conn};
        tx.exec0("UPDATE fleet.drones d SET last_seen = to_timestamp(s.t / 1000.0) FROM unnest("
                 + tx.quote(ids) + "::text[], " + tx.quote(times)
                 + "::float8[]) AS s(id, t) WHERE d.id = s.id AND (d.last_seen IS NULL OR d.last_seen < to_timestamp(s.t / 1000.0))");
        tx.commit();
        return 0;
      });
      for (auto& [id, t] : changed) {
        auto i = st->registry.find(id);
        if (i != st->registry.end() && i->second.last_seen_ms < t) {
          i->second.last_seen_ms = t;
          i->second.json.clear();
        }
      }
      return true;
    } catch (const runtime::db_error&) {
      return false; // next sweep
    }
  };
  // Records the last-seen times of the drones whose live state changed since the previous sweep (the hub's
  // version is the cursor: it moves on only once the times are written).
  auto seen_sweep = [self, st, hub, write_seen]() {
    if (st->seen_query_out)
      return;
    st->seen_query_out = true;
    self->request(hub, std::chrono::seconds(10), changes_atom::value, st->seen_version)
      .then(
        [st, write_seen](state_list& list) {
          st->seen_query_out = false;
          std::vector<std::pair<std::string, double>> changed;
          for (auto& ds : list.states)
            if (ds.last_seen > 0)
              changed.emplace_back(ds.info.id, ds.last_seen);
          if (write_seen(changed))
            st->seen_version = list.version;
        },
        [st](caf::error&) { st->seen_query_out = false; });
  };
  auto not_found = [](const std::string& id) { return error_answer(404, "not_found", "no drone with id '" + id + "'"); };
  // A change checked against the drone's group, which another node changed (or the drone was removed) before it
  // was written: nothing is changed.
  auto changed_meanwhile = [](const std::string& id) {
    return error_answer(409, "conflict", "drone '" + id + "' was changed or removed meanwhile: read it and retry");
  };
  // The permission check (auth/access.hpp) for a drone of `group`: a caller who may not see the drone gets the
  // answer a missing drone gets (404: nothing tells them it exists); one who sees it but may not do `p`, 403.
  auto permitted = [not_found](const http_query& q, const std::string& group,
                               auth::permission p) -> std::optional<http_answer> {
    if (!auth::allows(q.who, auth::permission::read_drones, group))
      return not_found(q.id);
    if (!auth::allows(q.who, p, group))
      return error_answer(403, "forbidden", std::string{"role '"} + q.who.role + "' may not " + describe(p));
    return std::nullopt;
  };
  // An audit row, written by the auth service (the audit log lives in the auth database).
  auto audit = [st](const http_query& q, const char* action, const std::string& drone, const char* outcome,
                    const json& detail) {
    if (st->settings.auditor)
      caf::anon_send(st->settings.auditor, audit_atom::value, q.who.name.empty() ? std::string{"anonymous"} : q.who.name,
                     std::string{action}, drone, q.address, std::string{outcome}, detail.dump());
  };
  // The registry row of q.id, fresh, when the caller may manage it; otherwise the answer they get. Throws db_error.
  auto managed = [=](const http_query& q, const registry_row*& current) -> std::optional<http_answer> {
    current = lookup(q.id);
    if (current == nullptr)
      return not_found(q.id);
    return permitted(q, current->group, auth::permission::manage_drones);
  };
  // Applies `set(tx)` (an SQL SET list) to drone `id` only if it is still in `group`, the group its permission was
  // checked against (another node may have moved or removed it meanwhile). The row after it, or nothing.
  auto update_checked = [st](const std::string& id, const std::string& group,
                             const std::function<std::string(pqxx::work&)>& set) {
    return st->link.run([&](pqxx::connection& conn) -> std::optional<registry_row> {
      pqxx::work tx{conn};
      auto rows = tx.exec("UPDATE fleet.drones SET " + set(tx) + " WHERE id = " + tx.quote(id) + " AND group_name = "
                          + tx.quote(group) + " RETURNING " + registry_columns);
      tx.commit();
      if (rows.empty())
        return std::nullopt;
      return read_row(rows[0]);
    });
  };
  // Issues a new secret (rotate) or revokes the credential; either way the drone's live connection closes.
  auto set_credential = [=](http_query& q, bool rotate) -> http_answer {
    try {
      const registry_row* current = nullptr;
      if (auto refused = managed(q, current))
        return *refused;
      std::string secret = rotate ? runtime::random_token(32) : std::string{};
      auto row = update_checked(q.id, current->group, [&](pqxx::work& tx) {
        return std::string{"credential = "} + (rotate ? "'active'" : "'revoked'") + ", secret_hash = "
               + (rotate ? "decode(" + tx.quote(runtime::sha256_hex(secret)) + ", 'hex')" : "NULL")
               + ", credential_changed_at = now()";
      });
      if (!row)
        return changed_meanwhile(q.id);
      st->registry[q.id] = std::move(*row);
      self->send(directory, kick_atom::value, q.id, std::uint16_t{4001},
                 std::string{rotate ? "drone credential rotated" : "drone credential revoked"});
      runtime::log::info("fleet", rotate ? "drone credential rotated" : "drone credential revoked",
                         {{"drone_id", q.id}, {"by", q.who.name}});
      audit(q, rotate ? "credential_rotated" : "credential_revoked", q.id, "ok", json::object());
      if (!rotate)
        return answer(204, "");
      return answer(200, json{{"id", q.id}, {"credential", "active"}, {"secret", secret}}.dump());
    } catch (const runtime::db_error& e) {
      return db_error_answer(e);
    }
  };
  // GET /api/v1/drones, once the hub answered with the live states of the page (`live`: the first
  // page.limit + 1 live drones after the cursor that the caller may see, in id order).
  auto list_answer = [=](const http_query& q, const list_page& page, std::vector<drone_state>& live_states)
    -> http_answer {
      try {
        ensure();
      } catch (const runtime::db_error&) {
        // The live view goes on without the registry.
      }
      auto scope = auth::read_scope(q.who);
      // Every drone the caller may see, live here or registered, in id order; this page is the first `limit`
      // after the cursor.
      std::map<std::string, std::optional<drone_state>> visible;
      for (auto& ds : live_states) {
        auto i = st->registry.find(ds.info.id);
        if (scope.covers(i == st->registry.end() ? ds.info.group : i->second.group))
          visible.emplace(ds.info.id, std::move(ds));
      }
      for (auto& [id, row] : st->registry)
        if ((page.after.empty() || id > page.after) && scope.covers(row.group))
          visible.emplace(id, std::nullopt);
      bool more = visible.size() > page.limit;
      while (visible.size() > page.limit)
        visible.erase(std::prev(visible.end()));
      std::vector<std::string> missing;
      for (auto& [id, ds] : visible)
        if (!ds && st->registry.count(id))
          missing.push_back(id);
      auto cached = from_redis(missing);
      std::string out = "{\"drones\":[";
      std::string obj;
      bool first = true;
      std::string last;
      for (auto& [id, live] : visible) {
        auto i = st->registry.find(id);
        const registry_row* row = i == st->registry.end() ? nullptr : &i->second;
        obj.clear();
        if (live) {
          append_drone_json(obj, *live);
        } else if (row == nullptr) {
          continue; // not live, and not registered
        } else {
          drone_state ds;
          auto c = cached.find(id);
          if (c != cached.end() && parse_drone_state(c->second, ds)) {
            ds.connected = false; // it is not connected here; another node may have it
            ds.info.group = row->group;
          } else {
            ds = placeholder(*row);
          }
          append_drone_json(obj, ds);
        }
        annotate(obj, row);
        if (!first)
          out += ',';
        first = false;
        out += obj;
        last = id;
      }
      out += ']';
      out += next_cursor_json(more, last);
      out += '}';
      return answer(200, std::move(out));
    };
  // GET /api/v1/drones/{id}, once the hub answered with the drone's live state (null: not live here).
  auto get_answer = [=](const http_query& q, const drone_state* live) -> http_answer {
      const registry_row* row = nullptr;
      try {
        row = lookup(q.id);
      } catch (const runtime::db_error&) {
        auto i = st->registry.find(q.id);
        row = i == st->registry.end() ? nullptr : &i->second;
      }
      std::string obj;
      std::string live_group;
      bool found = live != nullptr;
      if (found) {
        live_group = live->info.group;
        if (row == nullptr || row->group == live->info.group) {
          append_drone_json(obj, *live);
        } else {
          auto copy = *live;
          copy.info.group = row->group;
          append_drone_json(obj, copy);
        }
      }
      if (auto refused = permitted(q, row ? row->group : live_group, auth::permission::read_drones);
          refused || (!found && row == nullptr))
        return refused ? *refused : not_found(q.id);
      if (!found) {
        auto cached = from_redis({q.id});
        drone_state ds;
        if (!cached.empty() && parse_drone_state(cached.begin()->second, ds)) {
          ds.connected = false;
          ds.info.group = row->group;
          append_drone_json(obj, ds);
        } else {
          append_drone_json(obj, placeholder(*row));
        }
      }
      annotate(obj, row);
      return answer(200, std::move(obj));
    };
  self->send(self, seen_atom::value);
  return {
    [=](seen_atom) {
      // With nothing to write, the connection is still checked, so that /readyz tells the truth about the
      // registry's database from the start and while the node is idle.
      st->link.probe();
      register_pending();
      seen_sweep();
      st->loaded_generation = 0; // the next list reloads the registry: changes made on other nodes show up
      self->delayed_send(self, std::chrono::milliseconds(st->settings.seen_interval_ms), seen_atom::value);
    },
    [=](admit_atom, drone_info& info, std::string& secret) -> std::tuple<std::uint16_t, std::string> {
      auto refuse = [&](const char* why) {
        if (metrics.refused)
          metrics.refused->inc();
        // The log says why; the drone only hears "authentication failed" (it must not learn which part was wrong).
        runtime::log::warn("fleet", "drone refused at hello", {{"drone_id", info.id}, {"reason", why}});
        return std::make_tuple(admit_refused, std::string{});
      };
      const registry_row* row = nullptr;
      bool db_up = true;
      try {
        row = lookup(info.id);
      } catch (const runtime::db_error&) {
        db_up = false;
        auto i = st->registry.find(info.id);
        row = i == st->registry.end() ? nullptr : &i->second;
      }
      const auto& default_group = st->settings.default_group;
      if (row == nullptr) {
        if (!secret.empty())
          return db_up ? refuse("unknown drone presented a secret")
                       : std::make_tuple(admit_unavailable, std::string{});
        if (st->to_register.count(info.id))
          return std::make_tuple(admit_ok, default_group); // admitted before, registration pending
        if (st->settings.unregistered == unregistered_policy::refuse)
          return db_up ? refuse("not registered") : std::make_tuple(admit_unavailable, std::string{});
        // Admitted now; registered with the next batch (at once, after the admissions already queued).
        st->to_register.emplace(info.id, std::make_pair(info.model, info.fw));
        if (!st->register_scheduled) {
          st->register_scheduled = true;
          self->send(self, register_atom::value);
        }
        return std::make_tuple(admit_ok, default_group);
      }
      if (row->credential == "active") {
        if (secret.empty())
          return refuse("no secret presented");
        if (!runtime::equal_constant_time(runtime::sha256_hex(secret), row->secret_hash))
          return refuse("wrong secret");
      } else if (row->credential == "revoked") {
        return refuse("credential revoked");
      } else if (!secret.empty()) {
        return refuse("secret presented for a drone without a credential");
      } else if (st->settings.unregistered == unregistered_policy::refuse) {
        return refuse("no credential issued");
      }
      auto group = row->group;
      if (db_up && ((!info.model.empty() && info.model != row->model) || (!info.fw.empty() && info.fw != row->firmware))) {
        // Keep model and firmware as the drone reports them.
        try {
          st->link.run([&](pqxx::connection& conn) {
            pqxx::work tx{conn};
            tx.exec0("UPDATE fleet.drones SET model = " + tx.quote(info.model.empty() ? row->model : info.model)
                     + ", firmware = " + tx.quote(info.fw.empty() ? row->firmware : info.fw)
                     + " WHERE id = " + tx.quote(info.id));
            tx.commit();
            return 0;
          });
          auto& r = st->registry[info.id];
          r.json.clear();
          if (!info.model.empty())
            r.model = info.model;
          if (!info.fw.empty())
            r.firmware = info.fw;
        } catch (const runtime::db_error& e) {
          runtime::log::warn("fleet", "registry update at hello failed", {{"drone_id", info.id}, {"error", e.what()}});
        }
      }
      return std::make_tuple(admit_ok, group);
    },
    [=](register_atom) { register_pending(); },
    [=](list_atom, http_query& q) -> caf::result<http_answer> {
      list_page page;
      if (auto bad = parse_list_page(q.query, page))
        return error_answer(400, "invalid_parameter", bad->second, bad->first);
      subscription sub;
      sub.scope = auth::read_scope(q.who);
      auto rp = self->make_response_promise<http_answer>();
      self->request(hub, std::chrono::seconds(5), states_atom::value, sub, std::uint64_t{page.limit + 1}, page.after)
        .then([=](state_list& live) mutable { rp.deliver(list_answer(q, page, live.states)); },
              [=](caf::error&) mutable {
                std::vector<drone_state> none; // the live view did not answer: the registry alone
                rp.deliver(list_answer(q, page, none));
              });
      return rp;
    },
    [=](get_atom, http_query& q) -> caf::result<http_answer> {
      auto rp = self->make_response_promise<http_answer>();
      self->request(hub, std::chrono::seconds(5), get_atom::value, q.id)
        .then([=](drone_state& live) mutable { rp.deliver(get_answer(q, &live)); },
              [=](caf::error&) mutable { rp.deliver(get_answer(q, nullptr)); });
      return rp;
    },
    [=](authorize_atom, http_query& q) -> http_answer {
      // May the caller read this drone (its history)? 200, or the answer the request gets instead.
      const registry_row* row = nullptr;
      try {
        row = lookup(q.id);
      } catch (const runtime::db_error& e) {
        auto i = st->registry.find(q.id);
        if (i == st->registry.end())
          return db_error_answer(e);
        row = &i->second;
      }
      if (row == nullptr) // not (or no longer) registered: its history stays readable by those who see every group
        return auth::read_scope(q.who).all ? answer(200, "{}") : not_found(q.id);
      if (auto refused = permitted(q, row->group, auth::permission::read_drones))
        return *refused;
      return answer(200, "{}");
    },
    [=](create_atom, http_query& q) -> http_answer {
      registry_input in;
      if (auto err = parse_input(q.body, true, in))
        return *err;
      auto group = in.group.value_or(st->settings.default_group);
      if (!auth::allows(q.who, auth::permission::manage_drones, group))
        return error_answer(403, "forbidden", "you may not register drones in group '" + group + "'", "group");
      auto secret = runtime::random_token(32);
      try {
        ensure();
        auto row = st->link.run([&](pqxx::connection& conn) -> std::optional<registry_row> {
          pqxx::work tx{conn};
          auto rows = tx.exec(
            "INSERT INTO fleet.drones (id, name, model, firmware, home_lat, home_lon, home_alt, metadata, group_name,"
            " credential, secret_hash, credential_changed_at) VALUES ("
            + tx.quote(*in.id) + ", " + tx.quote(in.name.value_or("")) + ", " + tx.quote(in.model.value_or(""))
            + ", " + tx.quote(in.firmware.value_or("")) + ", " + nullable(tx, in.home_lat) + ", "
            + nullable(tx, in.home_lon) + ", " + nullable(tx, in.home_alt) + ", "
            + tx.quote(in.metadata.value_or("{}")) + "::jsonb, " + tx.quote(group) + ", 'active', decode("
            + tx.quote(runtime::sha256_hex(secret)) + ", 'hex'), now()) ON CONFLICT (id) DO NOTHING RETURNING "
            + registry_columns);
          tx.commit();
          if (rows.empty())
            return std::nullopt;
          return read_row(rows[0]);
        });
        if (!row) {
          audit(q, "drone_registered", *in.id, "refused", {{"reason", "conflict"}});
          return error_answer(409, "conflict", "a drone with id '" + *in.id + "' is already registered", "id");
        }
        auto body = registry_json(*row);
        body["secret"] = secret; // shown once: only its hash is kept
        st->registry[row->id] = std::move(*row);
        runtime::log::info("fleet", "drone registered", {{"drone_id", *in.id}, {"group", group}, {"by", q.who.name}});
        audit(q, "drone_registered", *in.id, "ok", {{"group", group}});
        return answer(201, body.dump());
      } catch (const runtime::db_error& e) {
        return db_error_answer(e);
      }
    },
    [=](patch_atom, http_query& q) -> http_answer {
      registry_input in;
      if (auto err = parse_input(q.body, false, in))
        return *err;
      try {
        const registry_row* current = nullptr;
        if (auto refused = managed(q, current))
          return *refused;
        auto old_group = current->group;
        if (in.group && *in.group != old_group && !auth::allows(q.who, auth::permission::manage_drones, *in.group))
          return error_answer(403, "forbidden", "you may not move drones into group '" + *in.group + "'", "group");
        auto row = update_checked(q.id, old_group, [&](pqxx::work& tx) {
          std::string set;
          auto add = [&](const std::string& part) {
            if (!set.empty())
              set += ", ";
            set += part;
          };
          if (in.name)
            add("name = " + tx.quote(*in.name));
          if (in.model)
            add("model = " + tx.quote(*in.model));
          if (in.firmware)
            add("firmware = " + tx.quote(*in.firmware));
          if (in.group)
            add("group_name = " + tx.quote(*in.group));
          if (in.has_home) {
            add("home_lat = " + nullable(tx, in.home_lat));
            add("home_lon = " + nullable(tx, in.home_lon));
            add("home_alt = " + nullable(tx, in.home_alt));
          }
          if (in.metadata)
            add("metadata = " + tx.quote(*in.metadata) + "::jsonb");
          return set.empty() ? std::string{"id = id"} : set;
        });
        if (!row)
          return changed_meanwhile(q.id);
        auto body = registry_json(*row).dump();
        bool moved = row->group != old_group;
        st->registry[row->id] = std::move(*row);
        if (moved) {
          // The live view follows at once: the drone's actor (or the hub's copy) takes the new group.
          self->send(directory, regroup_atom::value, q.id, *in.group);
          audit(q, "drone_changed", q.id, "ok", {{"group", *in.group}, {"previous_group", old_group}});
        }
        return answer(200, std::move(body));
      } catch (const runtime::db_error& e) {
        return db_error_answer(e);
      }
    },
    [=](delete_atom, http_query& q) -> http_answer {
      try {
        const registry_row* current = nullptr;
        if (auto refused = managed(q, current))
          return *refused;
        auto deleted = st->link.run([&](pqxx::connection& conn) {
          pqxx::work tx{conn};
          auto r = tx.exec("DELETE FROM fleet.drones WHERE id = " + tx.quote(q.id) + " AND group_name = "
                           + tx.quote(current->group));
          tx.commit();
          return r.affected_rows() > 0;
        });
        if (!deleted)
          return changed_meanwhile(q.id);
        st->registry.erase(q.id);
        self->send(hub, remove_atom::value, q.id);
        if (st->settings.redis.enabled && st->redis.ensure_connected()) {
          try {
            st->redis.command({"DEL", key(q.id)});
          } catch (const runtime::redis_error&) {
          }
        }
        if (st->settings.unregistered == unregistered_policy::refuse)
          // Its live connection is no longer allowed.
          self->send(directory, kick_atom::value, q.id, std::uint16_t{4003}, std::string{"drone is not registered"});
        runtime::log::info("fleet", "drone removed from the registry", {{"drone_id", q.id}, {"by", q.who.name}});
        audit(q, "drone_deleted", q.id, "ok", json::object());
        return answer(204, "");
      } catch (const runtime::db_error& e) {
        return db_error_answer(e);
      }
    },
    [=](rotate_atom, http_query& q) -> http_answer {
      // POST /api/v1/drones/{id}/secret: a new secret (the old one stops working; the live connection closes).
      return set_credential(q, true);
    },
    [=](revoke_atom, http_query& q) -> http_answer {
      // DELETE /api/v1/drones/{id}/secret: no secret works any more; the live connection closes.
      return set_credential(q, false);
    },
  };
}

// -- Redis mirror ---------------------------------------------------------------------------------------

caf::behavior redis_mirror(caf::event_based_actor* self, redis_settings s, hub_actor hub, fleet_metrics metrics,
                           runtime::node_health* health) {
  struct mirror_state {
    explicit mirror_state(redis_settings x)
      : settings(std::move(x)), client(settings.endpoint, settings.io_timeout, settings.retry_min, settings.retry_max) {}
    redis_settings settings;
    runtime::redis_client client;
    std::uint64_t version = 0; ///< the hub's version up to which states are written
  };
  auto st = std::make_shared<mirror_state>(std::move(s));
  auto dep = health ? &health->redis : nullptr;
  // Writes the states that changed (`changed`, from the hub); false when Redis did not take them.
  auto write = [st, metrics, dep](const std::vector<drone_state>& changed) -> bool {
    bool up = st->client.ensure_connected();
    if (dep)
      dep->set(up ? runtime::dependency_health::up : runtime::dependency_health::down);
    if (changed.empty()) {
      // Nothing to write: ask the server anyway, so that a Redis that went away shows as down (the
      // connection only fails when it is used).
      if (up) {
        try {
          st->client.command({"PING"});
        } catch (const runtime::redis_error&) {
          up = false;
          if (dep)
            dep->set(runtime::dependency_health::down);
        }
      }
      return up;
    }
    if (!up) {
      if (metrics.redis_skipped)
        metrics.redis_skipped->inc(changed.size());
      return false;
    }
    auto ttl = std::to_string(st->settings.ttl_s);
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(changed.size());
    for (auto& ds : changed) {
      std::string json;
      append_drone_json(json, ds);
      cmds.push_back({"SET", st->settings.prefix + ds.info.id, std::move(json), "EX", ttl});
    }
    try {
      for (std::size_t i = 0; i < cmds.size(); i += 1000) {
        std::vector<std::vector<std::string>> chunk(cmds.begin() + i, cmds.begin() + std::min(cmds.size(), i + 1000));
        st->client.pipeline(chunk);
      }
    } catch (const runtime::redis_error& e) {
      if (dep)
        dep->set(runtime::dependency_health::down);
      if (metrics.redis_skipped)
        metrics.redis_skipped->inc(changed.size());
      runtime::log::warn("redis", "writing drone states failed", {{"error", e.what()}});
      return false;
    }
    if (metrics.redis_writes)
      metrics.redis_writes->inc(changed.size());
    return true;
  };
  // One round: the states the hub changed since the version last written, written; then `done(ok)`.
  auto round = [self, st, hub, write](std::function<void(bool)> done) {
    self->request(hub, std::chrono::seconds(10), changes_atom::value, st->version)
      .then(
        [st, write, done](state_list& list) {
          bool ok = write(list.states);
          if (ok)
            st->version = list.version;
          done(ok);
        },
        [done](caf::error&) { done(false); });
  };
  auto busy = std::make_shared<bool>(false);
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      if (!*busy) {
        *busy = true;
        round([busy](bool) { *busy = false; });
      }
      self->delayed_send(self, std::chrono::milliseconds(st->settings.interval_ms), tick_atom::value);
    },
    [=](flush_atom) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      round([rp](bool ok) mutable { rp.deliver(ok); });
      return rp;
    },
  };
}

} // namespace dccs::actors
