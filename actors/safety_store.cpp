#include "actors/safety_store.hpp"

#include <pqxx/pqxx>
#include <nlohmann/json.hpp>

#include "runtime/pg_array.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;

constexpr const char* fence_columns =
  "id::text, name, drone_group, kind, ring::text, floor, ceiling, action, created_by,"
  " extract(epoch from created_at) * 1000, extract(epoch from updated_at) * 1000";

geofence read_fence(const pqxx::row& r) {
  geofence f;
  f.id = r[0].as<std::string>();
  f.name = r[1].as<std::string>();
  f.group = r[2].as<std::string>();
  f.inclusion = r[3].as<std::string>() == "inclusion";
  for (auto& p : json::parse(r[4].as<std::string>()))
    f.ring.push_back({p[0].get<double>(), p[1].get<double>()});
  f.has_floor = !r[5].is_null();
  f.floor = f.has_floor ? r[5].as<double>() : 0;
  f.has_ceiling = !r[6].is_null();
  f.ceiling = f.has_ceiling ? r[6].as<double>() : 0;
  f.action = r[7].as<std::string>();
  f.created_by = r[8].as<std::string>();
  f.created_at = r[9].as<double>();
  f.updated_at = r[10].as<double>();
  return f;
}

std::string ring_text(const geofence& f) {
  json ring = json::array();
  for (auto& p : f.ring)
    ring.push_back(json::array({p.lon, p.lat}));
  return ring.dump();
}

std::string nullable(double has, double v) { return has ? std::to_string(v) : std::string{"NULL"}; }

constexpr const char* alarm_columns =
  "id::text, drone_id, drone_group, kind, severity, state, message, detail::text, count,"
  " extract(epoch from raised_at) * 1000, extract(epoch from updated_at) * 1000, coalesce(acknowledged_by, ''),"
  " coalesce(extract(epoch from acknowledged_at) * 1000, 0), coalesce(cleared_by, ''),"
  " coalesce(extract(epoch from cleared_at) * 1000, 0)";

alarm read_alarm(const pqxx::row& r) {
  alarm a;
  a.id = r[0].as<std::string>();
  a.drone_id = r[1].as<std::string>();
  a.group = r[2].as<std::string>();
  a.kind = r[3].as<std::string>();
  a.severity = r[4].as<std::string>();
  a.state = r[5].as<std::string>();
  a.message = r[6].as<std::string>();
  a.detail = r[7].as<std::string>();
  a.count = r[8].as<std::int64_t>();
  a.raised_at = r[9].as<double>();
  a.updated_at = r[10].as<double>();
  a.acknowledged_by = r[11].as<std::string>();
  a.acknowledged_at = r[12].as<double>();
  a.cleared_by = r[13].as<std::string>();
  a.cleared_at = r[14].as<double>();
  return a;
}

std::string scope_clause(pqxx::transaction_base& tx, const auth::scope& scope) {
  if (scope.all)
    return "true";
  return "drone_group = ANY(" + tx.quote(runtime::pg_text_array(scope.groups)) + "::text[])";
}

void bump(pqxx::transaction_base& tx) { tx.exec0("UPDATE commands.geofence_version SET version = version + 1"); }

} // namespace

std::uint64_t safety_store::geofence_version() {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return tx.exec1("SELECT version FROM commands.geofence_version")[0].as<std::uint64_t>();
  });
}

std::vector<geofence> safety_store::geofences() {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<geofence> out;
    for (const auto& r : tx.exec("SELECT " + std::string{fence_columns} + " FROM commands.geofences ORDER BY drone_group, id"))
      out.push_back(read_fence(r));
    return out;
  });
}

std::vector<geofence> safety_store::geofences(const auth::scope& scope, const std::string& group, std::size_t limit,
                                              const std::string& after) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::string sql = "SELECT " + std::string{fence_columns} + " FROM commands.geofences WHERE " + scope_clause(tx, scope);
    if (!group.empty())
      sql += " AND drone_group = " + tx.quote(group);
    if (!after.empty())
      sql += " AND id > " + tx.quote(after) + "::uuid";
    sql += " ORDER BY id LIMIT " + std::to_string(limit);
    std::vector<geofence> out;
    for (const auto& r : tx.exec(sql))
      out.push_back(read_fence(r));
    return out;
  });
}

