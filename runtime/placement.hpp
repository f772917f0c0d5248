#pragma once
/// Which node of the cluster owns an entity (a drone, a mission, ...): rendezvous hashing, also called
/// highest-random-weight hashing. Every node computes a weight for each (entity, node) pair and the entity belongs
/// to the node of the highest weight. With N nodes each node owns about 1/N of the entities; a node that joins
/// takes about 1/(N+1) of them, each from its previous owner, and nothing else moves; a node that leaves gives
/// away only what it owned, spread over the others.
///
/// Part of the cluster protocol: every node must name the same owner for the same entity from the same member
/// list, whatever its build, process or platform. The weight function (FNV-1a 64 then the MurmurHash3 64-bit
/// finalizer, over fixed bytes) must therefore never change while two versions may run in one cluster;
/// tests/runtime/placement_test.cpp pins known values.
///
/// Pure logic: no actors, no I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dccs::runtime {

/// The weight of `node` for the entity `id` of kind `kind` (e.g. "drone", "mission"): FNV-1a 64 over the bytes
/// of `kind`, a 0xFF byte, `id`, a 0xFF byte and `node`, then the MurmurHash3 fmix64 finalizer. 0xFF never occurs
/// in UTF-8, so distinct (kind, id, node) triples of UTF-8 text are distinct byte strings. Independent of the
/// order of the node list, of `char`'s signedness and of the byte order of the machine.
std::uint64_t placement_weight(std::string_view kind, std::string_view id, std::string_view node);

/// The node of `nodes` with the highest placement_weight() for (`kind`, `id`), the smaller node id on a tie (the
/// order of `nodes` does not matter; duplicates are harmless). An empty string when `nodes` is empty.
std::string owner_of(std::string_view kind, std::string_view id, const std::vector<std::string>& nodes);

/// A node list for repeated owner look-ups: sorted and without duplicates, so that two placements of the same
/// members compare equal whatever order they were given in. Rebuild it when the membership changes.
class placement {
public:
  placement() = default;
  explicit placement(std::vector<std::string> nodes);

  /// The owner of (`kind`, `id`), as owner_of(); an empty string when there is no node. The reference lives as
  /// long as this placement.
  const std::string& owner(std::string_view kind, std::string_view id) const;

  /// The nodes, sorted, without duplicates.
  const std::vector<std::string>& nodes() const {
    return nodes_;
  }

  bool empty() const {
    return nodes_.empty();
  }

  friend bool operator==(const placement& a, const placement& b) {
    return a.nodes_ == b.nodes_;
  }
  friend bool operator!=(const placement& a, const placement& b) {
    return !(a == b);
  }

private:
  std::vector<std::string> nodes_;
};

} // namespace dccs::runtime
