// COPY in PostgreSQL's binary format, both ways (runtime/pg_copy.hpp), against a real PostgreSQL (the test command
// starts a throwaway one; the connection comes from the PG* environment variables).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "runtime/pg_copy.hpp"
#include "tests/support/scratch_db.hpp"

namespace pc = dccs::runtime::pg_copy;
using dccs::test::scratch_database;

namespace {

struct row {
  std::string id;
  std::int64_t at_us;
  std::int64_t n;
  std::int32_t i;
  double x;
  bool b;
  std::optional<std::string> note;
  std::optional<double> y;
};

void put(std::string& out, const row& r) {
  pc::put_row(out, 8);
  pc::put_text(out, r.id);
  pc::put_timestamptz(out, r.at_us);
  pc::put_int8(out, r.n);
  pc::put_int4(out, r.i);
  pc::put_float8(out, r.x);
  pc::put_bool(out, r.b);
  if (r.note)
    pc::put_text(out, *r.note);
  else
    pc::put_null(out);
  if (r.y)
    pc::put_float8(out, *r.y);
  else
    pc::put_null(out);
}

const char* const table = "CREATE TABLE t (id text NOT NULL, at timestamptz NOT NULL, n int8 NOT NULL UNIQUE, "
                          "i int4 NOT NULL, x float8 NOT NULL, b bool NOT NULL, note text, y float8)";
const char* const copy_in = "COPY t (id, at, n, i, x, b, note, y) FROM STDIN (FORMAT binary)";
const char* const copy_out = "COPY (SELECT id, at, n, i, x, b, note, y FROM t ORDER BY n) TO STDOUT (FORMAT binary)";

std::vector<row> read_all(pqxx::dbtransaction& tx) {
  std::vector<row> out;
  pc::receive(tx, copy_out, [&](const pc::field* f, std::size_t n) {
    REQUIRE(n == 8);
    row r{std::string{f[0].text()}, f[1].timestamptz_us(), f[2].int8(), f[3].int4(), f[4].float8(), f[5].boolean(),
          std::nullopt, std::nullopt};
    if (!f[6].null())
      r.note = std::string{f[6].text()};
    if (!f[7].null())
      r.y = f[7].float8();
    out.push_back(std::move(r));
  });
  return out;
}

} // namespace

TEST_CASE("binary COPY: rows written field by field read back the same, NULLs, old times and any text included") {
  scratch_database db;
  pqxx::connection conn{db.url()};
  pqxx::work tx{conn};
  tx.exec0(table);
  std::vector<row> rows{
    {"drone-1", 1764633600123456, 1, 7, 0.1 + 0.2, true, std::string{"grün ✈"}, 1e-300},
    {"", 0, 2, -1, -0.0, false, std::string{}, std::nullopt},
    {"old", -1, std::numeric_limits<std::int64_t>::min() + 1, std::numeric_limits<std::int32_t>::max(), 1e308, true,
     std::nullopt, -2.5},
    {"pre-2000", 946684799999999, std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int32_t>::min(),
     std::numeric_limits<double>::denorm_min(), false, std::nullopt, std::nullopt},
  };
  std::string data;
  pc::put_header(data);
  for (const auto& r : rows)
    put(data, r);
  pc::put_trailer(data);
  pc::send(tx, copy_in, data);

  // PostgreSQL read the values that were meant (checked in its own text form).
  CHECK(tx.exec1("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM t WHERE id = 'old'")[0]
          .as<std::string>()
        == "1969-12-31 23:59:59.999999");
  CHECK(tx.exec1("SELECT extract(epoch FROM at)::text FROM t WHERE id = ''")[0].as<std::string>() == "0.000000");
  CHECK(tx.exec1("SELECT note || '|' || i || '|' || b FROM t WHERE id = 'drone-1'")[0].as<std::string>()
        == "grün ✈|7|true");
  CHECK(tx.exec1("SELECT count(*) FROM t WHERE note IS NULL AND id IN ('old', 'pre-2000')")[0].as<int>() == 2);

  auto back = read_all(tx);
  REQUIRE(back.size() == rows.size());
  std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) { return a.n < b.n; });
  for (std::size_t k = 0; k < rows.size(); ++k) {
    INFO("row " << rows[k].id);
    CHECK(back[k].id == rows[k].id);
    CHECK(back[k].at_us == rows[k].at_us);
    CHECK(back[k].n == rows[k].n);
    CHECK(back[k].i == rows[k].i);
    CHECK(std::memcmp(&back[k].x, &rows[k].x, sizeof(double)) == 0); // bit for bit (-0.0 too)
    CHECK(back[k].b == rows[k].b);
    CHECK(back[k].note == rows[k].note);
    CHECK(back[k].y == rows[k].y);
  }
}