std::optional<geofence> safety_store::geofence_find(const std::string& id) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<geofence> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec("SELECT " + std::string{fence_columns} + " FROM commands.geofences WHERE id = " + tx.quote(id) + "::uuid");
    if (rows.empty())
      return std::nullopt;
    return read_fence(rows[0]);
  });
}

std::optional<geofence> safety_store::geofence_create(geofence f, std::size_t max_per_group) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<geofence> {
    pqxx::work tx{conn};
    // The version row is the lock: fence changes happen one at a time, so the per-group count holds.
    bump(tx);
    auto n = tx.exec1("SELECT count(*) FROM commands.geofences WHERE drone_group = " + tx.quote(f.group))[0].as<std::size_t>();
    if (n >= max_per_group)
      return std::nullopt;
    auto row = tx.exec1("INSERT INTO commands.geofences (id, name, drone_group, kind, ring, floor, ceiling, action, "
                        "created_by) VALUES (gen_random_uuid(), " + tx.quote(f.name) + ", " + tx.quote(f.group) + ", "
                        + tx.quote(f.inclusion ? "inclusion" : "exclusion") + ", " + tx.quote(ring_text(f)) + "::jsonb, "
                        + nullable(f.has_floor, f.floor) + ", " + nullable(f.has_ceiling, f.ceiling) + ", "
                        + tx.quote(f.action) + ", " + tx.quote(f.created_by) + ") RETURNING " + fence_columns);
    tx.commit();
    return read_fence(row);
  });
}

std::optional<geofence> safety_store::geofence_update(const geofence& f, std::size_t max_per_group, bool& full) {
  full = false;
  return link_.run([&](pqxx::connection& conn) -> std::optional<geofence> {
    pqxx::work tx{conn};
    bump(tx);
    auto n = tx.exec1("SELECT count(*) FROM commands.geofences WHERE drone_group = " + tx.quote(f.group) + " AND id <> "
                      + tx.quote(f.id) + "::uuid")[0].as<std::size_t>();
    if (n >= max_per_group) {
      full = true;
      return std::nullopt;
    }
    auto rows = tx.exec("UPDATE commands.geofences SET name = " + tx.quote(f.name) + ", drone_group = " + tx.quote(f.group)
                        + ", kind = " + tx.quote(f.inclusion ? "inclusion" : "exclusion") + ", ring = "
                        + tx.quote(ring_text(f)) + "::jsonb, floor = " + nullable(f.has_floor, f.floor) + ", ceiling = "
                        + nullable(f.has_ceiling, f.ceiling) + ", action = " + tx.quote(f.action)
                        + ", updated_at = now() WHERE id = " + tx.quote(f.id) + "::uuid RETURNING " + fence_columns);
    if (rows.empty())
      return std::nullopt;
    tx.commit();
    return read_fence(rows[0]);
  });
}

bool safety_store::geofence_delete(const std::string& id) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    bump(tx);
    auto rows = tx.exec("DELETE FROM commands.geofences WHERE id = " + tx.quote(id) + "::uuid RETURNING id");
    tx.commit();
    return !rows.empty();
  });
}

