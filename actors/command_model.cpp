#include "actors/command_model.hpp"
#include "actors/epoch_ms.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

struct range {
  double min, max;
};

/// A required or optional number parameter in range; a problem as (field, message).
std::optional<std::pair<std::string, std::string>> check_number(const nlohmann::json& params, const char* name,
                                                                range r, bool required) {
  auto field = std::string{"params."} + name;
  auto it = params.find(name);
  if (it == params.end()) {
    if (required)
      return std::make_pair(field, "parameter '" + std::string{name} + "' is required");
    return std::nullopt;
  }
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < r.min || it->get<double>() > r.max) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "parameter '%s' must be a number from %g to %g", name, r.min, r.max);
    return std::make_pair(field, std::string{buf});
  }
  return std::nullopt;
}

} // namespace

bool valid_command_kind(std::string_view kind) {
  return std::any_of(std::begin(command_kinds), std::end(command_kinds), [&](const char* k) { return kind == k; });
}

bool valid_command_id(std::string_view id) {
  if (id.size() != 36)
    return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

bool is_movement(std::string_view kind) {
  return kind == "takeoff" || kind == "land" || kind == "rtl" || kind == "goto" || kind == "resume" ||
         kind == "mission_start";
}

bool is_safety(std::string_view kind) {
  return kind == "land" || kind == "rtl";
}

std::optional<std::pair<std::string, std::string>> check_command_params(std::string_view kind,
                                                                        const nlohmann::json& params) {
  if (!params.is_object())
    return std::make_pair(std::string{"params"}, std::string{"params must be a JSON object"});
  std::vector<const char*> allowed;
  std::optional<std::pair<std::string, std::string>> problem;
  auto need = [&](const char* name, range r, bool required) {
    allowed.push_back(name);
    if (!problem)
      problem = check_number(params, name, r, required);
  };
  if (kind == "takeoff") {
    need("alt", {1, 10000}, true);
  } else if (kind == "goto") {
    need("lat", {-90, 90}, true);
    need("lon", {-180, 180}, true);
    need("alt", {-1000, 100000}, true);
    need("speed", {0.1, 1000}, false);
  } else if (kind == "set_speed") {
    need("speed", {0.1, 1000}, true);
  } else if (kind == "mission_start") {
    allowed.push_back("mission_id");
    auto it = params.find("mission_id");
    if (it == params.end())
      problem = std::make_pair(std::string{"params.mission_id"}, std::string{"parameter 'mission_id' is required"});
    else if (!it->is_string() || !valid_command_id(it->get_ref<const std::string&>()))
      problem = std::make_pair(std::string{"params.mission_id"},
                               std::string{"parameter 'mission_id' must be a mission id (a UUID)"});
  } else if (kind == "set_mode") {
    allowed.push_back("mode");
    auto it = params.find("mode");
    if (it == params.end())
      problem = std::make_pair(std::string{"params.mode"}, std::string{"parameter 'mode' is required"});
    else if (!it->is_string() || it->get_ref<const std::string&>().empty() || it->get_ref<const std::string&>().size() > 32
             || !runtime::valid_text(it->get_ref<const std::string&>()))
      problem = std::make_pair(std::string{"params.mode"},
                               std::string{"parameter 'mode' must be text of 1 to 32 characters"});
  }
  if (problem)
    return problem;
  for (auto& [key, value] : params.items())
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
      auto shown = key.size() > 32 ? key.substr(0, 32) : key;
      if (!runtime::valid_text(shown))
        shown = "?";
      return std::make_pair("params." + shown, "command '" + std::string{kind} + "' has no parameter '" + shown + "'");
    }
  return std::nullopt;
}

