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

TEST_CASE("registry store: drones registered at hello go into the default group, one refused costs no other") {
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

TEST_CASE("registry store: a refresh reads what changed since the last read, last-seen times apart") {
  store_fixture f;
  f.store.register_drones({{"d-1", "", ""}, {"d-2", "", ""}, {"d-3", "", ""}});
  // Stamp every row an hour back (with the stamping trigger off), as rows written long before the last read.
  f.elsewhere("SET session_replication_role = replica;"
              " UPDATE fleet.drones SET updated_at = now() - interval '1 hour', seen_at = NULL");
  auto snap = f.store.load();
  CHECK(snap.rows.size() == 3);
  auto none = f.store.changes_since(snap.as_of_ms);
  CHECK(none.changed.empty());
  CHECK(none.seen.empty());
  CHECK(none.count == 3);

  // Another node moves d-1, this node writes d-2's last-seen time, another node deletes d-3.
  f.elsewhere("UPDATE fleet.drones SET group_name = 'blue' WHERE id = 'd-1'");
  f.store.write_seen({{"d-2", 1700000001000.0}});
  f.store.write_seen({{"d-2", 1600000000000.0}}); // never backwards
  f.elsewhere("DELETE FROM fleet.drones WHERE id = 'd-3'");
  auto c = f.store.changes_since(snap.as_of_ms);
  REQUIRE(ids_of(c.changed) == std::vector<std::string>{"d-1"});
  CHECK(c.changed[0].group == "blue");
  REQUIRE(c.seen.size() == 1);
  CHECK(c.seen[0].first == "d-2");
  CHECK(c.seen[0].second == Approx(1700000001000.0));
  CHECK(c.count == 2); // the copy holds 3: a deletion to reconcile
  auto ids = f.store.ids();
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"d-1", "d-2"});
  CHECK(c.as_of_ms >= snap.as_of_ms);

  // What the drones report at hello is a change like any other.
  f.store.record_reported({{"d-2", "X9", "2.0"}});
  auto d2 = f.store.find("d-2");
  REQUIRE(d2);
  CHECK(d2->model == "X9");
  CHECK(d2->firmware == "2.0");
  CHECK(ids_of(f.store.changes_since(c.as_of_ms).changed) == std::vector<std::string>{"d-1", "d-2"});
}

TEST_CASE("registry store: a change to any column but last_seen is read again by the next refresh") {
  store_fixture f;
  f.store.load(); // migrates the scratch database
  // The stamping trigger fires by the columns a statement sets: every column of fleet.drones must be named in it,
  // but last_seen (stamped apart) and the stamps themselves. A column added without it would change unseen.
  pqxx::connection conn{f.db.url()};
  pqxx::work tx{conn};
  auto unstamped = tx.exec(
    "SELECT c.column_name FROM information_schema.columns c WHERE c.table_schema = 'fleet'"
    " AND c.table_name = 'drones' AND c.column_name NOT IN ('last_seen', 'updated_at', 'seen_at')"
    " AND NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_attribute a ON a.attrelid = t.tgrelid"
    " AND a.attnum = ANY (t.tgattr::int2[]) WHERE t.tgname = 'drones_updated' AND a.attname = c.column_name)");
  for (const auto& r : unstamped)
    FAIL_CHECK("column fleet.drones." << r[0].as<std::string>() << " is not stamped by trigger drones_updated");
  CHECK(unstamped.empty());
}
