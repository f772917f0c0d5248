#include "actors/admission.hpp"

#include "runtime/secret.hpp"

namespace dccs::actors {

std::uint16_t admission_verdict::code() const {
  switch (what) {
    case kind::admit:
    case kind::register_then_admit: return admit_ok;
    case kind::unavailable: return admit_unavailable;
    default: return admit_refused;
  }
}

admission_verdict admission_policy::decide(const registry_row* row, const std::string& secret,
                                           bool registry_answered, bool registration_pending) const {
  using kind = admission_verdict::kind;
  auto refuse = [](const char* why) { return admission_verdict{kind::refuse, {}, why}; };
  // Refusing a drone for being unknown needs the registry's word: the node's copy may predate its registration.
  auto refuse_unknown = [&](const char* why) {
    return registry_answered ? refuse(why) : admission_verdict{kind::unavailable, {}, "registry unavailable"};
  };
  if (row == nullptr) {
    if (!secret.empty())
      return refuse_unknown("unknown drone presented a secret");
    if (registration_pending)
      return {kind::admit, default_group_, ""}; // admitted before, registration pending
    if (unregistered_ == unregistered_policy::refuse)
      return refuse_unknown("not registered");
    return {kind::register_then_admit, default_group_, ""};
  }
  if (row->credential == "active") {
    if (secret.empty())
      return refuse("no secret presented");
    if (!runtime::equal_constant_time(runtime::sha256_hex(secret), row->secret_hash))
      return refuse("wrong secret");
  } else if (row->credential == "revoked") {
    return refuse("credential revoked");
  } else if (!secret.empty()) {
    return refuse("secret presented for a drone without a credential");
  } else if (unregistered_ == unregistered_policy::refuse) {
    return refuse("no credential issued");
  }
  return {kind::admit, row->group, ""};
}

} // namespace dccs::actors
