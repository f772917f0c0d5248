#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/fanout.hpp"

using namespace dccs::actors;
namespace auth = dccs::auth;
using nlohmann::json;

namespace {

drone_state state(const std::string& id, std::uint64_t seq, double lat) {
  drone_state st;
  st.info.id = id;
  st.has_telemetry = true;
  st.last.seq = seq;
  st.last.lat = lat;
  st.last.lon = 8.5;
  st.last.mode = "MISSION";
  return st;
}

auth::scope every_group() {
  auth::scope s;
  s.all = true;
  return s;
}

subscription all() {
  return {true, {}, every_group()};
}

json parse(const fragment& f) {
  return json::parse(f.json);
}

} // namespace

TEST_CASE("a subscriber gets one entry per drone per tick, with the newest state") {
  fanout hub{100};
  hub.subscribe(1, all());
  for (std::uint64_t seq = 1; seq <= 100; ++seq)
    hub.update(state("a", seq, 47.0 + seq * 1e-4));
  hub.update(state("b", 7, 46.0));
  auto out = hub.tick(1000);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].drones);
  REQUIRE(out[0].drones->size() == 2);
  for (auto& f : *out[0].drones) {
    auto j = parse(f);
    if (j["id"] == "a") {
      CHECK(j["seq"] == 100);
      CHECK(j["lat"].get<double>() == Approx(47.01));
    } else {
      CHECK(j["id"] == "b");
      CHECK(j["seq"] == 7);
    }
  }
  // Nothing changed since: the next tick delivers nothing.
  CHECK(hub.tick(1005).empty());
}

TEST_CASE("a drone is published at most once per interval, what comes sooner waits, newest only") {
  fanout hub{100}; // hub.rate 10
  hub.subscribe(1, all());
  hub.update(state("a", 1, 47));
  REQUIRE(hub.tick(1000).size() == 1);
  hub.update(state("a", 2, 47));
  hub.update(state("a", 3, 47));
  hub.update(state("b", 1, 46)); // b was never published: it goes at once
  auto out = hub.tick(1005);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].drones->size() == 1);
  CHECK(parse(out[0].drones->front())["id"] == "b");
  CHECK(hub.pending() == 1);
  CHECK(hub.tick(1099).empty()); // a's interval has not passed
  out = hub.tick(1100);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].drones->size() == 1);
  CHECK(parse(out[0].drones->front())["seq"] == 3);
  CHECK(hub.pending() == 0);
}

TEST_CASE("a drone's first telemetry is not held back by the publication of its hello") {
  fanout hub{100};
  hub.subscribe(1, all());
  drone_state hello;
  hello.info.id = "a";
  hub.update(hello); // connected, no telemetry yet
  REQUIRE(hub.tick(1000).size() == 1);
  hub.update(state("a", 1, 47));
  auto out = hub.tick(1005);
  REQUIRE(out.size() == 1);
  CHECK(parse(out[0].drones->front())["seq"] == 1);
  hub.update(state("a", 2, 47)); // from now on the rate bound applies
  CHECK(hub.tick(1010).empty());
  CHECK(hub.pending() == 1);
}

TEST_CASE("subscribers to all drones share one serialized batch") {
  fanout hub;
  hub.subscribe(1, all());
  hub.subscribe(2, all());
  hub.update(state("a", 1, 47));
  auto out = hub.tick(1000);
  REQUIRE(out.size() == 2);
  CHECK(out[0].drones.get() == out[1].drones.get());
}

TEST_CASE("a list subscription sees only its drones, in updates, events and snapshots") {
  fanout hub;
  hub.subscribe(1, {false, {"b"}, every_group()});
  hub.update(state("a", 1, 47));
  hub.update(state("b", 2, 47));
  hub.event({"a", link_status::stale, link_status::online, 1.0});
  auto out = hub.tick(1000);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].drones->size() == 1);
  CHECK(parse(out[0].drones->front())["id"] == "b");
  CHECK(out[0].events == nullptr); // the event was about a
  hub.event({"b", link_status::lost, link_status::stale, 2.0});
  out = hub.tick(2000);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].events);
  auto ev = parse(out[0].events->front());
  CHECK(ev["drone_id"] == "b");
  CHECK(ev["status"] == "lost");
  CHECK(ev["previous"] == "stale");
  auto snap = hub.snapshot({false, {"a", "zzz"}, every_group()});
  REQUIRE(snap->size() == 1);
  CHECK(parse(snap->front())["id"] == "a");
  CHECK(parse(snap->front())["status"] == "stale"); // events update the stored state
}

