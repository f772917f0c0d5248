#pragma once
/// The registry's SQL (fleet.drones, PostgreSQL, fleet role) over one worker's connection. Blocking: it belongs
/// to the detached actor that owns the connection. Every call throws runtime::db_error on failure.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/registry.hpp"
#include "runtime/pg.hpp"

namespace dccs::actors {

/// A drone admitted at hello without a registry entry, to register: its id and what it reported.
struct new_drone {
  std::string id;
  std::string model;
  std::string firmware;
};

/// What a drone reported at hello that differs from its registry entry.
using reported_drone = new_drone;

class registry_store {
public:
  registry_store(runtime::pg_link& link, std::string default_group)
    : link_(link), default_group_(std::move(default_group)) {}

  /// Every row, and the database's clock when they were read (the cursor of the next `changes_since`).
  struct snapshot {
    std::vector<registry_row> rows;
    double as_of_ms = 0;
  };
  snapshot load();

  /// What changed since `since_ms` (a snapshot's or a previous change set's `as_of_ms`), read in one
  /// consistent snapshot: rows new or changed but for last_seen (whole), last_seen times moved (id, time), and
  /// how many rows there are (a copy holding a different number after applying the changes has missed a delete
  /// or an insert: see `ids`).
  struct changes {
    std::vector<registry_row> changed;
    std::vector<std::pair<std::string, double>> seen;
    std::size_t count = 0;
    double as_of_ms = 0;
  };
  changes changes_since(double since_ms);

  /// The id of every row.
  std::vector<std::string> ids();

  /// The row of one drone, or nothing.
  std::optional<registry_row> find(const std::string& id);

  /// The rows of these drones (those that have one), in one query.
  std::vector<registry_row> find_many(const std::vector<std::string>& ids);

  /// The outcome of `register_drones`.
  struct registration {
    std::vector<registry_row> registered;                   ///< rows inserted (an id registered meanwhile is not)
    std::vector<std::pair<std::string, std::string>> refused; ///< (id, why): the database refused this drone
    std::vector<std::string> settled; ///< ids done with: registered, already there, or refused
  };
  /// Registers drones into the default group in one statement. When the database refuses the statement for its
  /// content, each drone is tried alone, so that one drone it refuses costs no other its registration; when the
  /// database becomes unreachable meanwhile, the drones not tried are left out of `settled`. Throws
  /// db_error(unavailable) when nothing could be tried.
  registration register_drones(const std::vector<new_drone>& drones);

  /// Inserts a drone registered through the API with an active credential (`secret_hash_hex`); nothing when the
  /// id is taken.
  std::optional<registry_row> create(const registry_input& in, const std::string& group,
                                     const std::string& secret_hash_hex);

  /// Applies the fields `in` sets to drone `id` only if it is still in `group` (the group its permission was
  /// checked against: another node may have moved or removed it meanwhile). The row after it, or nothing.
  std::optional<registry_row> update(const std::string& id, const std::string& group, const registry_input& in);

  /// Sets an active credential with `secret_hash_hex` (rotation), or revokes it (nothing), under the same
  /// condition as `update`.
  std::optional<registry_row> set_credential(const std::string& id, const std::string& group,
                                             const std::optional<std::string>& secret_hash_hex);

  /// Deletes drone `id` if it is still in `group`; false when it was not.
  bool remove(const std::string& id, const std::string& group);

  /// Keeps model and firmware as the drones reported them at hello, in one statement.
  void record_reported(const std::vector<reported_drone>& drones);

  /// Writes last-seen times (milliseconds), only ever forward, in one statement.
  void write_seen(const std::vector<std::pair<std::string, double>>& times);

private:
  runtime::pg_link& link_;
  std::string default_group_;
};

} // namespace dccs::actors
