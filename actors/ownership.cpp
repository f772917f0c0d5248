#include "actors/actors.hpp"

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include "runtime/pg.hpp"
#include "runtime/pg_array.hpp"

#include "runtime/log.hpp"

namespace dccs::actors {

namespace {

struct owner_state {
  explicit owner_state(owner_settings s) : settings(std::move(s)), link(settings.db) {
  }
  owner_settings settings;
  runtime::pg_link link;
  /// Claims waiting for the batch, by drone id (a drone claimed twice in one batch gets one epoch).
  std::unordered_map<std::string, std::vector<caf::typed_response_promise<std::uint64_t>>> waiting;
  std::vector<std::string> order; ///< the drone ids of `waiting`, in arrival order
  bool scheduled = false;
  /// Reads of the current epoch waiting for theirs.
  std::unordered_map<std::string, std::vector<caf::typed_response_promise<std::uint64_t>>> reads;
  bool reads_scheduled = false;
  std::string last_error;
};

} // namespace

owner_store_actor::behavior_type owner_store_impl(owner_store_actor::pointer self, owner_settings settings) {
  auto st = std::make_shared<owner_state>(std::move(settings));
  // Every claim waiting is written in one statement: one round trip for a reconnect storm's worth of drones.
  auto flush = [st] {
    st->scheduled = false;
    if (st->order.empty())
      return;
    auto ids = std::move(st->order);
    st->order.clear();
    auto waiting = std::move(st->waiting);
    st->waiting.clear();
    try {
      auto epochs = st->link.run([&](pqxx::connection& conn) {
        pqxx::work tx{conn};
        // Each drone appears once in a batch; a later batch draws higher epochs than every earlier one.
        auto rows = tx.exec(
          "INSERT INTO fleet.drone_owners AS o (drone_id, node_id, epoch)"
          " SELECT d, " + tx.quote(st->settings.node_id) + ", nextval('fleet.owner_epoch')"
          " FROM unnest(" + tx.quote(runtime::pg_text_array(ids)) + "::text[]) AS u(d)"
          " ON CONFLICT (drone_id) DO UPDATE SET node_id = EXCLUDED.node_id, epoch = EXCLUDED.epoch,"
          " claimed_at = clock_timestamp()"
          " RETURNING drone_id, epoch");
        tx.commit();
        std::unordered_map<std::string, std::uint64_t> out;
        for (const auto& r : rows)
          out[r[0].as<std::string>()] = r[1].as<std::uint64_t>();
        return out;
      });
      for (auto& [id, promises] : waiting) {
        auto e = epochs.find(id);
        for (auto& p : promises)
          if (e != epochs.end())
            p.deliver(e->second);
          else
            p.deliver(make_error(errc::unavailable));
      }
      if (st->settings.claims)
        st->settings.claims->inc(epochs.size());
      st->last_error.clear();
    } catch (const std::exception& e) {
      if (st->last_error != e.what())
        runtime::log::warn("cluster", "drone ownership claims failed (the drone actors try again)",
                           {{"drones", ids.size()}, {"error", e.what()}});
      st->last_error = e.what();
      for (auto& [id, promises] : waiting)
        for (auto& p : promises)
          p.deliver(make_error(errc::unavailable));
    }
  };
  auto flush_reads = [st] {
    st->reads_scheduled = false;
    if (st->reads.empty())
      return;
    auto reads = std::move(st->reads);
    st->reads.clear();
    std::vector<std::string> ids;
    ids.reserve(reads.size());
    for (auto& r : reads)
      ids.push_back(r.first);
    try {
      auto epochs = st->link.run([&](pqxx::connection& conn) {
        pqxx::work tx{conn};
        auto rows = tx.exec("SELECT drone_id, epoch FROM fleet.drone_owners WHERE drone_id = ANY("
                            + tx.quote(runtime::pg_text_array(ids)) + "::text[])");
        tx.commit();
        std::unordered_map<std::string, std::uint64_t> out;
        for (const auto& r : rows)
          out[r[0].as<std::string>()] = r[1].as<std::uint64_t>();
        return out;
      });
      for (auto& [id, promises] : reads) {
        auto e = epochs.find(id);
        for (auto& p : promises)
          p.deliver(e == epochs.end() ? std::uint64_t{0} : e->second);
      }
    } catch (const std::exception& e) {
      for (auto& [id, promises] : reads)
        for (auto& p : promises)
          p.deliver(make_error(errc::unavailable));
    }
  };
  return {
    [self, st](get_atom, std::string& id) -> caf::result<std::uint64_t> {
      auto promise = self->make_response_promise<std::uint64_t>();
      st->reads[id].push_back(promise);
      if (!st->reads_scheduled) {
        st->reads_scheduled = true;
        self->send(self, get_atom::value);
      }
      return promise;
    },
    [flush_reads](get_atom) { flush_reads(); },
    [self, st](claim_atom, std::string& id) -> caf::result<std::uint64_t> {
      auto promise = self->make_response_promise<std::uint64_t>();
      auto& list = st->waiting[id];
      if (list.empty())
        st->order.push_back(id);
      list.push_back(promise);
      if (!st->scheduled) {
        // Behind every claim already in the mailbox: they all go in the same batch.
        st->scheduled = true;
        self->send(self, claim_atom::value);
      }
      return promise;
    },
    [flush](claim_atom) { flush(); },
  };
}

} // namespace dccs::actors
