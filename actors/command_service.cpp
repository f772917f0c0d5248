// The command journal and the command routes (docs/protocol.md "Commands"): one detached actor per node with the
// commands role's database. It issues commands (committed before the answer), answers the routes, records what
// drone actors report, and ends what nobody ended in time. The drone's owner (its drone actor, wherever it runs)
// executes the command; this actor never talks to a drone.

#include "actors/actors.hpp"
#include "actors/epoch_ms.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/api_errors.hpp"
#include "actors/command_model.hpp"
#include "actors/command_store.hpp"
#include "actors/list_page.hpp"
#include "actors/registry.hpp"
#include "actors/registry_store.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/query_text.hpp"
#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

using nlohmann::json;

struct service_state {
  explicit service_state(command_settings s)
    : settings(std::move(s)), link(settings.db), store(link, settings.timing),
      registry_link(settings.registry_db.url == settings.db.url ? nullptr
                                                                 : std::make_unique<runtime::pg_link>(settings.registry_db)),
      registry(registry_link ? *registry_link : link, std::string{}) {}
  command_settings settings;
  runtime::pg_link link;
  command_store store;
  /// The registry (fleet.drones), read to authorize each new command: on the journal's own connection when both
  /// roles share a database (the default), else on a connection of its own to the fleet role's database.
  std::unique_ptr<runtime::pg_link> registry_link;
  registry_store registry;
  fleet_actor fleet; ///< the node's registry: it decides about a drone the read above does not find (null: none)
  /// What drone actors reported and the journal could not take yet (the database was down): the newest state of
  /// each command, written at the next tick. Bounded: past max_unrecorded the oldest news is dropped (the sweep
  /// ends those commands in time all the same), counted.
  std::unordered_map<std::string, std::pair<command, std::string>> unrecorded;
  safety_actor safety; ///< where failed and timed-out commands raise alarms (null: none)
  /// Reports of drone actors waiting for the next flush (one transaction), and who sent each.
  std::vector<command_store::report> reports;
  std::vector<drone_actor> reporters;
  bool flush_queued = false; ///< a flush message is in this actor's mailbox
};

caf::error invalid(const std::string& code, const std::string& message, const std::string& field) {
  return api_error(errc::invalid_request, code, message, field.empty() ? "" : "field", field);
}

caf::error no_such_command(const std::string& id) {
  return api_error(errc::not_found, "not_found", "no command '" + runtime::printable(id, 64) + "'");
}

