// Missions (docs/protocol.md "Missions"): one detached actor per node with the commands role's database. It answers
// the mission routes: plans checked (parse_mission) and validated against the limits, the geofences of the
// mission's group and the battery model (validate_mission) before anything is sent, every problem listed; drones
// assigned after the registry said the caller may command each of them and that it belongs to the mission's group.

#include "actors/actors.hpp"

#include <algorithm>
#include <memory>
#include <set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/api_errors.hpp"
#include "actors/command_model.hpp"
#include "actors/mission_model.hpp"
#include "actors/mission_store.hpp"
#include "actors/safety_model.hpp"
#include "actors/safety_store.hpp"
#include "runtime/query_text.hpp"
#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;

struct mission_state {
  explicit mission_state(mission_settings s)
    : settings(std::move(s)), link(settings.db), store(link), fences(link) {}
  mission_settings settings;
  runtime::pg_link link;
  mission_store store;
  safety_store fences;
};

caf::error invalid(const std::string& field, const std::string& message) {
  return api_error(errc::invalid_request, field.empty() ? "malformed" : "invalid_field", message,
                   field.empty() ? "" : "field", field);
}

caf::error bad_parameter(const std::string& name, const std::string& message) {
  return api_error(errc::invalid_request, "invalid_parameter", message, "parameter", name);
}

caf::error no_mission(const std::string& id) {
  return api_error(errc::not_found, "not_found", "no mission '" + runtime::printable(id, 64) + "'");
}

caf::error busy(const std::string& id, const std::string& state) {
  return api_error(errc::conflict, "mission_busy", "the mission is " + state + ": it changes only when no drone flies it",
                   "mission_id", id);
}

const char* mission_states[] = {"draft",  "validated", "uploading", "ready", "active",
                                "paused", "completed", "aborted",   "failed"};

} // namespace