TEST_CASE("binary COPY out: a large result streams through row by row, in the query's order") {
  scratch_database db;
  pqxx::connection conn{db.url()};
  pqxx::work tx{conn};
  std::int64_t count = 0, previous = -1;
  bool ordered = true;
  double sum = 0;
  pc::receive(tx,
              "COPY (SELECT g, 'drone-' || (g % 5000), g * 0.5::float8 FROM generate_series(0, 199999) g ORDER BY g)"
              " TO STDOUT (FORMAT binary)",
              [&](const pc::field* f, std::size_t n) {
                if (n != 3) {
                  ordered = false;
                  return;
                }
                auto g = f[0].int4();
                ordered = ordered && g == previous + 1;
                previous = g;
                if (f[1].text() != "drone-" + std::to_string(g % 5000))
                  ordered = false;
                sum += f[2].float8();
                ++count;
              });
  CHECK(count == 200000);
  CHECK(ordered);
  CHECK(sum == Approx(0.5 * 199999.0 * 200000.0 / 2));
  // The connection is out of COPY and takes statements again.
  CHECK(tx.exec1("SELECT 41 + 1")[0].as<int>() == 42);
}

TEST_CASE("binary COPY: a refused row, a failing query, a throwing reader and a wrong type are errors, "
          "and the connection stays usable") {
  scratch_database db;
  pqxx::connection conn{db.url()};
  {
    pqxx::work tx{conn};
    tx.exec0(table);
    tx.commit();
  }
  auto one = [](std::int64_t n) {
    std::string data;
    pc::put_header(data);
    put(data, row{"d", 0, n, 0, 0, false, std::nullopt, std::nullopt});
    pc::put_trailer(data);
    return data;
  };

  SECTION("a row the table refuses: the server's message and SQLSTATE; the savepoint rolls it back") {
    pqxx::work tx{conn};
    pc::send(tx, copy_in, one(1));
    {
      pqxx::subtransaction sp{tx, "dup"};
      try {
        pc::send(sp, copy_in, one(1));
        FAIL("a duplicate was stored");
      } catch (const pqxx::sql_error& e) {
        CHECK(e.sqlstate() == "23505");
        CHECK(std::string{e.what()}.find("duplicate key") != std::string::npos);
      }
      sp.abort();
    }
    pc::send(tx, copy_in, one(2));
    tx.commit();
    pqxx::work check{conn};
    CHECK(check.exec1("SELECT count(*) FROM t")[0].as<int>() == 2);
  }
  SECTION("a stream that is not binary COPY's format is refused by the server") {
    pqxx::work tx{conn};
    CHECK_THROWS_AS(pc::send(tx, copy_in, "not a copy stream"), pqxx::sql_error);
  }
  SECTION("a query failing midway: its error, after the rows before it") {
    pqxx::work tx{conn};
    int rows = 0;
    try {
      pc::receive(tx, "COPY (SELECT 1 / (1000 - g) FROM generate_series(1, 2000) g) TO STDOUT (FORMAT binary)",
                  [&](const pc::field*, std::size_t) { ++rows; });
      FAIL("no error");
    } catch (const pqxx::sql_error& e) {
      CHECK(e.sqlstate() == "22012"); // division by zero
    }
    CHECK(rows < 1000);
    tx.abort();
    pqxx::work again{conn};
    CHECK(again.exec1("SELECT 1")[0].as<int>() == 1);
  }
  SECTION("a reader that throws: the rest is drained, its exception comes out, the transaction goes on") {
    pqxx::work tx{conn};
    int rows = 0;
    CHECK_THROWS_WITH(pc::receive(tx, "COPY (SELECT g FROM generate_series(1, 50000) g) TO STDOUT (FORMAT binary)",
                                  [&](const pc::field*, std::size_t) {
                                    if (++rows == 10)
                                      throw std::runtime_error{"enough"};
                                  }),
                      "enough");
    CHECK(rows == 10);
    CHECK(tx.exec1("SELECT 2")[0].as<int>() == 2);
  }
  SECTION("a field read as another type, or a NULL read as a value") {
    pqxx::work tx{conn};
    CHECK_THROWS_AS(pc::receive(tx, "COPY (SELECT 'text'::text) TO STDOUT (FORMAT binary)",
                                [](const pc::field* f, std::size_t) { (void)f[0].float8(); }),
                    pqxx::conversion_error);
    CHECK_THROWS_AS(pc::receive(tx, "COPY (SELECT 1::int4) TO STDOUT (FORMAT binary)",
                                [](const pc::field* f, std::size_t) { (void)f[0].int8(); }),
                    pqxx::conversion_error);
    CHECK_THROWS_AS(pc::receive(tx, "COPY (SELECT NULL::text) TO STDOUT (FORMAT binary)",
                                [](const pc::field* f, std::size_t) { (void)f[0].text(); }),
                    pqxx::conversion_error);
    CHECK(tx.exec1("SELECT 3")[0].as<int>() == 3);
  }
}