TEST_CASE("a tick serializes only the drones some subscriber sees, and a later subscriber still gets the others") {
  fanout hub;
  auth::scope blue;
  blue.groups = {"blue"};
  hub.subscribe(1, {false, {"b", "c"}, every_group()}); // b and c by id
  hub.subscribe(2, {true, {}, blue});                    // every drone of group blue
  auto in_group = [](std::string id, std::string group) {
    auto st = state(id, 1, 47);
    st.info.group = std::move(group);
    return st;
  };
  hub.update(in_group("a", "red"));   // nobody sees a
  hub.update(in_group("b", "red"));   // subscriber 1
  hub.update(in_group("c", "blue"));  // both
  hub.update(in_group("d", "blue"));  // subscriber 2
  hub.update(in_group("e", "green")); // nobody
  auto out = hub.tick(1000);
  CHECK(hub.serialized() == 3);
  std::map<fanout::sub_id, std::vector<std::string>> got;
  for (auto& d : out)
    for (auto& f : *d.drones)
      got[d.subscriber].push_back(parse(f)["id"]);
  CHECK(got[1] == std::vector<std::string>{"b", "c"});
  CHECK(got[2] == std::vector<std::string>{"c", "d"});
  // a and e were published (not pending), not serialized: a new subscriber gets them from the snapshot.
  CHECK(hub.pending() == 0);
  auto snap = hub.snapshot({false, {"a", "e"}, every_group()});
  CHECK(snap->size() == 2);
  hub.subscribe(3, {false, {"a"}, every_group()});
  hub.update(in_group("a", "red"));
  out = hub.tick(2000);
  REQUIRE(out.size() == 1);
  CHECK(out[0].subscriber == 3);
  CHECK(hub.serialized() == 4);
}

TEST_CASE("a drone removed or swept while changed and not yet published is not published") {
  fanout hub{100};
  hub.subscribe(1, all());
  for (int i = 0; i < 50; ++i)
    hub.update(state("d" + std::to_string(i), 1, 47)); // not connected: removable
  CHECK(hub.pending() == 50);
  for (int i = 0; i < 50; i += 2)
    CHECK(hub.remove("d" + std::to_string(i)));
  CHECK(hub.pending() == 25);
  for (int i = 100; i < 2000; ++i) // the table grows (rehashes) under the pending ones
    hub.update(state("d" + std::to_string(i), 1, 47));
  auto out = hub.tick(1000);
  REQUIRE(out.size() == 1);
  std::set<std::string> ids;
  for (auto& f : *out[0].drones)
    ids.insert(parse(f)["id"].get<std::string>());
  CHECK(ids.size() == 25 + 1900);
  CHECK(ids.count("d0") == 0);
  CHECK(ids.count("d1") == 1);
  CHECK(out[0].removed != nullptr); // the subscriber is told the removed ones are gone
}

TEST_CASE("an unsubscribed session gets nothing, the list holds every drone") {
  fanout hub;
  hub.subscribe(1, all());
  hub.unsubscribe(1);
  hub.update(state("a", 1, 47));
  hub.update(state("b", 1, 47));
  CHECK(hub.tick(1000).empty());
  auto list = json::parse(hub.list_json(every_group()));
  CHECK(list["drones"].size() == 2);
  CHECK(hub.snapshot(all())->size() == 2);
}

TEST_CASE("a subscriber sees only the drones of its groups: snapshot, updates, events and the list") {
  fanout hub;
  auto in = [](const char* id, const char* group) {
    auto st = state(id, 1, 47);
    st.info.group = group;
    return st;
  };
  auth::scope red;
  red.groups = {"red"};
  hub.subscribe(1, {true, {}, red});                 // everything, within group red
  hub.subscribe(2, {false, {"b1", "r1"}, red});      // a list naming a drone of another group
  hub.subscribe(3, {true, {}, auth::scope{}});       // no group at all
  hub.update(in("r1", "red"));
  hub.update(in("b1", "blue"));
  auto out = hub.tick(1000);
  REQUIRE(out.size() == 2);
  for (auto& d : out) {
    CHECK(d.subscriber != 3);
    REQUIRE(d.drones->size() == 1);
    CHECK(parse(d.drones->front())["id"] == "r1");
    CHECK(parse(d.drones->front())["group"] == "red");
  }
  hub.event({"b1", link_status::stale, link_status::online, 1.0});
  hub.event({"r1", link_status::stale, link_status::online, 1.0});
  out = hub.tick(2000);
  for (auto& d : out) {
    CHECK(d.subscriber != 3);
    if (d.events) {
      REQUIRE(d.events->size() == 1);
      CHECK(parse(d.events->front())["drone_id"] == "r1");
    }
  }
  auto snap = hub.snapshot({true, {}, red});
  REQUIRE(snap->size() == 1);
  CHECK(parse(snap->front())["id"] == "r1");
  CHECK(hub.snapshot({false, {"b1"}, red})->empty());
  CHECK(hub.snapshot({true, {}, auth::scope{}})->empty());
  auto list = json::parse(hub.list_json(red));
  REQUIRE(list["drones"].size() == 1);
  CHECK(list["drones"][0]["id"] == "r1");
  CHECK(json::parse(hub.list_json(auth::scope{}))["drones"].empty());
}

