#include "actors/command_store.hpp"

#include <algorithm>

#include <pqxx/pqxx>

namespace dccs::actors {

namespace {

constexpr const char* columns =
  "id::text, drone_id, drone_group, kind, params::text, state, attempt, coalesce(progress, -1), reason, issued_by,"
  " extract(epoch from created_at) * 1000, extract(epoch from updated_at) * 1000,"
  " extract(epoch from expires_at) * 1000";

constexpr const char* open_states = "('queued', 'sent', 'accepted', 'in_progress')";

/// A command from `columns`, starting at column `at` of the row.
command read_command(const pqxx::row& r, pqxx::row::size_type at = 0) {
  command c;
  c.id = r[at + 0].as<std::string>();
  c.drone_id = r[at + 1].as<std::string>();
  c.group = r[at + 2].as<std::string>();
  c.kind = r[at + 3].as<std::string>();
  c.params = r[at + 4].as<std::string>();
  c.state = parse_command_state(r[at + 5].as<std::string>()).value_or(command_state::failed);
  c.attempt = r[at + 6].as<std::uint32_t>();
  c.progress = r[at + 7].as<double>();
  c.reason = r[at + 8].as<std::string>();
  c.issued_by = r[at + 9].as<std::string>();
  c.created_at = r[at + 10].as<double>();
  c.updated_at = r[at + 11].as<double>();
  c.expires_at = r[at + 12].as<double>();
  return c;
}

std::vector<command> read_commands(const pqxx::result& rows) {
  std::vector<command> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(read_command(r));
  return out;
}

} // namespace

command_store::issued command_store::issue(const command_request& r) {
  // One round trip: commands.issue (migration commands/0006) takes the drone's lock and does idempotency, the
  // lease, single flight, the insert, its transition and supersession in the one transaction of this statement.
  static const std::string movement = [] {
    std::string list = "{";
    for (auto kind : command_kinds)
      if (is_movement(kind))
        list += std::string{list.size() > 1 ? "," : ""} + kind;
    return list + "}";
  }();
  auto deadline_ms = r.ttl_ms + static_cast<std::int64_t>(policy_.max_attempts) * policy_.retry_ms;
  return link_.run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    auto rows = tx.exec_params("SELECT * FROM commands.issue($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11,"
                               " $12::text[])",
                               r.drone_id, r.group, r.kind, r.params, r.issued_by, r.idempotency_key, r.ttl_ms,
                               deadline_ms, r.lease_ttl_ms, r.system, is_safety(r.kind), movement);
    issued out;
    for (const auto& row : rows) {
      auto role = row[0].as<std::string>();
      if (role == "controlled") {
        out.outcome = issued::controlled;
        out.holder = row[1].as<std::string>();
        break;
      }
      auto cmd = read_command(row, 2);
      if (role == "superseded") {
        out.superseded.push_back(std::move(cmd));
        continue;
      }
      out.outcome = role == "issued"       ? issued::created
                    : role == "repeated"   ? issued::repeated
                    : role == "key_reused" ? issued::key_reused
                                           : issued::in_flight;
      out.cmd = std::move(cmd);
    }
    if (rows.empty())
      throw std::runtime_error("commands.issue returned nothing");
    return out;
  });
}

std::optional<command> command_store::find(const std::string& id) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<command> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec("SELECT " + std::string{columns} + " FROM commands.commands WHERE id = " + tx.quote(id) + "::uuid");
    if (rows.empty())
      return std::nullopt;
    return read_command(rows[0]);
  });
}

std::vector<command> command_store::list(const std::string& drone_id, std::optional<command_state> state,
                                         std::size_t limit, const std::string& before) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::string sql = "SELECT " + std::string{columns} + " FROM commands.commands WHERE drone_id = " + tx.quote(drone_id);
    if (state)
      sql += " AND state = " + tx.quote(to_string(*state));
    if (!before.empty())
      sql += " AND (created_at, id) < (SELECT created_at, id FROM commands.commands WHERE id = " + tx.quote(before)
             + "::uuid)";
    sql += " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(limit);
    return read_commands(tx.exec(sql));
  });
}

