#include "actors/auth_service.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "runtime/query_text.hpp"
#include "actors/api_errors.hpp"
#include "actors/actors.hpp" // the message types and their type-ID block
#include "auth/access.hpp"
#include "auth/audit.hpp"
#include "auth/jwt.hpp"
#include "auth/login_limits.hpp"
#include "auth/password.hpp"
#include "auth/refresh.hpp"
#include "auth/users.hpp"
#include "runtime/log.hpp"

namespace dccs::auth {

namespace {

using json = nlohmann::json;

using actors::api_result;
using actors::errc;

api_result answer(std::string body) {
  return actors::json_result(std::move(body));
}

caf::error refusal(errc kind, const std::string& code, const std::string& message) {
  return actors::api_error(kind, code, message);
}

/// Writes an audit row; a failure to audit is logged, never fatal to the request.
audit_entry entry(const std::string& actor, const char* action, const std::string& address, audit_outcome outcome,
                  nlohmann::json detail) {
  audit_entry e;
  e.actor = actor;
  e.action = action;
  e.address = address;
  e.outcome = outcome;
  e.detail = std::move(detail);
  return e;
}

void audit(pqxx::connection& conn, const std::string& actor, const char* action, const std::string& address,
           audit_outcome outcome, nlohmann::json detail = nlohmann::json::object()) {
  try {
    write_audit(conn, entry(actor, action, address, outcome, std::move(detail)));
  } catch (const std::exception& x) {
    runtime::log::error("auth", "cannot write the audit log", {{"action", action}, {"error", x.what()}});
  }
}


/// The same within the caller's transaction (the row commits with the change it records, or not at all).
void audit(pqxx::transaction_base& tx, const std::string& actor, const char* action, const std::string& address,
           audit_outcome outcome, nlohmann::json detail) {
  write_audit(tx, entry(actor, action, address, outcome, std::move(detail)));
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  return runtime::format_time(
    std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

/// A user as the REST API shows it: never the hash.
json user_json(const user& u) {
  return json{{"name", u.name},
              {"role", to_string(u.role)},
              {"groups", u.groups},
              {"enabled", u.enabled},
              {"created_at", rfc3339(u.created_at)},
              {"updated_at", rfc3339(u.updated_at)},
              {"password_changed_at", rfc3339(u.password_changed_at)}};
}

/// A refused field of a request body: 400 {"error":{"code":"invalid_field","field":...,"message":...}}.
struct field_error {
  std::string field;
  std::string message;
};

caf::error field_refusal(const field_error& e) {
  return actors::api_error(errc::invalid_request, "invalid_field", e.message, "field", e.field);
}

/// What a POST or PATCH of a user asks for, checked field by field; `error` names the first bad field.
struct user_request {
  std::optional<std::string> name;
  user_patch patch;
  std::optional<field_error> error;
};

/// Reads the fields of a users body: name (POST only), password, role, groups, enabled (PATCH only). Unknown
/// fields are refused; for POST, name, password and role are required.
user_request parse_user_request(const json& body, bool create) {
  user_request r;
  auto fail = [&](const std::string& field, const std::string& message) {
    if (!r.error)
      r.error = field_error{field, message};
  };
  for (auto it = body.begin(); it != body.end(); ++it) {
    const auto& key = it.key();
    const auto& v = it.value();
    if (key == "name" && create) {
      if (!v.is_string() || !valid_user_name(v.get_ref<const std::string&>()))
        fail(key, "name must be a string of 1 to 64 characters of A-Z a-z 0-9 _ . @ -");
      else
        r.name = v.get<std::string>();
    } else if (key == "password") {
      if (!v.is_string()) {
        fail(key, "password must be a string");
      } else if (auto problem = password_problem(v.get_ref<const std::string&>()); !problem.empty()) {
        fail(key, "password: " + problem); // names the rule, never the value
      } else {
        r.patch.password = v.get<std::string>();
      }
    } else if (key == "role") {
      auto parsed = v.is_string() ? parse_role(v.get_ref<const std::string&>()) : std::nullopt;
      if (!parsed)
        fail(key, "role must be \"viewer\", \"operator\", \"analytics\" or \"admin\"");
      else
        r.patch.role = *parsed;
    } else if (key == "groups") {
      bool ok = v.is_array();
      std::vector<std::string> groups;
      if (ok) {
        for (const auto& g : v) {
          if (!g.is_string() || !valid_group_name(g.get_ref<const std::string&>())) {
            ok = false;
            break;
          }
          groups.push_back(g.get<std::string>());
        }
      }
      if (!ok)
        fail(key, "groups must be an array of group names (1 to 64 characters of A-Z a-z 0-9 _ . -)");
      else
        r.patch.groups = std::move(groups);
    } else if (key == "enabled" && !create) {
      if (!v.is_boolean())
        fail(key, "enabled must be true or false");
      else
        r.patch.enabled = v.get<bool>();
    } else {
      fail(key, "unknown field " + key);
    }
  }
  if (create) {
    if (!body.contains("name"))
      fail("name", "name is required");
    if (!body.contains("password"))
      fail("password", "password is required");
    if (!body.contains("role"))
      fail("role", "role is required");
  }
  return r;
}

json role_groups(const user& u) { return json{{"role", to_string(u.role)}, {"groups", u.groups}}; }

} // namespace

actors::auth_actor::behavior_type auth_service(actors::auth_actor::pointer self, auth_settings s,
                                               std::shared_ptr<const key_ring> keys) {
  struct state {
    explicit state(auth_settings x) : settings(std::move(x)), link(settings.db), limits(settings.limits) {}
    auth_settings settings;
    runtime::pg_link link;
    login_limits limits;
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
    // The revocation watcher refuses every token of a user issued in or before the second of the user's last
    // change (iat <= floor(updated_at): a token issued in that second may predate the change). A token issued
    // in that very second, after the change, would be refused too: wait for the next second (only right after
    // a change to this user; bounded, should the database's clock run ahead of ours).
    using namespace std::chrono;
    auto changed_s = duration_cast<seconds>(who.updated_at.time_since_epoch()).count();
    auto not_before = system_clock::time_point{seconds{changed_s + 1}};
    if (system_clock::now() < not_before)
      std::this_thread::sleep_until(std::min(not_before, system_clock::now() + seconds{2}));
    c.iat = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    c.nbf = c.iat;
    c.exp = c.iat + st->settings.access_ttl_s;
    return answer(json{{"access_token", sign(*keys, c)},
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
    [=](actors::login_atom, actors::http_query& q) -> caf::result<api_result> {
      auto body = json::parse(q.body, nullptr, false);
      if (!body.is_object() || !body.contains("name") || !body["name"].is_string() || !body.contains("password")
          || !body["password"].is_string())
        return refusal(errc::invalid_request, "malformed", "the body must be {\"name\": string, \"password\": string}");
      auto name = body["name"].get<std::string>();
      auto password = body["password"].get<std::string>();
      // The limits come first, before the database and before any password work: the same answer, as fast,
      // for a known and an unknown name.
      auto verdict = st->limits.check(name, q.address);
      if (verdict.limited) {
        runtime::log::info("auth", "login refused: too many failed logins",
                           {{"user", name}, {"address", q.address}, {"limit", verdict.limit}});
        try {
          st->link.run([&](pqxx::connection& conn) {
            audit(conn, name, audit_action::login_limited, q.address, audit_outcome::refused,
                  {{"limit", verdict.limit}, {"retry_after_s", verdict.retry_after_s}});
            return 0;
          });
        } catch (const runtime::db_error& e) {
          runtime::log::error("auth", "cannot write the audit log", {{"action", "login_limited"}, {"error", e.what()}});
        }
        return actors::api_error(errc::too_many, "too_many_attempts", "too many failed logins: try again later", {}, {},
                                 verdict.retry_after_s);
      }
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
          st->limits.failed(name, q.address);
          runtime::log::info("auth", "login refused", {{"user", name}, {"address", q.address}});
          st->link.run([&](pqxx::connection& conn) {
            audit(conn, name, audit_action::login_failed, q.address, audit_outcome::refused);
            return 0;
          });
          return refusal(errc::unauthenticated, "invalid_credentials", "wrong user name or password");
        }
        st->limits.succeeded(who->name, q.address);
        return st->link.run([&](pqxx::connection& conn) {
          auto refresh = issue_refresh(conn, who->id, std::chrono::seconds(st->settings.refresh_ttl_s));
          json detail{{"family", refresh.family}};
          if (verdict.known_address)
            detail["past_account_limit"] = true; // the account was locked; this address is known for it
          audit(conn, who->name, audit_action::login, q.address, audit_outcome::ok, detail);
          return tokens(*who, refresh);
        });
      } catch (const runtime::db_error& e) {
        return actors::db_failure(e);
      }
    },
    [=](actors::logout_atom, actors::http_query& q) -> caf::result<api_result> {
      // The bridge has denied the access token already; here: the refresh side, and the audit row.
      if (q.who.name.empty())
        return refusal(errc::unauthenticated, "unauthorized", "an access token is required");
      std::optional<std::string> token;
      if (q.body.find_first_not_of(" \t\r\n") != std::string::npos) {
        auto body = json::parse(q.body, nullptr, false);
        bool ok = body.is_object();
        for (auto it = ok ? body.begin() : body.end(); ok && it != body.end(); ++it)
          ok = it.key() == "refresh_token" && it.value().is_string();
        if (!ok)
          return refusal(errc::invalid_request, "malformed", "the body must be empty or {\"refresh_token\": string}");
        if (body.contains("refresh_token"))
          token = body["refresh_token"].get<std::string>();
      }
      try {
        ensure();
        return st->link.run([&](pqxx::connection& conn) {
          logout_result r;
          if (token)
            r = logout_refresh(conn, *token, q.who.name);
          json detail{{"family_revoked", r.revoked}};
          if (r.revoked)
            detail["family"] = r.family;
          audit(conn, q.who.name, audit_action::logout, q.address, audit_outcome::ok, detail);
          // 204 whatever became of the token: whose it was is not revealed.
          return actors::done_result();
        });
      } catch (const runtime::db_error& e) {
        return actors::db_failure(e);
      }
    },
    [=](actors::users_atom, actors::http_query& q) -> caf::result<api_result> {
      // Admins only: the bridge checked the token and the permission; checked again here, cheaply.
      if (!allows(q.who, permission::manage_users))
        return refusal(errc::forbidden, "forbidden", "users are managed by admins");
      // (The bridge sends only GET, HEAD, POST on the collection and GET, HEAD, PATCH on a user.)
      bool read = q.method == "GET" || q.method == "HEAD";
      if (q.id.empty() ? !(read || q.method == "POST") : !(read || q.method == "PATCH"))
        return refusal(errc::invalid_request, "method_not_allowed", "method not allowed on this path");
      auto not_found = [&] { return refusal(errc::not_found, "not_found", "no user named '" + q.id + "'"); };
      if (!q.id.empty() && !valid_user_name(q.id))
        return not_found(); // no user can have that name
      const auto& actor = q.who.name;
      // A refusal, audited in its own transaction (the change's rolled back).
      auto refuse = [&](const char* action, const std::string& target, json detail, caf::error a) {
        detail["user"] = target;
        try {
          st->link.run([&](pqxx::connection& conn) {
            audit(conn, actor, action, q.address, audit_outcome::refused, std::move(detail));
            return 0;
          });
        } catch (const runtime::db_error& e) {
          runtime::log::error("auth", "cannot write the audit log", {{"action", action}, {"error", e.what()}});
        }
        return a;
      };
      try {
        ensure();
        // The token may predate a change to its holder (demoted or disabled a moment ago, before the node's
        // revocation watcher saw it, within about a second): a caller the database knows to be no enabled admin
        // any more is refused here at once. (A token whose subject has no row was minted with the node's key
        // by its operator, as the tests do: the token is the authority, as on every other route.)
        auto caller = st->link.run([&](pqxx::connection& conn) { return find_by_name(conn, actor); });
        if (caller && (!caller->enabled || caller->role != role::admin))
          return refusal(errc::forbidden, "forbidden", "users are managed by admins");
        if (read) {
          return st->link.run([&](pqxx::connection& conn) -> caf::expected<api_result> {
            if (q.id.empty()) {
              json users = json::array();
              for (const auto& u : list_users(conn))
                users.push_back(user_json(u));
              return answer(json{{"users", users}}.dump());
            }
            auto u = find_by_name(conn, q.id);
            if (!u)
              return not_found();
            return answer(user_json(*u).dump());
          });
        }
        auto body = json::parse(q.body, nullptr, false);
        if (!body.is_object())
          return refusal(errc::invalid_request, "malformed", "the body must be a JSON object");
        bool create = q.method == "POST";
        auto req = parse_user_request(body, create);
        auto target = create ? (body.contains("name") && body["name"].is_string() ? body["name"].get<std::string>()
                                                                                   : std::string{})
                             : q.id;
        auto bad_request = [&](const char* action, const field_error& e) {
          return refuse(action, target, {{"reason", "invalid_field"}, {"field", e.field}}, field_refusal(e));
        };
        if (create) {
          if (req.error)
            return bad_request(audit_action::user_created, *req.error);
          try {
            auto u = st->link.run([&](pqxx::connection& conn) {
              return create_user(conn, *req.name, *req.patch.password, *req.patch.role,
                                 req.patch.groups.value_or(std::vector<std::string>{}),
                                 [&](pqxx::transaction_base& tx, const user&, const user& created) {
                                   audit(tx, actor, audit_action::user_created, q.address, audit_outcome::ok,
                                         {{"user", created.name}, {"new", role_groups(created)}});
                                 });
            });
            runtime::log::info("auth", "user created", {{"user", u.name}, {"role", to_string(u.role)}, {"by", actor}});
            return actors::json_result(user_json(u).dump(), actors::api_outcome::created);
          } catch (const user_error& e) {
            if (e.reason() == user_errc::duplicate)
              return refuse(audit_action::user_created, target, {{"reason", "conflict"}},
                            refusal(errc::conflict, "conflict", "a user named '" + target + "' exists already"));
            return bad_request(audit_action::user_created,
                               field_error{e.reason() == user_errc::weak_password ? "password" : "groups", e.what()});
          }
        }
        // PATCH: the action a refusal is audited under is the first change asked for.
        const char* action = req.patch.enabled && !*req.patch.enabled ? audit_action::user_disabled
                             : req.patch.role || req.patch.groups     ? audit_action::user_changed
                             : req.patch.password                     ? audit_action::password_changed
                             : req.patch.enabled                      ? audit_action::user_enabled
                                                                      : audit_action::user_changed;
        if (req.error)
          return bad_request(action, *req.error);
        bool password_set = req.patch.password.has_value();
        try {
          auto u = st->link.run([&](pqxx::connection& conn) {
            return update_user(conn, q.id, req.patch, [&](pqxx::transaction_base& tx, const user& before,
                                                          const user& after) {
              bool role_groups_changed = before.role != after.role || before.groups != after.groups;
              bool disabled = before.enabled && !after.enabled;
              // Their sessions end: no refresh token of theirs works any more (and updated_at moved, so the
              // revocation watcher refuses their older access tokens and closes their sockets).
              std::int64_t revoked = 0;
              if (password_set || role_groups_changed || disabled)
                revoked = revoke_user(tx, after.id);
              json common{{"user", after.name}, {"refresh_revoked", revoked}};
              if (password_set)
                audit(tx, actor, audit_action::password_changed, q.address, audit_outcome::ok, common);
              if (role_groups_changed) {
                auto d = common;
                d["old"] = role_groups(before);
                d["new"] = role_groups(after);
                audit(tx, actor, audit_action::user_changed, q.address, audit_outcome::ok, d);
              }
              if (before.enabled != after.enabled)
                audit(tx, actor, after.enabled ? audit_action::user_enabled : audit_action::user_disabled, q.address,
                      audit_outcome::ok, common);
            });
          });
          runtime::log::info("auth", "user changed", {{"user", u.name}, {"by", actor}});
          return answer(user_json(u).dump());
        } catch (const user_error& e) {
          switch (e.reason()) {
            case user_errc::not_found:
              return refuse(action, target, {{"reason", "not_found"}}, not_found());
            case user_errc::last_admin:
              return refuse(action, target, {{"reason", "last_admin"}},
                            refusal(errc::conflict, "last_admin",
                                         "'" + target + "' is the last enabled admin: make another admin first"));
            case user_errc::weak_password:
              return bad_request(action, field_error{"password", e.what()});
            default:
              return bad_request(action, field_error{"groups", e.what()});
          }
        }
      } catch (const runtime::db_error& e) {
        return actors::db_failure(e);
      }
    },
    [=](actors::audit_atom, std::string& actor, std::string& action, std::string& drone, std::string& address,
        std::string& outcome, std::string& detail) {
      // An audit row from another part of the node (the registry: drone registration, credentials).
      try {
        audit_entry e;
        e.actor = std::move(actor);
        e.action = action;
        if (!drone.empty())
          e.drone_id = std::move(drone);
        e.address = std::move(address);
        auto o = parse_audit_outcome(outcome);
        e.outcome = o ? *o : audit_outcome::error;
        auto d = json::parse(detail, nullptr, false);
        e.detail = d.is_object() ? d : json::object();
        st->link.run([&](pqxx::connection& conn) {
          write_audit(conn, e);
          return 0;
        });
      } catch (const std::exception& x) {
        runtime::log::error("auth", "cannot write the audit log", {{"action", action}, {"error", x.what()}});
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
    [=](actors::audit_atom, actors::http_query& q) -> caf::result<api_result> {
      // GET /api/v1/audit (admins; the bridge checked the token): filters actor, drone, action, outcome,
      // from, to (RFC 3339 or ms), limit, before (the previous page's next_before).
      auto refused = [](const std::string& name, const std::string& message) {
        return actors::api_error(errc::invalid_request, "invalid_parameter", message, "parameter", name);
      };
      audit_filter f;
      try {
        f = parse_audit_query(q.query);
      } catch (const runtime::parameter_error& e) {
        return refused(e.parameter, e.what());
      }
      try {
        ensure();
        auto page = st->link.run([&](pqxx::connection& conn) { return query_audit(conn, f); });
        json rows = json::array();
        for (auto& e : page.entries) {
          auto at_us = std::chrono::duration_cast<std::chrono::microseconds>(e.at.time_since_epoch()).count();
          rows.push_back({{"id", e.id}, {"at", runtime::format_time(at_us)}, {"actor", e.actor},
                          {"action", e.action}, {"drone_id", e.drone_id ? json(*e.drone_id) : json(nullptr)},
                          {"address", e.address}, {"outcome", to_string(e.outcome)}, {"detail", e.detail}});
        }
        return answer(json{{"entries", rows},
                                {"next_before", page.next_before_id ? json(*page.next_before_id) : json(nullptr)}}
                             .dump());
      } catch (const runtime::db_error& e) {
        return actors::db_failure(e);
      }
    },
    [=](actors::refresh_atom, actors::http_query& q) -> caf::result<api_result> {
      auto body = json::parse(q.body, nullptr, false);
      if (!body.is_object() || !body.contains("refresh_token") || !body["refresh_token"].is_string())
        return refusal(errc::invalid_request, "malformed", "the body must be {\"refresh_token\": string}");
      try {
        ensure();
        return st->link.run([&](pqxx::connection& conn) -> caf::expected<api_result> {
          auto r = rotate_refresh(conn, body["refresh_token"].get<std::string>());
          if (!r.ok()) {
            auto actor = r.user_name.empty() ? std::string{anonymous_actor} : r.user_name;
            auto action = r.status == refresh_status::reused ? audit_action::refresh_reused : audit_action::token_refused;
            json detail{{"reason", to_string(r.status)}};
            if (!r.family.empty())
              detail["family"] = r.family;
            audit(conn, actor, action, q.address, audit_outcome::refused, detail);
            if (r.status == refresh_status::reused)
              runtime::log::warn("auth", "a spent refresh token was presented: its family is revoked",
                                 {{"user", r.user_name}, {"family", r.family}, {"address", q.address}});
            return refusal(errc::unauthenticated, "invalid_token", "the refresh token is not valid");
          }
          auto who = find_by_name(conn, r.user_name);
          if (!who || !who->enabled) {
            revoke_family(conn, r.family);
            return refusal(errc::unauthenticated, "invalid_token", "the refresh token is not valid");
          }
          audit(conn, who->name, audit_action::refresh, q.address, audit_outcome::ok, {{"family", r.family}});
          return tokens(*who, r.next);
        });
      } catch (const runtime::db_error& e) {
        return actors::db_failure(e);
      }
    },
  };
}

} // namespace dccs::auth