/// One of the journal's connections (detached: every call is a round trip to the database). Worker 0 also runs the
/// sweep.
command_actor::behavior_type command_journal(command_actor::pointer self, command_settings s, std::size_t index) {
  auto st = std::make_shared<service_state>(std::move(s));
  // A command's news for the operators who see its drone (the hub sends it on to the other members' hubs).
  auto publish = [self, st](const command& c) {
    if (st->settings.hub != nullptr)
      self->send(st->settings.hub, command_atom::value, c);
  };
  // A command the owner must act on (new, cancelled, ended by the sweep): to the drone's actor, wherever it runs.
  auto route = [self, st](const command& c) {
    if (st->settings.directory != nullptr)
      self->send(st->settings.directory, command_atom::value, c);
  };
  auto audit = [st](const http_query& q, const char* action, const std::string& drone, const char* outcome,
                    const json& detail) {
    if (st->settings.auditor)
      caf::anon_send(st->settings.auditor, audit_atom::value, q.who.name.empty() ? std::string{"anonymous"} : q.who.name,
                     std::string{action}, drone, q.address, std::string{outcome}, detail.dump());
  };
  auto finished = [self, st](const command& c) {
    if (is_final(c.state) && st->settings.finished)
      st->settings.finished(c.state);
    // A command that failed or timed out raises an alarm on its drone (critical for land and rtl: safety first).
    if ((c.state == command_state::failed || c.state == command_state::timed_out) && st->safety != nullptr) {
      alarm_event e;
      e.drone_id = c.drone_id;
      e.group = c.group;
      e.kind = c.state == command_state::failed ? "command_failed" : "command_timed_out";
      e.severity = is_safety(c.kind) ? "critical" : "warning";
      e.message = c.kind + " " + (c.state == command_state::failed ? "failed" : "timed out")
                  + (c.reason.empty() ? std::string{} : ": " + c.reason);
      e.detail = json{{"command_id", c.id}, {"kind", c.kind}, {"issued_by", c.issued_by}}.dump();
      self->send(st->safety, alarm_atom::value, std::move(e));
    }
  };
  // A command just issued (and the movement commands a land or rtl superseded): counted, to its drone's owner, to the
  // operators.
  auto announce = [st, route, publish, finished](const command_store::issued& out) {
    if (st->settings.issued)
      st->settings.issued->inc();
    route(out.cmd);
    publish(out.cmd);
    for (auto& c : out.superseded) {
      route(c);
      publish(c);
      finished(c);
    }
  };
  // Writes what drone actors reported while the database was down.
  auto retry_unrecorded = [self, st, publish, finished] {
    if (st->unrecorded.empty())
      return;
    auto todo = std::move(st->unrecorded);
    st->unrecorded.clear();
    for (auto i = todo.begin(); i != todo.end(); ++i) {
      try {
        if (auto row = st->store.record(i->second.first, i->second.second)) {
          publish(*row);
          finished(*row);
        }
      } catch (const runtime::db_error&) {
        for (; i != todo.end(); ++i)
          st->unrecorded.insert(std::move(*i));
        return;
      }
    }
  };
  // The journal's row after a drone actor's report: the operators get it, and so does the owner when the journal
  // had the command final already (cancelled, swept meanwhile). The journal's row is the truth.
  auto recorded = [self, publish, finished](const command& reported, const std::optional<command>& row,
                                            const drone_actor& sender) {
    if (!row)
      return;
    publish(*row);
    if (row->state != reported.state) {
      if (sender != nullptr)
        self->send(sender, command_atom::value, *row);
    } else {
      finished(*row);
    }
  };
  // One report in its own statement; the database down, kept for the next tick (bounded).
  auto record_one = [st, recorded](command& c, std::string& cause, const drone_actor& sender) {
    try {
      recorded(c, st->store.record(c, cause), sender);
    } catch (const runtime::db_error& e) {
      if (st->unrecorded.size() >= st->settings.max_unrecorded && st->unrecorded.count(c.id) == 0) {
        if (st->settings.unrecorded_dropped)
          st->settings.unrecorded_dropped->inc();
        return;
      }
      auto id = c.id;
      st->unrecorded[id] = {std::move(c), std::move(cause)};
    }
  };
  // Journals the reports waiting (one transaction).
  auto flush_reports = [st, recorded, record_one] {
    if (st->reports.empty())
      return;
    auto reports = std::move(st->reports);
    auto reporters = std::move(st->reporters);
    st->reports.clear();
    st->reporters.clear();
    if (st->settings.report_batch)
      st->settings.report_batch->observe(static_cast<double>(reports.size()));
    try {
      auto rows = st->store.record_all(reports);
      for (std::size_t i = 0; i < rows.size(); ++i)
        recorded(reports[i].cmd, rows[i], reporters[i]);
      return;
    } catch (const runtime::db_error&) {
      // Nothing of the batch was recorded: each report on its own, so that one the database refuses costs the
      // others nothing (and the database down, each is kept for the next tick).
    }
    for (std::size_t i = 0; i < reports.size(); ++i)
      record_one(reports[i].cmd, reports[i].cause, reporters[i]);
  };
  // Journals the reports waiting first when one of them is about this drone or command: what a message reads or
  // changes comes after the reports its drone actor sent before it; the others wait for the flush already queued.
  auto flush_for = [st, flush_reports](const std::string& drone_id, const std::string& command_id) {
    for (const auto& r : st->reports)
      if ((!drone_id.empty() && r.cmd.drone_id == drone_id) || (!command_id.empty() && r.cmd.id == command_id)) {
        flush_reports();
        return;
      }
  };
  // The command q.id names, when the caller sees its drone; else nothing (answered as a command that does not
  // exist). Throws db_error.
  auto visible = [st](const http_query& q) -> std::optional<command> {
    if (!valid_command_id(q.id))
      return std::nullopt;
    auto c = st->store.find(q.id);
    if (!c || !auth::allows(q.who, auth::permission::read_drones, c->group))
      return std::nullopt;
    return c;
  };
  // A new command, its drone's group known and the caller allowed: checked and issued (committed before the answer).
  // Its drone's reports waiting here are journaled first (single flight and supersession read them), on either way
  // here: the journal's own registry read, or the fleet store's answer that came later.
  auto issue_new = [st, announce, audit, flush_for](http_query& q, double taken_ms) -> caf::expected<api_result> {
    flush_for(q.id, ""); // (the journal's share of the wait: in accept_db)
    auto body = json::parse(q.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return invalid("malformed", "the body must be a JSON object", "");
    for (auto& [key, value] : body.items())
      if (key != "kind" && key != "params" && key != "ttl_s")
        return invalid("invalid_field", "unknown field '" + runtime::printable(key, 32) + "'", runtime::printable(key, 32));
    auto kind = body.find("kind");
    if (kind == body.end())
      return invalid("missing_field", "field 'kind' is required", "kind");
    if (!kind->is_string() || !valid_command_kind(kind->get_ref<const std::string&>()))
      return invalid("invalid_field",
                     "field 'kind' must be one of arm, disarm, takeoff, land, rtl, goto, hold, resume, set_mode, "
                     "set_speed, mission_start",
                     "kind");
    json params = json::object();
    if (auto p = body.find("params"); p != body.end())
      params = *p;
    if (auto problem = check_command_params(kind->get_ref<const std::string&>(), params))
      return invalid("invalid_field", problem->second, problem->first);
    auto ttl_ms = st->settings.default_ttl_ms;
    if (auto t = body.find("ttl_s"); t != body.end()) {
      if (!t->is_number_integer() || t->get<std::int64_t>() < 1 || t->get<std::int64_t>() * 1000 > st->settings.max_ttl_ms)
        return invalid("invalid_field",
                       "field 'ttl_s' must be an integer from 1 to " + std::to_string(st->settings.max_ttl_ms / 1000),
                       "ttl_s");
      ttl_ms = t->get<std::int64_t>() * 1000;
    }
    if (q.idempotency_key.size() > 255 || !std::all_of(q.idempotency_key.begin(), q.idempotency_key.end(),
                                                        [](char c) { return c > 0x20 && c < 0x7f; }))
      return api_error(errc::invalid_request, "invalid_header",
                       "Idempotency-Key must be at most 255 printable ASCII characters without spaces", "header",
                       "Idempotency-Key");
    command_request r;
    r.drone_id = q.id;
    r.group = q.group;
    r.kind = kind->get<std::string>();
    r.params = params.dump();
    r.issued_by = q.who.name;
    r.idempotency_key = q.idempotency_key;
    r.ttl_ms = ttl_ms;
    r.lease_ttl_ms = st->settings.lease_ttl_ms;
    try {
      auto out = st->store.issue(r);
      if (st->settings.accept_db)
        st->settings.accept_db->observe(runtime::mono_ms_fine() - taken_ms);
      switch (out.outcome) {
        case command_store::issued::repeated:
          return json_result(command_json(out.cmd).dump(), api_outcome::accepted);
        case command_store::issued::key_reused:
          return api_error(errc::conflict, "idempotency_key_reused",
                           "this Idempotency-Key was used for a different command within 24 hours", "command_id",
                           out.cmd.id);
        case command_store::issued::in_flight:
          return api_error(errc::conflict, "command_in_flight",
                           "a " + out.cmd.kind + " command to this drone is not final yet: " + out.cmd.id,
                           "command_id", out.cmd.id);
        case command_store::issued::controlled:
          return api_error(errc::conflict, "controlled_by_other",
                           "'" + out.holder + "' controls this drone (its control lease): only they command it",
                           "holder", out.holder);
        case command_store::issued::created:
          break;
      }
      announce(out);
      audit(q, "command_issued", q.id, "ok", {{"command_id", out.cmd.id}, {"kind", out.cmd.kind}, {"params", params}});
      return json_result(command_json(out.cmd).dump(), api_outcome::accepted);
    } catch (const runtime::db_error& e) {
      return db_failure(e);
    }
  };
  self->send(self, tick_atom::value);
  return {
    [=](create_atom, http_query& q) -> caf::result<api_result> {
      // POST /api/v1/drones/{id}/commands {kind, params?, ttl_s?}. May the caller command the drone, and its group:
      // read here, fresh from the registry (another node may have moved or removed the drone), rather than asked of
      // the fleet store, whose actor also writes the fleet's registrations and last_seen (a command waited behind
      // them). A drone this read does not find may be one registering itself at its first hello, inserted after its
      // welcome: the fleet store, whose mailbox orders that insert before this question, decides then.
      const double taken_ms = runtime::mono_ms_fine();
      if (q.read_ms > 0 && st->settings.accept_wait)
        st->settings.accept_wait->observe(taken_ms - q.read_ms);
      std::optional<registry_row> drone;
      try {
        auto rows = st->registry.find_many({q.id}); // one statement, one round trip
        if (!rows.empty())
          drone = std::move(rows.front());
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
      if (drone || st->fleet == nullptr) {
        if (!drone)
          return drone_not_found(q.id);
        if (auto refused = drone_permission(q, drone->group, auth::permission::command))
          return *refused;
        q.group = drone->group;
        auto r = issue_new(q, taken_ms);
        if (!r)
          return std::move(r.error());
        return std::move(*r);
      }
      if (st->settings.fleet_authorized)
        st->settings.fleet_authorized->inc();
      auto rp = self->make_response_promise<api_result>();
      self->request(st->fleet, caf::infinite, authorize_atom::value, q)
        .then(
          [=](api_result& allowed) mutable {
            auto j = json::parse(allowed.body, nullptr, false);
            if (j.is_object() && j.contains("group") && j["group"].is_string())
              q.group = j["group"].get<std::string>();
            auto r = issue_new(q, taken_ms);
            if (r)
              rp.deliver(std::move(*r));
            else
              rp.deliver(std::move(r.error()));
          },
          [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](get_atom, http_query& q) -> caf::result<api_result> {
      flush_for("", q.id);
      // GET /api/v1/commands/{id}
      try {
        auto c = visible(q);
        if (!c)
          return no_such_command(q.id);
        return json_result(command_json(*c).dump());
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](locate_atom, http_query& q) -> caf::result<std::string> {
      // The drone of the command q.id names, when the caller sees it (a cancel is then journaled on that drone's
      // connection); else the answer a command that does not exist gets.
      flush_for("", q.id);
      try {
        auto c = visible(q);
        if (!c)
          return no_such_command(q.id);
        return std::move(c->drone_id);
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](list_atom, http_query& q) -> caf::result<api_result> {
      flush_for(q.id, "");
      // GET /api/v1/drones/{id}/commands?state=&limit=&before=; the registry allowed it.
      std::optional<command_state> state;
      list_query lq;
      try {
        lq = read_list_query(q.query, "before", "a command id", {"state"});
        if (auto s = lq.filters.find("state"); s != lq.filters.end()) {
          state = parse_command_state(s->second);
          if (!state)
            return api_error(errc::invalid_request, "invalid_parameter",
                             "state must be one of queued, sent, accepted, in_progress, succeeded, failed, rejected, "
                             "expired, timed_out, cancelled",
                             "parameter", "state");
        }
      } catch (const runtime::parameter_error& e) {
        return api_error(errc::invalid_request, "invalid_parameter", e.what(), "parameter", e.parameter);
      }
      try {
        auto list = st->store.list(q.id, state, lq.limit + 1, lq.cursor);
        return json_result(
          page_json(list, lq.limit, "commands", command_json, [](const command& c) { return c.id; }).dump());
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](cancel_atom, http_query& q) -> caf::result<api_result> {
      flush_for("", q.id);
      // DELETE /api/v1/commands/{id}
      try {
        auto c = visible(q);
        if (!c)
          return no_such_command(q.id);
        if (!auth::allows(q.who, auth::permission::command, c->group))
          return api_error(errc::forbidden, "forbidden", "role '" + q.who.role + "' may not command drones");
        if (is_final(c->state))
          return api_error(errc::conflict, "command_final",
                           std::string{"the command is final already ("} + to_string(c->state) + ")", "command_id", c->id);
        auto after = st->store.cancel(q.id, "cancelled by " + q.who.name);
        if (!after)
          return no_such_command(q.id);
        if (after->state != command_state::cancelled || c->state == command_state::cancelled)
          return api_error(errc::conflict, "command_final",
                           std::string{"the command is final already ("} + to_string(after->state) + ")", "command_id",
                           after->id);
        route(*after);
        publish(*after);
        finished(*after);
        audit(q, "command_cancelled", after->drone_id, "ok", {{"command_id", after->id}, {"kind", after->kind}});
        return json_result(command_json(*after).dump());
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](control_atom, http_query& q) -> caf::result<api_result> {
      // /api/v1/drones/{id}/control: GET (who controls it), POST {ttl_s?, force?} (take or renew), DELETE (release).
      // The registry allowed it (read for GET, command otherwise) and named the group.
      auto lease_json = [&q](const std::optional<control_lease>& l) {
        json j{{"drone_id", q.id}, {"holder", nullptr}};
        if (l) {
          j["holder"] = l->holder;
          j["taken_at"] = epoch_ms(l->taken_at);
          j["expires_at"] = epoch_ms(l->expires_at);
        }
        return j;
      };
      auto tell = [self, st, &q](const control_lease& l, const std::string& previous, bool released) {
        if (st->settings.hub == nullptr)
          return;
        json frame{{"type", "control"},   {"drone_id", l.drone_id}, {"holder", released ? json(nullptr) : json(l.holder)},
                   {"previous", previous.empty() ? json(nullptr) : json(previous)}, {"by", q.who.name},
                   {"expires_at", released ? json(nullptr) : json(epoch_ms(l.expires_at))}};
        self->send(st->settings.hub, control_atom::value, l.drone_id, q.group.empty() ? l.group : q.group,
                   "control:" + l.drone_id, frame.dump());
      };
      try {
        if (q.method == "GET" || q.method == "HEAD")
          return json_result(lease_json(st->store.lease(q.id)).dump());
        if (q.method == "DELETE") {
          bool admin = q.who.role == "admin";
          auto ended = st->store.release_lease(q.id, q.who.name, admin);
          if (!ended) {
            auto held = st->store.lease(q.id);
            if (held)
              return api_error(errc::conflict, "controlled_by_other", "'" + held->holder + "' holds this drone's control lease",
                               "holder", held->holder);
            return api_error(errc::not_found, "not_found", "nobody controls this drone");
          }
          tell(*ended, ended->holder, true);
          audit(q, "control_released", q.id, "ok", {{"holder", ended->holder}});
          return done_result();
        }
        // POST
        std::int64_t ttl_ms = st->settings.lease_ttl_ms;
        bool force = false;
        if (!q.body.empty()) {
          auto body = json::parse(q.body, nullptr, false);
          if (body.is_discarded() || !body.is_object())
            return invalid("malformed", "the body must be a JSON object", "");
          for (auto& [key, value] : body.items()) {
            if (key == "ttl_s") {
              if (!value.is_number_integer() || value.get<std::int64_t>() < 1 || value.get<std::int64_t>() > 3600)
                return invalid("invalid_field", "field 'ttl_s' must be an integer from 1 to 3600", "ttl_s");
              ttl_ms = value.get<std::int64_t>() * 1000;
            } else if (key == "force") {
              if (!value.is_boolean())
                return invalid("invalid_field", "field 'force' must be true or false", "force");
              force = value.get<bool>();
            } else {
              return invalid("invalid_field", "unknown field '" + runtime::printable(key, 32) + "'",
                             runtime::printable(key, 32));
            }
          }
        }
        if (force && q.who.role != "admin")
          return api_error(errc::forbidden, "forbidden", "only admins take over a drone's control");
        auto out = st->store.take_lease(q.id, q.group, q.who.name, ttl_ms, force);
        if (out.outcome == command_store::leased::held_by_other)
          return api_error(errc::conflict, "controlled_by_other",
                           "'" + out.lease.holder + "' controls this drone (an admin may take over with force)", "holder",
                           out.lease.holder);
        if (!out.previous.empty()) {
          tell(out.lease, out.previous, false);
          audit(q, "control_taken_over", q.id, "ok", {{"from", out.previous}});
        } else {
          tell(out.lease, "", false);
          audit(q, "control_taken", q.id, "ok", {{"ttl_s", ttl_ms / 1000}});
        }
        return json_result(lease_json(out.lease).dump());
      } catch (const runtime::db_error& e) {
        return db_failure(e);
      }
    },
    [=](journal_atom, command& c, std::string& cause) {
      // A drone's owner reports a step of the delivery: kept until the flush below, which this actor sends itself
      // behind the messages already in its mailbox: every report waiting there is journaled in one transaction.
      st->reports.push_back({std::move(c), std::move(cause)});
      st->reporters.push_back(caf::actor_cast<drone_actor>(self->current_sender()));
      if (!st->flush_queued) {
        st->flush_queued = true;
        self->send(self, journal_atom::value);
      }
    },
    [=](journal_atom) {
      st->flush_queued = false;
      flush_reports();
    },
    [=](pending_atom, const std::string& drone_id) -> caf::result<command_list> {
      flush_for(drone_id, "");
      try {
        return command_list{st->store.open(drone_id)};
      } catch (const runtime::db_error& e) {
        return make_error(errc::unavailable);
      }
    },
    [=](directory_actor& directory) { st->settings.directory = std::move(directory); },
    [=](safety_actor& safety) { st->safety = std::move(safety); },
    [=](fleet_actor& fleet) { st->fleet = std::move(fleet); },
    [=](create_atom, std::string& drone_id, std::string& group, std::string& kind, std::string& reason) {
      flush_for(drone_id, "");
      // The node commands the drone itself (a geofence breach): issued by `system`, past any control lease, audited.
      command_request r;
      r.drone_id = std::move(drone_id);
      r.group = std::move(group);
      r.kind = std::move(kind);
      r.params = "{}";
      r.issued_by = "system";
      r.system = true;
      r.ttl_ms = st->settings.default_ttl_ms;
      try {
        auto out = st->store.issue(r);
        if (out.outcome != command_store::issued::created)
          return;
        announce(out);
        runtime::log::warn("commands", "command issued by the node",
                           {{"command_id", out.cmd.id}, {"drone_id", out.cmd.drone_id}, {"kind", out.cmd.kind},
                            {"reason", reason}});
        if (st->settings.auditor)
          caf::anon_send(st->settings.auditor, audit_atom::value, std::string{"system"}, std::string{"command_issued"},
                         out.cmd.drone_id, std::string{}, std::string{"ok"},
                         json{{"command_id", out.cmd.id}, {"kind", out.cmd.kind}, {"reason", reason}}.dump());
      } catch (const runtime::db_error& e) {
        runtime::log::error("commands", "a command of the node could not be journaled",
                            {{"drone_id", r.drone_id}, {"kind", r.kind}, {"error", e.what()}});
      }
    },
    [=](tick_atom) {
      flush_reports();
      retry_unrecorded();
      // The sweep ends commands of every drone: one connection runs it (the others would only wait on its rows).
      if (index == 0) {
        try {
          for (auto& c : st->store.sweep()) {
            runtime::log::info("commands", "command ended by the sweep",
                               {{"command_id", c.id}, {"drone_id", c.drone_id}, {"state", to_string(c.state)}});
            route(c);
            publish(c);
            finished(c);
          }
        } catch (const runtime::db_error&) {
          // The database is down: the next tick tries again (health shows it at /readyz through the other roles).
        }
      }
      self->delayed_send(self, std::chrono::milliseconds(st->settings.sweep_ms), tick_atom::value);
    },
  };
}

} // namespace

command_actor::behavior_type command_service(command_actor::pointer self, command_settings s) {
  // The journal's connections, each a detached actor linked to this one (one of them failing stops the service,
  // as the single connection did). What concerns one drone always goes to the same connection, so that a
  // command's reports are journaled in the order its drone actor sent them; a route naming a command goes to the
  // connection of its id (any connection may serve it: the journal's rows and locks order the rest).
  auto workers = std::make_shared<std::vector<command_actor>>();
  auto n = std::max<std::size_t>(1, s.journal_connections);
  for (std::size_t i = 0; i < n; ++i)
    workers->push_back(self->spawn<caf::detached + caf::linked>(command_journal, s, i));
  auto pick = [workers](const std::string& key) -> const command_actor& {
    return (*workers)[std::hash<std::string>{}(key) % workers->size()];
  };
  return {
    [=](create_atom a, http_query& q) { return self->delegate(pick(q.id), a, std::move(q)); },
    [=](get_atom a, http_query& q) { return self->delegate(pick(q.id), a, std::move(q)); },
    [=](list_atom a, http_query& q) { return self->delegate(pick(q.id), a, std::move(q)); },
    [=](cancel_atom a, http_query& q) -> caf::result<api_result> {
      // A cancel goes to its drone's connection, behind the reports of the drone actor queued there (a report of
      // `sent` is journaled before the cancel that follows it, as the drone saw them): the command's drone is read
      // first (the answer of a command the caller does not see, or that does not exist, is that read's).
      auto rp = self->make_response_promise<api_result>();
      auto read = q;
      self->request(pick(q.id), caf::infinite, locate_atom::value, std::move(read))
        .then([=](std::string& drone) mutable { rp.delegate(pick(drone), a, std::move(q)); },
              [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](locate_atom a, http_query& q) { return self->delegate(pick(q.id), a, std::move(q)); },
    [=](control_atom a, http_query& q) { return self->delegate(pick(q.id), a, std::move(q)); },
    [=](journal_atom a, command& c, std::string& cause) {
      auto& to = pick(c.drone_id);
      return self->delegate(to, a, std::move(c), std::move(cause));
    },
    [=](pending_atom a, std::string& drone_id) {
      auto& to = pick(drone_id);
      return self->delegate(to, a, std::move(drone_id));
    },
    [=](create_atom a, std::string& drone_id, std::string& group, std::string& kind, std::string& reason) {
      auto& to = pick(drone_id);
      return self->delegate(to, a, std::move(drone_id), std::move(group), std::move(kind), std::move(reason));
    },
    [](tick_atom) {
      // The connections keep their own timers.
    },
    [](journal_atom) {
      // Each connection flushes its own reports.
    },
    [=](directory_actor& directory) {
      for (auto& w : *workers)
        self->send(w, directory);
    },
    [=](safety_actor& safety) {
      for (auto& w : *workers)
        self->send(w, safety);
    },
    [=](fleet_actor& fleet) {
      for (auto& w : *workers)
        self->send(w, fleet);
    },
  };
}

} // namespace dccs::actors
