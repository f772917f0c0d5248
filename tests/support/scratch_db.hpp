#pragma once
/// A scratch PostgreSQL database for one test, on the server the PG* environment variables name (the test
/// command starts a throwaway one with pg_virtualenv).

#include <random>
#include <string>

#include <pqxx/pqxx>

namespace dccs::test {

/// A fresh, empty database for one test, dropped (with its connections) afterwards.
struct scratch_database {
  scratch_database() {
    std::random_device rd;
    name = "dccs_test_" + std::to_string(rd() % 100000000);
    pqxx::connection admin{""};
    pqxx::nontransaction tx{admin};
    tx.exec0("CREATE DATABASE " + name);
  }
  ~scratch_database() {
    try {
      pqxx::connection admin{""};
      pqxx::nontransaction tx{admin};
      tx.exec0("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (...) {
    }
  }
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  /// Its libpq connection string.
  std::string url() const { return "dbname=" + name; }
  std::string name;
};

} // namespace dccs::test
