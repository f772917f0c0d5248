#include "auth/service.hpp"

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <iostream>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/history.hpp"
#include "actors/http_errors.hpp"
#include "actors/messages.hpp"
#include "auth/jwt.hpp"
#include "auth/audit.hpp"
#include "auth/password.hpp"
#include "auth/refresh.hpp"
#include "auth/users.hpp"
#include "runtime/log.hpp"

namespace dccs::auth {

namespace {

using json = nlohmann::json;

actors::http_answer answer(std::uint16_t status, std::string body) {
  return actors::http_answer{status, "application/json", std::move(body)};
}

actors::http_answer error_answer(std::uint16_t status, const std::string& code, const std::string& message) {
  return answer(status, json{{"error", {{"code", code}, {"message", message}}}}.dump());
}

/// Writes an audit row; a failure to audit is logged, never fatal to the request.
void audit(pqxx::connection& conn, const std::string& actor, const char* action, const std::string& address,
           audit_outcome outcome, nlohmann::json detail = nlohmann::json::object()) {
  try {
    audit_entry e;
    e.actor = actor;
    e.action = action;
    e.address = address;
    e.outcome = outcome;
    e.detail = std::move(detail);
    write_audit(conn, e);
  } catch (const std::exception& x) {
    runtime::log::error("auth", "cannot write the audit log", {{"action", action}, {"error", x.what()}});
  }
}

} // namespace

caf::behavior auth_service(caf::event_based_actor* self, auth_settings s, std::shared_ptr<const key_ring> keys) {
  struct state {
    explicit state(auth_settings x) : settings(std::move(x)), link(settings.db) {}
    auth_settings settings;
    runtime::pg_link link;
    bool bootstrapped = false;
  };
  auto st = std::make_shared<state>(std::move(s));
  // Connects (and migrates) if needed; creates the first admin once. Throws db_error.
  auto ensure = [st] {
    st->link.run([&](pqxx::connection& conn) {
      if (!st->bootstrapped && st->settings.bootstrap) {
        if (bootstrap_admin(conn, std::cerr))
          runtime::log::info("auth", "first admin created (user admin)");
        st->bootstrapped = true;
      }
      return 0;
    });
  };
  // An access token for the user and the refresh token that goes with it, as the login answer.
  auto tokens = [st, keys](const user& who, const refresh_token& refresh) {
    claims c;
    c.iss = st->settings.issuer;
    c.aud = st->settings.audience;
    c.sub = who.name;
    c.role = to_string(who.role);
    c.groups = who.groups;
    c.iat = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
    c.nbf = c.iat;
    c.exp = c.iat + st->settings.access_ttl_s;
    return answer(200, json{{"access_token", sign(*keys, c)},
                            {"token_type", "Bearer"},
                            {"expires_in", st->settings.access_ttl_s},
                            {"refresh_token", refresh.token},
                            {"refresh_expires_at",
                             std::chrono::duration_cast<std::chrono::seconds>(refresh.expires_at.time_since_epoch())
                               .count()}}
                         .dump());
  };
  self->send(self, actors::tick_atom::value);
  return {
    [=](actors::tick_atom) {
      try {
        ensure();
      } catch (const runtime::db_error&) {
        // Retried at the first login, or at the next tick.
        self->delayed_send(self, std::chrono::seconds(1), actors::tick_atom::value);
      }
    },
    [=](actors::login_atom, actors::http_query& q) -> actors::http_answer {
      auto body = json::parse(q.body, nullptr, false);
      if (!body.is_object() || !body.contains("name") || !body["name"].is_string() || !body.contains("password")
          || !body["password"].is_string())
        return error_answer(400, "malformed", "the body must be {\"name\": string, \"password\": string}");
      auto name = body["name"].get<std::string>();
      auto password = body["password"].get<std::string>();
      try {
        ensure();
        auto who = st->link.run([&](pqxx::connection& conn) {
          if (!valid_user_name(name)) {
            dummy_verify(password); // the same work as for any unknown user
            return std::optional<user>{};
          }
          return authenticate(conn, name, password);
        });
        if (!who) {
          runtime::log::info("auth", "login refused", {{"user", name}, {"address", q.kind}});
          st->link.run([&](pqxx::connection& conn) {
            audit(conn, name, audit_action::login_failed, q.kind, audit_outcome::refused);
            return 0;
          });
          return error_answer(401, "invalid_credentials", "wrong user name or password");
        }
        return st->link.run([&](pqxx::connection& conn) {
          auto refresh = issue_refresh(conn, who->id, std::chrono::seconds(st->settings.refresh_ttl_s));
          audit(conn, who->name, audit_action::login, q.kind, audit_outcome::ok, {{"family", refresh.family}});
          return tokens(*who, refresh);
        });
      } catch (const runtime::db_error& e) {
        return actors::db_error_answer(e);
      }
    },
    [=](actors::denied_atom, std::string& reason, std::string& address) {
      // A request with a refused access token (the bridge verified it): audited, nothing answered.
      try {
        st->link.run([&](pqxx::connection& conn) {
          audit(conn, anonymous_actor, audit_action::token_refused, address, audit_outcome::refused,
                {{"reason", reason}});
          return 0;
        });
      } catch (const runtime::db_error&) {
      }
    },
    [=](actors::audit_atom, actors::http_query& q) -> actors::http_answer {
      // GET /api/v1/audit (admins; the bridge checked the token): filters actor, drone, action, outcome,
      // from, to (RFC 3339 or ms), limit, before (the previous page's next_before).
      auto refused = [](const std::string& name, const std::string& message) {
        return answer(400, json{{"error", {{"code", "invalid_parameter"}, {"parameter", name},
                                           {"message", message}}}}.dump());
      };
      auto refuse = [&](const std::string& name, const std::string& rule) {
        return refused(name, "parameter " + name + " " + rule);
      };
      std::map<std::string, std::string> args;
      try {
        args = actors::history::parse_query(q.query);
      } catch (const actors::history::parameter_error& e) {
        return refused(e.parameter, e.what());
      }
      audit_filter f;
      for (auto& [name, value] : args) {
        if (name == "actor") {
          f.actor = value;
        } else if (name == "drone") {
          f.drone_id = value;
        } else if (name == "action") {
          f.action = value;
        } else if (name == "outcome") {
          f.outcome = parse_audit_outcome(value);
          if (!f.outcome)
            return refuse(name, "must be ok, refused or error");
        } else if (name == "from" || name == "to") {
          auto us = actors::history::parse_time(value);
          if (!us)
            return refuse(name, "must be RFC 3339 or milliseconds since the epoch");
          auto tp = std::chrono::system_clock::time_point{std::chrono::microseconds{*us}};
          (name == "from" ? f.from : f.to) = tp;
        } else if (name == "limit" || name == "before") {
          char* end = nullptr;
          auto v = std::strtoll(value.c_str(), &end, 10);
          if (value.empty() || *end != '\0' || v < 1)
            return refuse(name, "must be a positive integer");
          if (name == "limit")
            f.limit = static_cast<std::size_t>(std::min<long long>(v, static_cast<long long>(audit_max_page)));
          else
            f.before_id = v;
        } else {
          return refused(name, "unknown parameter " + name);
        }
      }
      try {
        ensure();
        auto page = st->link.run([&](pqxx::connection& conn) { return query_audit(conn, f); });
        json rows = json::array();
        for (auto& e : page.entries) {
          auto at_us = std::chrono::duration_cast<std::chrono::microseconds>(e.at.time_since_epoch()).count();
          rows.push_back({{"id", e.id}, {"at", actors::history::format_time(at_us)}, {"actor", e.actor},
                          {"action", e.action}, {"drone_id", e.drone_id ? json(*e.drone_id) : json(nullptr)},
                          {"address", e.address}, {"outcome", to_string(e.outcome)}, {"detail", e.detail}});
        }
        return answer(200, json{{"entries", rows},
                                {"next_before", page.next_before_id ? json(*page.next_before_id) : json(nullptr)}}
                             .dump());
      } catch (const runtime::db_error& e) {
        return actors::db_error_answer(e);
      }
    },
    [=](actors::refresh_atom, actors::http_query& q) -> actors::http_answer {
      auto body = json::parse(q.body, nullptr, false);
      if (!body.is_object() || !body.contains("refresh_token") || !body["refresh_token"].is_string())
        return error_answer(400, "malformed", "the body must be {\"refresh_token\": string}");
      try {
        ensure();
        return st->link.run([&](pqxx::connection& conn) {
          auto r = rotate_refresh(conn, body["refresh_token"].get<std::string>());
          if (!r.ok()) {
            auto actor = r.user_name.empty() ? std::string{anonymous_actor} : r.user_name;
            auto action = r.status == refresh_status::reused ? audit_action::refresh_reused : audit_action::token_refused;
            json detail{{"reason", to_string(r.status)}};
            if (!r.family.empty())
              detail["family"] = r.family;
            audit(conn, actor, action, q.kind, audit_outcome::refused, detail);
            if (r.status == refresh_status::reused)
              runtime::log::warn("auth", "a spent refresh token was presented: its family is revoked",
                                 {{"user", r.user_name}, {"family", r.family}, {"address", q.kind}});
            return error_answer(401, "invalid_token", "the refresh token is not valid");
          }
          auto who = find_by_name(conn, r.user_name);
          if (!who || !who->enabled) {
            revoke_family(conn, r.family);
            return error_answer(401, "invalid_token", "the refresh token is not valid");
          }
          audit(conn, who->name, audit_action::refresh, q.kind, audit_outcome::ok, {{"family", r.family}});
          return tokens(*who, r.next);
        });
      } catch (const runtime::db_error& e) {
        return actors::db_error_answer(e);
      }
    },
  };
}

} // namespace dccs::auth
