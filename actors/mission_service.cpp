// Missions (docs/protocol.md "Missions"): one detached actor per node with the commands role's database. It answers
// the mission routes: plans checked (parse_mission) and validated against the limits, the geofences of the
// mission's group and the battery model (validate_mission) before anything is sent, every problem listed; drones
// assigned after the registry said the caller may command each of them and that it belongs to the mission's group.
//
// Flying: an upload sends each drone the items one at a time through the directory (the drone's actor delivers
// them, wherever it runs) and waits for each ack (missions.retry_ms, missions.max_attempts); start, pause, resume
// and abort are commands in the journal (mission_start, hold, resume, rtl) issued as the caller; the drones'
// mission_progress frames come back through their actors and are stored here, so that any node's mission service
// records the progress of any mission (the database is the truth).

#include "actors/actors.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/api_errors.hpp"
#include "actors/command_model.hpp"
#include "actors/list_page.hpp"
#include "actors/mission_model.hpp"
#include "actors/mission_store.hpp"
#include "actors/safety_model.hpp"
#include "actors/safety_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/query_text.hpp"
#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;

/// One drone's part of an upload: the item it is sent now, and how often.
struct upload_drone {
  std::size_t next = 0;      ///< the item waiting for its ack
  std::uint32_t attempts = 0; ///< sends of that item so far
  std::int64_t due = 0;      ///< monotonic ms: no ack by then, it is sent again (or the upload fails)
  bool done = false;         ///< every item acknowledged
};

/// An upload under way (on this node: the node that was asked for it sends the items and hears the acks).
struct upload_run {
  mission_plan plan;
  std::map<std::string, upload_drone> drones;
  std::size_t left = 0; ///< drones not done yet
};

struct mission_state {
  explicit mission_state(mission_settings s)
    : settings(std::move(s)), link(settings.db), store(link), fences(link) {}
  mission_settings settings;
  runtime::pg_link link;
  mission_store store;
  safety_store fences;
  std::map<std::string, upload_run> uploads; ///< by mission id
  /// mission_start commands issued here and not final yet: (mission id, drone id) by command id. A start the
  /// journal ends other than succeeded fails the drone's flight.
  std::map<std::string, std::pair<std::string, std::string>> starts;
  std::int64_t last_watch = 0;
  std::int64_t last_sweep = 0;
  /// Progress reports kept while the database is down, in order (written on the next ticks; the oldest dropped past
  /// max_pending_reports).
  std::deque<mission_report> pending;
};

constexpr std::size_t max_pending_reports = 10000;

/// The outcome of one command a flight action issued to one drone.
struct issued_command {
  std::string drone_id;
  std::string command_id;            ///< empty when it was refused
  std::optional<api_problem> refusal;
};

api_problem unavailable_problem(std::string message) {
  api_problem p;
  p.kind = errc::unavailable;
  p.code = "unavailable";
  p.message = std::move(message);
  return p;
}

