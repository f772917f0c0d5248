#pragma once
/// The drone registry's model (a row of fleet.drones), how a REST body becomes a change to it, and how it is
/// shown. Plain functions: no database, no actor.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "auth/access.hpp"

namespace dccs::actors {

/// One row of fleet.drones.
struct registry_row {
  std::string id;
  std::string name;
  std::string model;
  std::string firmware;
  std::optional<double> home_lat;
  std::optional<double> home_lon;
  std::optional<double> home_alt;
  std::string metadata = "{}";
  double created_ms = 0;
  double last_seen_ms = 0; ///< 0: never seen
  std::string group;
  std::string credential = "none"; ///< none, active or revoked
  std::string secret_hash;         ///< hex SHA-256 of the drone's secret, when active
  mutable std::string json; ///< registry_json(*this).dump(), made when first needed
};

/// The registry fields of a POST or PATCH body, checked by parse_input.
struct registry_input {
  std::optional<std::string> id, name, model, firmware, group;
  bool has_home = false;
  std::optional<double> home_lat, home_lon, home_alt; ///< all empty with has_home: clear
  std::optional<std::string> metadata;
};

/// Reads a POST (`creating`) or PATCH body into `in`. On a refusal, the error to answer (invalid_request): `malformed` when the
/// body is not a JSON object, otherwise `invalid_field` naming the first bad field (unknown fields, `id` on a
/// PATCH, texts too long or holding NUL, a home out of range, metadata that is not an object of at most 16 KiB).
std::optional<caf::error> parse_input(const std::string& body, bool creating, registry_input& in);

/// The registry object of a drone as the API shows it: id, name, model, firmware, home ({lat, lon, alt} or
/// null), group, credential (never the secret or its hash), metadata, created_at and last_seen (RFC 3339, UTC,
/// milliseconds; last_seen null when never seen).
nlohmann::json registry_json(const registry_row& r);

/// The live-view object of a drone that has only a registry entry: not connected, link lost.
drone_state placeholder(const registry_row& r);

/// A refusal of a registry request, naming the field of the body that was wrong when there is one.
caf::error registry_error(errc kind, const std::string& code, const std::string& message,
                          const std::string& field = {});

/// The refusal of a drone that does not exist, or that the caller may not see (404: nothing tells them it exists).
caf::error drone_not_found(const std::string& id);

/// The permission check (auth/access.hpp) of a request about a drone of `group`: a caller who may not see the drone
/// gets the answer a missing drone gets (404); one who sees it but may not do `p`, 403. Nothing when allowed.
std::optional<caf::error> drone_permission(const http_query& q, const std::string& group, auth::permission p);

} // namespace dccs::actors
