#include <catch2/catch.hpp>

#include "auth/base64url.hpp"

using namespace dccs::auth;

TEST_CASE("base64url: RFC 4648 vectors without padding, and refusals") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode(std::string("\xfb\xff\xfe", 3)) == "-__-");
  for (auto s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
    CHECK(base64url_decode(base64url_encode(s)) == std::string{s});
  CHECK(base64url_decode("-__-") == std::string("\xfb\xff\xfe", 3));
  CHECK_FALSE(base64url_decode("Zg=="));  // padding
  CHECK_FALSE(base64url_decode("Zm9v+"));  // standard alphabet
  CHECK_FALSE(base64url_decode("Z"));     // impossible length
  CHECK_FALSE(base64url_decode("Zh"));    // non-zero leftover bits
}
