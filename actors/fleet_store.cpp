#include "actors/fleet_store.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/drone_json.hpp"
#include "actors/api_errors.hpp"
#include "actors/list_page.hpp"
#include "actors/registry_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/secret.hpp"

namespace dccs::actors {

namespace {

using json = nlohmann::json;

/// A full reload of the registry every this many refreshes (about 5 minutes at the default 10 s): a backstop for a
/// change whose commit took longer than the refresh's overlap, which the refreshes in between would not see.
constexpr unsigned full_reload_every = 30;

/// A hello waiting for its answer: admissions are answered in batches (see flush_admissions).
/// Last-seen times written per statement (and per turn of the actor).
constexpr std::size_t seen_chunk = 500;

struct pending_admission {
  drone_info info;
  std::string secret;
  caf::typed_response_promise<std::uint16_t, std::string> promise;
};

struct fleet_state {
  fleet_state(fleet_settings s, runtime::node_health* health)
    : settings(std::move(s)), link(settings.db, health ? &health->fleet_db : nullptr),
      store(link, settings.default_group), admission(settings.unregistered, settings.default_group),
      redis(settings.redis.endpoint, settings.redis.io_timeout, settings.redis.retry_min, settings.redis.retry_max) {}
  fleet_settings settings;
  runtime::pg_link link;
  registry_store store;
  admission_policy admission;
  runtime::redis_client redis;
  /// The copy of the registry (lists read it; every decision about one drone reads its row fresh). Loaded whole
  /// on each new connection and every full_reload_every refreshes; in between, refreshed from the changes since
  /// `loaded_as_of_ms` (the database's clock at the previous read).
  std::unordered_map<std::string, registry_row> registry;
  std::uint64_t loaded_generation = 0; ///< the connection the copy was loaded on (0: none yet)
  double loaded_as_of_ms = 0;
  bool refresh_due = false;            ///< set by the sweep: the next use of the copy refreshes it first
  unsigned refreshes_since_full = 0;
  std::uint64_t seen_version = 0; ///< the hub's version up to which last-seen times are written
  bool seen_query_out = false;    ///< a changes query to the hub is on its way
  /// Last-seen times still to write, in statements of seen_chunk rows, one per message: a request that arrives
  /// meanwhile (a command's authorize) waits for one chunk, not for a whole fleet's update.
  std::deque<std::vector<std::pair<std::string, double>>> seen_chunks;
  std::uint64_t seen_target = 0;  ///< the hub version the chunks bring seen_version to
  std::int64_t next_sweep_ms = 0; ///< monotonic ms before which a seen_atom is a chunk's turn only
  /// Admitted at hello, not yet in the registry. Inserted in one statement per batch (a fleet of new drones
  /// connecting at once is one INSERT, not one per drone), or once the database is back.
  std::unordered_map<std::string, new_drone> to_register;
  bool register_scheduled = false;
  bool restored = false;
  /// Hellos waiting for their answer, and whether the message that answers them is on its way.
  std::vector<pending_admission> admissions;
  bool admissions_scheduled = false;
  /// The other live members' registries: each change made here is told to them (invalidate_atom), so that their
  /// copies and live views follow within a message's time instead of their next refresh.
  std::vector<fleet_actor> peers;
};

using fleet_state_ptr = std::shared_ptr<fleet_state>;

/// Answers a request whose answer came later (after the hub's): the result, or the refusal.
void settle(caf::typed_response_promise<api_result>& rp, caf::expected<api_result> x) {
  if (x)
    rp.deliver(std::move(*x));
  else
    rp.deliver(std::move(x.error()));
}

} // namespace

fleet_actor::behavior_type fleet_store(fleet_actor::pointer self, fleet_settings s, hub_actor hub,
                                       directory_actor directory, fleet_metrics metrics, runtime::node_health* health) {
  auto st = std::make_shared<fleet_state>(std::move(s), health);
  auto key = [st](const std::string& id) { return st->settings.redis.prefix + id; };
  // Restores, once, the fleet this node knew into the hub, so that a restarted node shows the fleet as it was:
  // Redis states first (newest), then the registry.
  auto restore = [self, st, hub, key, metrics]() {
    if (st->restored)
      return;
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
  };
  // Connects if needed and keeps the copy of the registry current: a full load after every new connection (and
  // as a periodic backstop), otherwise, once the sweep asked for it, only what changed since the last read —
  // rows changed, last-seen times moved, and deletions or inserts found by comparing the number of rows.
  // Throws db_error.
  auto ensure = [st, restore]() {
    bool full = !st->link.connected() || st->loaded_generation != st->link.generation()
                || (st->refresh_due && st->refreshes_since_full + 1 >= full_reload_every);
    if (full) {
      auto snap = st->store.load();
      st->registry.clear();
      for (auto& row : snap.rows)
        st->registry[row.id] = std::move(row);
      st->loaded_generation = st->link.generation();
      st->loaded_as_of_ms = snap.as_of_ms;
      st->refresh_due = false;
      st->refreshes_since_full = 0;
      restore();
      return;
    }
    if (!st->refresh_due)
      return;
    auto changes = st->store.changes_since(st->loaded_as_of_ms);
    for (auto& row : changes.changed)
      st->registry[row.id] = std::move(row);
    for (auto& [id, t] : changes.seen) {
      auto i = st->registry.find(id);
      if (i != st->registry.end() && i->second.last_seen_ms < t) {
        i->second.last_seen_ms = t;
        i->second.json.clear();
      }
    }
    if (changes.count != st->registry.size()) {
      // A row deleted (or one this copy never got): reconcile the ids, and read the rows that are missing here.
      auto ids = st->store.ids();
      std::unordered_set<std::string> present(ids.begin(), ids.end());
      for (auto i = st->registry.begin(); i != st->registry.end();)
        i = present.count(i->first) ? std::next(i) : st->registry.erase(i);
      std::vector<std::string> missing;
      for (auto& id : ids)
        if (!st->registry.count(id))
          missing.push_back(id);
      for (auto& row : st->store.find_many(missing))
        st->registry[row.id] = std::move(row);
    }
    st->loaded_as_of_ms = changes.as_of_ms;
    st->refresh_due = false;
    ++st->refreshes_since_full;
  };
  // The registry rows of drones, read fresh from the database (another node may have changed their group or their
  // credential, or removed them), and kept in the copy. Every decision about a drone (admission, permissions,
  // changes) goes through here; only lists use the copy. Throws db_error.
  auto lookup_many = [st, ensure](const std::vector<std::string>& ids) {
    ensure();
    auto rows = st->store.find_many(ids);
    std::unordered_set<std::string> found;
    for (auto& row : rows) {
      found.insert(row.id);
      st->registry[row.id] = std::move(row);
    }
    for (auto& id : ids)
      if (!found.count(id))
        st->registry.erase(id);
  };
  auto lookup = [st, lookup_many](const std::string& id) -> const registry_row* {
    lookup_many({id});
    auto i = st->registry.find(id);
    return i == st->registry.end() ? nullptr : &i->second;
  };
  // The drone's row, read fresh, without refreshing the whole copy first (a command's authorize must not wait for
  // the copy's refresh: the row it decides on is read anyway).
  auto lookup_row = [st, ensure](const std::string& id) -> const registry_row* {
    if (st->loaded_generation == 0)
      ensure(); // the first use loads the copy
    auto rows = st->store.find_many({id});
    if (rows.empty()) {
      st->registry.erase(id);
      return nullptr;
    }
    auto& slot = st->registry[id];
    slot = std::move(rows.front());
    return &slot;
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
  // A drone's state as JSON; a drone that said hello without its model or firmware shows its registry entry's, so
  // that one answer never contradicts itself ("model":"" beside "registry":{"model":"X4"}).
  auto append_state = [](std::string& obj, const drone_state& ds, const registry_row* row) {
    if (row == nullptr || !((ds.info.model.empty() && !row->model.empty()) || (ds.info.fw.empty() && !row->firmware.empty())))
      return append_drone_json(obj, ds);
    auto filled = ds;
    if (filled.info.model.empty())
      filled.info.model = row->model;
    if (filled.info.fw.empty())
      filled.info.fw = row->firmware;
    append_drone_json(obj, filled);
  };
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
  // unavailable. A drone the database refuses is skipped (logged, counted, tried again at its next hello); the
  // others are registered.
  auto register_pending = [st, ensure, metrics]() {
    st->register_scheduled = false;
    if (st->to_register.empty())
      return;
    std::vector<new_drone> all;
    all.reserve(st->to_register.size());
    for (const auto& d : st->to_register)
      all.push_back(d.second);
    registry_store::registration done;
    try {
      ensure();
      done = st->store.register_drones(all);
    } catch (const runtime::db_error& e) {
      runtime::log::warn("fleet", "registering new drones failed, will retry",
                         {{"drones", st->to_register.size()}, {"error", e.what()}});
      return;
    }
    for (auto& row : done.registered) {
      runtime::log::info("fleet", "drone registered at first hello", {{"drone_id", row.id}});
      st->registry[row.id] = std::move(row);
    }
    if (metrics.registered)
      metrics.registered->inc(done.registered.size());
    for (auto& [id, why] : done.refused)
      runtime::log::warn("fleet", "drone could not be registered, skipped until its next hello",
                         {{"drone_id", id}, {"error", why}});
    if (metrics.register_refused)
      metrics.register_refused->inc(done.refused.size());
    for (auto& id : done.settled)
      st->to_register.erase(id);
  };
  // Writes last-seen times into the registry (only ever forward). False when the database did not take them.
  auto write_seen = [st, ensure](const std::vector<std::pair<std::string, double>>& changed) -> bool {
    if (changed.empty())
      return true;
    try {
      ensure();
      st->store.write_seen(changed);
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
  auto seen_sweep = [self, st, hub]() {
    if (st->seen_query_out || !st->seen_chunks.empty())
      return;
    st->seen_query_out = true;
    self->request(hub, std::chrono::seconds(10), changes_atom::value, st->seen_version)
      .then(
        [self, st](state_list& list) {
          st->seen_query_out = false;
          std::vector<std::pair<std::string, double>> changed;
          for (auto& ds : list.states) {
            if (ds.last_seen <= 0)
              continue;
            if (changed.size() == seen_chunk) {
              st->seen_chunks.push_back(std::move(changed));
              changed.clear();
            }
            changed.emplace_back(ds.info.id, ds.last_seen);
          }
          if (!changed.empty())
            st->seen_chunks.push_back(std::move(changed));
          if (st->seen_chunks.empty()) {
            st->seen_version = list.version;
            return;
          }
          st->seen_target = list.version;
          self->send(self, seen_atom::value); // the first chunk's turn, behind what waits already
        },
        [st](caf::error&) { st->seen_query_out = false; });
  };
  // Writes the next chunk of last-seen times; the version moves on once all are written (none lost on a failure:
  // the next sweep asks for the same changes again).
  auto seen_chunk_turn = [self, st, write_seen]() {
    if (st->seen_chunks.empty())
      return;
    if (!write_seen(st->seen_chunks.front())) {
      st->seen_chunks.clear();
      return;
    }
    st->seen_chunks.pop_front();
    if (st->seen_chunks.empty())
      st->seen_version = st->seen_target;
    else
      self->send(self, seen_atom::value);
  };
  auto not_found = [](const std::string& id) { return drone_not_found(id); };
  // A change checked against the drone's group, which another node changed (or the drone was removed) before it
  // was written: nothing is changed.
  auto changed_meanwhile = [](const std::string& id) {
    return registry_error(errc::conflict, "conflict", "drone '" + id + "' was changed or removed meanwhile: read it and retry");
  };
  // The permission check for a drone of `group` (registry.hpp).
  auto permitted = [](const http_query& q, const std::string& group, auth::permission p) {
    return drone_permission(q, group, p);
  };
  // Tells the other members' registries that drone `id`'s row changed here (registered, changed, moved, deleted, its
  // credential rotated or revoked): each reads it again. A member that misses it (lost meanwhile) catches up at its
  // next refresh, as before.
  auto tell_peers = [self, st](const std::string& id) {
    for (auto& peer : st->peers)
      self->send(peer, invalidate_atom::value, id);
  };
  // An audit row, written by the auth service (the audit log lives in the auth database).
  auto audit = [st](const http_query& q, const char* action, const std::string& drone, const char* outcome,
                    const json& detail) {
    if (st->settings.auditor)
      caf::anon_send(st->settings.auditor, audit_atom::value, q.who.name.empty() ? std::string{"anonymous"} : q.who.name,
                     std::string{action}, drone, q.address, std::string{outcome}, detail.dump());
  };
  // The registry row of q.id, fresh, when the caller may manage it; otherwise the answer they get. Throws db_error.
  auto managed = [=](const http_query& q, const registry_row*& current) -> std::optional<caf::error> {
    current = lookup(q.id);
    if (current == nullptr)
      return not_found(q.id);
    return permitted(q, current->group, auth::permission::manage_drones);
  };
  // Issues a new secret (rotate) or revokes the credential; either way the drone's live connection closes.
  auto set_credential = [=](http_query& q, bool rotate) -> caf::result<api_result> {
    try {
      const registry_row* current = nullptr;
      if (auto refused = managed(q, current))
        return *refused;
      std::string secret = rotate ? runtime::random_token(32) : std::string{};
      auto row = st->store.set_credential(q.id, current->group,
                                          rotate ? std::optional<std::string>{runtime::sha256_hex(secret)} : std::nullopt);
      if (!row)
        return changed_meanwhile(q.id);
      st->registry[q.id] = std::move(*row);
      tell_peers(q.id);
      self->send(directory, kick_atom::value, q.id, std::uint16_t{4001},
                 std::string{rotate ? "drone credential rotated" : "drone credential revoked"});
      runtime::log::info("fleet", rotate ? "drone credential rotated" : "drone credential revoked",
                         {{"drone_id", q.id}, {"by", q.who.name}});
      audit(q, rotate ? "credential_rotated" : "credential_revoked", q.id, "ok", json::object());
      if (!rotate)
        return done_result();
      return json_result(json{{"id", q.id}, {"credential", "active"}, {"secret", secret}}.dump());
    } catch (const runtime::db_error& e) {
      return db_failure(e);
    }
  };
  // GET /api/v1/drones, once the hub answered with the live states of the page (`live`: the first
  // page.limit + 1 live drones after the cursor that the caller may see, in id order).
  auto list_answer = [=](const http_query& q, const list_page& page, std::vector<drone_state>& live_states)
    -> api_result {
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
          append_state(obj, *live, row);
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
          append_state(obj, ds, row);
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
      return json_result(std::move(out));
    };
  // GET /api/v1/drones/{id}, once the hub answered with the drone's live state (null: not live here).
  auto get_answer = [=](const http_query& q, const drone_state* live) -> caf::expected<api_result> {
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
          append_state(obj, *live, row);
        } else {
          auto copy = *live;
          copy.info.group = row->group;
          append_state(obj, copy, row);
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
          append_state(obj, ds, row);
        } else {
          append_state(obj, placeholder(*row), row);
        }
      }
      annotate(obj, row);
      return json_result(std::move(obj));
    };
  // Answers every hello waiting (st->admissions) with one query for all their rows: under a reconnect storm the
  // hellos that queued up while the previous batch was read are answered together, so the database round trips
  // grow with the number of batches, not with the number of drones. Each row is still read fresh.
  auto flush_admissions = [=]() {
    st->admissions_scheduled = false;
    // At most settings.admission_batch hellos per query (a bounded statement and a bounded wait for the first of them);
    // the rest are answered by the next message, queued behind whatever arrived meanwhile.
    std::vector<pending_admission> batch;
    const auto max_batch = std::max<std::size_t>(1, st->settings.admission_batch);
    if (st->admissions.size() <= max_batch) {
      batch = std::move(st->admissions);
      st->admissions.clear();
    } else {
      auto cut = st->admissions.begin() + static_cast<std::ptrdiff_t>(max_batch);
      batch.assign(std::make_move_iterator(st->admissions.begin()), std::make_move_iterator(cut));
      st->admissions.erase(st->admissions.begin(), cut);
      st->admissions_scheduled = true;
      self->send(self, admit_atom::value);
    }
    std::vector<std::string> ids;
    std::unordered_set<std::string> asked;
    for (auto& a : batch)
      if (asked.insert(a.info.id).second)
        ids.push_back(a.info.id);
    bool db_up = true;
    try {
      lookup_many(ids);
    } catch (const runtime::db_error&) {
      db_up = false; // decided on the last known copy: see admission_policy::decide
    }
    std::map<std::string, reported_drone> reported;
    for (auto& a : batch) {
      const auto& info = a.info;
      auto i = st->registry.find(info.id);
      const registry_row* row = i == st->registry.end() ? nullptr : &i->second;
      auto verdict = st->admission.decide(row, a.secret, db_up, st->to_register.count(info.id) > 0);
      switch (verdict.what) {
        case admission_verdict::kind::refuse:
          if (metrics.refused)
            metrics.refused->inc();
          // The log says why; the drone only hears "authentication failed" (it must not learn which part was wrong).
          runtime::log::warn("fleet", "drone refused at hello", {{"drone_id", info.id}, {"reason", verdict.reason}});
          break;
        case admission_verdict::kind::register_then_admit:
          // Registered with the next batch (at once, after the admissions already queued).
          st->to_register.emplace(info.id, new_drone{info.id, info.model, info.fw});
          if (!st->register_scheduled) {
            st->register_scheduled = true;
            self->send(self, register_atom::value);
          }
          break;
        case admission_verdict::kind::admit:
          // Keep model and firmware as the drone reports them.
          if (db_up && row != nullptr
              && ((!info.model.empty() && info.model != row->model) || (!info.fw.empty() && info.fw != row->firmware)))
            reported[info.id] = reported_drone{info.id, info.model.empty() ? row->model : info.model,
                                               info.fw.empty() ? row->firmware : info.fw};
          break;
        default: break;
      }
      a.promise.deliver(verdict.code(), std::move(verdict.group));
    }
    if (reported.empty())
      return;
    std::vector<reported_drone> changed;
    for (auto& [id, d] : reported)
      changed.push_back(std::move(d));
    try {
      st->store.record_reported(changed);
      for (auto& d : changed) {
        auto i = st->registry.find(d.id);
        if (i == st->registry.end())
          continue;
        i->second.model = d.model;
        i->second.firmware = d.firmware;
        i->second.json.clear();
      }
    } catch (const runtime::db_error& e) {
      runtime::log::warn("fleet", "registry update at hello failed", {{"drones", changed.size()}, {"error", e.what()}});
    }
  };
  self->send(self, seen_atom::value);
  return {
    [=](seen_atom) {
      // A chunk of last-seen times, then (on the timer) the sweep itself.
      seen_chunk_turn();
      auto now = runtime::mono_ms();
      if (now < st->next_sweep_ms)
        return; // a chunk's turn only
      st->next_sweep_ms = now + st->settings.seen_interval_ms - 1;
      // With nothing to write, the connection is still checked, so that /readyz tells the truth about the
      // registry's database from the start and while the node is idle.
      st->link.probe();
      if (!st->restored) {
        // The fleet this node knew shows in its live view from the start, not from the first request that reads
        // the registry.
        try {
          ensure();
        } catch (const runtime::db_error&) {
          // retried at the next sweep; /readyz shows the registry's database down meanwhile
        }
      }
      register_pending();
      seen_sweep();
      st->refresh_due = true; // the next use of the copy reads what other nodes changed meanwhile
      self->delayed_send(self, std::chrono::milliseconds(st->settings.seen_interval_ms), seen_atom::value);
    },
    [=](admit_atom, drone_info& info, std::string& secret) -> caf::result<std::uint16_t, std::string> {
      // Answered with the hellos waiting behind it, in one query (flush_admissions).
      auto promise = self->make_response_promise<std::uint16_t, std::string>();
      st->admissions.push_back(pending_admission{std::move(info), std::move(secret), promise});
      if (!st->admissions_scheduled) {
        st->admissions_scheduled = true;
        self->send(self, admit_atom::value);
      }
      return promise;
    },
    [=](admit_atom) { flush_admissions(); },
    [=](register_atom) { register_pending(); },
    [=](list_atom, http_query& q) -> caf::result<api_result> {
      list_page page;
      if (auto bad = parse_list_page(q.query, page))
        return api_error(errc::invalid_request, "invalid_parameter", bad->second, "parameter", bad->first);
      subscription sub;
      sub.scope = auth::read_scope(q.who);
      auto rp = self->make_response_promise<api_result>();
      self->request(hub, std::chrono::seconds(5), states_atom::value, sub, std::uint64_t{page.limit + 1}, page.after)
        .then([=](state_list& live) mutable { rp.deliver(list_answer(q, page, live.states)); },
              [=](caf::error&) mutable {
                std::vector<drone_state> none; // the live view did not answer: the registry alone
                rp.deliver(list_answer(q, page, none));
              });
      return rp;
    },
    [=](get_atom, http_query& q) -> caf::result<api_result> {
      auto rp = self->make_response_promise<api_result>();
      self->request(hub, std::chrono::seconds(5), get_atom::value, q.id)
        .then([=](drone_state& live) mutable { settle(rp, get_answer(q, &live)); },
              [=](caf::error&) mutable { settle(rp, get_answer(q, nullptr)); });
      return rp;
    },
    [=](authorize_atom, http_query& q) -> caf::result<api_result> {
      // May the caller read this drone (its history)? An empty result, or the refusal the request gets instead.
      const registry_row* row = nullptr;
      try {
        row = lookup_row(q.id);
      } catch (const runtime::db_error& e) {
        auto i = st->registry.find(q.id);
        if (i == st->registry.end())
          return db_failure(e);
        row = &i->second;
      }
      // q.kind "command": may the caller command it (the command routes)? Otherwise: may they read it.
      bool command = q.kind == "command";
      if (row == nullptr) // not (or no longer) registered: its history stays readable by those who see every group
        return auth::read_scope(q.who).all && !command ? caf::result<api_result>{json_result("{}")}
                                                       : caf::result<api_result>{not_found(q.id)};
      if (auto refused = permitted(q, row->group, command ? auth::permission::command : auth::permission::read_drones))
        return *refused;
      return json_result(json{{"group", row->group}}.dump());
    },
    [=](create_atom, http_query& q) -> caf::result<api_result> {
      registry_input in;
      if (auto err = parse_input(q.body, true, in))
        return *err;
      auto group = in.group.value_or(st->settings.default_group);
      if (!auth::allows(q.who, auth::permission::manage_drones, group))
        return registry_error(errc::forbidden, "forbidden", "you may not register drones in group '" + group + "'", "group");
      auto secret = runtime::random_token(32);
      try {
        ensure();
        auto row = st->store.create(in, group, runtime::sha256_hex(secret));
        if (!row) {
          audit(q, "drone_registered", *in.id, "refused", {{"reason", "conflict"}});
          return registry_error(errc::conflict, "conflict", "a drone with id '" + *in.id + "' is already registered", "id");
        }
        auto body = registry_json(*row);
        body["secret"] = secret; // shown once: only its hash is kept
        st->registry[row->id] = std::move(*row);
        tell_peers(*in.id);
        runtime::log::info("fleet", "drone registered", {{"drone_id", *in.id}, {"group", group}, {"by", q.who.name}});
        audit(q, "drone_registered", *in.id, "ok", {{"group", group}});
        return json_result(body.dump(), api_outcome::created);
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](patch_atom, http_query& q) -> caf::result<api_result> {
      registry_input in;
      if (auto err = parse_input(q.body, false, in))
        return *err;
      try {
        const registry_row* current = nullptr;
        if (auto refused = managed(q, current))
          return *refused;
        auto old_group = current->group;
        if (in.group && *in.group != old_group && !auth::allows(q.who, auth::permission::manage_drones, *in.group))
          return registry_error(errc::forbidden, "forbidden", "you may not move drones into group '" + *in.group + "'", "group");
        auto row = st->store.update(q.id, old_group, in);
        if (!row)
          return changed_meanwhile(q.id);
        auto body = registry_json(*row).dump();
        bool moved = row->group != old_group;
        st->registry[row->id] = std::move(*row);
        tell_peers(q.id);
        if (moved) {
          // The live view follows at once: the drone's actor (or the hub's copy) takes the new group.
          self->send(directory, regroup_atom::value, q.id, *in.group);
          audit(q, "drone_changed", q.id, "ok", {{"group", *in.group}, {"previous_group", old_group}});
        }
        return json_result(std::move(body));
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](delete_atom, http_query& q) -> caf::result<api_result> {
      try {
        const registry_row* current = nullptr;
        if (auto refused = managed(q, current))
          return *refused;
        auto deleted = st->store.remove(q.id, current->group);
        if (!deleted)
          return changed_meanwhile(q.id);
        st->registry.erase(q.id);
        tell_peers(q.id);
        self->send(hub, remove_atom::value, q.id);
        if (st->settings.redis.enabled && st->redis.ensure_connected()) {
          try {
            st->redis.command({"DEL", key(q.id)});
          } catch (const runtime::redis_error&) {
          }
        }
        if (st->settings.unregistered == unregistered_policy::refuse)
          // Its live connection is no longer allowed: its actor closes it and takes the drone out of every live
          // view (after its last state, which would otherwise bring it back there).
          self->send(directory, delete_atom::value, q.id);
        runtime::log::info("fleet", "drone removed from the registry", {{"drone_id", q.id}, {"by", q.who.name}});
        audit(q, "drone_deleted", q.id, "ok", json::object());
        return done_result();
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](view_atom, cluster_view& v) {
      st->peers.clear();
      for (auto& p : v.peers)
        if (p.fleet != nullptr)
          st->peers.push_back(std::move(p.fleet));
    },
    [=](invalidate_atom, std::string& id) {
      // Another member changed drone `id` in the registry: its row is read again, so that this node's lists show
      // the change now (admission and details read rows fresh anyway). A drone deleted there leaves this node's
      // live view too, as it left that member's.
      try {
        lookup_many({id});
      } catch (const runtime::db_error&) {
        st->refresh_due = true; // the next use of the copy reads what changed
        return;
      }
      if (st->registry.count(id) == 0)
        self->send(hub, remove_atom::value, id);
    },
    [=](rotate_atom, http_query& q) -> caf::result<api_result> {
      // POST /api/v1/drones/{id}/secret: a new secret (the old one stops working; the live connection closes).
      return set_credential(q, true);
    },
    [=](revoke_atom, http_query& q) -> caf::result<api_result> {
      // DELETE /api/v1/drones/{id}/secret: no secret works any more; the live connection closes.
      return set_credential(q, false);
    },
  };
}

} // namespace dccs::actors
