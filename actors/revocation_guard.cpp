#include "actors/revocation_guard.hpp"

#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "actors/actors.hpp" // the message types and their type-ID block
#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace dccs::auth {

actors::guard_actor::behavior_type revocation_guard(actors::guard_actor::pointer self, guard_settings s,
                                                    std::shared_ptr<revocations> out) {
  struct state {
    explicit state(guard_settings x) : settings(std::move(x)) {
      if (settings.db)
        link.emplace(*settings.db);
      if (settings.redis)
        redis.emplace(*settings.redis, settings.io_timeout, settings.retry_min, settings.retry_max);
    }
    guard_settings settings;
    std::optional<runtime::pg_link> link;
    std::optional<runtime::redis_client> redis;
    std::unordered_map<std::string, std::int64_t> unshared; ///< denied here, not yet in Redis: jti -> exp
    bool redis_down_logged = false;
  };
  auto st = std::make_shared<state>(std::move(s));
  auto now_s = [] { return static_cast<std::int64_t>(runtime::wall_ms() / 1000); };
  auto share = [st, now_s] {
    if (!st->redis || st->unshared.empty() || !st->redis->ensure_connected())
      return;
    try {
      std::vector<std::vector<std::string>> cmds;
      for (auto& [jti, exp] : st->unshared)
        if (exp >= now_s())
          cmds.push_back({"ZADD", st->settings.denied_key, std::to_string(exp), jti});
      if (!cmds.empty())
        st->redis->pipeline(cmds);
      st->unshared.clear();
    } catch (const runtime::redis_error& e) {
      runtime::log::warn("auth", "cannot share a logout through Redis, will retry", {{"error", e.what()}});
    }
  };
  auto poll = [st, out, now_s] {
    auto now = now_s();
    auto health = st->settings.redis_health;
    bool redis_up = st->redis && st->redis->ensure_connected();
    if (st->redis && health && !redis_up)
      health->set(runtime::dependency_health::down);
    if (redis_up) {
      try {
        auto replies = st->redis->pipeline({{"ZRANGEBYSCORE", st->settings.denied_key, std::to_string(now), "+inf",
                                             "WITHSCORES"},
                                            {"ZREMRANGEBYSCORE", st->settings.denied_key, "-inf",
                                             "(" + std::to_string(now)}});
        auto& items = replies[0].elements;
        for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
          // The score is the token's exp; an entry that is not a plausible time is skipped, not the rest.
          char* end = nullptr;
          auto exp = std::strtod(items[i + 1].str.c_str(), &end);
          if (end == items[i + 1].str.c_str() || !(exp >= static_cast<double>(now)) || exp > 4102444800.0)
            continue;
          out->deny(items[i].str, static_cast<std::int64_t>(exp));
        }
        st->redis_down_logged = false;
        if (health)
          health->set(runtime::dependency_health::up);
      } catch (const std::exception& e) {
        if (health)
          health->set(runtime::dependency_health::down);
        if (!st->redis_down_logged)
          runtime::log::warn("auth", "cannot read logouts from Redis: other nodes' logouts are not seen",
                             {{"error", e.what()}});
        st->redis_down_logged = true;
      }
    }
    if (st->link) {
      try {
        st->link->run([&](pqxx::connection& conn) {
          pqxx::work tx{conn};
          auto rows = tx.exec_params(
            "SELECT name, enabled, floor(extract(epoch FROM updated_at))::int8 FROM auth.users"
            " WHERE NOT enabled OR updated_at > now() - make_interval(secs => $1)",
            static_cast<double>(st->settings.access_ttl_s + 60));
          tx.commit();
          std::unordered_set<std::string> disabled;
          std::unordered_map<std::string, std::int64_t> changed;
          for (const auto& r : rows) {
            auto name = r[0].as<std::string>();
            if (!r[1].as<bool>())
              disabled.insert(name);
            changed[name] = r[2].as<std::int64_t>();
          }
          out->set_users(std::move(disabled), std::move(changed));
          return 0;
        });
      } catch (const runtime::db_error&) {
        // pg_link logs the state change; the last known users stay in force.
      }
    }
    out->purge(now, st->settings.access_ttl_s + 60);
  };
  self->send(self, actors::tick_atom::value);
  return {
    [=](actors::deny_atom, std::string& jti, std::int64_t exp) {
      out->deny(jti, exp);
      if (st->redis) {
        st->unshared[jti] = exp;
        share();
      }
    },
    [=](actors::tick_atom) {
      share();
      poll();
      self->delayed_send(self, st->settings.poll, actors::tick_atom::value);
    },
  };
}

} // namespace dccs::auth
