#pragma once
/// The cluster membership table of one node: which nodes it considers live, from their heartbeats (or board
/// entries) and from the loss of their connections. Pure logic: no actors, no I/O; the caller passes the monotonic
/// time in milliseconds (runtime::mono_ms()) to every call that needs it.
///
/// Every change of the live view (a member joins or comes back, restarts, changes address or roles, is lost or
/// expires) increments version(), so that users of the view (runtime::placement) know to recompute.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dccs::runtime {

/// One node of the cluster, as it announces itself.
struct member_info {
  std::string id;                 ///< node id, unique in the cluster
  std::string http;               ///< its HTTP address, host:port
  std::string cluster;            ///< its cluster (CAF middleman) address, host:port
  std::vector<std::string> roles; ///< what it serves
  std::int64_t epoch = 0;         ///< wall-clock ms at its start: a restarted node has a larger one
};

/// The live members of the cluster, this node ("self") included.
///
/// - A member is live from the first heartbeat heard until it is lost (its connection went down) or it was not
///   heard for more than the timeout. Self is always live: it never expires and cannot be lost.
/// - A member heard with an older epoch than the one known for its id is ignored, and does not keep it alive:
///   that is a previous run of the node (a stale board entry or a late message). The epoch of a member that
///   left is remembered, so a stale entry cannot bring back a node that has restarted since.
/// - A member that left (lost or expired) and is heard again with the same epoch rejoins: the same run of that
///   node is reachable again (a healed partition), and is a change of the live view like a new member. With a
///   newer epoch it rejoins as well (it restarted meanwhile).
class membership {
public:
  /// `self`: this node. `timeout_ms`: how long a member may stay unheard before expire() removes it.
  membership(member_info self, std::int64_t timeout_ms);

  /// A heartbeat of `m` at `now`: adds the member or refreshes it. True when the live view changed: a new
  /// member, a member back after it left, or a member whose epoch, addresses or roles differ from those known
  /// (then the entry takes those of `m`). False for a mere refresh, for an older epoch (ignored, not even a
  /// refresh), and for this node's own id (self is what this node says it is, not what others report).
  bool heard(const member_info& m, std::int64_t now);

  /// The connection to member `id` was lost (the CAF down_msg of its node): it leaves the live view at once.
  /// True when it was live; false for an unknown or departed id, and for self. `now` is taken for symmetry with
  /// the other transitions; the table does not use it.
  bool lost(const std::string& id, std::int64_t now);

  /// Removes every member other than self not heard for more than the timeout (`now` - last heard >
  /// timeout_ms) and returns their ids, sorted. One change of the view (version() + 1) however many left.
  std::vector<std::string> expire(std::int64_t now);

  /// The ids of the live members, self included, sorted.
  std::vector<std::string> live() const;

  /// Increments on every change of the live view; 0 for a new table.
  std::uint64_t version() const {
    return version_;
  }

  /// The live member `id` (self included), or nullptr.
  const member_info* find(const std::string& id) const;

  /// When the live member `id` was last heard; nothing for self (it is not heard from) and for ids not live.
  std::optional<std::int64_t> last_heard(const std::string& id) const;

  /// The number of live members, self included.
  std::size_t size() const {
    return members_.size() + 1;
  }

  const member_info& self() const {
    return self_;
  }

  std::int64_t timeout_ms() const {
    return timeout_ms_;
  }

private:
  struct entry {
    member_info info;
    std::int64_t last_heard;
  };

  // A member leaves the live view; its epoch is remembered.
  void depart(std::map<std::string, entry>::iterator it);

  member_info self_;
  std::int64_t timeout_ms_;
  std::map<std::string, entry> members_;         // live, without self
  std::map<std::string, std::int64_t> departed_; // id -> epoch of those that left (bounded by the node ids seen)
  std::uint64_t version_ = 0;
};

} // namespace dccs::runtime
