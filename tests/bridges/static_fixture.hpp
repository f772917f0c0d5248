#pragma once
/// A static folder for the tests of the dashboard's files, in a fresh temporary folder removed afterwards:
///
///   base/web/  index.html app.js css/{style.css,index.html,inner.js,.secret.css} README.md notes.txt app .env
///              .hidden/app.js fifo.js (a FIFO)
///              inner.js -> css/inner.js        (a symlink inside the folder)
///              readme-link.js -> README.md     (inside, but to a file that is not served)
///              leak.js -> base/outside/secret.js, out -> base/outside   (symlinks out of the folder)
///   base/outside/secret.js

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>

namespace dccs::test {

struct static_fixture {
  std::filesystem::path base;
  std::filesystem::path root;

  static_fixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dccs-static-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    base = tmpl;
    root = base / "web";
    namespace fs = std::filesystem;
    fs::create_directories(root / "css");
    fs::create_directories(root / ".hidden");
    fs::create_directories(base / "outside");
    write(root / "index.html", "<html>index</html>");
    write(root / "app.js", "app();");
    write(root / "css/style.css", "body{}");
    write(root / "css/index.html", "<html>css</html>");
    write(root / "css/inner.js", "inner();");
    write(root / "css/.secret.css", "secret");
    write(root / "README.md", "# readme");
    write(root / "notes.txt", "notes");
    write(root / "app", "binary");
    write(root / ".env", "SECRET=1");
    write(root / ".hidden/app.js", "hidden();");
    write(base / "outside/secret.js", "secret();");
    fs::create_symlink("css/inner.js", root / "inner.js");
    fs::create_symlink("README.md", root / "readme-link.js");
    fs::create_symlink(base / "outside/secret.js", root / "leak.js");
    fs::create_directory_symlink(base / "outside", root / "out");
    if (mkfifo((root / "fifo.js").c_str(), 0600) != 0)
      throw std::runtime_error("mkfifo failed");
  }

  ~static_fixture() {
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
  }

  static_fixture(const static_fixture&) = delete;
  static_fixture& operator=(const static_fixture&) = delete;

private:
  static void write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out{p};
    out << text;
  }
};

} // namespace dccs::test