// What the owner saw happen, in one statement: the update, fenced and only while the command is open, its transition
// row, and the journal's row as it stands when the report changes nothing.
//   $1 id, $2 owner epoch, $3 state, $4 attempt, $5 progress (negative: unchanged), $6 reason, $7 final (finished_at
//   set), $8 live (the deadline moves with each piece of news from the drone: it is not timed out while it reports),
//   $9 the progress timeout (ms), $10 cause.
// Fenced (docs/cluster.md "Fencing"): a report of an epoch older than one the journal has seen for the command is
// from a former owner, cut off: the row stands. An epoch of 0 is an owner whose claim is not recorded yet (a new
// owner's first steps): taken, not fenced. A command final already (the sweep, a cancel, another owner): the
// journal's word stands.
const std::string record_sql = std::string{
  "WITH changed AS (UPDATE commands.commands c SET owner_epoch = greatest(c.owner_epoch, $2::int8), state = $3::text,"
  " attempt = greatest(c.attempt, $4::int4),"
  " progress = CASE WHEN $5::float8 >= 0 THEN $5::float8 ELSE c.progress END, reason = $6::text, updated_at = now(),"
  " deadline = CASE WHEN $8::bool THEN now() + $9::int8 * interval '1 millisecond' ELSE c.deadline END,"
  " finished_at = CASE WHEN $7::bool THEN now() ELSE c.finished_at END"
  " FROM (SELECT state AS previous FROM commands.commands WHERE id = $1::uuid) o WHERE c.id = $1::uuid"
  " AND c.state IN "} + open_states + " AND ($2::int8 = 0 OR c.owner_epoch <= $2::int8) RETURNING " + columns
  + ", o.previous), "
  "logged AS (INSERT INTO commands.transitions (command_id, state, attempt, cause) SELECT $1::uuid, $3::text,"
  " $4::int4, $10::text FROM changed WHERE changed.previous <> $3::text OR $3::text = 'sent') "
  "SELECT * FROM changed UNION ALL SELECT " + columns + ", NULL FROM commands.commands WHERE id = $1::uuid"
  " AND NOT EXISTS (SELECT 1 FROM changed)";

void command_store::prepare(pqxx::connection& conn) {
  if (prepared_generation_ == link_.generation())
    return;
  conn.prepare("dccs_command_record", record_sql);
  prepared_generation_ = link_.generation();
}

std::optional<command> command_store::record_on(pqxx::transaction_base& tx, const command& c, const std::string& cause) {
  bool final = is_final(c.state);
  bool live = c.state == command_state::accepted || c.state == command_state::in_progress;
  auto rows = tx.exec_prepared("dccs_command_record", c.id, static_cast<std::int64_t>(c.epoch), to_string(c.state),
                               static_cast<std::int64_t>(c.attempt), c.progress >= 0 ? c.progress : -1.0, c.reason,
                               final, live, static_cast<std::int64_t>(policy_.progress_timeout_ms), cause);
  if (rows.empty())
    return std::nullopt;
  return read_command(rows[0]);
}

std::optional<command> command_store::record(const command& c, const std::string& cause) {
  // One statement (one round trip, committed on its own).
  return link_.run([&](pqxx::connection& conn) -> std::optional<command> {
    prepare(conn);
    pqxx::nontransaction tx{conn};
    return record_on(tx, c, cause);
  });
}

std::vector<std::optional<command>> command_store::record_all(const std::vector<report>& reports) {
  return link_.run([&](pqxx::connection& conn) {
    prepare(conn);
    std::vector<std::optional<command>> out;
    out.reserve(reports.size());
    pqxx::work tx{conn};
    // Only `sent` reports (the owner's own word that it wrote the frame, nobody's answer): committed without waiting
    // for the WAL's flush to disk. PostgreSQL crashing within its WAL writer's delay loses them and leaves those
    // commands `queued`; their owner's next report (the drone's ack) moves them on from there, and a new owner sends
    // them again with the same id, which the drone executes once. The drone's answers and every final state wait
    // for the flush, as the issue of a command does.
    if (std::all_of(reports.begin(), reports.end(), [](const report& r) { return r.cmd.state == command_state::sent; }))
      tx.exec0("SET LOCAL synchronous_commit = off");
    for (const auto& r : reports)
      out.push_back(record_on(tx, r.cmd, r.cause));
    tx.commit();
    return out;
  });
}

std::optional<command> command_store::cancel(const std::string& id, const std::string& reason) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<command> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.commands SET state = 'cancelled', reason = " + tx.quote(reason)
                        + ", updated_at = now(), finished_at = now() WHERE id = " + tx.quote(id) + "::uuid AND state IN "
                        + open_states + " RETURNING " + columns);
    if (rows.empty()) {
      auto now = tx.exec("SELECT " + std::string{columns} + " FROM commands.commands WHERE id = " + tx.quote(id) + "::uuid");
      tx.commit();
      if (now.empty())
        return std::nullopt;
      return read_command(now[0]);
    }
    auto c = read_command(rows[0]);
    tx.exec0("INSERT INTO commands.transitions (command_id, state, attempt, cause) VALUES (" + tx.quote(c.id)
             + ", 'cancelled', " + std::to_string(c.attempt) + ", " + tx.quote(reason) + ")");
    tx.commit();
    return c;
  });
}

