#include "actors/registry_store.hpp"

#include <functional>

#include <pqxx/pqxx>

#include "runtime/pg_array.hpp"

namespace dccs::actors {

namespace {

constexpr const char* registry_columns =
  "id, name, model, firmware, home_lat, home_lon, home_alt, metadata::text,"
  " extract(epoch from created_at) * 1000, coalesce(extract(epoch from last_seen) * 1000, 0), group_name,"
  " credential, coalesce(encode(secret_hash, 'hex'), '')";

/// How far back `changes_since` reads before its cursor. A change is stamped when its row is written but seen
/// by others only once it commits; every write to fleet.drones is one short statement, so a change stamped
/// before a reader's snapshot and committed after it lands well within this window (and is read twice at most).
constexpr const char* change_overlap = "interval '10 seconds'";

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

std::vector<registry_row> read_rows(const pqxx::result& rows) {
  std::vector<registry_row> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(read_row(r));
  return out;
}

std::string nullable(const std::optional<double>& v) {
  return v ? pqxx::to_string(*v) : std::string{"NULL"};
}

/// The database's clock at the start of the transaction, in milliseconds.
double clock_ms(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT extract(epoch from now()) * 1000")[0].as<double>();
}

/// Applies `set(tx)` (an SQL SET list) to drone `id` only if it is still in `group`. The row after it, or nothing.
std::optional<registry_row> update_where(runtime::pg_link& link, const std::string& id, const std::string& group,
                                         const std::function<std::string(pqxx::work&)>& set) {
  return link.run([&](pqxx::connection& conn) -> std::optional<registry_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE fleet.drones SET " + set(tx) + " WHERE id = " + tx.quote(id) + " AND group_name = "
                        + tx.quote(group) + " RETURNING " + registry_columns);
    tx.commit();
    if (rows.empty())
      return std::nullopt;
    return read_row(rows[0]);
  });
}

using snapshot_tx = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

} // namespace

registry_store::snapshot registry_store::load() {
  return link_.run([&](pqxx::connection& conn) {
    snapshot_tx tx{conn};
    snapshot s;
    s.as_of_ms = clock_ms(tx);
    s.rows = read_rows(tx.exec(std::string{"SELECT "} + registry_columns + " FROM fleet.drones"));
    tx.commit();
    return s;
  });
}

registry_store::changes registry_store::changes_since(double since_ms) {
  return link_.run([&](pqxx::connection& conn) {
    snapshot_tx tx{conn};
    changes c;
    c.as_of_ms = clock_ms(tx);
    auto since = "to_timestamp(" + pqxx::to_string(since_ms) + " / 1000.0) - " + change_overlap;
    c.changed = read_rows(
      tx.exec(std::string{"SELECT "} + registry_columns + " FROM fleet.drones WHERE updated_at > " + since));
    for (const auto& r : tx.exec("SELECT id, extract(epoch from last_seen) * 1000 FROM fleet.drones WHERE seen_at > "
                                 + since + " AND last_seen IS NOT NULL"))
      c.seen.emplace_back(r[0].as<std::string>(), r[1].as<double>());
    c.count = tx.exec1("SELECT count(*) FROM fleet.drones")[0].as<std::size_t>();
    tx.commit();
    return c;
  });
}

std::vector<std::string> registry_store::ids() {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<std::string> out;
    for (const auto& r : tx.exec("SELECT id FROM fleet.drones"))
      out.push_back(r[0].as<std::string>());
    tx.commit();
    return out;
  });
}

std::optional<registry_row> registry_store::find(const std::string& id) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<registry_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec(std::string{"SELECT "} + registry_columns + " FROM fleet.drones WHERE id = " + tx.quote(id));
    tx.commit();
    if (rows.empty())
      return std::nullopt;
    return read_row(rows[0]);
  });
}

std::vector<registry_row> registry_store::find_many(const std::vector<std::string>& ids) {
  if (ids.empty())
    return {};
  return link_.run([&](pqxx::connection& conn) {
    // One statement, one round trip (no BEGIN/COMMIT): a command's permission check reads its drone's row here.
    pqxx::nontransaction tx{conn};
    auto rows = tx.exec(std::string{"SELECT "} + registry_columns + " FROM fleet.drones WHERE id = ANY("
                        + tx.quote(runtime::pg_text_array(ids)) + "::text[])");
    return read_rows(rows);
  });
}

