#include "actors/tickets.hpp"

#include <unordered_map>

#include <caf/all.hpp>

#include "actors/ticket_book.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace dccs::actors {

namespace {

struct ticket_state {
  explicit ticket_state(const ticket_settings& s) : book(s.issuer, s.ttl_s * 1000) {}
  ticket_book book;
  std::unordered_map<std::string, ticket_actor> peers; ///< the live members' ticket actors, by node id
};

} // namespace

ticket_actor::behavior_type ticket_impl(ticket_actor::pointer self, ticket_settings s) {
  auto st = std::make_shared<ticket_state>(s);
  // Spends a ticket of this node's own book. The revocation check here adds what this node knows first (a logout
  // made here) to the check the redeeming node makes itself.
  auto redeem_here = [st, s](const std::string& text) -> caf::result<auth::principal> {
    auto who = st->book.redeem(text, runtime::mono_ms(), static_cast<std::int64_t>(runtime::wall_ms() / 1000));
    if (!who)
      return make_error(errc::invalid_ticket);
    if (s.revocations && s.revocations->revoked(*who))
      return make_error(errc::ticket_revoked);
    return std::move(*who);
  };
  return {
    [st](ticket_atom, const auth::principal& who) { return st->book.issue(who, runtime::mono_ms()); },
    [self, st, s, redeem_here](redeem_atom, std::string& text) -> caf::result<auth::principal> {
      if (text.empty() || text.size() > ticket_book::max_text)
        return make_error(errc::invalid_ticket);
      auto issuer = std::string{ticket_book::issuer_of(text)};
      if (issuer == s.issuer)
        return redeem_here(text);
      // Another member's ticket. Asked of that member (it alone can spend it, so it is spent once in the cluster);
      // a request from another member is answered here and never sent on.
      auto sender = self->current_sender();
      if (sender != nullptr && sender->node() != self->node())
        return make_error(errc::invalid_ticket);
      auto peer = st->peers.find(issuer);
      if (peer == st->peers.end())
        return make_error(errc::invalid_ticket); // not a live member (gone, restarted, or never one)
      auto rp = self->make_response_promise<auth::principal>();
      self->request(peer->second, s.forward_timeout, redeem_atom::value, std::move(text))
        .then([rp](auth::principal& who) mutable { rp.deliver(std::move(who)); },
              [rp, issuer](caf::error& e) mutable {
                if (e.category() == caf::atom("dccs")) {
                  rp.deliver(std::move(e));
                  return;
                }
                // No answer in time (the member is lost or slow): the ticket may be spent there or not, but it
                // never works twice; the client asks for a new one.
                runtime::log::warn("auth", "the member that issued an operator ticket did not answer",
                                   {{"member", issuer}, {"error", caf::to_string(e)}});
                rp.deliver(make_error(errc::invalid_ticket));
              });
      return rp;
    },
    [st](view_atom, const cluster_view& v) {
      st->peers.clear();
      for (auto& p : v.peers)
        if (p.tickets != nullptr)
          st->peers.emplace(p.id, p.tickets);
    },
  };
}

} // namespace dccs::actors
