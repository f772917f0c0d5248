// Geofences and alarms (docs/protocol.md "Geofences" and "Alarms"): one detached actor per node with the commands
// role's database. It answers the routes, keeps the geofences in memory for the node's drone actors (reloaded when
// their version moves, whichever member changed them), stores the alarms the node raises and pushes them to the
// operators who see the drone, and commands a drone whose geofence says so (through the journal, as `system`).

#include "actors/actors.hpp"
#include "actors/epoch_ms.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/api_errors.hpp"
#include "actors/command_model.hpp"
#include "actors/list_page.hpp"
#include "actors/safety_model.hpp"
#include "actors/safety_store.hpp"
#include "runtime/log.hpp"
#include "runtime/query_text.hpp"
#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;

struct safety_state {
  explicit safety_state(safety_settings s) : settings(std::move(s)), link(settings.db), store(link) {}
  safety_settings settings;
  runtime::pg_link link;
  safety_store store;
  std::uint64_t version = 0; ///< of the geofences in `by_group` (0: not loaded yet)
  std::unordered_map<std::string, std::vector<geofence>> by_group;
  std::deque<alarm_event> pending; ///< events the database could not take yet, oldest first (bounded)
};

json fence_json(const geofence& f) {
  return json{{"id", f.id},
              {"name", f.name},
              {"group", f.group},
              {"kind", f.inclusion ? "inclusion" : "exclusion"},
              {"polygon", polygon_json(f.ring)},
              {"floor", f.has_floor ? json(f.floor) : json(nullptr)},
              {"ceiling", f.has_ceiling ? json(f.ceiling) : json(nullptr)},
              {"action", f.action},
              {"created_by", f.created_by},
              {"created_at", epoch_ms(f.created_at)},
              {"updated_at", epoch_ms(f.updated_at)}};
}

json alarm_json(const alarm& a) {
  auto when = [](double t) { return t > 0 ? json(epoch_ms(t)) : json(nullptr); };
  auto who = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  auto detail = json::parse(a.detail, nullptr, false);
  return json{{"id", a.id},
              {"drone_id", a.drone_id},
              {"group", a.group},
              {"kind", a.kind},
              {"severity", a.severity},
              {"state", a.state},
              {"message", a.message},
              {"detail", detail.is_discarded() ? json::object() : detail},
              {"count", a.count},
              {"raised_at", epoch_ms(a.raised_at)},
              {"updated_at", epoch_ms(a.updated_at)},
              {"acknowledged_by", who(a.acknowledged_by)},
              {"acknowledged_at", when(a.acknowledged_at)},
              {"cleared_by", who(a.cleared_by)},
              {"cleared_at", when(a.cleared_at)}};
}

caf::error invalid(const std::string& field, const std::string& message) {
  return api_error(errc::invalid_request, field.empty() ? "malformed" : "invalid_field", message,
                   field.empty() ? "" : "field", field);
}

caf::error bad_parameter(const std::string& name, const std::string& message) {
  return api_error(errc::invalid_request, "invalid_parameter", message, "parameter", name);
}

caf::error not_found(const char* what, const std::string& id) {
  return api_error(errc::not_found, "not_found", std::string{"no "} + what + " '" + runtime::printable(id, 64) + "'");
}

caf::error forbidden(const http_query& q, const std::string& what) {
  return api_error(errc::forbidden, "forbidden", "role '" + q.who.role + "' may not " + what);
}

} // namespace