std::vector<command> command_store::open(const std::string& drone_id) {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return read_commands(tx.exec("SELECT " + std::string{columns} + " FROM commands.commands WHERE drone_id = "
                                 + tx.quote(drone_id) + " AND state IN " + open_states + " ORDER BY created_at"));
  });
}

namespace {

constexpr const char* lease_columns =
  "drone_id, drone_group, holder, extract(epoch from taken_at) * 1000, extract(epoch from expires_at) * 1000";

control_lease read_lease(const pqxx::row& r) {
  return control_lease{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<double>(),
                       r[4].as<double>()};
}

} // namespace

std::optional<control_lease> command_store::lease(const std::string& drone_id) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<control_lease> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec("SELECT " + std::string{lease_columns} + " FROM commands.control_leases WHERE drone_id = "
                        + tx.quote(drone_id) + " AND expires_at > now()");
    if (rows.empty())
      return std::nullopt;
    return read_lease(rows[0]);
  });
}

command_store::leased command_store::take_lease(const std::string& drone_id, const std::string& group,
                                                const std::string& holder, std::int64_t ttl_ms, bool force) {
  return link_.run([&](pqxx::connection& conn) {
    leased out;
    pqxx::work tx{conn};
    tx.exec("SELECT pg_advisory_xact_lock(hashtext('dccs-commands'), hashtext(" + tx.quote(drone_id) + "))");
    auto now = tx.exec("SELECT " + std::string{lease_columns} + " FROM commands.control_leases WHERE drone_id = "
                       + tx.quote(drone_id) + " AND expires_at > now()");
    if (!now.empty()) {
      auto current = read_lease(now[0]);
      if (current.holder != holder) {
        if (!force) {
          out.outcome = leased::held_by_other;
          out.lease = std::move(current);
          tx.commit();
          return out;
        }
        out.previous = current.holder;
      }
    }
    bool renewal = !now.empty() && out.previous.empty();
    auto row = tx.exec1(
      "INSERT INTO commands.control_leases (drone_id, drone_group, holder, taken_at, expires_at) VALUES ("
      + tx.quote(drone_id) + ", " + tx.quote(group) + ", " + tx.quote(holder) + ", now(), now() + interval '"
      + std::to_string(ttl_ms) + " milliseconds') ON CONFLICT (drone_id) DO UPDATE SET drone_group = excluded.drone_group,"
      " holder = excluded.holder, expires_at = excluded.expires_at"
      + std::string{renewal ? "" : ", taken_at = excluded.taken_at"} + " RETURNING " + lease_columns);
    out.lease = read_lease(row);
    tx.commit();
    return out;
  });
}

std::optional<control_lease> command_store::release_lease(const std::string& drone_id, const std::string& holder,
                                                          bool any) {
  return link_.run([&](pqxx::connection& conn) -> std::optional<control_lease> {
    pqxx::work tx{conn};
    auto rows = tx.exec("UPDATE commands.control_leases SET expires_at = now() WHERE drone_id = " + tx.quote(drone_id)
                        + " AND expires_at > now()" + (any ? std::string{} : " AND holder = " + tx.quote(holder))
                        + " RETURNING " + lease_columns);
    tx.commit();
    if (rows.empty())
      return std::nullopt;
    return read_lease(rows[0]);
  });
}

std::vector<command> command_store::sweep() {
  return link_.run([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto rows = tx.exec(
      "UPDATE commands.commands SET state = CASE WHEN state = 'queued' THEN 'expired' ELSE 'timed_out' END,"
      " reason = CASE WHEN state = 'queued' THEN 'not sent before it expired' ELSE 'no answer from the drone in time'"
      " END, updated_at = now(), finished_at = now()"
      " WHERE state IN " + std::string{open_states} + " AND deadline < now()"
      " OR state = 'queued' AND expires_at < now() RETURNING " + columns);
    auto ended = read_commands(rows);
    for (auto& c : ended)
      tx.exec0("INSERT INTO commands.transitions (command_id, state, attempt, cause) VALUES (" + tx.quote(c.id) + ", "
               + tx.quote(to_string(c.state)) + ", " + std::to_string(c.attempt) + ", 'sweep: " + tx.esc(c.reason)
               + "')");
    tx.commit();
    return ended;
  });
}

} // namespace dccs::actors