TEST_CASE("a drone moved out of a subscriber's groups, or removed, is announced as gone to those who saw it") {
  fanout hub;
  auto in = [](const char* id, const char* group) {
    auto st = state(id, 1, 47);
    st.info.group = group;
    return st;
  };
  auth::scope red, blue;
  red.groups = {"red"};
  blue.groups = {"blue"};
  hub.subscribe(1, {true, {}, red});
  hub.subscribe(2, {true, {}, blue});
  hub.subscribe(3, {true, {}, every_group()});
  hub.subscribe(4, {false, {"other"}, red}); // never covered the drone
  hub.update(in("m1", "red"));
  hub.update(in("gone", "red"));
  hub.tick(1000);
  hub.regroup("m1", "blue");
  hub.remove("gone");
  auto out = hub.tick(2000);
  std::map<fanout::sub_id, std::vector<std::string>> removed;
  std::map<fanout::sub_id, std::vector<std::string>> updated;
  for (auto& d : out) {
    if (d.removed)
      for (auto& f : *d.removed)
        removed[d.subscriber].push_back(json::parse(f.json).get<std::string>());
    if (d.drones)
      for (auto& f : *d.drones)
        updated[d.subscriber].push_back(f.drone_id);
  }
  CHECK(removed[1] == std::vector<std::string>{"m1", "gone"}); // saw both in red
  CHECK(removed[2].empty());                                   // sees m1 now: an update, not a removal
  CHECK(updated[2] == std::vector<std::string>{"m1"});
  CHECK(removed[3] == std::vector<std::string>{"gone"});       // sees every group: only the deleted one
  CHECK(removed.count(4) == 0);
  CHECK(updated.count(1) == 0);                                // nothing more about m1 in red
  // The same through update(): a drone actor republishing its state in a new group.
  hub.update(in("m1", "red"));
  out = hub.tick(3000);
  bool told_blue = false;
  for (auto& d : out)
    if (d.subscriber == 2 && d.removed)
      told_blue = json::parse(d.removed->front().json) == "m1";
  CHECK(told_blue);
}

TEST_CASE("changes since a version: what changed after it, and the version to ask from next") {
  fanout hub{100};
  hub.update(state("a", 1, 47.0));
  hub.update(state("b", 1, 46.0));
  auto first = hub.changes(0);
  CHECK(first.states.size() == 2);
  auto none = hub.changes(first.version);
  CHECK(none.states.empty());
  CHECK(none.version == first.version);
  hub.update(state("b", 2, 46.1));
  hub.event(status_event{"a", link_status::stale, link_status::online, 1.0});
  auto next = hub.changes(first.version);
  REQUIRE(next.states.size() == 2); // b's telemetry and a's status
  for (auto& s : next.states)
    CHECK((s.info.id == "b" ? s.last.seq == 2 : s.status == link_status::stale));
  CHECK(next.version > first.version);
}

TEST_CASE("a page of live states: the caller's groups, in id order, after the cursor") {
  fanout hub{100};
  for (auto id : {"d3", "d1", "d4", "d2"}) {
    auto s = state(id, 1, 47.0);
    s.info.group = std::string{id} == "d4" ? "other" : "alpha";
    hub.update(s);
  }
  auth::scope alpha;
  alpha.all = false;
  alpha.groups = {"alpha"};
  auto page = hub.page(alpha, 2, "");
  REQUIRE(page.states.size() == 2);
  CHECK(page.states[0].info.id == "d1");
  CHECK(page.states[1].info.id == "d2");
  auto rest = hub.page(alpha, 2, "d2");
  REQUIRE(rest.states.size() == 1);
  CHECK(rest.states[0].info.id == "d3"); // d4 is in another group
  CHECK(hub.page(every_group(), 10, "d3").states.size() == 1);
}

TEST_CASE("a drone no actor serves is offline: not connected, lost, and operators are told") {
  fanout hub{100};
  hub.subscribe(1, all());
  auto s = state("a", 1, 47.0);
  s.connected = true;
  hub.update(s);
  hub.tick(1000);
  hub.offline("a", 5.0);
  REQUIRE(hub.find("a") != nullptr);
  CHECK_FALSE(hub.find("a")->connected);
  CHECK(hub.find("a")->status == link_status::lost);
  auto out = hub.tick(2000);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].events);
  CHECK(parse((*out[0].events)[0])["status"] == "lost");
  hub.offline("nobody", 5.0); // unknown: nothing happens
  CHECK(hub.size() == 1);
}

TEST_CASE("the sweep forgets drones not connected and not seen since the cutoff, and keeps never-seen ones") {
  fanout hub{100};
  auto old_one = state("old", 1, 47.0);
  old_one.last_seen = 1000;
  auto connected = state("connected", 1, 47.0);
  connected.last_seen = 1000;
  connected.connected = true;
  auto fresh = state("fresh", 1, 47.0);
  fresh.last_seen = 9000;
  auto registered = state("registered", 0, 0);
  registered.has_telemetry = false;
  registered.last_seen = 0;
  for (auto& s : {old_one, connected, fresh, registered})
    hub.update(s);
  CHECK(hub.sweep(5000) == 1);
  CHECK(hub.find("old") == nullptr);
  CHECK(hub.find("connected") != nullptr);
  CHECK(hub.find("fresh") != nullptr);
  CHECK(hub.find("registered") != nullptr);
}
