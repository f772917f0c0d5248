#include "actors/mission_store.hpp"

#include <pqxx/pqxx>

#include "runtime/pg_array.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;

constexpr const char* columns =
  "id::text, name, drone_group, plan::text, state, problems::text, reason, created_by,"
  " extract(epoch from created_at) * 1000, extract(epoch from updated_at) * 1000";

mission_row read_row(const pqxx::row& r) {
  mission_row m;
  m.id = r[0].as<std::string>();
  m.plan.name = r[1].as<std::string>();
  m.plan.group = r[2].as<std::string>();
  plan_from_json(json::parse(r[3].as<std::string>()), m.plan);
  m.state = r[4].as<std::string>();
  m.problems = r[5].as<std::string>();
  m.reason = r[6].as<std::string>();
  m.created_by = r[7].as<std::string>();
  m.created_at = r[8].as<double>();
  m.updated_at = r[9].as<double>();
  return m;
}

void read_drones(pqxx::transaction_base& tx, mission_row& m) {
  m.drones.clear();
  for (const auto& r : tx.exec("SELECT drone_id, state, coalesce(current_seq, -1), reached::text, reason FROM "
                               "commands.mission_drones WHERE mission_id = " + tx.quote(m.id) + "::uuid ORDER BY drone_id")) {
    mission_drone d;
    d.drone_id = r[0].as<std::string>();
    d.state = r[1].as<std::string>();
    d.current_seq = r[2].as<int>();
    d.reached = r[3].as<std::string>();
    d.reason = r[4].as<std::string>();
    m.drones.push_back(std::move(d));
  }
}

constexpr const char* editable_states = "('draft', 'validated', 'ready', 'completed', 'aborted', 'failed')";

} // namespace

json plan_json(const mission_plan& p) {
  json items = json::array();
  for (auto& i : p.items) {
    json item{{"lat", i.lat}, {"lon", i.lon}, {"alt", i.alt}, {"hold_s", i.hold_s}, {"action", i.action}};
    if (i.speed >= 0)
      item["speed"] = i.speed;
    items.push_back(std::move(item));
  }
  return json{{"items", std::move(items)}, {"final_action", p.final_action}, {"cruise_speed", p.cruise_speed}};
}

void plan_from_json(const json& j, mission_plan& p) {
  p.items.clear();
  for (auto& i : j.at("items")) {
    mission_item item;
    item.lat = i.at("lat").get<double>();
    item.lon = i.at("lon").get<double>();
    item.alt = i.at("alt").get<double>();
    item.speed = i.value("speed", -1.0);
    item.hold_s = i.value("hold_s", 0.0);
    item.action = i.value("action", std::string{"none"});
    p.items.push_back(std::move(item));
  }
  p.final_action = j.value("final_action", std::string{"rtl"});
  p.cruise_speed = j.value("cruise_speed", 10.0);
}

json mission_json(const mission_row& m) {
  auto out = plan_json(m.plan);
  out["id"] = m.id;
  out["name"] = m.plan.name;
  out["group"] = m.plan.group;
  out["state"] = m.state;
  auto problems = json::parse(m.problems, nullptr, false);
  out["problems"] = problems.is_discarded() ? json::array() : problems;
  out["reason"] = m.reason;
  out["created_by"] = m.created_by;
  out["created_at"] = m.created_at;
  out["updated_at"] = m.updated_at;
  out["drones"] = json::array();
  for (auto& d : m.drones) {
    auto reached = json::parse(d.reached, nullptr, false);
    out["drones"].push_back(json{{"drone_id", d.drone_id},
                                 {"state", d.state},
                                 {"current_seq", d.current_seq < 0 ? json(nullptr) : json(d.current_seq)},
                                 {"reached", reached.is_discarded() ? json::array() : reached},
                                 {"reason", d.reason}});
  }
  return out;
}

bool mission_editable(const std::string& state) {
  return state != "uploading" && state != "active" && state != "paused";
}

mission_row mission_store::create(const mission_row& m) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto row = tx.exec1("INSERT INTO commands.missions (id, name, drone_group, plan, state, problems, created_by) VALUES "
                        "(gen_random_uuid(), " + tx.quote(m.plan.name) + ", " + tx.quote(m.plan.group) + ", "
                        + tx.quote(plan_json(m.plan).dump()) + "::jsonb, " + tx.quote(m.state) + ", "
                        + tx.quote(m.problems) + "::jsonb, " + tx.quote(m.created_by) + ") RETURNING " + columns);
    tx.commit();
    return read_row(row);
  });
}

