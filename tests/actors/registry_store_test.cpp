// The registry's SQL (actors/registry_store.hpp) against a real PostgreSQL: a scratch database per test, migrated
// by the store's own connection. Another connection plays another node changing the registry.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "actors/registry_store.hpp"
#include "runtime/secret.hpp"
#include "tests/support/scratch_db.hpp"

using namespace dccs;
using namespace dccs::actors;

namespace {

struct store_fixture {
  test::scratch_database db;
  runtime::pg_link link{runtime::pg_settings{"fleet", db.url()}};
  registry_store store{link, "field"};

  /// Runs `sql` on a connection of its own, as another node would.
  void elsewhere(const std::string& sql) {
    pqxx::connection conn{db.url()};
    pqxx::work tx{conn};
    tx.exec0(sql);
    tx.commit();
  }
};

std::vector<std::string> ids_of(const std::vector<registry_row>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows)
    out.push_back(r.id);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("registry store: drones registered at hello go into the default group; one refused costs no other") {
  store_fixture f;
  auto first = f.store.register_drones({{"d-1", "X8", "1.0"}, {"d-2", "", ""}});
  CHECK(ids_of(first.registered) == std::vector<std::string>{"d-1", "d-2"});
  CHECK(first.refused.empty());
  CHECK(first.settled.size() == 2);
  for (auto& r : first.registered) {
    CHECK(r.group == "field");
    CHECK(r.credential == "none");
  }
  // An id the database refuses (its CHECK), in a batch with a new drone and one registered meanwhile.
  auto second = f.store.register_drones({{"d-3", "", ""}, {"bad id", "", ""}, {"d-1", "other", ""}});
  CHECK(ids_of(second.registered) == std::vector<std::string>{"d-3"});
  REQUIRE(second.refused.size() == 1);
  CHECK(second.refused[0].first == "bad id");
  CHECK(second.settled.size() == 3); // nothing left to retry
  auto d1 = f.store.find("d-1");
  REQUIRE(d1);
  CHECK(d1->model == "X8"); // registered first, not overwritten
}

TEST_CASE("registry store: many rows in one query, an id spelled NULL included") {
  store_fixture f;
  f.store.register_drones({{"a", "", ""}, {"NULL", "", ""}, {"b\"c", "", ""}});
  CHECK(ids_of(f.store.find_many({"a", "NULL", "missing"})) == std::vector<std::string>{"NULL", "a"});
  CHECK(f.store.find_many({}).empty());
  CHECK_FALSE(f.store.find("missing"));
}

TEST_CASE("registry store: changes are written only to a drone still in the group they were checked against") {
  store_fixture f;
  registry_input in;
  in.id = "d-1";
  in.name = "Scout";
  auto created = f.store.create(in, "red", runtime::sha256_hex("s3cret"));
  REQUIRE(created);
  CHECK(created->credential == "active");
  CHECK(created->secret_hash == runtime::sha256_hex("s3cret"));
  CHECK_FALSE(f.store.create(in, "blue", runtime::sha256_hex("other"))); // the id is taken

  registry_input move;
  move.group = "blue";
  CHECK_FALSE(f.store.update("d-1", "blue", move)); // not in blue: nothing changes
  auto moved = f.store.update("d-1", "red", move);
  REQUIRE(moved);
  CHECK(moved->group == "blue");
  CHECK(moved->name == "Scout");

  auto revoked = f.store.set_credential("d-1", "blue", std::nullopt);
  REQUIRE(revoked);
  CHECK(revoked->credential == "revoked");
  CHECK(revoked->secret_hash.empty());
  auto rotated = f.store.set_credential("d-1", "blue", runtime::sha256_hex("new"));
  REQUIRE(rotated);
  CHECK(rotated->secret_hash == runtime::sha256_hex("new"));

  CHECK_FALSE(f.store.remove("d-1", "red"));
  CHECK(f.store.remove("d-1", "blue"));
  CHECK_FALSE(f.store.find("d-1"));
}
