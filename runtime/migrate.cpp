#include "runtime/migrate.hpp"

#include <stdexcept>

#include <pqxx/pqxx>

namespace dccs::runtime {

std::vector<migration> migrations(const std::string& role) {
  std::vector<migration> out;
  for (auto& m : migrations())
    if (m.role == role)
      out.push_back(m);
  return out;
}

std::vector<std::string> migration_roles() {
  std::vector<std::string> out;
  for (auto& m : migrations())
    if (out.empty() || out.back() != m.role)
      out.push_back(m.role);
  return out;
}

migrate_result migrate(pqxx::connection& conn, const std::string& role) {
  migrate_result result;
  auto all = migrations(role);
  if (all.empty())
    throw std::runtime_error("no migrations for role '" + role + "'");
  pqxx::work tx{conn};
  // The lock comes first: the table creation below is then never raced either. One lock for every role:
  // the roles share the migrations table, and migrating is short.
  tx.exec("SELECT pg_advisory_xact_lock(hashtext('dccs-migrate'))");
  tx.exec0("CREATE TABLE IF NOT EXISTS public.dccs_migrations ("
           " role text NOT NULL,"
           " version integer NOT NULL,"
           " name text NOT NULL,"
           " applied_at timestamptz NOT NULL DEFAULT now(),"
           " PRIMARY KEY (role, version))");
  auto row = tx.exec1("SELECT coalesce(max(version), 0) FROM public.dccs_migrations WHERE role = "
                      + tx.quote(role));
  result.from_version = row[0].as<int>();
  int newest = all.back().version;
  if (result.from_version > newest)
    throw std::runtime_error("the " + role + " schema is at version " + std::to_string(result.from_version)
                             + ", newer than this binary knows (" + std::to_string(newest)
                             + "): run a newer dccs against it, or restore a matching database");
  result.to_version = result.from_version;
  for (auto& m : all) {
    if (m.version <= result.from_version)
      continue;
    try {
      tx.exec(m.sql);
    } catch (const std::exception& e) {
      throw std::runtime_error(role + " migration " + std::to_string(m.version) + " (" + m.name
                               + ") failed, nothing was applied: " + e.what());
    }
    tx.exec0("INSERT INTO public.dccs_migrations (role, version, name) VALUES (" + tx.quote(role) + ", "
             + std::to_string(m.version) + ", " + tx.quote(m.name) + ")");
    result.applied.push_back(m.name);
    result.to_version = m.version;
  }
  tx.commit();
  return result;
}

} // namespace dccs::runtime