safety_store::raised safety_store::raise(const alarm_event& e) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    raised out;
    // One open alarm per (drone, kind): a new one, or the open one counted on. A more severe raise makes an
    // acknowledged alarm active again (the operator has not seen this yet).
    auto rows = tx.exec(
      "INSERT INTO commands.alarms (id, drone_id, drone_group, kind, severity, state, message, detail) VALUES "
      "(gen_random_uuid(), " + tx.quote(e.drone_id) + ", " + tx.quote(e.group) + ", " + tx.quote(e.kind) + ", "
      + tx.quote(e.severity) + ", 'active', " + tx.quote(e.message) + ", " + tx.quote(e.detail) + "::jsonb) "
      "ON CONFLICT (drone_id, kind) WHERE state <> 'cleared' DO UPDATE SET count = alarms.count + 1, "
      "message = excluded.message, detail = excluded.detail, drone_group = excluded.drone_group, updated_at = now(), "
      "state = CASE WHEN alarms.severity = 'warning' AND excluded.severity = 'critical' THEN 'active' ELSE alarms.state END, "
      "severity = CASE WHEN excluded.severity = 'critical' THEN 'critical' ELSE alarms.severity END "
      "RETURNING " + std::string{alarm_columns} + ", (xmax = 0)");
    tx.commit();
    out.row = read_alarm(rows[0]);
    out.is_new = rows[0][15].as<bool>();
    out.changed = !out.is_new;
    return out;
  });
}

std::optional<alarm> safety_store::clear_open(const std::string& drone_id, const std::string& kind, const std::string& by) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<alarm> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.alarms SET state = 'cleared', cleared_by = " + tx.quote(by)
                        + ", cleared_at = now(), updated_at = now() WHERE drone_id = " + tx.quote(drone_id)
                        + " AND kind = " + tx.quote(kind) + " AND state <> 'cleared' RETURNING " + alarm_columns);
    tx.commit();
    if (rows.empty())
      return std::nullopt;
    return read_alarm(rows[0]);
  });
}

std::optional<alarm> safety_store::find(const std::string& id) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<alarm> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec("SELECT " + std::string{alarm_columns} + " FROM commands.alarms WHERE id = " + tx.quote(id) + "::uuid");
    if (rows.empty())
      return std::nullopt;
    return read_alarm(rows[0]);
  });
}

std::vector<alarm> safety_store::list(const auth::scope& scope, const filter& f) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::string sql = "SELECT " + std::string{alarm_columns} + " FROM commands.alarms WHERE " + scope_clause(tx, scope);
    if (f.state == "open")
      sql += " AND state <> 'cleared'";
    else if (!f.state.empty())
      sql += " AND state = " + tx.quote(f.state);
    if (!f.drone_id.empty())
      sql += " AND drone_id = " + tx.quote(f.drone_id);
    if (!f.kind.empty())
      sql += " AND kind = " + tx.quote(f.kind);
    if (!f.group.empty())
      sql += " AND drone_group = " + tx.quote(f.group);
    if (!f.before.empty())
      sql += " AND (raised_at, id) < (SELECT raised_at, id FROM commands.alarms WHERE id = " + tx.quote(f.before) + "::uuid)";
    sql += " ORDER BY raised_at DESC, id DESC LIMIT " + std::to_string(f.limit);
    std::vector<alarm> out;
    for (const auto& r : tx.exec(sql))
      out.push_back(read_alarm(r));
    return out;
  });
}

std::optional<alarm> safety_store::transition(const std::string& id, const std::string& to, const std::string& who,
                                              const char* from) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<alarm> {
    pqxx::work tx{conn};
    auto by = to == "acknowledged" ? std::string{"acknowledged"} : std::string{"cleared"};
    auto rows = tx.exec("UPDATE commands.alarms SET state = " + tx.quote(to) + ", " + by + "_by = " + tx.quote(who) + ", "
                        + by + "_at = now(), updated_at = now() WHERE id = " + tx.quote(id) + "::uuid AND " + from
                        + " RETURNING " + alarm_columns);
    if (rows.empty())
      rows = tx.exec("SELECT " + std::string{alarm_columns} + " FROM commands.alarms WHERE id = " + tx.quote(id) + "::uuid");
    tx.commit();
    if (rows.empty())
      return std::nullopt;
    return read_alarm(rows[0]);
  });
}

std::optional<alarm> safety_store::acknowledge(const std::string& id, const std::string& who) {
  return transition(id, "acknowledged", who, "state = 'active'");
}

std::optional<alarm> safety_store::clear(const std::string& id, const std::string& who) {
  return transition(id, "cleared", who, "state <> 'cleared'");
}

} // namespace dccs::actors
