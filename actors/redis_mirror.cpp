#include "actors/redis_mirror.hpp"

#include <functional>
#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/drone_json.hpp"
#include "runtime/log.hpp"

namespace dccs::actors {

bool parse_drone_state(const std::string& text, drone_state& out) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string())
    return false;
  try {
    out = drone_state{};
    out.info.id = j["id"].get<std::string>();
    out.info.model = j.value("model", "");
    out.info.fw = j.value("fw", "");
    out.info.group = j.value("group", "");
    out.node = j.value("node", "");
    if (auto kinds = j.find("commands"); kinds != j.end() && kinds->is_array()) {
      out.info.declares_commands = true;
      for (const auto& k : *kinds)
        if (k.is_string())
          out.info.commands.push_back(k.get<std::string>());
    }
    auto status = j.value("status", "lost");
    out.status = status == "online" ? link_status::online : status == "stale" ? link_status::stale : link_status::lost;
    out.connected = j.value("connected", false);
    if (auto seen = j.find("last_seen"); seen != j.end() && seen->is_number())
      out.last_seen = seen->get<double>(); // null: never seen
    if (j.contains("seq")) {
      auto& t = out.last;
      out.has_telemetry = true;
      out.recv = j.value("recv", 0.0);
      t.seq = j["seq"].get<std::uint64_t>();
      t.ts = j.value("ts", 0.0);
      t.lat = j.value("lat", 0.0);
      t.lon = j.value("lon", 0.0);
      t.alt = j.value("alt", 0.0);
      t.heading = j.value("heading", 0.0);
      t.speed = j.value("speed", 0.0);
      t.vspeed = j.value("vspeed", 0.0);
      t.battery = j.value("battery", 0.0);
      t.armed = j.value("armed", false);
      t.mode = j.value("mode", "");
      auto opt = [&](const char* name, std::uint8_t bit, auto& field) {
        if (j.contains(name)) {
          field = j[name].get<std::remove_reference_t<decltype(field)>>();
          t.present |= bit;
        }
      };
      opt("roll", telemetry::has_roll, t.roll);
      opt("pitch", telemetry::has_pitch, t.pitch);
      opt("yaw", telemetry::has_yaw, t.yaw);
      opt("voltage", telemetry::has_voltage, t.voltage);
      opt("sats", telemetry::has_sats, t.sats);
      opt("fix", telemetry::has_fix, t.fix);
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

mirror_actor::behavior_type redis_mirror(mirror_actor::pointer self, redis_settings s, hub_actor hub,
                                         fleet_metrics metrics, runtime::node_health* health) {
  struct mirror_state {
    explicit mirror_state(redis_settings x)
      : settings(std::move(x)), client(settings.endpoint, settings.io_timeout, settings.retry_min, settings.retry_max) {}
    redis_settings settings;
    runtime::redis_client client;
    std::uint64_t version = 0; ///< the hub's version up to which states are written
  };
  auto st = std::make_shared<mirror_state>(std::move(s));
  auto dep = health ? &health->redis : nullptr;
  // Writes the states that changed (`changed`, from the hub); false when Redis did not take them.
  auto write = [st, metrics, dep](const std::vector<drone_state>& changed) -> bool {
    bool up = st->client.ensure_connected();
    if (dep)
      dep->set(up ? runtime::dependency_health::up : runtime::dependency_health::down);
    if (changed.empty()) {
      // Nothing to write: ask the server anyway, so that a Redis that went away shows as down (the
      // connection only fails when it is used).
      if (up) {
        try {
          st->client.command({"PING"});
        } catch (const runtime::redis_error&) {
          up = false;
          if (dep)
            dep->set(runtime::dependency_health::down);
        }
      }
      return up;
    }
    if (!up) {
      if (metrics.redis_skipped)
        metrics.redis_skipped->inc(changed.size());
      return false;
    }
    auto ttl = std::to_string(st->settings.ttl_s);
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(changed.size());
    for (auto& ds : changed) {
      std::string json;
      append_drone_json(json, ds);
      cmds.push_back({"SET", st->settings.prefix + ds.info.id, std::move(json), "EX", ttl});
    }
    try {
      for (std::size_t i = 0; i < cmds.size(); i += 1000) {
        std::vector<std::vector<std::string>> chunk(cmds.begin() + i, cmds.begin() + std::min(cmds.size(), i + 1000));
        st->client.pipeline(chunk);
      }
    } catch (const runtime::redis_error& e) {
      if (dep)
        dep->set(runtime::dependency_health::down);
      if (metrics.redis_skipped)
        metrics.redis_skipped->inc(changed.size());
      runtime::log::warn("redis", "writing drone states failed", {{"error", e.what()}});
      return false;
    }
    if (metrics.redis_writes)
      metrics.redis_writes->inc(changed.size());
    return true;
  };
  // One round: the states the hub changed since the version last written, written; then `done(ok)`.
  auto round = [self, st, hub, write](std::function<void(bool)> done) {
    self->request(hub, std::chrono::seconds(10), changes_atom::value, st->version)
      .then(
        [st, write, done](state_list& list) {
          bool ok = write(list.states);
          if (ok)
            st->version = list.version;
          done(ok);
        },
        [done](caf::error&) { done(false); });
  };
  auto busy = std::make_shared<bool>(false);
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      if (!*busy) {
        *busy = true;
        round([busy](bool) { *busy = false; });
      }
      self->delayed_send(self, std::chrono::milliseconds(st->settings.interval_ms), tick_atom::value);
    },
    [=](flush_atom) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      round([rp](bool ok) mutable { rp.deliver(ok); });
      return rp;
    },
  };
}

} // namespace dccs::actors
