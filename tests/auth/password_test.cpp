// Password hashing: argon2id PHC strings, verification, re-hash decisions, the password rules.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>
#include <vector>

#include "auth/password.hpp"

using namespace dccs::auth;

namespace {

constexpr argon2_params weak{4096, 1, 1};

} // namespace

TEST_CASE("password: hash and verify round trip, a wrong password does not verify") {
  auto h = hash_password("correct horse battery staple");
  CHECK(h.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  CHECK(verify_password("correct horse battery staple", h));
  CHECK_FALSE(verify_password("correct horse battery stapl", h));
  CHECK_FALSE(verify_password("Correct horse battery staple", h));
  CHECK_FALSE(verify_password("", h));
  // A fresh salt every time: the same password never gives the same string.
  auto h2 = hash_password("correct horse battery staple");
  CHECK(h2 != h);
  CHECK(verify_password("correct horse battery staple", h2));
  // Salt 16 bytes (22 base64 characters), hash 32 (43).
  auto salt = h.substr(h.rfind('$', h.rfind('$') - 1) + 1);
  CHECK(salt.size() == 22 + 1 + 43);
  CHECK_FALSE(needs_rehash(h, recommended()));
}

TEST_CASE("password: needs_rehash for weaker parameters or another algorithm") {
  auto h = hash_password("a weaker stored password", weak);
  CHECK(h.rfind("$argon2id$v=19$m=4096,t=1,p=1$", 0) == 0);
  CHECK(verify_password("a weaker stored password", h));
  CHECK(needs_rehash(h, recommended()));
  CHECK_FALSE(needs_rehash(h, weak));
  CHECK(needs_rehash(hash_password("a weaker stored password", {19456, 1, 1}), recommended()));
  CHECK(needs_rehash(hash_password("a weaker stored password", {8192, 2, 1}), recommended()));
  CHECK_FALSE(needs_rehash(hash_password("a stronger stored password", {32768, 3, 1}), recommended()));
  // argon2i, the same parameters: not argon2id, so re-hashed (and not accepted by verify_password).
  auto i = "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" + std::string(43, 'A');
  CHECK(needs_rehash(i, recommended()));
  CHECK_FALSE(verify_password("whatever it is here", i));
  CHECK(needs_rehash("", recommended()));
  CHECK(needs_rehash("$argon2id$v=19$m=19456,t=2$x$y", recommended()));
}

TEST_CASE("password: a malformed encoding verifies nothing and does not crash") {
  auto good = hash_password("a perfectly good password");
  std::vector<std::string> bad = {
    "",
    "$",
    "$$$$$",
    "plaintext password",
    "$argon2id$",
    "$argon2id$v=19$m=19456,t=2,p=1$",
    "$argon2id$v=19$m=19456,t=2,p=1$$",
    "$argon2id$v=19$m=abc,t=2,p=1$c29tZXNhbHQ$aGFzaA",
    "$argon2id$v=19$m=19456,t=2,p=0$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
    "$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
    "$argon2id$v=19$m=19456,t=4294967295,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$!!!!",
    good.substr(0, good.size() - 5),
    good + "$",
    good + "AAAA",
    std::string(good).replace(good.size() - 10, 1, std::string(1, '\0')),
    std::string(100000, '$'),
  };
  for (auto& b : bad) {
    INFO(b.substr(0, 80));
    CHECK_FALSE(verify_password("a perfectly good password", b));
  }
  // A flipped hash character.
  auto flipped = good;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  CHECK_FALSE(verify_password("a perfectly good password", flipped));
}

TEST_CASE("password: the rules: at least 12 characters, at most 1024 bytes, refused before hashing") {
  CHECK_THROWS_AS(hash_password(""), weak_password);
  CHECK_THROWS_AS(hash_password("elevenchars"), weak_password);
  CHECK_THROWS_WITH(hash_password("elevenchars"), Catch::Contains("at least 12 characters"));
  CHECK_NOTHROW(hash_password("twelve chars"));
  CHECK(password_problem("twelve chars").empty());
  // Characters, not bytes: 11 two-byte characters are too short, 12 are enough.
  std::string e11, e12;
  for (int i = 0; i < 11; ++i)
    e11 += "\xc3\xa9";
  e12 = e11 + "\xc3\xa9";
  CHECK_FALSE(password_problem(e11).empty());
  CHECK(password_problem(e12).empty());
  std::string max(max_password_bytes, 'x');
  CHECK(password_problem(max).empty());
  auto h = hash_password(max);
  CHECK(verify_password(max, h));
  std::string too_long(max_password_bytes + 1, 'x');
  CHECK_THROWS_WITH(hash_password(too_long), Catch::Contains("at most 1024 bytes"));
  // The message names the rule, never the password.
  try {
    hash_password("secretsecre");
  } catch (const weak_password& e) {
    CHECK(std::string{e.what()}.find("secretsecre") == std::string::npos);
  }
  // A megabyte password costs nothing to refuse, at verification too.
  std::string huge(1 << 20, 'x');
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(verify_password(huge, h));
  dummy_verify(huge);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(5));
}

TEST_CASE("password: random passwords are 24 characters without look-alikes, and differ") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto p = random_password();
    CHECK(p.size() == 24);
    CHECK(p.find_first_of("0O1lI+/=") == std::string::npos);
    CHECK(password_problem(p).empty());
    seen.insert(p);
  }
  CHECK(seen.size() == 200);
  CHECK(random_password(40).size() == 40);
}

TEST_CASE("password: dummy_verify costs about what a verification costs") {
  auto h = hash_password("the real password here");
  // Interleaved, so that load on the machine slows both alike; the failure this catches is a dummy check that
  // does not do the argon2id work (a ratio near 0), far outside these bounds.
  using clock = std::chrono::steady_clock;
  auto time_ms = [](auto f) {
    auto t0 = clock::now();
    f();
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  std::vector<double> verifies, dummies;
  for (int i = 0; i < 7; ++i) {
    verifies.push_back(time_ms([&] { CHECK_FALSE(verify_password("a wrong password here", h)); }));
    dummies.push_back(time_ms([&] { dummy_verify("a wrong password here"); }));
  }
  std::sort(verifies.begin(), verifies.end());
  std::sort(dummies.begin(), dummies.end());
  auto verify_ms = verifies[3];
  auto dummy_ms = dummies[3];
  INFO("verify " << verify_ms << " ms, dummy " << dummy_ms << " ms (medians)");
  CHECK(dummy_ms > verify_ms * 0.3);
  CHECK(dummy_ms < verify_ms * 3);
}

TEST_CASE("password: timings of one hash and one verification", "[.timing]") {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 5; ++i) {
    auto t0 = clock::now();
    auto h = hash_password("a password to time here");
    auto t1 = clock::now();
    bool ok = verify_password("a password to time here", h);
    auto t2 = clock::now();
    dummy_verify("a password to time here");
    auto t3 = clock::now();
    CHECK(ok);
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::cout << "hash " << ms(t1 - t0) << " ms, verify " << ms(t2 - t1) << " ms, dummy_verify " << ms(t3 - t2)
              << " ms\n";
  }
}
