#include "actors/actors.hpp"

#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <nlohmann/json.hpp>

#include "runtime/actor_system.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "runtime/text.hpp"

namespace dccs::actors {

namespace {

/// The membership board in Redis: one hash field per node, its member_info and the wall time of its last
/// heartbeat. Only for finding each other (after any member restarts); liveness is the nodes' own heartbeats.
constexpr const char* board_key = "dccs:cluster:members";

/// How long the cluster address of a member that went is tried again (every heartbeat).
constexpr std::int64_t remember_ms = 10 * 60 * 1000;

struct peer_entry {
  runtime::member_info info;
  node_actor node;
  cluster_peer actors; ///< its directory, hub, registry and ticket actor
  std::int64_t drones = -1; ///< its drone actors, from its last heartbeat (-1: none yet)
};

struct cluster_state {
  cluster_state(const cluster_settings& s) : self(s.self), members(s.self, s.timeout_ms) {
  }
  runtime::member_info self; ///< this node (its HTTP address from listen_atom on)
  bool listening = false;
  runtime::membership members;
  std::map<std::string, peer_entry> peers; ///< connected members that said hello, by node id
  std::set<std::string> connecting;        ///< cluster addresses with a connection attempt in flight
  /// Cluster addresses of members met, with when they were last live (monotonic ms): tried again like seeds for
  /// `remember_ms`, so that two members that lost each other meet again without the board (Redis down) or seeds.
  std::map<std::string, std::int64_t> met;
  /// Addresses this node reached a member through, by member id, when that is not the address the member
  /// announces (a seed naming it by another name, a proxy): not dialled again while that member is live — a second
  /// connection to a connected node is closed by CAF, and that is seen as the member's connection going.
  std::map<std::string, std::string> aliases;
  std::unique_ptr<runtime::redis_client> redis;
  std::uint64_t told = 0; ///< the membership version the directory and the hub were last told
  std::string board_error;
};

nlohmann::json info_json(const runtime::member_info& m) {
  return {{"id", m.id}, {"http", m.http}, {"cluster", m.cluster}, {"roles", m.roles}, {"epoch", m.epoch}};
}

} // namespace

node_actor::behavior_type cluster_impl(node_actor::pointer self, cluster_settings cs, cluster_peer local) {
  auto st = std::make_shared<cluster_state>(cs);
  if (cs.redis_enabled)
    st->redis = std::make_unique<runtime::redis_client>(cs.redis, std::chrono::milliseconds(500),
                                                        std::chrono::milliseconds(200), std::chrono::seconds(5));
  auto timeout = std::chrono::milliseconds(cs.timeout_ms);
  // Tells the directory (placement), the hub (peers), the registry and the ticket actor the live members, when they
  // changed.
  auto tell = [self, st, cs, local] {
    if (st->members.version() == st->told)
      return;
    st->told = st->members.version();
    // Roles (node.roles): a member without drone actors has no directory and is left out of placement; one
    // without a live view has no hub and is sent no drone states.
    cluster_view v;
    v.version = st->told;
    v.self = st->self.id;
    cluster_view placed = v;
    cluster_view all = v;
    std::size_t live = 1;
    for (auto& id : st->members.live())
      if (auto i = st->peers.find(id); i != st->peers.end()) {
        ++live;
        auto p = i->second.actors;
        p.id = id;
        all.peers.push_back(p);
        if (p.hub != nullptr)
          v.peers.push_back(p); // a member with live views (roles telemetry or dashboard)
        if (p.directory != nullptr)
          placed.peers.push_back(std::move(p)); // a member with drone actors (role telemetry)
      }
    runtime::log::info("cluster", "members", {{"members", live}, {"version", v.version}});
    if (cs.members)
      cs.members->set(static_cast<std::int64_t>(live));
    if (local.directory != nullptr)
      self->send(local.directory, view_atom::value, std::move(placed));
    if (local.fleet != nullptr)
      self->send(local.fleet, view_atom::value, all);
    if (local.tickets != nullptr)
      self->send(local.tickets, view_atom::value, all);
    if (local.hub != nullptr)
      self->send(local.hub, view_atom::value, std::move(v));
  };
  auto add = [self, st, cs, tell](runtime::member_info info, node_actor node, cluster_peer actors) {
    if (info.id == st->self.id || node == nullptr)
      return; // a seed that is this node
    auto i = st->peers.find(info.id);
    if (i != st->peers.end() && i->second.info.epoch > info.epoch)
      return; // a node that has restarted since (older news)
    if (i == st->peers.end() || i->second.node != node) {
      if (i != st->peers.end())
        self->demonitor(i->second.node.address());
      self->monitor(node);
      runtime::log::info("cluster", "member joined", {{"member", info.id}, {"address", info.cluster}});
    }
    st->members.heard(info, runtime::mono_ms());
    if (!info.cluster.empty())
      st->met[info.cluster] = runtime::mono_ms();
    auto id = info.id; // (the right-hand side of the assignment below is evaluated first)
    st->peers[id] = peer_entry{std::move(info), std::move(node), std::move(actors)};
    tell();
  };
  auto drop = [self, st, cs, tell](const std::string& id, const char* why) {
    auto i = st->peers.find(id);
    if (i == st->peers.end())
      return;
    if (cs.members_lost)
      cs.members_lost->inc();
    runtime::log::warn("cluster", "member gone", {{"member", id}, {"why", why}});
    self->demonitor(i->second.node.address());
    if (!i->second.info.cluster.empty())
      st->met[i->second.info.cluster] = runtime::mono_ms();
    st->peers.erase(i);
    st->members.lost(id, runtime::mono_ms());
    tell();
  };
  // Connects to the node at `address` (host:port of its cluster port) and says hello; without an answer within
  // the timeout it is tried again at a later tick.
  auto connect = [self, st, cs, local, timeout, add](const std::string& address) {
    std::string host;
    std::uint16_t port = 0;
    if (!runtime::split_host_port(address, host, port) || st->connecting.count(address) != 0)
      return;
    st->connecting.insert(address);
    auto mm = runtime::cluster_links(self->system()); // TLS links when cluster.tls.* is set
    self->request(mm, timeout, caf::connect_atom::value, host, port)
      .then(
        [self, st, cs, local, timeout, add, address](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                                              const std::set<std::string>&) {
          auto node = caf::actor_cast<node_actor>(std::move(ptr));
          if (node == nullptr) {
            st->connecting.erase(address);
            return;
          }
          self->request(node, timeout, hello_atom::value, st->self, local)
            .then(
              [st, add, node, address](runtime::member_info& info, cluster_peer& actors) {
                st->connecting.erase(address);
                if (address != info.cluster) {
                  if (st->aliases.size() > 1000)
                    st->aliases.clear(); // (bounded: addresses come from the configuration and the board)
                  st->aliases[address] = info.id;
                }
                add(std::move(info), node, std::move(actors));
              },
              [st, address](caf::error&) { st->connecting.erase(address); });
        },
        [st, address](caf::error&) { st->connecting.erase(address); });
  };
  // The board: this node's entry written, the others' read (members heard of lately that are not connected).
  auto board = [st, cs]() -> std::vector<std::string> {
    std::vector<std::string> found;
    if (!st->redis || !st->redis->ensure_connected())
      return found;
    try {
      auto now = runtime::wall_ms();
      auto entry = info_json(st->self);
      entry["heartbeat"] = now;
      auto replies = st->redis->pipeline({{"HSET", board_key, st->self.id, entry.dump()}, {"HGETALL", board_key}});
      auto& all = replies.at(1).elements;
      std::vector<std::string> stale;
      for (std::size_t k = 0; k + 1 < all.size(); k += 2) {
        auto& id = all[k].str;
        if (id == st->self.id)
          continue;
        auto j = nlohmann::json::parse(all[k + 1].str, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          stale.push_back(id);
          continue;
        }
        auto hb = j.value("heartbeat", 0.0);
        if (now - hb > 10.0 * static_cast<double>(cs.timeout_ms)) {
          stale.push_back(id); // a member gone long ago: the board stays bounded
          continue;
        }
        if (now - hb <= static_cast<double>(cs.timeout_ms))
          found.push_back(j.value("cluster", std::string{}));
      }
      if (!stale.empty()) {
        std::vector<std::string> hdel{"HDEL", board_key};
        hdel.insert(hdel.end(), stale.begin(), stale.end());
        st->redis->command(hdel);
      }
      st->board_error.clear();
    } catch (const std::exception& e) {
      if (st->board_error != e.what())
        runtime::log::warn("cluster", "membership board unavailable", {{"error", e.what()}});
      st->board_error = e.what();
    }
    return found;
  };
  self->set_down_handler([st, drop](caf::down_msg& dm) {
    for (auto& [id, p] : st->peers)
      if (p.node.address() == dm.source) {
        auto gone = id; // (drop erases the entry)
        drop(gone, "connection lost");
        return;
      }
  });
  self->attach_functor([st, cs](const caf::error&) {
    // Leaving: the board forgets this node at once (the others see its connection close).
    if (st->redis && st->redis->ensure_connected()) {
      try {
        st->redis->command({"HDEL", board_key, st->self.id});
      } catch (const std::exception&) {
      }
    }
  });
  return {
    [self, st](listen_atom, std::string& http) {
      if (st->listening)
        return;
      st->listening = true;
      st->self.http = std::move(http);
      self->send(self, tick_atom::value);
    },
    [self, st, local, add](hello_atom, runtime::member_info& info, cluster_peer& actors) {
      add(std::move(info), caf::actor_cast<node_actor>(self->current_sender()), std::move(actors));
      return std::make_tuple(st->self, local);
    },
    [self, st, local, timeout, add](heartbeat_atom, const std::string& id, std::int64_t drones) {
      if (auto i = st->peers.find(id); i != st->peers.end()) {
        i->second.drones = drones;
        st->members.heard(i->second.info, runtime::mono_ms());
        return;
      }
      // A member that counts this node in while this node let it go (it was silent for a while): meet again,
      // so that the views agree even when only one side has the other in its seeds.
      auto node = caf::actor_cast<node_actor>(self->current_sender());
      if (node == nullptr || !st->connecting.insert("id:" + id).second)
        return;
      self->request(node, timeout, hello_atom::value, st->self, local)
        .then(
          [st, add, node, id](runtime::member_info& info, cluster_peer& actors) {
            st->connecting.erase("id:" + id);
            add(std::move(info), node, std::move(actors));
          },
          [st, id](caf::error&) { st->connecting.erase("id:" + id); });
    },
    [st, cs](members_atom) {
      auto now = runtime::mono_ms();
      auto list = nlohmann::json::array();
      for (auto& id : st->members.live()) {
        const runtime::member_info* m = id == st->self.id ? &st->self : nullptr;
        if (m == nullptr)
          if (auto i = st->peers.find(id); i != st->peers.end())
            m = &i->second.info;
        if (m == nullptr)
          continue;
        auto j = info_json(*m);
        j["self"] = id == st->self.id;
        std::int64_t drones = -1;
        if (id == st->self.id)
          drones = cs.drone_actors != nullptr ? cs.drone_actors->value() : -1;
        else if (auto i = st->peers.find(id); i != st->peers.end())
          drones = i->second.drones;
        if (drones >= 0)
          j["drones"] = drones;
        if (auto heard = st->members.last_heard(id); heard && id != st->self.id)
          j["heard_ms_ago"] = now - *heard;
        list.push_back(std::move(j));
      }
      nlohmann::json out{{"self", st->self.id}, {"version", st->members.version()}, {"members", std::move(list)},
                         {"heartbeat_ms", cs.heartbeat_ms}, {"timeout_ms", cs.timeout_ms},
                         {"board", st->redis ? (st->board_error.empty() ? "ok" : "unavailable") : "disabled"}};
      return out.dump();
    },
    [self, st, cs, connect, board, drop, tell](tick_atom) {
      for (auto& [id, p] : st->peers)
        self->send(p.node, heartbeat_atom::value, st->self.id,
                   cs.drone_actors != nullptr ? cs.drone_actors->value() : std::int64_t{-1});
      for (auto& id : st->members.expire(runtime::mono_ms()))
        drop(id, "no heartbeat within cluster.timeout_ms");
      auto addresses = board();
      addresses.insert(addresses.end(), cs.seeds.begin(), cs.seeds.end());
      // Members met lately (ten minutes): a member this node let go, or that let it go, is met again even with
      // the board down and no seeds naming it; a member gone for good is forgotten (the list stays bounded).
      auto now = runtime::mono_ms();
      for (auto i = st->met.begin(); i != st->met.end();) {
        if (now - i->second > remember_ms) {
          i = st->met.erase(i);
          continue;
        }
        addresses.push_back(i->first);
        ++i;
      }
      for (auto& a : addresses) {
        if (a.empty() || a == st->self.cluster)
          continue;
        bool known = false;
        for (auto& [id, p] : st->peers)
          known = known || p.info.cluster == a;
        if (auto alias = st->aliases.find(a); alias != st->aliases.end())
          known = known || st->peers.count(alias->second) != 0;
        if (!known)
          connect(a);
      }
      tell();
      self->delayed_send(self, std::chrono::milliseconds(cs.heartbeat_ms), tick_atom::value);
    },
  };
}

} // namespace dccs::actors
