#include "auth/verified_tokens.hpp"

#include <openssl/evp.h>

namespace dccs::auth {

verify_result verified_tokens::verify(const key_ring& ring, std::string_view token, const verify_options& opts,
                                      bool* from_memory) {
  if (from_memory)
    *from_memory = false;
  digest d{};
  unsigned int len = 0;
  bool hashed = token.size() <= opts.max_token_bytes &&
                EVP_Digest(token.data(), token.size(), d.data(), &len, EVP_sha256(), nullptr) == 1 && len == d.size();
  if (hashed) {
    verify_result r;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto it = map_.find(d);
      if (it != map_.end() && it->second.ring == &ring && it->second.value.iss == opts.iss &&
          it->second.value.aud == opts.aud) {
        r.error = check_times(it->second.value, opts, r.reason);
        if (r.ok())
          r.value = it->second.value;
        else
          map_.erase(it); // expired (or the clock went back): verified from scratch if it comes again
        hits_.fetch_add(1, std::memory_order_relaxed);
        if (from_memory)
          *from_memory = true;
        return r;
      }
    }
  }
  auto r = auth::verify(ring, token, opts);
  if (r.ok() && hashed) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (map_.size() >= capacity_ && map_.find(d) == map_.end())
      map_.erase(map_.begin());
    map_.insert_or_assign(d, entry{&ring, r.value});
  }
  return r;
}

std::size_t verified_tokens::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return map_.size();
}

} // namespace dccs::auth
