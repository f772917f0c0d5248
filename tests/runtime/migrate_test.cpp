// Schema migrations against a real PostgreSQL (the test command starts a throwaway one with pg_virtualenv;
// the connection comes from the PG* environment variables).

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <pqxx/pqxx>

#include "runtime/migrate.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs::runtime;
using dccs::test::scratch_database;

namespace {

int count(pqxx::connection& c, const std::string& sql) {
  pqxx::work tx{c};
  return tx.exec1(sql)[0].as<int>();
}

} // namespace

TEST_CASE("migrations apply once, in order, and a second run changes nothing") {
  REQUIRE_FALSE(migrations("fleet").empty());
  scratch_database db;
  pqxx::connection conn{db.url()};
  auto first = migrate(conn, "fleet");
  CHECK(first.from_version == 0);
  CHECK(first.to_version == migrations("fleet").back().version);
  CHECK(first.applied.size() == migrations("fleet").size());
  CHECK(count(conn, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'fleet' AND "
                    "table_name = 'drones'")
        == 1);
  auto second = migrate(conn, "fleet");
  CHECK(second.applied.empty());
  CHECK(second.from_version == first.to_version);
  CHECK(count(conn, "SELECT count(*) FROM public.dccs_migrations") == static_cast<int>(migrations("fleet").size()));
}

TEST_CASE("nodes migrating at the same moment apply each migration exactly once") {
  scratch_database db;
  constexpr int nodes = 4;
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < nodes; ++i)
    threads.emplace_back([&] {
      try {
        pqxx::connection conn{db.url()};
        applied += static_cast<int>(migrate(conn, "fleet").applied.size());
      } catch (const std::exception&) {
        ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures == 0);
  CHECK(applied == static_cast<int>(migrations("fleet").size()));
  pqxx::connection conn{db.url()};
  CHECK(count(conn, "SELECT count(*) FROM public.dccs_migrations") == static_cast<int>(migrations("fleet").size()));
}

TEST_CASE("a database newer than the binary is refused with a clear message, and left as it is") {
  scratch_database db;
  pqxx::connection conn{db.url()};
  migrate(conn, "fleet");
  {
    pqxx::work tx{conn};
    tx.exec0("INSERT INTO public.dccs_migrations (role, version, name) VALUES ('fleet', 9999, 'from_the_future')");
    tx.commit();
  }
  try {
    migrate(conn, "fleet");
    FAIL("migrate accepted a newer database");
  } catch (const std::runtime_error& e) {
    CHECK(std::string{e.what()}.find("newer than this binary") != std::string::npos);
  }
  CHECK(count(conn, "SELECT max(version) FROM public.dccs_migrations") == 9999);
}

TEST_CASE("each role has its own version sequence, an unknown role is refused") {
  scratch_database db;
  pqxx::connection conn{db.url()};
  for (auto& role : migration_roles())
    CHECK(migrate(conn, role).to_version == migrations(role).back().version);
  CHECK(count(conn, "SELECT count(DISTINCT role) FROM public.dccs_migrations")
        == static_cast<int>(migration_roles().size()));
  CHECK_THROWS_WITH(migrate(conn, "nope"), Catch::Contains("no migrations for role"));
}
