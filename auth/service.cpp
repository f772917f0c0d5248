#include "auth/service.hpp"

#include <chrono>
#include <iostream>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
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
          runtime::log::info("auth", "first admin created (its password was printed once on stderr)");
        st->bootstrapped = true;
      }
      return 0;
    });
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
          return error_answer(401, "invalid_credentials", "wrong user name or password");
        }
        claims c;
        c.iss = st->settings.issuer;
        c.aud = st->settings.audience;
        c.sub = who->name;
        c.role = to_string(who->role);
        c.groups = who->groups;
        c.iat = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
        c.nbf = c.iat;
        c.exp = c.iat + st->settings.access_ttl_s;
        auto token = sign(*keys, c);
        runtime::log::info("auth", "login", {{"user", who->name}, {"address", q.kind}});
        return answer(200, json{{"access_token", token}, {"token_type", "Bearer"},
                                {"expires_in", st->settings.access_ttl_s}}.dump());
      } catch (const runtime::db_error& e) {
        return error_answer(e.code() == runtime::db_errc::unavailable ? 503 : 500,
                            e.code() == runtime::db_errc::unavailable ? "unavailable" : "internal", e.what());
      }
    },
  };
}

} // namespace dccs::auth