std::optional<mission_row> mission_store::find(const std::string& id) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<mission_row> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec("SELECT " + std::string{columns} + " FROM commands.missions WHERE id = " + tx.quote(id) + "::uuid");
    if (rows.empty())
      return std::nullopt;
    auto m = read_row(rows[0]);
    read_drones(tx, m);
    return m;
  });
}

std::vector<mission_row> mission_store::list(const auth::scope& scope, const std::string& group, const std::string& state,
                                             std::size_t limit, const std::string& before) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::string sql = "SELECT " + std::string{columns} + " FROM commands.missions WHERE "
                      + (scope.all ? std::string{"true"}
                                   : "drone_group = ANY(" + tx.quote(runtime::pg_text_array(scope.groups)) + "::text[])");
    if (!group.empty())
      sql += " AND drone_group = " + tx.quote(group);
    if (!state.empty())
      sql += " AND state = " + tx.quote(state);
    if (!before.empty())
      sql += " AND (created_at, id) < (SELECT created_at, id FROM commands.missions WHERE id = " + tx.quote(before) + "::uuid)";
    sql += " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(limit);
    std::vector<mission_row> out;
    for (const auto& r : tx.exec(sql)) {
      out.push_back(read_row(r));
      read_drones(tx, out.back());
    }
    return out;
  });
}

std::optional<mission_row> mission_store::update(const mission_row& m, bool& busy) {
  busy = false;
  return link_.run([&](pqxx::connection& conn) -> std::optional<mission_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.missions SET name = " + tx.quote(m.plan.name) + ", drone_group = "
                        + tx.quote(m.plan.group) + ", plan = " + tx.quote(plan_json(m.plan).dump()) + "::jsonb, state = "
                        + tx.quote(m.state) + ", problems = " + tx.quote(m.problems) + "::jsonb, reason = '', "
                        "updated_at = now() WHERE id = " + tx.quote(m.id) + "::uuid AND state IN " + editable_states
                        + " RETURNING " + columns);
    if (rows.empty()) {
      busy = !tx.exec("SELECT 1 FROM commands.missions WHERE id = " + tx.quote(m.id) + "::uuid").empty();
      return std::nullopt;
    }
    auto out = read_row(rows[0]);
    // A changed plan has nothing uploaded: its drones start over.
    tx.exec0("UPDATE commands.mission_drones SET state = 'assigned', current_seq = NULL, reached = '[]', reason = '', "
             "updated_at = now() WHERE mission_id = " + tx.quote(m.id) + "::uuid");
    read_drones(tx, out);
    tx.commit();
    return out;
  });
}

std::optional<mission_row> mission_store::assign(const std::string& id, const std::vector<std::string>& drones, bool& busy) {
  busy = false;
  return link_.run([&](pqxx::connection& conn) -> std::optional<mission_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.missions SET state = CASE WHEN state = 'draft' THEN 'draft' ELSE 'validated' END, "
                        "reason = '', updated_at = now() WHERE id = " + tx.quote(id) + "::uuid AND state IN "
                        + editable_states + " RETURNING " + columns);
    if (rows.empty()) {
      busy = !tx.exec("SELECT 1 FROM commands.missions WHERE id = " + tx.quote(id) + "::uuid").empty();
      return std::nullopt;
    }
    tx.exec0("DELETE FROM commands.mission_drones WHERE mission_id = " + tx.quote(id) + "::uuid");
    for (auto& d : drones)
      tx.exec0("INSERT INTO commands.mission_drones (mission_id, drone_id) VALUES (" + tx.quote(id) + "::uuid, "
               + tx.quote(d) + ")");
    auto out = read_row(rows[0]);
    read_drones(tx, out);
    tx.commit();
    return out;
  });
}

mission_store::removed mission_store::remove(const std::string& id) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto rows = tx.exec("DELETE FROM commands.missions WHERE id = " + tx.quote(id) + "::uuid AND state IN "
                        + std::string{editable_states} + " RETURNING id");
    if (!rows.empty()) {
      tx.commit();
      return removed::done;
    }
    bool exists = !tx.exec("SELECT 1 FROM commands.missions WHERE id = " + tx.quote(id) + "::uuid").empty();
    return exists ? removed::busy : removed::missing;
  });
}

} // namespace dccs::actors
