#pragma once
/// Whether a drone that says hello may connect, and in which group: the registry's rule as a plain class, so
/// that it is decided (and tested) without a database or an actor.

#include <cstdint>
#include <string>

#include "actors/registry.hpp"

namespace dccs::actors {

/// What happens when a drone that is not in the registry says hello.
enum class unregistered_policy { register_it, refuse };

/// Answers to (admit_atom, ...): 0 admits, otherwise the WebSocket close code to refuse with.
constexpr std::uint16_t admit_ok = 0;
constexpr std::uint16_t admit_refused = 4001;     ///< authentication failed (unknown drone under refuse, wrong,
                                                  ///< missing or revoked secret: the drone is not told which)
constexpr std::uint16_t admit_unavailable = 1013; ///< the registry cannot be asked now: try again later

/// The outcome of one hello.
struct admission_verdict {
  enum class kind {
    admit,               ///< connect, in `group`
    register_then_admit, ///< connect, in `group` (the default group); the drone is registered meanwhile
    refuse,              ///< close 4001; `reason` says why, for the log only (the drone must not learn it)
    unavailable,         ///< close 1013: the registry could not be asked and nothing known admits the drone
  };
  kind what = kind::refuse;
  std::string group;
  const char* reason = "";

  /// The answer to the bridge: admit_ok, admit_refused or admit_unavailable.
  std::uint16_t code() const;
};

/// The admission rule (docs/security.md): a drone whose registry entry has an active credential must present
/// its own secret (compared as SHA-256 in constant time); a revoked credential, a wrong or missing secret, and a
/// secret for an unknown drone or for a drone without a credential are refused alike. A drone without a
/// credential, or unknown, connects only under `register_it` — unknown ones are registered into the default group.
class admission_policy {
public:
  admission_policy(unregistered_policy unregistered, std::string default_group)
    : unregistered_(unregistered), default_group_(std::move(default_group)) {}

  /// Decides one hello. `row` is the drone's registry entry (null: none); `registry_answered` is false when the
  /// database could not be asked and `row` is the node's last known copy (then a refusal that rests on the
  /// drone being unknown becomes `unavailable`: it may have been registered meanwhile); `registration_pending`
  /// is true when the drone was admitted unregistered before and its registration has not been written yet.
  admission_verdict decide(const registry_row* row, const std::string& secret, bool registry_answered,
                           bool registration_pending) const;

  unregistered_policy unregistered() const { return unregistered_; }
  const std::string& default_group() const { return default_group_; }

private:
  unregistered_policy unregistered_;
  std::string default_group_;
};

} // namespace dccs::actors
