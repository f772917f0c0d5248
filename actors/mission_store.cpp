#include "actors/mission_store.hpp"
#include "actors/epoch_ms.hpp"

#include <algorithm>

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
  out["created_at"] = epoch_ms(m.created_at);
  out["updated_at"] = epoch_ms(m.updated_at);
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

bool apply_mission_progress(mission_drone& d, const mission_report& r) {
  if (mission_drone_final(d.state) || !(d.state == "active" || d.state == "paused" || d.state == "ready"))
    return false;
  const auto before_state = d.state;
  const auto before_seq = d.current_seq;
  if (r.result == "current" || r.result == "reached") {
    if (d.state == "ready")
      d.state = "active";
    if (r.seq >= 0)
      d.current_seq = static_cast<int>(r.seq);
    if (r.result == "reached" && r.seq >= 0) {
      auto reached = json::parse(d.reached, nullptr, false);
      if (!reached.is_array())
        reached = json::array();
      bool known = std::any_of(reached.begin(), reached.end(),
                               [&](const json& e) { return e.is_object() && e.value("seq", -1) == r.seq; });
      if (!known) {
        reached.push_back(json{{"seq", r.seq}, {"at", epoch_ms(r.at)}});
        d.reached = reached.dump();
        return true;
      }
    }
    return d.state != before_state || d.current_seq != before_seq;
  }
  if (r.result == "completed" || r.result == "aborted" || r.result == "failed") {
    d.state = r.result;
    d.reason = r.reason;
    return true;
  }
  return false;
}

std::optional<mission_row> mission_store::begin_upload(const std::string& id, bool& busy) {
  busy = false;
  return link_.run([&](pqxx::connection& conn) -> std::optional<mission_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.missions SET state = 'uploading', reason = '', updated_at = now() WHERE id = "
                        + tx.quote(id) + "::uuid AND state IN ('validated', 'ready', 'completed', 'aborted', 'failed') "
                        "RETURNING " + columns);
    if (rows.empty()) {
      busy = !tx.exec("SELECT 1 FROM commands.missions WHERE id = " + tx.quote(id) + "::uuid").empty();
      return std::nullopt;
    }
    tx.exec0("UPDATE commands.mission_drones SET state = 'uploading', current_seq = NULL, reached = '[]', reason = '', "
             "updated_at = now() WHERE mission_id = " + tx.quote(id) + "::uuid");
    auto out = read_row(rows[0]);
    read_drones(tx, out);
    tx.commit();
    return out;
  });
}

void mission_store::set_drone(const std::string& id, const std::string& drone, const std::string& state,
                              const std::string& reason) {
  link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec0("UPDATE commands.mission_drones SET state = " + tx.quote(state) + ", reason = " + tx.quote(reason)
             + ", updated_at = now() WHERE mission_id = " + tx.quote(id) + "::uuid AND drone_id = " + tx.quote(drone));
    tx.exec0("UPDATE commands.missions SET updated_at = now() WHERE id = " + tx.quote(id) + "::uuid");
    tx.commit();
  });
}

std::optional<mission_row> mission_store::end_upload(const std::string& id, const std::string& failure) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<mission_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.missions SET state = " + tx.quote(failure.empty() ? "ready" : "validated")
                        + ", reason = " + tx.quote(failure) + ", updated_at = now() WHERE id = " + tx.quote(id)
                        + "::uuid AND state = 'uploading' RETURNING " + columns);
    if (rows.empty())
      return std::nullopt;
    if (!failure.empty())
      tx.exec0("UPDATE commands.mission_drones SET state = 'assigned', updated_at = now() WHERE mission_id = "
               + tx.quote(id) + "::uuid AND state = 'uploading'");
    auto out = read_row(rows[0]);
    read_drones(tx, out);
    tx.commit();
    return out;
  });
}

std::optional<mission_row> mission_store::transition(const std::string& id, const std::vector<std::string>& from,
                                                     const std::string& to, const std::vector<std::string>& drones_from,
                                                     const std::string& drones_to, const std::string& reason) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<mission_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.missions SET state = " + tx.quote(to) + ", reason = " + tx.quote(reason)
                        + ", updated_at = now() WHERE id = " + tx.quote(id) + "::uuid AND state = ANY("
                        + tx.quote(runtime::pg_text_array(from)) + "::text[]) RETURNING " + columns);
    if (rows.empty())
      return std::nullopt;
    tx.exec0("UPDATE commands.mission_drones SET state = " + tx.quote(drones_to) + ", reason = " + tx.quote(reason)
             + ", updated_at = now() WHERE mission_id = " + tx.quote(id) + "::uuid AND state = ANY("
             + tx.quote(runtime::pg_text_array(drones_from)) + "::text[])");
    auto out = read_row(rows[0]);
    read_drones(tx, out);
    tx.commit();
    return out;
  });
}

