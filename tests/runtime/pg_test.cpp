// How the node opens PostgreSQL connections (no database needed).

#include <catch2/catch.hpp>

#include "runtime/pg.hpp"

using dccs::runtime::with_connect_timeout;

TEST_CASE("every PostgreSQL connection has a connect timeout, in either connection string form") {
  CHECK(with_connect_timeout("", 5) == "connect_timeout=5");
  CHECK(with_connect_timeout("host=db port=5432", 5) == "host=db port=5432 connect_timeout=5");
  CHECK(with_connect_timeout("postgresql://u@db/dccs", 7) == "postgresql://u@db/dccs?connect_timeout=7");
  CHECK(with_connect_timeout("postgres://u@db/dccs?sslmode=require", 3)
        == "postgres://u@db/dccs?sslmode=require&connect_timeout=3");
  // The operator's own choice stands; 0 leaves libpq's default.
  CHECK(with_connect_timeout("host=db connect_timeout=30", 5) == "host=db connect_timeout=30");
  CHECK(with_connect_timeout("host=db", 0) == "host=db");
}
