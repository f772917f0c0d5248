// Who may connect at hello (actors/admission.hpp), without a database: the registry's rule for credentials,
// unknown drones and the unregistered policy.

#include <catch2/catch.hpp>

#include <string>

#include "actors/admission.hpp"
#include "runtime/secret.hpp"

using namespace dccs;
using namespace dccs::actors;
using kind = admission_verdict::kind;

namespace {

registry_row drone(const std::string& id, const std::string& group, const std::string& credential,
                   const std::string& secret = {}) {
  registry_row r;
  r.id = id;
  r.group = group;
  r.credential = credential;
  if (!secret.empty())
    r.secret_hash = runtime::sha256_hex(secret);
  return r;
}

} // namespace

TEST_CASE("admission: a drone with a credential is admitted with its own secret only, into its group") {
  const std::string secret = runtime::random_token(32);
  auto row = drone("d-1", "red", "active", secret);
  for (auto policy : {unregistered_policy::register_it, unregistered_policy::refuse}) {
    admission_policy rule{policy, "default"};
    auto ok = rule.decide(&row, secret, true, false);
    CHECK(ok.what == kind::admit);
    CHECK(ok.code() == admit_ok);
    CHECK(ok.group == "red");
    // Wrong, missing, another drone's: refused alike (4001), and the answer carries no group.
    for (const std::string& wrong : {std::string{}, secret + "x", secret.substr(1), runtime::random_token(32)}) {
      INFO("presented '" << wrong << "'");
      auto v = rule.decide(&row, wrong, true, false);
      CHECK(v.what == kind::refuse);
      CHECK(v.code() == admit_refused);
      CHECK(v.group.empty());
    }
    // The stored hash is not a secret that works.
    CHECK(rule.decide(&row, row.secret_hash, true, false).code() == admit_refused);
  }
}

TEST_CASE("admission: a revoked credential is refused whatever is presented") {
  auto row = drone("d-1", "red", "revoked");
  admission_policy rule{unregistered_policy::register_it, "default"};
  CHECK(rule.decide(&row, "", true, false).code() == admit_refused);
  CHECK(rule.decide(&row, runtime::random_token(32), true, false).code() == admit_refused);
  // Even from the node's copy while the database is down: a refusal that rests on the row stands.
  CHECK(rule.decide(&row, "", false, false).code() == admit_refused);
}

TEST_CASE("admission: unknown drones are registered into the default group, or refused, as the policy says") {
  admission_policy open{unregistered_policy::register_it, "field"};
  auto v = open.decide(nullptr, "", true, false);
  CHECK(v.what == kind::register_then_admit);
  CHECK(v.code() == admit_ok);
  CHECK(v.group == "field");
  // Admitted before and not written yet: admitted again, not registered twice.
  v = open.decide(nullptr, "", true, true);
  CHECK(v.what == kind::admit);
  CHECK(v.group == "field");
  // A secret for a drone nobody registered proves nothing.
  CHECK(open.decide(nullptr, runtime::random_token(32), true, false).code() == admit_refused);

  admission_policy strict{unregistered_policy::refuse, "field"};
  CHECK(strict.decide(nullptr, "", true, false).code() == admit_refused);
  CHECK(strict.decide(nullptr, runtime::random_token(32), true, false).code() == admit_refused);
}

TEST_CASE("admission: a drone without a credential connects only where unregistered drones may") {
  auto row = drone("d-1", "blue", "none");
  admission_policy open{unregistered_policy::register_it, "default"};
  auto v = open.decide(&row, "", true, false);
  CHECK(v.what == kind::admit);
  CHECK(v.group == "blue"); // its registry group, not the default one
  CHECK(open.decide(&row, "something", true, false).code() == admit_refused);
  admission_policy strict{unregistered_policy::refuse, "default"};
  CHECK(strict.decide(&row, "", true, false).code() == admit_refused);
}

TEST_CASE("admission: without the registry's word, an unknown drone is told to come back, not refused") {
  // The node's copy may predate the drone's registration on another node: 1013, try again later.
  admission_policy strict{unregistered_policy::refuse, "default"};
  CHECK(strict.decide(nullptr, "", false, false).code() == admit_unavailable);
  CHECK(strict.decide(nullptr, runtime::random_token(32), false, false).code() == admit_unavailable);
  admission_policy open{unregistered_policy::register_it, "default"};
  CHECK(open.decide(nullptr, runtime::random_token(32), false, false).code() == admit_unavailable);
  // Under register, it is admitted and registered once the database is back.
  CHECK(open.decide(nullptr, "", false, false).what == kind::register_then_admit);
  // A drone the copy knows is decided on the copy.
  const std::string secret = runtime::random_token(32);
  auto row = drone("d-1", "red", "active", secret);
  auto v = strict.decide(&row, secret, false, false);
  CHECK(v.code() == admit_ok);
  CHECK(v.group == "red");
}
