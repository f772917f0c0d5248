// How the node opens PostgreSQL connections (no database needed).

#include <catch2/catch.hpp>

#include "runtime/pg.hpp"
#include "runtime/pg_array.hpp"

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

TEST_CASE("array literals: texts quoted and escaped, numbers in the shortest form that reads back the same") {
  CHECK(dccs::runtime::pg_text_array({}) == "{}");
  CHECK(dccs::runtime::pg_text_array({"a", "NULL", "q\"b\\c"}) == R"({"a","NULL","q\"b\\c"})");
  CHECK(dccs::runtime::pg_number_array(std::vector<std::int64_t>{}) == "{}");
  CHECK(dccs::runtime::pg_number_array(std::vector<std::int64_t>{0, -3, 1764633600000000}) ==
        "{0,-3,1764633600000000}");
  std::vector<double> times{1764633600123.25, 0.1 + 0.2, 1e15};
  auto literal = dccs::runtime::pg_number_array(times);
  CHECK(literal == "{1764633600123.25,0.30000000000000004,1e+15}");
}
