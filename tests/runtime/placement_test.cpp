#include <catch2/catch.hpp>

#include "runtime/placement.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

using dccs::runtime::owner_of;
using dccs::runtime::placement;
using dccs::runtime::placement_weight;

namespace {

constexpr int id_count = 100000;

// Node ids as a cluster would have them: 16 random hex digits (a fixed seed: mt19937_64's sequence is
// specified by the standard, so the same on every platform).
std::vector<std::string> hex_nodes(std::size_t n, std::uint64_t seed = 20240601) {
  std::mt19937_64 rng{seed};
  std::vector<std::string> nodes;
  for (std::size_t i = 0; i < n; ++i) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    nodes.emplace_back(buf);
  }
  return nodes;
}

// Short, nearly equal node ids ("n1".."n10"): the harder case for a hash, which must still spread well.
std::vector<std::string> short_nodes(std::size_t n) {
  std::vector<std::string> nodes;
  for (std::size_t i = 1; i <= n; ++i)
    nodes.push_back("n" + std::to_string(i));
  return nodes;
}

// Entity ids as the simulator makes them: sequential, differing in their last digits only.
std::string entity_id(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "sim-%05d", i);
  return buf;
}

std::vector<std::string> owners(const std::string& kind, const std::vector<std::string>& nodes) {
  std::vector<std::string> out;
  out.reserve(id_count);
  for (int i = 0; i < id_count; ++i)
    out.push_back(owner_of(kind, entity_id(i), nodes));
  return out;
}

// The largest deviation of a node's share from the mean, relative to the mean (0.02: 2 %).
double max_deviation(const std::vector<std::string>& owned, const std::vector<std::string>& nodes) {
  std::map<std::string, int> count;
  for (const auto& n : nodes)
    count[n] = 0;
  for (const auto& o : owned)
    ++count.at(o); // throws for an owner that is not a node
  double mean = static_cast<double>(owned.size()) / static_cast<double>(nodes.size());
  double worst = 0;
  for (const auto& [node, c] : count)
    worst = std::max(worst, std::fabs(c - mean) / mean);
  return worst;
}

} // namespace

TEST_CASE("placement weights are pinned: they are part of the cluster protocol", "[placement]") {
  // Computed once, and checked against an independent implementation of the definition in placement.hpp
  // (FNV-1a 64 over kind 0xFF id 0xFF node, then fmix64). A change here moves entities between nodes running
  // different builds.
  CHECK(placement_weight("drone", "sim-00042", "3f9a1c0b7e2d4a68") == 0xdaaaeed679ca3a08ull);
  CHECK(placement_weight("mission", "m-1", "n1") == 0x3f3923f7bdb6e0c5ull);
  CHECK(placement_weight("drone", "sim-00000", "n2") == 0x4c31a9e3679beb2full);
  CHECK(placement_weight("", "", "") == 0x0992e16d4af04425ull);
  // Bytes above 0x7F count as unsigned whatever char's signedness.
  CHECK(placement_weight("drone", "dr\xc3\xb4ne-7", "n1") == 0xf54060196b76b735ull);
}

TEST_CASE("the separators keep the fields apart", "[placement]") {
  CHECK(placement_weight("drone", "ab", "c") != placement_weight("drone", "a", "bc"));
  CHECK(placement_weight("droneX", "a", "n1") != placement_weight("drone", "Xa", "n1"));
  CHECK(placement_weight("drone", "a", "n1") != placement_weight("mission", "a", "n1"));
}

TEST_CASE("no node, no owner, one node owns everything", "[placement]") {
  CHECK(owner_of("drone", "sim-00001", {}).empty());
  CHECK(placement{}.owner("drone", "sim-00001").empty());
  CHECK(placement{}.empty());
  for (int i = 0; i < 100; ++i)
    CHECK(owner_of("drone", entity_id(i), {"a1b2c3d4e5f60718"}) == "a1b2c3d4e5f60718");
}

TEST_CASE("the owner is the node of the highest weight", "[placement]") {
  auto nodes = hex_nodes(7);
  for (int i = 0; i < 1000; ++i) {
    auto id = entity_id(i);
    auto best = *std::max_element(nodes.begin(), nodes.end(), [&](const std::string& a, const std::string& b) {
      return placement_weight("drone", id, a) < placement_weight("drone", id, b);
    });
    REQUIRE(owner_of("drone", id, nodes) == best);
  }
}

