#include "runtime/migrate.hpp"

#include <stdexcept>

#include <pqxx/pqxx>

namespace dccs::runtime {

namespace {

/// Advisory lock key shared by every DCCS node ("dccs-mig" as 8 bytes).
constexpr long long migration_lock_key = 0x646363732d6d6967LL;

} // namespace

migrate_result migrate(pqxx::connection& conn) {
  migrate_result result;
  pqxx::work tx{conn};
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key) + ")");
  tx.exec0("CREATE TABLE IF NOT EXISTS public.dccs_migrations ("
           " version integer PRIMARY KEY,"
           " name text NOT NULL,"
           " applied_at timestamptz NOT NULL DEFAULT now())");
  auto row = tx.exec1("SELECT coalesce(max(version), 0) FROM public.dccs_migrations");
  result.from_version = row[0].as<int>();
  auto& all = migrations();
  int newest = all.empty() ? 0 : all.back().version;
  if (result.from_version > newest)
    throw std::runtime_error("the database schema is at version " + std::to_string(result.from_version)
                             + ", newer than this binary knows (" + std::to_string(newest)
                             + "): run a newer dccs against it, or restore a matching database");
  result.to_version = result.from_version;
  for (auto& m : all) {
    if (m.version <= result.from_version)
      continue;
    try {
      tx.exec(m.sql);
    } catch (const std::exception& e) {
      throw std::runtime_error("migration " + std::to_string(m.version) + " (" + m.name
                               + ") failed, nothing was applied: " + e.what());
    }
    tx.exec0("INSERT INTO public.dccs_migrations (version, name) VALUES (" + std::to_string(m.version) + ", "
             + tx.quote(m.name) + ")");
    result.applied.push_back(m.name);
    result.to_version = m.version;
  }
  tx.commit();
  return result;
}

} // namespace dccs::runtime
