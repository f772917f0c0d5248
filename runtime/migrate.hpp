#pragma once

#include <string>
#include <vector>

#include <pqxx/connection>

namespace dccs::runtime {

/// One versioned schema change of one role's schema, from runtime/migrations/<role>/NNNN_name.sql
/// (embedded into the binary at build time, so a node migrates without its source tree). Each role (fleet,
/// telemetry, auth) has its own schema, its own version sequence, and may live in its own database.
struct migration {
  std::string role;
  int version;
  std::string name;
  std::string sql;
};

/// Every migration this binary knows, by role, then ascending version.
const std::vector<migration>& migrations();

/// The migrations of one role, by ascending version.
std::vector<migration> migrations(const std::string& role);

/// The roles that have migrations.
std::vector<std::string> migration_roles();

/// What `migrate` did.
struct migrate_result {
  int from_version = 0; ///< the database's version before
  int to_version = 0;   ///< after
  std::vector<std::string> applied;
};

/// Brings one role's schema up to its newest migration: in one transaction, under a transaction-scoped
/// advisory lock shared by the roles (nodes starting at the same moment wait for each other, and the later ones find
/// nothing to do), applying each missing migration in order and recording it in `public.dccs_migrations`
/// (role, version). Throws
/// std::runtime_error with a clear message when the database is newer than this binary, or when a
/// migration fails (the transaction rolls back: nothing is half-applied).
migrate_result migrate(pqxx::connection& conn, const std::string& role);

} // namespace dccs::runtime
