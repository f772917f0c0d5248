#pragma once
/// The audit log as the tests read it, straight from the node's database.

#include <cstddef>
#include <string>

#include <pqxx/pqxx>

#include "tests/support/test_node.hpp"

namespace dccs::test {

/// Audit rows of `action` so far (0 while the auth role has not created its tables yet: it migrates at start).
inline std::size_t audit_rows(const test_node& node, const std::string& action) {
  pqxx::connection conn{node.db_url()};
  pqxx::work tx{conn};
  if (tx.exec1("SELECT to_regclass('auth.audit') IS NULL")[0].as<bool>())
    return 0;
  return tx.exec1("SELECT count(*) FROM auth.audit WHERE action = " + tx.quote(action))[0].as<std::size_t>();
}

} // namespace dccs::test