const char* to_string(command_state s) {
  switch (s) {
    case command_state::queued: return "queued";
    case command_state::sent: return "sent";
    case command_state::accepted: return "accepted";
    case command_state::in_progress: return "in_progress";
    case command_state::succeeded: return "succeeded";
    case command_state::failed: return "failed";
    case command_state::rejected: return "rejected";
    case command_state::expired: return "expired";
    case command_state::timed_out: return "timed_out";
    case command_state::cancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<command_state> parse_command_state(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(command_state::cancelled); ++i)
    if (s == to_string(static_cast<command_state>(i)))
      return static_cast<command_state>(i);
  return std::nullopt;
}

bool is_final(command_state s) {
  return s != command_state::queued && s != command_state::sent && s != command_state::accepted
         && s != command_state::in_progress;
}

const char* to_string(drone_result r) {
  switch (r) {
    case drone_result::accepted: return "accepted";
    case drone_result::in_progress: return "in_progress";
    case drone_result::succeeded: return "succeeded";
    case drone_result::failed: return "failed";
    case drone_result::temporarily_rejected: return "temporarily_rejected";
    case drone_result::denied: return "denied";
    case drone_result::unsupported: return "unsupported";
    case drone_result::cancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<drone_result> parse_drone_result(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(drone_result::cancelled); ++i)
    if (s == to_string(static_cast<drone_result>(i)))
      return static_cast<drone_result>(i);
  return std::nullopt;
}

// -- delivery ---------------------------------------------------------------------------------------------

command_delivery::command_delivery(command c, command_policy p) : cmd_(std::move(c)), policy_(p) {
}

command_delivery::step command_delivery::finish(command_state s, std::string reason, double now) {
  cmd_.state = s;
  cmd_.reason = std::move(reason);
  cmd_.updated_at = now;
  return {false, true};
}

command_delivery::step command_delivery::send(double now) {
  ++cmd_.attempt;
  last_sent_ = now;
  bool changed = cmd_.state == command_state::queued;
  if (changed)
    cmd_.state = command_state::sent;
  cmd_.updated_at = now;
  return {true, true}; // the attempt changed, too
}

command_delivery::step command_delivery::connected(double now) {
  connected_ = true;
  if (is_final(cmd_.state))
    return {};
  if (cmd_.state == command_state::queued || cmd_.state == command_state::sent) {
    if (now >= cmd_.expires_at)
      return cmd_.state == command_state::queued ? finish(command_state::expired, "not sent before it expired", now)
                                                 : finish(command_state::timed_out, "no answer from the drone", now);
    if (cmd_.attempt >= policy_.max_attempts)
      return finish(command_state::timed_out, "no answer from the drone", now);
    return send(now);
  }
  // accepted / in_progress: the drone is executing it. Asked at once (the same frame again), it answers with its
  // newest ack for it: what happened while it was away.
  last_heard_ = std::max(last_heard_, now);
  ++cmd_.attempt;
  last_sent_ = now;
  return {true, false};
}

void command_delivery::disconnected() {
  connected_ = false;
}

command_delivery::step command_delivery::due(double now) {
  if (is_final(cmd_.state))
    return {};
  switch (cmd_.state) {
    case command_state::queued:
      if (now >= cmd_.expires_at)
        return finish(command_state::expired, "not sent before it expired", now);
      return {};
    case command_state::sent:
      if (!connected_ || now < last_sent_ + static_cast<double>(policy_.retry_ms))
        return {};
      if (cmd_.attempt >= policy_.max_attempts || now >= cmd_.expires_at)
        return finish(command_state::timed_out, "no answer from the drone", now);
      return send(now);
    default: // accepted, in_progress
      if (now >= last_heard_ + static_cast<double>(policy_.progress_timeout_ms))
        return finish(command_state::timed_out, "no news from the drone", now);
      // Quiet for retry_ms: sent again, as a question. A drone answers a command_id it has with its newest ack
      // for it, so a lost final ack is recovered here instead of the command timing out.
      if (connected_ && now >= std::max(last_heard_, last_sent_) + static_cast<double>(policy_.retry_ms)) {
        ++cmd_.attempt;
        last_sent_ = now;
        return {true, false};
      }
      return {};
  }
}

command_delivery::step command_delivery::ack(drone_result r, double progress, const std::string& reason, double now) {
  if (is_final(cmd_.state) || cmd_.attempt == 0)
    return {}; // final, or an ack for a frame this owner never sent (an old owner's): nothing changes
  last_heard_ = now;
  switch (r) {
    case drone_result::accepted:
      if (cmd_.state != command_state::sent)
        return {}; // a repeated accept (the answer to a resend)
      cmd_.state = command_state::accepted;
      cmd_.updated_at = now;
      return {false, true};
    case drone_result::in_progress: {
      // Unchanged news is reported too, every half progress timeout: the journal's sweep must know it is alive
      // (a paused command reports the same progress for as long as it is paused).
      bool changed = cmd_.state != command_state::in_progress || (progress >= 0 && progress != cmd_.progress)
                     || now - cmd_.updated_at >= static_cast<double>(policy_.progress_timeout_ms) / 2;
      cmd_.state = command_state::in_progress;
      if (progress >= 0)
        cmd_.progress = progress;
      if (changed)
        cmd_.updated_at = now;
      return {false, changed};
    }
    case drone_result::succeeded:
      cmd_.progress = 100;
      return finish(command_state::succeeded, reason, now);
    case drone_result::failed:
      return finish(command_state::failed, reason.empty() ? "the drone could not execute it" : reason, now);
    case drone_result::temporarily_rejected:
      return finish(command_state::rejected, reason.empty() ? "temporarily rejected by the drone" : reason, now);
    case drone_result::denied:
      return finish(command_state::rejected, reason.empty() ? "denied by the drone" : reason, now);
    case drone_result::unsupported:
      return finish(command_state::rejected, reason.empty() ? "unsupported by the drone" : reason, now);
    case drone_result::cancelled:
      return finish(command_state::cancelled, reason.empty() ? "cancelled by the drone" : reason, now);
  }
  return {};
}

command_delivery::step command_delivery::cancel(const std::string& reason, double now) {
  if (is_final(cmd_.state))
    return {};
  return finish(command_state::cancelled, reason, now);
}

void command_delivery::finished(command_state s, const std::string& reason) {
  if (is_final(cmd_.state) || !is_final(s))
    return;
  cmd_.state = s;
  cmd_.reason = reason;
}

double command_delivery::next_due() const {
  switch (cmd_.state) {
    case command_state::queued:
      return cmd_.expires_at;
    case command_state::sent:
      return connected_ ? last_sent_ + static_cast<double>(policy_.retry_ms) : -1;
    case command_state::accepted:
    case command_state::in_progress: {
      auto timeout = last_heard_ + static_cast<double>(policy_.progress_timeout_ms);
      if (!connected_)
        return timeout;
      return std::min(timeout, std::max(last_heard_, last_sent_) + static_cast<double>(policy_.retry_ms));
    }
    default:
      return -1;
  }
}

// -- JSON -------------------------------------------------------------------------------------------------

nlohmann::json command_json(const command& c) {
  auto params = nlohmann::json::parse(c.params.empty() ? std::string{"{}"} : c.params, nullptr, false);
  if (params.is_discarded())
    params = nlohmann::json::object();
  nlohmann::json j{{"id", c.id},
                   {"drone_id", c.drone_id},
                   {"group", c.group},
                   {"kind", c.kind},
                   {"params", std::move(params)},
                   {"state", to_string(c.state)},
                   {"final", is_final(c.state)},
                   {"attempt", c.attempt},
                   {"reason", c.reason},
                   {"issued_by", c.issued_by},
                   {"created_at", epoch_ms(c.created_at)},
                   {"updated_at", epoch_ms(c.updated_at)},
                   {"expires_at", epoch_ms(c.expires_at)}};
  if (c.progress >= 0)
    j["progress"] = c.progress;
  return j;
}

std::string command_frame(const command& c) {
  auto params = nlohmann::json::parse(c.params.empty() ? std::string{"{}"} : c.params, nullptr, false);
  if (params.is_discarded())
    params = nlohmann::json::object();
  return nlohmann::json{{"type", "command"},   {"command_id", c.id}, {"kind", c.kind},
                        {"params", params},    {"attempt", c.attempt}, {"expires_at", epoch_ms(c.expires_at)}}
    .dump();
}

std::string command_cancel_frame(const std::string& command_id) {
  return nlohmann::json{{"type", "command_cancel"}, {"command_id", command_id}}.dump();
}

} // namespace dccs::actors
