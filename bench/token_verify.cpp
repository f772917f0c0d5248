// dccs-bench-tokens: what checking an access token costs, verified from scratch (auth::verify: an Ed25519
// signature) and found among the tokens verified before (auth::verified_tokens: a SHA-256 and a lookup).
//
//   ninja -C build-bench dccs-bench-tokens && build-bench/bench/dccs-bench-tokens [rounds]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/keys.hpp"
#include "auth/verified_tokens.hpp"

using namespace dccs::auth;

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 2000;
  if (rounds <= 0)
    rounds = 2000;
  std::vector<signing_key> keys;
  keys.push_back(generate_key());
  key_ring ring{std::move(keys)};
  claims c;
  c.iss = "https://dccs.bench";
  c.aud = "dccs-api";
  c.sub = "bench";
  c.role = "operator";
  c.groups = {"red", "blue"};
  c.iat = static_cast<std::int64_t>(std::time(nullptr));
  c.nbf = c.iat;
  c.exp = c.iat + 900;
  auto token = sign(ring, c);
  verify_options opts;
  opts.iss = c.iss;
  opts.aud = c.aud;
  verified_tokens memo;
  auto time_it = [&](const char* what, auto&& f) {
    int ok = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i)
      ok += f() ? 1 : 0;
    auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / rounds;
    std::printf("%-44s %9.2f us per token (%d of %d valid)\n", what, us, ok, rounds);
    return ok == rounds;
  };
  bool good = time_it("verify (Ed25519, from scratch)", [&] { return verify(ring, token, opts).ok(); });
  good &= time_it("verified_tokens (remembered)", [&] { return memo.verify(ring, token, opts).ok(); });
  return good ? 0 : 1;
}
