#pragma once

#include <string>
#include <vector>

#include <pqxx/connection>

namespace dccs::runtime {

/// One versioned schema change, from runtime/migrations/NNNN_name.sql (embedded into the binary at build
/// time, so a node migrates without its source tree).
struct migration {
  int version;
  std::string name;
  std::string sql;
};

/// Every migration this binary knows, by ascending version.
const std::vector<migration>& migrations();

/// What `migrate` did.
struct migrate_result {
  int from_version = 0; ///< the database's version before
  int to_version = 0;   ///< after
  std::vector<std::string> applied;
};

/// Brings the database up to the newest migration: in one transaction, under a transaction-scoped
/// advisory lock (nodes starting at the same moment wait for each other, and the second finds nothing to
/// do), applying each missing migration in order and recording it in `public.dccs_migrations`. Throws
/// std::runtime_error with a clear message when the database is newer than this binary, or when a
/// migration fails (the transaction rolls back: nothing is half-applied).
migrate_result migrate(pqxx::connection& conn);

} // namespace dccs::runtime