registry_store::registration registry_store::register_drones(const std::vector<new_drone>& drones) {
  auto insert = [&](std::vector<const new_drone*> batch) {
    return link_.run([&](pqxx::connection& conn) {
      std::vector<std::string> ids, models, firmwares;
      for (const auto* d : batch) {
        ids.push_back(d->id);
        models.push_back(d->model);
        firmwares.push_back(d->firmware);
      }
      pqxx::work tx{conn};
      auto r = tx.exec("INSERT INTO fleet.drones (id, model, firmware, group_name) SELECT u.*, "
                       + tx.quote(default_group_) + " FROM unnest(" + tx.quote(runtime::pg_text_array(ids)) + "::text[], "
                       + tx.quote(runtime::pg_text_array(models)) + "::text[], " + tx.quote(runtime::pg_text_array(firmwares))
                       + "::text[]) AS u ON CONFLICT (id) DO NOTHING RETURNING " + registry_columns);
      tx.commit();
      return read_rows(r);
    });
  };
  registration out;
  if (drones.empty())
    return out;
  std::vector<const new_drone*> all;
  for (const auto& d : drones)
    all.push_back(&d);
  try {
    out.registered = insert(all);
    for (const auto& d : drones)
      out.settled.push_back(d.id);
    return out;
  } catch (const runtime::db_error& e) {
    if (e.code() == runtime::db_errc::unavailable)
      throw;
  }
  // Refused for its content: one drone at a time.
  for (const auto* d : all) {
    try {
      auto rows = insert({d});
      out.registered.insert(out.registered.end(), rows.begin(), rows.end());
    } catch (const runtime::db_error& e) {
      if (e.code() == runtime::db_errc::unavailable)
        break; // the rest wait for the next attempt
      out.refused.emplace_back(d->id, e.what());
    }
    out.settled.push_back(d->id);
  }
  return out;
}

std::optional<registry_row> registry_store::create(const registry_input& in, const std::string& group,
                                                   const std::string& secret_hash_hex) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<registry_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec(
      "INSERT INTO fleet.drones (id, name, model, firmware, home_lat, home_lon, home_alt, metadata, group_name,"
      " credential, secret_hash, credential_changed_at) VALUES ("
      + tx.quote(in.id.value_or("")) + ", " + tx.quote(in.name.value_or("")) + ", " + tx.quote(in.model.value_or(""))
      + ", " + tx.quote(in.firmware.value_or("")) + ", " + nullable(in.home_lat) + ", " + nullable(in.home_lon)
      + ", " + nullable(in.home_alt) + ", " + tx.quote(in.metadata.value_or("{}")) + "::jsonb, " + tx.quote(group)
      + ", 'active', decode(" + tx.quote(secret_hash_hex) + ", 'hex'), now()) ON CONFLICT (id) DO NOTHING RETURNING "
      + registry_columns);
    tx.commit();
    if (rows.empty())
      return std::nullopt;
    return read_row(rows[0]);
  });
}

std::optional<registry_row> registry_store::update(const std::string& id, const std::string& group,
                                                   const registry_input& in) {
  return update_where(link_, id, group, [&](pqxx::work& tx) {
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
      add("home_lat = " + nullable(in.home_lat));
      add("home_lon = " + nullable(in.home_lon));
      add("home_alt = " + nullable(in.home_alt));
    }
    if (in.metadata)
      add("metadata = " + tx.quote(*in.metadata) + "::jsonb");
    return set.empty() ? std::string{"id = id"} : set;
  });
}

std::optional<registry_row> registry_store::set_credential(const std::string& id, const std::string& group,
                                                           const std::optional<std::string>& secret_hash_hex) {
  return update_where(link_, id, group, [&](pqxx::work& tx) {
    return std::string{"credential = "} + (secret_hash_hex ? "'active'" : "'revoked'") + ", secret_hash = "
           + (secret_hash_hex ? "decode(" + tx.quote(*secret_hash_hex) + ", 'hex')" : "NULL")
           + ", credential_changed_at = now()";
  });
}

bool registry_store::remove(const std::string& id, const std::string& group) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto r = tx.exec("DELETE FROM fleet.drones WHERE id = " + tx.quote(id) + " AND group_name = " + tx.quote(group));
    tx.commit();
    return r.affected_rows() > 0;
  });
}

void registry_store::record_reported(const std::vector<reported_drone>& drones) {
  if (drones.empty())
    return;
  link_.run([&](pqxx::connection& conn) {
    std::vector<std::string> ids, models, firmwares;
    for (const auto& d : drones) {
      ids.push_back(d.id);
      models.push_back(d.model);
      firmwares.push_back(d.firmware);
    }
    pqxx::work tx{conn};
    tx.exec0("UPDATE fleet.drones d SET model = u.model, firmware = u.firmware FROM unnest("
             + tx.quote(runtime::pg_text_array(ids)) + "::text[], " + tx.quote(runtime::pg_text_array(models)) + "::text[], "
             + tx.quote(runtime::pg_text_array(firmwares)) + "::text[]) AS u(id, model, firmware) WHERE d.id = u.id");
    tx.commit();
    return 0;
  });
}

void registry_store::write_seen(const std::vector<std::pair<std::string, double>>& times) {
  if (times.empty())
    return;
  link_.run([&](pqxx::connection& conn) {
    std::vector<std::string> ids;
    std::vector<double> stamps;
    for (auto& [id, t] : times) {
      ids.push_back(id);
      stamps.push_back(t);
    }
    pqxx::work tx{conn};
    tx.exec0("UPDATE fleet.drones d SET last_seen = to_timestamp(s.t / 1000.0) FROM unnest(" + tx.quote(runtime::pg_text_array(ids))
             + "::text[], " + tx.quote(runtime::pg_number_array(stamps))
             + "::float8[]) AS s(id, t) WHERE d.id = s.id AND (d.last_seen IS NULL OR d.last_seen < to_timestamp(s.t / 1000.0))");
    tx.commit();
    return 0;
  });
}

} // namespace dccs::actors