safety_actor::behavior_type safety_service(safety_actor::pointer self, safety_settings s) {
  auto st = std::make_shared<safety_state>(std::move(s));
  auto audit = [st](const http_query& q, const char* action, const std::string& drone, const json& detail) {
    if (st->settings.auditor)
      caf::anon_send(st->settings.auditor, audit_atom::value, q.who.name, std::string{action}, drone, q.address,
                     std::string{"ok"}, detail.dump());
  };
  // An alarm's news for the operators who see its drone (the hub sends it on to the other members' hubs).
  auto publish = [self, st](const alarm& a) {
    if (st->settings.hub == nullptr)
      return;
    auto frame = alarm_json(a);
    frame["type"] = "alarm";
    self->send(st->settings.hub, control_atom::value, a.drone_id, a.group, "alarm:" + a.id, frame.dump());
  };
  // Reads every geofence when their version moved; tells the drone actors here. Throws db_error.
  auto reload = [self, st](bool force) {
    auto version = st->store.geofence_version();
    if (!force && version == st->version)
      return;
    std::unordered_map<std::string, std::vector<geofence>> by_group;
    for (auto& f : st->store.geofences())
      by_group[f.group].push_back(std::move(f));
    st->by_group = std::move(by_group);
    st->version = version;
    if (st->settings.directory != nullptr)
      self->send(st->settings.directory, geofence_atom::value, version);
  };
  // Stores one event of the node's own (raise, or clear when its condition ended). Throws db_error.
  auto store_event = [st, publish](const alarm_event& e) {
    if (e.raise) {
      auto r = st->store.raise(e);
      if (r.is_new && st->settings.raised)
        st->settings.raised->inc();
      publish(r.row);
      if (r.is_new)
        runtime::log::info("alarms", "alarm raised",
                           {{"drone_id", e.drone_id}, {"kind", e.kind}, {"severity", e.severity}});
    } else if (auto cleared = st->store.clear_open(e.drone_id, e.kind, "system")) {
      publish(*cleared);
    }
  };
  auto keep = [st](alarm_event e) {
    if (st->pending.size() >= st->settings.max_pending) {
      st->pending.pop_front();
      if (st->settings.pending_dropped)
        st->settings.pending_dropped->inc();
    }
    st->pending.push_back(std::move(e));
  };
  auto geofences_route = [=](http_query& q) -> caf::result<api_result> {
    try {
      if (q.id.empty() && (q.method == "GET" || q.method == "HEAD")) {
        auto lq = read_list_query(q.query, "after", "a geofence id", {"group"});
        auto list = st->store.geofences(auth::read_scope(q.who), lq.filters["group"], lq.limit + 1, lq.cursor);
        return json_result(
          page_json(list, lq.limit, "geofences", fence_json, [](const geofence& f) { return f.id; }).dump());
      }
      if (q.id.empty() && q.method == "POST") {
        auto body = json::parse(q.body, nullptr, false);
        if (body.is_discarded())
          return invalid("", "the body must be a JSON object");
        geofence f;
        if (auto p = parse_geofence(body, f))
          return invalid(p->first, p->second);
        if (!auth::allows(q.who, auth::permission::command, f.group))
          return forbidden(q, "manage the geofences of group '" + f.group + "'");
        f.created_by = q.who.name;
        auto made = st->store.geofence_create(f, max_fences_per_group);
        if (!made)
          return api_error(errc::conflict, "limit_reached",
                           "group '" + f.group + "' has " + std::to_string(max_fences_per_group) + " geofences already");
        reload(false);
        audit(q, "geofence_created", "", {{"geofence_id", made->id}, {"name", made->name}, {"group", made->group}});
        return json_result(fence_json(*made).dump(), api_outcome::created);
      }
      if (q.id.empty())
        return api_error(errc::invalid_request, "method_not_allowed", "use GET or POST on /api/v1/geofences");
      // One geofence: GET, PATCH, DELETE.
      auto found = valid_command_id(q.id) ? st->store.geofence_find(q.id) : std::nullopt;
      if (!found || !auth::allows(q.who, auth::permission::read_drones, found->group))
        return not_found("geofence", q.id);
      if (q.method == "GET" || q.method == "HEAD")
        return json_result(fence_json(*found).dump());
      if (!auth::allows(q.who, auth::permission::command, found->group))
        return forbidden(q, "manage the geofences of group '" + found->group + "'");
      if (q.method == "DELETE") {
        if (!st->store.geofence_delete(q.id))
          return not_found("geofence", q.id);
        reload(false);
        audit(q, "geofence_deleted", "", {{"geofence_id", q.id}, {"name", found->name}, {"group", found->group}});
        return done_result();
      }
      // PATCH: the fields given replace the stored ones; the whole fence is checked again.
      auto patch = json::parse(q.body, nullptr, false);
      if (patch.is_discarded() || !patch.is_object())
        return invalid("", "the body must be a JSON object");
      auto merged = fence_json(*found);
      for (auto key : {"id", "created_by", "created_at", "updated_at"})
        merged.erase(key);
      for (auto& [key, value] : patch.items())
        merged[key] = value;
      geofence f = *found;
      if (auto p = parse_geofence(merged, f))
        return invalid(p->first, p->second);
      if (!auth::allows(q.who, auth::permission::command, f.group))
        return forbidden(q, "manage the geofences of group '" + f.group + "'");
      bool full = false;
      auto after = st->store.geofence_update(f, max_fences_per_group, full);
      if (full)
        return api_error(errc::conflict, "limit_reached",
                         "group '" + f.group + "' has " + std::to_string(max_fences_per_group) + " geofences already");
      if (!after)
        return not_found("geofence", q.id);
      reload(false);
      audit(q, "geofence_changed", "", {{"geofence_id", after->id}, {"changes", patch}});
      return json_result(fence_json(*after).dump());
    } catch (const runtime::db_error& e) {
      return db_failure(e);
    } catch (const runtime::parameter_error& e) {
      return bad_parameter(e.parameter, e.what());
    }
  };
  auto alarms_route = [=](http_query& q) -> caf::result<api_result> {
    try {
      if (q.id.empty()) {
        safety_store::filter f;
        auto lq = read_list_query(q.query, "before", "an alarm id", {"state", "drone", "kind", "group"});
        for (auto& [name, value] : lq.filters) {
          if (name == "state") {
            if (value != "open" && !valid_alarm_state(value))
              return bad_parameter("state", "state must be one of open, active, acknowledged, cleared");
            f.state = value;
          } else if (name == "drone") {
            if (!valid_drone_id(value))
              return bad_parameter("drone", "drone must be a drone id");
            f.drone_id = value;
          } else if (name == "kind") {
            if (!valid_alarm_kind(value))
              return bad_parameter("kind", "kind must be one of low_battery, link_lost, geofence_breach, "
                                           "command_failed, command_timed_out, mission_failed");
            f.kind = value;
          } else {
            f.group = value;
          }
        }
        f.before = lq.cursor;
        f.limit = lq.limit + 1;
        auto list = st->store.list(auth::read_scope(q.who), f);
        return json_result(page_json(list, lq.limit, "alarms", alarm_json, [](const alarm& a) { return a.id; }).dump());
      }
      auto found = valid_command_id(q.id) ? st->store.find(q.id) : std::nullopt;
      if (!found || !auth::allows(q.who, auth::permission::read_drones, found->group))
        return not_found("alarm", q.id);
      if (q.kind.empty())
        return json_result(alarm_json(*found).dump());
      if (!auth::allows(q.who, auth::permission::command, found->group))
        return forbidden(q, "acknowledge or clear alarms");
      if (found->state == "cleared")
        return api_error(errc::conflict, "alarm_cleared", "the alarm is cleared already", "alarm_id", found->id);
      std::optional<alarm> after;
      if (q.kind == "acknowledge") {
        if (found->state == "acknowledged")
          return json_result(alarm_json(*found).dump()); // acknowledging twice changes nothing
        after = st->store.acknowledge(q.id, q.who.name);
      } else {
        after = st->store.clear(q.id, q.who.name);
      }
      if (!after)
        return not_found("alarm", q.id);
      if (after->state == "cleared" && q.kind == "acknowledge")
        return api_error(errc::conflict, "alarm_cleared", "the alarm is cleared already", "alarm_id", after->id);
      publish(*after);
      audit(q, q.kind == "acknowledge" ? "alarm_acknowledged" : "alarm_cleared", after->drone_id,
            {{"alarm_id", after->id}, {"kind", after->kind}});
      return json_result(alarm_json(*after).dump());
    } catch (const runtime::db_error& e) {
      return db_failure(e);
    } catch (const runtime::parameter_error& e) {
      return bad_parameter(e.parameter, e.what());
    }
  };
  self->send(self, tick_atom::value);
  return {
    [=](geofence_atom, http_query& q) -> caf::result<api_result> { return geofences_route(q); },
    [=](alarm_atom, http_query& q) -> caf::result<api_result> { return alarms_route(q); },
    [=](geofence_atom, const std::string& group) {
      geofence_set out;
      out.version = st->version;
      if (auto i = st->by_group.find(group); i != st->by_group.end())
        out.fences = i->second;
      return out;
    },
    [=](alarm_atom, alarm_event& e) {
      if (e.raise && (e.action == "rtl" || e.action == "land") && st->settings.commands != nullptr)
        self->send(st->settings.commands, create_atom::value, e.drone_id, e.group, e.action, e.message);
      if (!st->pending.empty()) {
        keep(std::move(e)); // in order, after what waits
        return;
      }
      try {
        store_event(e);
      } catch (const runtime::db_error&) {
        keep(std::move(e));
      }
    },
    [=](tick_atom) {
      try {
        reload(false);
        while (!st->pending.empty()) {
          store_event(st->pending.front());
          st->pending.pop_front();
        }
      } catch (const runtime::db_error&) {
        // The database is down: the next tick tries again.
      }
      self->delayed_send(self, std::chrono::milliseconds(st->settings.poll_ms), tick_atom::value);
    },
    [=](directory_actor& directory) {
      st->settings.directory = std::move(directory);
      if (st->version != 0)
        self->send(st->settings.directory, geofence_atom::value, st->version);
    },
  };
}

} // namespace dccs::actors
