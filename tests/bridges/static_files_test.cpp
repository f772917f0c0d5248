// The dashboard's files (bridges/static_files.hpp): only the app's regular files, only inside the folder.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "bridges/static_files.hpp"
#include "tests/bridges/static_fixture.hpp"

using namespace dccs::bridges;
using dccs::test::static_fixture;

namespace {

static_files::outcome outcome_of(const static_files& files, std::string_view path) {
  return files.open(path).what;
}

std::string content_of(const static_files& files, std::string_view path) {
  auto r = files.open(path);
  REQUIRE(r.what == static_files::outcome::found);
  boost::system::error_code ec;
  auto size = r.file.size(ec);
  std::string out(size, '\0');
  r.file.read(out.data(), out.size(), ec);
  REQUIRE(!ec);
  return out;
}

} // namespace

TEST_CASE("the app's files are served, with their types") {
  static_fixture dir;
  static_files files{dir.root.string()};
  CHECK(content_of(files, "/") == "<html>index</html>");
  CHECK(content_of(files, "/index.html") == "<html>index</html>");
  CHECK(content_of(files, "/app.js") == "app();");
  CHECK(content_of(files, "/css/style.css") == "body{}");
  CHECK(content_of(files, "/css/") == "<html>css</html>");
  CHECK(content_of(files, "//app.js") == "app();");
  CHECK(content_of(files, "/inner.js") == "inner();"); // a symlink that stays inside the folder
  CHECK(std::string{files.open("/app.js").mime} == "text/javascript; charset=utf-8");
  CHECK(std::string{files.open("/css/style.css").mime} == "text/css; charset=utf-8");
  CHECK(std::string{files.open("/").mime} == "text/html; charset=utf-8");
}

TEST_CASE("nothing outside the folder, no folders, no sources or docs, no dotfiles") {
  static_fixture dir;
  static_files files{dir.root.string()};
  for (auto path : {"/leak.js",          // a symlink to a file outside the folder
                    "/out/secret.js",    // through a symlinked folder outside it
                    "/css",              // a folder without its trailing slash
                    "/README.md",        // not a file of the app
                    "/notes.txt", "/app", "/.env", "/.hidden/app.js", "/css/.secret.css", "/readme-link.js",
                    "/../outside/secret.js", "/css/../app.js", "/./app.js", "/app.js/", "/nope.js", "", "app.js",
                    "/app.js\\..", "/fifo.js"}) {
    INFO(path);
    CHECK(outcome_of(files, path) == static_files::outcome::not_found);
  }
  std::string with_nul = "/app.js";
  with_nul += '\0';
  CHECK(outcome_of(files, with_nul) == static_files::outcome::not_found);
}

TEST_CASE("no folder, or a folder that does not exist, serves nothing") {
  CHECK(outcome_of(static_files{""}, "/index.html") == static_files::outcome::not_found);
  CHECK(outcome_of(static_files{"/nonexistent/dccs-web"}, "/index.html") == static_files::outcome::not_found);
  static_fixture dir;
  CHECK(outcome_of(static_files{(dir.root / "app.js").string()}, "/app.js") == static_files::outcome::not_found);
}

TEST_CASE("a tile URL the dashboard can use, and its origin for the CSP") {
  CHECK(tile_origin("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://tile.openstreetmap.org");
  CHECK(tile_origin("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png?key=abc") == "http://127.0.0.1:8081");
  CHECK(tile_origin("https://t.example/{y}/{x}/{z}") == "https://t.example");
  for (auto bad : {"", "tile.openstreetmap.org/{z}/{x}/{y}.png", "ftp://t.example/{z}/{x}/{y}",
                   "https:///{z}/{x}/{y}", "https://t.example", "https://t.example/{z}/{x}.png",
                   "https://{s}.tile.example/{z}/{x}/{y}.png", "https://t.example/{z}/{x}/{y}.png; script-src *",
                   "https://t.example/{z}/{x}/{y}.png,evil", "https://t.example/'{z}/{x}/{y}",
                   "https://user@t.example/{z}/{x}/{y}", "https://*/{z}/{x}/{y}.png",
                   "https://*.example.org/{z}/{x}/{y}.png", "https://t.example:/{z}/{x}/{y}",
                   "https://t.example:84a3/{z}/{x}/{y}", "https://[::1]:8080/{z}/{x}/{y}"}) {
    INFO(bad);
    CHECK_FALSE(tile_origin(bad));
  }
  CHECK(dashboard_csp("") == "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
                             "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  CHECK(dashboard_csp("https://t.example").find("img-src 'self' data: https://t.example;") != std::string::npos);
}