json issued_json(const std::vector<issued_command>& list) {
  json out = json::array();
  for (auto& c : list) {
    json j{{"drone_id", c.drone_id}};
    if (c.refusal)
      j["error"] = json{{"code", c.refusal->code}, {"message", c.refusal->message}};
    else
      j["command_id"] = c.command_id;
    out.push_back(std::move(j));
  }
  return out;
}

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
  self->send(self, tick_atom::value);
  auto audit = [st](const http_query& q, const char* action, const json& detail) {
    if (st->settings.auditor)
      caf::anon_send(st->settings.auditor, audit_atom::value, q.who.name, std::string{action}, std::string{}, q.address,
                     std::string{"ok"}, detail.dump());
  };
  // The geofences of a group now. Throws db_error.
  auto group_fences = [st](const std::string& group) {
    auth::scope all;
    all.all = true;
    return st->fences.geofences(all, group, max_fences_per_group, "");
  };
  // Validates the plan against the limits, the battery model and `fences` (its group's now). Throws db_error.
  auto validate_with = [st](mission_row& m, const std::vector<geofence>& fences) {
    auto problems = validate_mission(m.plan, fences, st->settings.limits, st->settings.energy, std::nullopt);
    m.problems = mission_problems_json(problems).dump();
    m.state = problems.empty() ? "validated" : "draft";
  };
  auto validate = [group_fences, validate_with](mission_row& m) { validate_with(m, group_fences(m.plan.group)); };
  // The news of a mission's drones for the operators who see them (every drone of the mission, or `only` one):
  // {"type":"mission","mission_id","name","state","reason","items","drone":{...}}, keyed per mission and drone.
  auto publish = [self, st](const mission_row& m, const std::string& only = {}) {
    if (st->settings.hub == nullptr)
      return;
    auto j = mission_json(m);
    for (auto& d : j["drones"]) {
      auto id = d["drone_id"].get<std::string>();
      if (!only.empty() && id != only)
        continue;
      json frame{{"type", "mission"}, {"mission_id", m.id},  {"name", m.plan.name}, {"state", m.state},
                 {"reason", m.reason}, {"items", m.plan.items.size()}, {"drone", d}};
      self->send(st->settings.hub, control_atom::value, id, m.plan.group, "mission:" + m.id + ":" + id, frame.dump());
    }
  };
  // Sends the item a drone of an upload is at (again, when its ack did not come in time).
  auto send_item = [self, st](const std::string& mission_id, const std::string& drone, upload_run& u, upload_drone& d) {
    ++d.attempts;
    d.due = runtime::mono_ms() + st->settings.retry_ms;
    self->send(st->settings.directory, mission_atom::value, drone, mission_id, mission_item_frame(mission_id, u.plan, d.next),
               caf::actor_cast<mission_actor>(self));
  };
  // A drone of an upload refused an item, did not answer or is not connected: the upload fails (the mission is
  // validated again, with the reason; nothing is flown). Throws db_error.
  auto fail_upload = [st, publish](const std::string& mission_id, const std::string& drone, const std::string& why) {
    st->uploads.erase(mission_id);
    st->store.set_drone(mission_id, drone, "failed", why);
    if (auto m = st->store.end_upload(mission_id, "drone '" + drone + "': " + why))
      publish(*m);
  };
  // A drone's mission_progress: stored, told to the operators; a failed flight raises mission_failed. Throws db_error.
  auto progressed = [self, st, publish](const mission_report& r) {
    auto p = st->store.progress(r);
    if (!p || !p->changed)
      return;
    publish(p->mission, r.drone_id);
    if (r.result == "failed" && st->settings.safety != nullptr) {
      alarm_event e;
      e.drone_id = r.drone_id;
      e.group = p->mission.plan.group;
      e.kind = "mission_failed";
      e.severity = "critical";
      e.message = "mission '" + p->mission.plan.name + "' failed: " + r.reason;
      e.detail = json{{"mission_id", r.mission_id}, {"name", p->mission.plan.name}, {"seq", r.seq},
                      {"reason", r.reason}}.dump();
      self->send(st->settings.safety, alarm_atom::value, std::move(e));
    }
  };
  // Issues one command of `kind` to each of `drones` for mission `m` through the journal, as the caller (its control
  // leases and permissions apply), in parallel; `done` gets every outcome once all are in.
  auto issue = [self, st](const mission_row& m, const std::vector<std::string>& drones, const std::string& kind,
                          const json& params, const http_query& q,
                          std::function<void(std::vector<issued_command>&)> done) {
    auto out = std::make_shared<std::vector<issued_command>>();
    auto left = std::make_shared<std::size_t>(drones.size());
    if (drones.empty() || st->settings.commands == nullptr) {
      for (auto& d : drones)
        out->push_back({d, {}, unavailable_problem("no command journal on this node")});
      done(*out);
      return;
    }
    for (auto& d : drones) {
      http_query c;
      c.method = "POST";
      c.id = d;
      c.kind = "command";
      c.who = q.who;
      c.address = q.address;
      c.group = m.plan.group;
      c.body = json{{"kind", kind}, {"params", params}}.dump();
      self->request(st->settings.commands, std::chrono::seconds(10), create_atom::value, std::move(c))
        .then(
          [out, left, done, d](api_result& r) {
            auto j = json::parse(r.body, nullptr, false);
            out->push_back({d, j.is_object() ? j.value("id", "") : "", std::nullopt});
            if (--*left == 0)
              done(*out);
          },
          [out, left, done, d](caf::error& e) {
            auto p = problem_of(e);
            out->push_back({d, {}, p ? *p : unavailable_problem("the command journal did not answer")});
            if (--*left == 0)
              done(*out);
          });
    }
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
          auto lq = read_list_query(q.query, "before", "a mission id", {"group", "state"});
          auto state = lq.filters["state"];
          if (!state.empty() && std::none_of(std::begin(mission_states), std::end(mission_states),
                                             [&](const char* s) { return state == s; }))
            return bad_parameter("state", "state must be one of draft, validated, uploading, ready, active, "
                                          "paused, completed, aborted, failed");
          auto list = st->store.list(auth::read_scope(q.who), lq.filters["group"], state, lq.limit + 1, lq.cursor);
          auto out = page_json(list, lq.limit, "missions", mission_json, [](const mission_row& m) { return m.id; });
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
        if (q.kind == "upload") {
          // POST /api/v1/missions/{id}/upload: validated again against today's geofences, then sent to every drone
          // item by item (each acknowledged before the next); 202, the drones `uploading` until each is `ready`.
          if (st->settings.directory == nullptr)
            return api_error(errc::unavailable, "unavailable", "this node serves no drones: upload on a node that does");
          if (m->drones.empty())
            return api_error(errc::conflict, "no_drones", "the mission has no drones: assign some first", "mission_id", m->id);
          if (!mission_editable(m->state) || st->uploads.count(m->id) != 0)
            return busy(q.id, m->state);
          auto fences = std::make_shared<std::vector<geofence>>(group_fences(m->plan.group));
          mission_row checked = *m;
          validate_with(checked, *fences);
          if (checked.state != "validated") {
            bool is_busy = false;
            st->store.update(checked, is_busy);
            return api_error(errc::conflict, "mission_invalid",
                             "the mission does not validate any more (" + checked.problems + "): fix it first",
                             "mission_id", m->id);
          }
          // Then from where each drone is now, with the battery it has now: the leg to the first item, the
          // geofences on it, and the battery estimate from there (the drones' live states, from the hub).
          auto begin = [=, plan = m->plan, id = m->id]() -> caf::expected<api_result> {
            try {
              bool is_busy = false;
              auto up = st->store.begin_upload(id, is_busy);
              if (!up)
                return is_busy ? busy(id, "uploading") : no_mission(id);
              auto& run = st->uploads[up->id];
              run.plan = up->plan;
              for (auto& d : up->drones)
                run.drones[d.drone_id] = upload_drone{};
              run.left = run.drones.size();
              for (auto& [drone, d] : run.drones)
                send_item(up->id, drone, run, d);
              audit(q, "mission_uploaded",
                    {{"mission_id", up->id}, {"drones", run.drones.size()}, {"items", up->plan.items.size()}});
              publish(*up);
              return json_result(mission_json(*up).dump(), api_outcome::accepted);
            } catch (const runtime::db_error& e) {
              return db_failure(e);
            }
          };
          if (st->settings.hub == nullptr)
            return begin();
          auto rp = self->make_response_promise<api_result>();
          auto left = std::make_shared<std::size_t>(m->drones.size());
          auto refusal = std::make_shared<std::string>();
          auto plan = std::make_shared<mission_plan>(m->plan);
          auto done = [rp, left, refusal, begin, id = m->id]() mutable {
            if (--*left != 0)
              return;
            if (!refusal->empty()) {
              rp.deliver(api_error(errc::conflict, "mission_invalid", *refusal, "mission_id", id));
              return;
            }
            auto out = begin();
            if (out)
              rp.deliver(std::move(*out));
            else
              rp.deliver(std::move(out.error()));
          };
          for (auto& d : m->drones) {
            self->request(st->settings.hub, std::chrono::seconds(5), get_atom::value, d.drone_id)
              .then(
                [=](drone_state& ds) mutable {
                  if (ds.has_telemetry && refusal->empty()) {
                    mission_item start;
                    start.lat = ds.last.lat;
                    start.lon = ds.last.lon;
                    start.alt = ds.last.alt;
                    auto problems = validate_mission(*plan, *fences, st->settings.limits, st->settings.energy, start,
                                                     ds.last.battery);
                    if (!problems.empty())
                      *refusal = "drone '" + ds.info.id + "' cannot fly it from where it is now (battery "
                                 + std::to_string(static_cast<int>(ds.last.battery)) + " %): " + problems.front().field
                                 + ": " + problems.front().reason;
                  }
                  done();
                },
                [=](caf::error&) mutable { done(); }); // no live state: the upload finds out (not connected)
          }
          return rp;
        }
        if (q.kind == "start" || q.kind == "pause" || q.kind == "resume" || q.kind == "abort") {
          // The flight: each is a journaled command to each drone, issued as the caller (docs/protocol.md).
          std::vector<std::string> from, drones_from;
          std::string to, drones_to, kind;
          json params = json::object();
          if (q.kind == "start") {
            // Atomic: every drone acknowledged the whole upload (the mission is ready), or none starts.
            if (m->state != "ready") {
              std::vector<std::string> waiting;
              for (auto& d : m->drones)
                if (d.state != "ready")
                  waiting.push_back(d.drone_id + " (" + d.state + ")");
              std::string list;
              for (auto& w : waiting)
                list += (list.empty() ? "" : ", ") + w;
              return api_error(errc::conflict, "not_ready",
                               "the mission is " + m->state + ": it starts when every drone has acknowledged its upload"
                                 + (list.empty() ? std::string{} : " (not ready: " + list + ")"),
                               "mission_id", m->id);
            }
            from = {"ready", "active"}, to = "active", drones_from = {"ready"}, drones_to = "active";
            kind = "mission_start", params = {{"mission_id", m->id}};
          } else if (q.kind == "pause") {
            from = {"active"}, to = "paused", drones_from = {"active"}, drones_to = "paused", kind = "hold";
          } else if (q.kind == "resume") {
            from = {"paused"}, to = "active", drones_from = {"paused"}, drones_to = "active", kind = "resume";
          } else {
            from = {"uploading", "ready", "active", "paused"}, to = "aborted";
            drones_from = {"assigned", "uploading", "ready", "active", "paused"}, drones_to = "aborted", kind = "rtl";
          }
          if (std::find(from.begin(), from.end(), m->state) == from.end())
            return api_error(errc::conflict, "mission_state",
                             "the mission is " + m->state + ": it cannot " + q.kind + " now", "mission_id", m->id);
          // The drones the command goes to: those in the flight (an abort returns the ones flying only).
          std::vector<std::string> targets;
          for (auto& d : m->drones)
            if (q.kind == "abort" ? (d.state == "active" || d.state == "paused")
                                  : std::find(drones_from.begin(), drones_from.end(), d.state) != drones_from.end())
              targets.push_back(d.drone_id);
          if (q.kind == "abort")
            st->uploads.erase(m->id);
          if (q.kind == "start") {
            // What the journal would refuse for one drone is refused for all before anything is sent (a refusal
            // that comes anyway, from a race with another request, cancels the starts issued).
            if (auto blocker = st->store.issue_blocker(targets, q.who.name, kind))
              return api_error(errc::conflict, std::get<1>(*blocker),
                               "drone '" + std::get<0>(*blocker) + "': " + std::get<2>(*blocker)
                                 + " (no drone of the mission was started)",
                               "drone_id", std::get<0>(*blocker));
          }
          auto rp = self->make_response_promise<api_result>();
          auto id = m->id;
          auto action = q.kind;
          issue(*m, targets, kind, params, q,
                [=](std::vector<issued_command>& out) mutable {
                  try {
                    auto refused = std::find_if(out.begin(), out.end(), [](const issued_command& c) { return c.refusal.has_value(); });
                    if (action == "start" && refused != out.end()) {
                      // None starts: the starts issued are cancelled, the first refusal answered (naming its drone).
                      for (auto& c : out)
                        if (!c.refusal) {
                          http_query cancel;
                          cancel.method = "DELETE";
                          cancel.id = c.command_id;
                          cancel.who = q.who;
                          cancel.address = q.address;
                          self->request(st->settings.commands, std::chrono::seconds(10), cancel_atom::value, std::move(cancel))
                            .then([](api_result&) {}, [](caf::error&) {});
                        }
                      rp.deliver(api_error(refused->refusal->kind, refused->refusal->code,
                                           "drone '" + refused->drone_id + "': " + refused->refusal->message
                                             + " (no drone of the mission was started)",
                                           "drone_id", refused->drone_id));
                      return;
                    }
                    auto after = st->store.transition(id, from, to, drones_from, drones_to,
                                                      action == "abort" ? "aborted by " + q.who.name : std::string{});
                    if (!after)
                      after = st->store.find(id);
                    if (!after) {
                      rp.deliver(no_mission(id));
                      return;
                    }
                    if (action == "start")
                      for (auto& c : out)
                        if (!c.refusal && st->starts.size() < 10000)
                          st->starts[c.command_id] = {id, c.drone_id};
                    publish(*after);
                    audit(q, ("mission_" + std::string{action == "start" ? "started" : action == "pause" ? "paused"
                                                         : action == "resume" ? "resumed" : "aborted"}).c_str(),
                          {{"mission_id", id}, {"commands", issued_json(out)}});
                    auto body = mission_json(*after);
                    body["commands"] = issued_json(out);
                    rp.deliver(json_result(body.dump()));
                  } catch (const runtime::db_error& e) {
                    rp.deliver(db_failure(e));
                  }
                });
          return rp;
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
    [=](mission_atom, mission_report& r) {
      try {
        if (r.kind == "progress") {
          if (!st->pending.empty()) { // in order, behind what waits for the database
            if (st->pending.size() >= max_pending_reports)
              st->pending.pop_front();
            st->pending.push_back(std::move(r));
            return;
          }
          try {
            progressed(r);
          } catch (const runtime::db_error&) {
            st->pending.push_back(std::move(r)); // written once the database is back
          }
          return;
        }
        // An upload's ack, or word that its item could not reach the drone.
        auto u = st->uploads.find(r.mission_id);
        if (u == st->uploads.end())
          return; // not uploaded from here, or over
        auto d = u->second.drones.find(r.drone_id);
        if (d == u->second.drones.end() || d->second.done)
          return;
        auto& up = d->second;
        if (r.kind == "undelivered") {
          fail_upload(r.mission_id, r.drone_id, r.reason);
          return;
        }
        if (r.seq != static_cast<std::int64_t>(up.next))
          return; // an earlier item's ack again (a resend crossed it)
        if (r.result != "accepted") {
          fail_upload(r.mission_id, r.drone_id,
                      "item " + std::to_string(up.next) + " " + r.result + (r.reason.empty() ? "" : ": " + r.reason));
          return;
        }
        ++up.next;
        up.attempts = 0;
        if (up.next < u->second.plan.items.size()) {
          send_item(r.mission_id, r.drone_id, u->second, up);
          return;
        }
        up.done = true;
        st->store.set_drone(r.mission_id, r.drone_id, "ready", "");
        if (--u->second.left == 0) {
          st->uploads.erase(u);
          if (auto m = st->store.end_upload(r.mission_id, ""))
            publish(*m);
        } else if (auto m = st->store.find(r.mission_id)) {
          publish(*m, r.drone_id);
        }
      } catch (const runtime::db_error& e) {
        runtime::log::warn("missions", "a mission report was not recorded",
                           {{"mission_id", r.mission_id}, {"drone_id", r.drone_id}, {"error", e.what()}});
      }
    },
    [=](tick_atom) {
      auto now = runtime::mono_ms();
      try {
        // Progress kept while the database was down, in order.
        while (!st->pending.empty()) {
          progressed(st->pending.front());
          st->pending.pop_front();
        }
        // Items not acknowledged in time: sent again, at most max_attempts in all.
        std::vector<std::pair<std::string, std::string>> timed_out;
        for (auto& [mission_id, run] : st->uploads)
          for (auto& [drone, d] : run.drones)
            if (!d.done && d.due <= now) {
              if (d.attempts >= st->settings.max_attempts)
                timed_out.emplace_back(mission_id, drone);
              else
                send_item(mission_id, drone, run, d);
            }
        for (auto& [mission_id, drone] : timed_out) {
          auto u = st->uploads.find(mission_id);
          if (u == st->uploads.end())
            continue; // failed already (another drone)
          auto next = u->second.drones[drone].next;
          fail_upload(mission_id, drone,
                      "no answer to item " + std::to_string(next) + " after " + std::to_string(st->settings.max_attempts)
                        + " attempts");
        }
        // Starts the journal ended other than succeeded: the drone's flight failed.
        if (!st->starts.empty() && now - st->last_watch >= 1000) {
          st->last_watch = now;
          std::vector<std::string> ids;
          for (auto& [id, who] : st->starts)
            ids.push_back(id);
          for (auto& [id, state, reason] : st->store.command_states(ids)) {
            auto cmd = parse_command_state(state);
            if (!cmd || !is_final(*cmd))
              continue;
            auto who = st->starts[id];
            st->starts.erase(id);
            if (*cmd == command_state::succeeded)
              continue;
            mission_report r;
            r.mission_id = who.first;
            r.drone_id = who.second;
            r.kind = "progress";
            r.result = "failed";
            r.reason = "mission_start " + state + (reason.empty() ? std::string{} : ": " + reason);
            r.at = runtime::wall_ms();
            progressed(r);
          }
        }
        // Uploads whose node stopped mid-way (nothing moved for a long while): validated again.
        if (now - st->last_sweep >= 30000) {
          st->last_sweep = now;
          auto stale = static_cast<int>(std::max<std::int64_t>(
            60, 2 * st->settings.retry_ms * st->settings.max_attempts / 1000));
          for (auto& id : st->store.sweep_uploads(stale))
            if (st->uploads.count(id) == 0)
              if (auto m = st->store.find(id))
                publish(*m);
        }
      } catch (const runtime::db_error&) {
        // The database is down: the next tick tries again.
      }
      self->delayed_send(self, std::chrono::milliseconds(std::clamp<std::int64_t>(st->settings.retry_ms / 4, 20, 1000)),
                         tick_atom::value);
    },
  };
}

} // namespace dccs::actors