TEST_CASE("the owner depends on the inputs only, not on the order of the nodes", "[placement]") {
  auto nodes = hex_nodes(6);
  auto reference = owners("drone", nodes);
  CHECK(owners("drone", nodes) == reference);

  std::mt19937 rng{7};
  for (int round = 0; round < 3; ++round) {
    auto shuffled = nodes;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    REQUIRE(shuffled != nodes);
    CHECK(owners("drone", shuffled) == reference);
    auto with_duplicates = shuffled;
    with_duplicates.push_back(shuffled[0]);
    with_duplicates.push_back(shuffled[3]);
    CHECK(owners("drone", with_duplicates) == reference);
  }

  // The placement class: sorted, deduplicated, same owners.
  auto reversed = nodes;
  std::reverse(reversed.begin(), reversed.end());
  reversed.push_back(nodes[2]);
  placement p{reversed};
  CHECK(p == placement{nodes});
  CHECK(p.nodes().size() == nodes.size());
  CHECK(std::is_sorted(p.nodes().begin(), p.nodes().end()));
  std::size_t differ = 0;
  for (int i = 0; i < id_count; ++i)
    differ += p.owner("drone", entity_id(i)) != reference[static_cast<std::size_t>(i)];
  CHECK(differ == 0);
}

TEST_CASE("every node count from 3 to 10 gets a share within 10 % of the mean", "[placement]") {
  for (std::size_t n = 3; n <= 10; ++n) {
    for (const auto& nodes : {hex_nodes(n), short_nodes(n)}) {
      CAPTURE(n, nodes.front());
      double deviation = max_deviation(owners("drone", nodes), nodes);
      CHECK(deviation <= 0.10);
    }
  }
}

TEST_CASE("adding a node moves only what the new node takes, about 1/N of all", "[placement]") {
  auto all = hex_nodes(11);
  for (std::size_t n = 3; n <= 10; ++n) {
    std::vector<std::string> before(all.begin(), all.begin() + static_cast<long>(n));
    auto after = before;
    const auto& joined = all[n];
    after.push_back(joined);
    auto old_owner = owners("drone", before);
    auto new_owner = owners("drone", after);
    int moved = 0, moved_elsewhere = 0;
    for (int i = 0; i < id_count; ++i) {
      auto k = static_cast<std::size_t>(i);
      if (old_owner[k] != new_owner[k]) {
        ++moved;
        moved_elsewhere += new_owner[k] != joined;
      }
    }
    CAPTURE(n);
    CHECK(moved_elsewhere == 0);
    // Within 5 % of 1/(n+1), relative: for 3 -> 4 nodes, a share in [0.2375, 0.2625].
    double share = static_cast<double>(moved) / id_count;
    double expected = 1.0 / static_cast<double>(n + 1);
    CHECK(std::fabs(share - expected) <= 0.05 * expected);
  }
}

TEST_CASE("removing a node moves only what it owned, spread over the others", "[placement]") {
  auto all = hex_nodes(10);
  for (std::size_t n = 4; n <= 10; ++n) {
    std::vector<std::string> before(all.begin(), all.begin() + static_cast<long>(n));
    for (std::size_t gone : {std::size_t{0}, n / 2, n - 1}) {
      auto after = before;
      after.erase(after.begin() + static_cast<long>(gone));
      auto old_owner = owners("drone", before);
      auto new_owner = owners("drone", after);
      int moved_not_owned = 0, kept_by_gone = 0;
      std::vector<std::string> inherited;
      for (int i = 0; i < id_count; ++i) {
        auto k = static_cast<std::size_t>(i);
        if (old_owner[k] == before[gone]) {
          kept_by_gone += new_owner[k] == before[gone];
          inherited.push_back(new_owner[k]);
        } else {
          moved_not_owned += old_owner[k] != new_owner[k];
        }
      }
      CAPTURE(n, gone);
      CHECK(moved_not_owned == 0);
      CHECK(kept_by_gone == 0);
      // What the lost node owned goes to all the others alike.
      CHECK(max_deviation(inherited, after) <= 0.10);
    }
  }
}

TEST_CASE("different kinds spread independently", "[placement]") {
  for (std::size_t n : {3, 5, 8}) {
    auto nodes = hex_nodes(n);
    auto drones = owners("drone", nodes);
    auto missions = owners("mission", nodes);
    CHECK(max_deviation(missions, nodes) <= 0.10);
    // Independent placements agree on 1/n of the ids; the same placement would agree on all of them.
    int same = 0;
    for (std::size_t k = 0; k < drones.size(); ++k)
      same += drones[k] == missions[k];
    double agreement = static_cast<double>(same) / id_count;
    double expected = 1.0 / static_cast<double>(n);
    CAPTURE(n);
    CHECK(std::fabs(agreement - expected) <= 0.05 * expected);
  }
}
