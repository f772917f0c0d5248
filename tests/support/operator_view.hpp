#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/client.hpp"

namespace dccs::test {

/// What an operator knows: the newest entry per drone from snapshots and updates, and every status event.
struct operator_view {
  std::map<std::string, nlohmann::json> drones;
  std::vector<nlohmann::json> events;
  std::vector<nlohmann::json> errors;
  std::vector<std::string> removed; ///< ids of "remove" frames, in order
  int snapshots = 0;
  int updates = 0;

  void apply(const nlohmann::json& frame) {
    auto type = frame.value("type", "");
    if (type == "snapshot" || type == "update") {
      (type == "snapshot" ? snapshots : updates)++;
      for (auto& d : frame["drones"])
        drones[d["id"].get<std::string>()] = d;
    } else if (type == "status") {
      for (auto& e : frame["events"])
        events.push_back(e);
    } else if (type == "error") {
      errors.push_back(frame);
    } else if (type == "remove") {
      for (auto& id : frame["drones"]) {
        drones.erase(id.get<std::string>());
        removed.push_back(id.get<std::string>());
      }
    }
  }

  /// Reads frames from `op` until `done()` holds; false if the socket closes or a read times out first.
  bool read_until(ws_client& op, const std::function<bool()>& done) {
    while (!done()) {
      auto text = op.read();
      if (!text)
        return false;
      apply(nlohmann::json::parse(*text));
    }
    return true;
  }
};

} // namespace dccs::test