mission_actor::behavior_type mission_service(mission_actor::pointer self, mission_settings s) {
  auto st = std::make_shared<mission_state>(std::move(s));
  auto audit = [st](const http_query& q, const char* action, const json& detail) {
    if (st->settings.auditor)
      caf::anon_send(st->settings.auditor, audit_atom::value, q.who.name, std::string{action}, std::string{}, q.address,
                     std::string{"ok"}, detail.dump());
  };
  // Validates the plan against the limits, the battery model and the geofences of its group now. Throws db_error.
  auto validate = [st](mission_row& m) {
    auth::scope all;
    all.all = true;
    auto fences = st->fences.geofences(all, m.plan.group, max_fences_per_group, "");
    auto problems = validate_mission(m.plan, fences, st->settings.limits, st->settings.energy, std::nullopt);
    m.problems = mission_problems_json(problems).dump();
    m.state = problems.empty() ? "validated" : "draft";
  };
  // The mission q.id names when the caller sees its group; else nothing (answered as a mission that does not exist).
  auto visible = [st](const http_query& q) -> std::optional<mission_row> {
    if (!valid_command_id(q.id))
      return std::nullopt;
    auto m = st->store.find(q.id);
    if (!m || !auth::allows(q.who, auth::permission::read_drones, m->plan.group))
      return std::nullopt;
    return m;
  };
  return {
    [=](mission_atom, http_query& q) -> caf::result<api_result> {
      try {
        if (q.id.empty() && (q.method == "GET" || q.method == "HEAD")) {
          std::string group, state, before;
          std::size_t limit = 100;
          for (auto& [name, value] : runtime::parse_query(q.query)) {
            if (name == "group") {
              group = value;
            } else if (name == "state") {
              if (std::none_of(std::begin(mission_states), std::end(mission_states),
                               [&](const char* s) { return value == s; }))
                return bad_parameter("state", "state must be one of draft, validated, uploading, ready, active, "
                                              "paused, completed, aborted, failed");
              state = value;
            } else if (name == "limit") {
              auto n = runtime::parse_integer(value);
              if (!n || *n < 1 || *n > 1000)
                return bad_parameter("limit", "limit must be an integer from 1 to 1000");
              limit = static_cast<std::size_t>(*n);
            } else if (name == "before") {
              if (!valid_command_id(value))
                return bad_parameter("before", "before must be a mission id");
              before = value;
            } else {
              return bad_parameter(runtime::printable(name, 32), "unknown parameter '" + runtime::printable(name, 32) + "'");
            }
          }
          auto list = st->store.list(auth::read_scope(q.who), group, state, limit + 1, before);
          bool more = list.size() > limit;
          if (more)
            list.resize(limit);
          json out{{"missions", json::array()}};
          for (auto& m : list)
            out["missions"].push_back(mission_json(m));
          out["next_cursor"] = more ? json(list.back().id) : json(nullptr);
          return json_result(out.dump());
        }
        if (q.id.empty()) {
          // POST /api/v1/missions
          auto body = json::parse(q.body, nullptr, false);
          if (body.is_discarded() || !body.is_object())
            return invalid("", "the body must be a JSON object");
          mission_row m;
          if (auto p = parse_mission(body, m.plan))
            return invalid(p->first, p->second);
          if (!auth::allows(q.who, auth::permission::command, m.plan.group))
            return api_error(errc::forbidden, "forbidden",
                             "role '" + q.who.role + "' may not plan missions for group '" + m.plan.group + "'");
          m.created_by = q.who.name;
          validate(m);
          auto made = st->store.create(m);
          audit(q, "mission_created", {{"mission_id", made.id}, {"name", made.plan.name}, {"group", made.plan.group}});
          return json_result(mission_json(made).dump(), api_outcome::created);
        }
        auto m = visible(q);
        if (!m)
          return no_mission(q.id);
        if (q.kind.empty() && (q.method == "GET" || q.method == "HEAD"))
          return json_result(mission_json(*m).dump());
        if (!auth::allows(q.who, auth::permission::command, m->plan.group))
          return api_error(errc::forbidden, "forbidden", "role '" + q.who.role + "' may not change missions");
        if (q.kind.empty() && q.method == "DELETE") {
          switch (st->store.remove(q.id)) {
            case mission_store::removed::missing: return no_mission(q.id);
            case mission_store::removed::busy: return busy(q.id, m->state);
            case mission_store::removed::done: break;
          }
          audit(q, "mission_deleted", {{"mission_id", q.id}, {"name", m->plan.name}});
          return done_result();
        }
        if (q.kind.empty() || q.kind == "validate") {
          // PATCH /api/v1/missions/{id}: the fields given replace the stored ones, the whole plan is checked again.
          // POST /api/v1/missions/{id}/validate: validated again as it is (the geofences may have changed).
          json patch = json::object();
          if (q.kind.empty()) {
            patch = json::parse(q.body, nullptr, false);
            if (patch.is_discarded() || !patch.is_object())
              return invalid("", "the body must be a JSON object");
          }
          if (!mission_editable(m->state))
            return busy(q.id, m->state);
          auto merged = plan_json(m->plan);
          merged["name"] = m->plan.name;
          merged["group"] = m->plan.group;
          for (auto& [key, value] : patch.items())
            merged[key] = value;
          mission_row changed = *m;
          if (auto p = parse_mission(merged, changed.plan))
            return invalid(p->first, p->second);
          if (!auth::allows(q.who, auth::permission::command, changed.plan.group))
            return api_error(errc::forbidden, "forbidden",
                             "role '" + q.who.role + "' may not plan missions for group '" + changed.plan.group + "'");
          if (changed.plan.group != m->plan.group && !m->drones.empty())
            return api_error(errc::conflict, "drones_assigned",
                             "the mission has drones of group '" + m->plan.group + "': assign none before moving it",
                             "mission_id", m->id);
          validate(changed);
          bool is_busy = false;
          auto after = st->store.update(changed, is_busy);
          if (!after)
            return is_busy ? busy(q.id, "flying") : no_mission(q.id);
          if (q.kind.empty())
            audit(q, "mission_changed", {{"mission_id", after->id}, {"changes", patch}});
          return json_result(mission_json(*after).dump());
        }
        if (q.kind != "assign")
          return api_error(errc::not_found, "not_found", "no such API route");
        // POST /api/v1/missions/{id}/assign {"drones":[...]}: every drone must be one the caller may command, in the
        // mission's group; the registry says so for each (in parallel), then the drones replace the assigned ones.
        auto body = json::parse(q.body, nullptr, false);
        if (body.is_discarded() || !body.is_object())
          return invalid("", "the body must be a JSON object");
        for (auto& [key, value] : body.items())
          if (key != "drones")
            return invalid(runtime::printable(key, 32), "unknown field '" + runtime::printable(key, 32) + "'");
        auto list = body.find("drones");
        if (list == body.end() || !list->is_array() || list->size() > st->settings.max_drones)
          return invalid("drones", "field 'drones' must be an array of at most " + std::to_string(st->settings.max_drones)
                                     + " drone ids");
        std::vector<std::string> drones;
        std::set<std::string> unique;
        for (auto& d : *list) {
          if (!d.is_string() || !valid_drone_id(d.get_ref<const std::string&>()))
            return invalid("drones", "field 'drones' must hold drone ids (1-64 characters of A-Z a-z 0-9 _ . -)");
          if (!unique.insert(d.get<std::string>()).second)
            return invalid("drones", "drone '" + d.get<std::string>() + "' is listed twice");
          drones.push_back(d.get<std::string>());
        }
        if (!mission_editable(m->state))
          return busy(q.id, m->state);
        auto finish = [st, audit, q, id = m->id, drones]() -> caf::expected<api_result> {
          try {
            bool is_busy = false;
            auto after = st->store.assign(id, drones, is_busy);
            if (!after)
              return is_busy ? busy(id, "flying") : no_mission(id);
            audit(q, "mission_assigned", {{"mission_id", id}, {"drones", drones}});
            return json_result(mission_json(*after).dump());
          } catch (const runtime::db_error& e) {
            return db_failure(e);
          }
        };
        if (drones.empty() || st->settings.fleet == nullptr)
          return drones.empty() ? caf::result<api_result>{finish()} : caf::result<api_result>{make_error(errc::unavailable)};
        auto rp = self->make_response_promise<api_result>();
        struct pending {
          std::size_t left;
          bool answered = false;
        };
        auto wait = std::make_shared<pending>(pending{drones.size()});
        for (auto& d : drones) {
          auto ask = q;
          ask.id = d;
          ask.kind = "command";
          ask.body.clear();
          self->request(st->settings.fleet, std::chrono::seconds(10), authorize_atom::value, std::move(ask))
            .then(
              [rp, wait, finish, d, group = m->plan.group](api_result& r) mutable {
                if (wait->answered)
                  return;
                auto j = json::parse(r.body, nullptr, false);
                if (j.is_discarded() || j.value("group", "") != group) {
                  wait->answered = true;
                  rp.deliver(api_error(errc::conflict, "wrong_group",
                                       "drone '" + d + "' is not in the mission's group '" + group + "'", "drone_id", d));
                  return;
                }
                if (--wait->left == 0) {
                  wait->answered = true;
                  auto out = finish();
                  if (out)
                    rp.deliver(std::move(*out));
                  else
                    rp.deliver(std::move(out.error()));
                }
              },
              [rp, wait](caf::error& e) mutable {
                if (wait->answered)
                  return;
                wait->answered = true;
                rp.deliver(std::move(e)); // the registry's refusal for that drone (404, 403), or unavailable
              });
        }
        return rp;
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      } catch (const runtime::parameter_error& e) {
        return bad_parameter(e.parameter, e.what());
      }
    },
  };
}

} // namespace dccs::actors