std::optional<mission_store::progressed> mission_store::progress(const mission_report& r) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<progressed> {
    pqxx::work tx{conn};
    auto rows = tx.exec("SELECT " + std::string{columns} + " FROM commands.missions WHERE id = " + tx.quote(r.mission_id)
                        + "::uuid FOR UPDATE");
    if (rows.empty())
      return std::nullopt;
    progressed out;
    out.mission = read_row(rows[0]);
    read_drones(tx, out.mission);
    auto d = std::find_if(out.mission.drones.begin(), out.mission.drones.end(),
                          [&](const mission_drone& x) { return x.drone_id == r.drone_id; });
    if (d == out.mission.drones.end())
      return std::nullopt;
    out.changed = apply_mission_progress(*d, r);
    if (!out.changed)
      return out;
    tx.exec0("UPDATE commands.mission_drones SET state = " + tx.quote(d->state) + ", current_seq = "
             + (d->current_seq < 0 ? std::string{"NULL"} : std::to_string(d->current_seq)) + ", reached = "
             + tx.quote(d->reached) + "::jsonb, reason = " + tx.quote(d->reason) + ", updated_at = now() WHERE "
             "mission_id = " + tx.quote(r.mission_id) + "::uuid AND drone_id = " + tx.quote(r.drone_id));
    auto& m = out.mission;
    if (m.state == "active" || m.state == "paused" || m.state == "ready") {
      std::vector<std::string> states;
      for (auto& x : m.drones)
        states.push_back(x.state);
      auto next = mission_state_of(states, m.state == "ready" ? "active" : m.state);
      if (next != m.state) {
        if (next == "failed" && r.result == "failed")
          m.reason = "drone '" + r.drone_id + "' failed: " + r.reason;
        m.state = next;
      }
    }
    auto when = tx.exec1("UPDATE commands.missions SET state = " + tx.quote(m.state) + ", reason = " + tx.quote(m.reason)
                         + ", updated_at = now() WHERE id = " + tx.quote(m.id)
                         + "::uuid RETURNING extract(epoch from updated_at) * 1000");
    m.updated_at = when[0].as<double>();
    tx.commit();
    return out;
  });
}

std::vector<std::string> mission_store::sweep_uploads(int stale_s) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    std::vector<std::string> ids;
    for (const auto& r : tx.exec("UPDATE commands.missions SET state = 'validated', reason = 'the upload was "
                                 "interrupted (the node uploading it stopped): upload it again', updated_at = now() "
                                 "WHERE state = 'uploading' AND updated_at < now() - make_interval(secs => "
                                 + std::to_string(stale_s) + ") RETURNING id::text"))
      ids.push_back(r[0].as<std::string>());
    for (auto& id : ids)
      tx.exec0("UPDATE commands.mission_drones SET state = 'assigned', updated_at = now() WHERE mission_id = "
               + tx.quote(id) + "::uuid AND state = 'uploading'");
    tx.commit();
    return ids;
  });
}

std::optional<std::tuple<std::string, std::string, std::string>>
mission_store::issue_blocker(const std::vector<std::string>& drones, const std::string& user, const std::string& kind) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<std::tuple<std::string, std::string, std::string>> {
    pqxx::read_transaction tx{conn};
    auto ids = tx.quote(runtime::pg_text_array(drones)) + "::text[]";
    auto leased = tx.exec("SELECT drone_id, holder FROM commands.control_leases WHERE drone_id = ANY(" + ids
                          + ") AND expires_at > now() AND holder <> " + tx.quote(user) + " ORDER BY drone_id LIMIT 1");
    if (!leased.empty())
      return std::make_tuple(leased[0][0].as<std::string>(), std::string{"controlled_by_other"},
                             "'" + leased[0][1].as<std::string>() + "' controls drone '" + leased[0][0].as<std::string>()
                               + "' (its control lease): only they command it");
    auto open = tx.exec("SELECT drone_id, id::text FROM commands.commands WHERE drone_id = ANY(" + ids + ") AND kind = "
                        + tx.quote(kind) + " AND state IN ('queued', 'sent', 'accepted', 'in_progress') ORDER BY drone_id "
                        "LIMIT 1");
    if (!open.empty())
      return std::make_tuple(open[0][0].as<std::string>(), std::string{"command_in_flight"},
                             "a " + kind + " command to drone '" + open[0][0].as<std::string>() + "' is not final yet: "
                               + open[0][1].as<std::string>());
    return std::nullopt;
  });
}

std::vector<std::tuple<std::string, std::string, std::string>>
mission_store::command_states(const std::vector<std::string>& ids) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    for (const auto& r : tx.exec("SELECT id::text, state, reason FROM commands.commands WHERE id = ANY("
                                 + tx.quote(runtime::pg_text_array(ids)) + "::uuid[])"))
      out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>());
    return out;
  });
}

} // namespace dccs::actors
