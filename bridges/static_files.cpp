#include "bridges/static_files.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dccs::bridges {

namespace {

std::string_view extension(std::string_view path) {
  auto slash = path.rfind('/');
  auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto dot = name.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view{} : name.substr(dot);
}

bool served_extension(std::string_view path) {
  auto ext = extension(path);
  for (auto allowed : static_extensions)
    if (ext.size() == allowed.size()) {
      bool same = true;
      for (std::size_t i = 0; i < ext.size() && same; ++i)
        same = (ext[i] | 0x20) == allowed[i]; // ASCII case-insensitive ('.' | 0x20 is '.')
      if (same)
        return true;
    }
  return false;
}

/// Whether a path (of '/'-separated segments) has a segment that starts with '.': a dotfile or dot-folder, or
/// "." and "..".
bool has_dot_segment(std::string_view path) {
  for (std::size_t pos = 0; pos < path.size();) {
    auto slash = path.find('/', pos);
    if (slash == pos) {
      ++pos;
      continue;
    }
    if (path[pos] == '.')
      return true;
    if (slash == std::string_view::npos)
      break;
    pos = slash + 1;
  }
  return false;
}

std::string real_path(const std::string& path, int& error) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    error = errno;
    return {};
  }
  error = 0;
  return buf;
}

bool out_of_descriptors(int error) {
  return error == EMFILE || error == ENFILE;
}

} // namespace

const char* static_mime_type(std::string_view path) {
  std::string ext{extension(path)};
  for (auto& c : ext)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".webmanifest") return "application/manifest+json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".gif") return "image/gif";
  if (ext == ".webp") return "image/webp";
  if (ext == ".ico") return "image/vnd.microsoft.icon";
  if (ext == ".woff") return "font/woff";
  if (ext == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

static_files::static_files(const std::string& dir) {
  if (dir.empty())
    return;
  int error = 0;
  auto root = real_path(dir, error);
  struct stat st {};
  if (!root.empty() && ::stat(root.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    root_ = std::move(root);
}

static_files::result static_files::open(std::string_view path) const {
  result out;
  if (root_.empty() || path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos
      || path.find('\\') != std::string_view::npos || has_dot_segment(path))
    return out;
  std::string wanted = root_;
  wanted += path;
  if (wanted.back() == '/')
    wanted += "index.html";
  // The name asked for and the file it resolves to must both be of the app's kinds (a symlink "x.js" to a
  // README inside the folder is not served either).
  if (!served_extension(wanted))
    return out;
  int error = 0;
  auto real = real_path(wanted, error);
  if (real.empty()) {
    if (out_of_descriptors(error))
      out.what = outcome::unavailable;
    return out;
  }
  if (real.size() <= root_.size() || real.compare(0, root_.size(), root_) != 0 || real[root_.size()] != '/'
      || has_dot_segment(std::string_view{real}.substr(root_.size())) || !served_extension(real))
    return out;
  // Every symlink is resolved in `real`: one that appears after the check is not followed (O_NOFOLLOW), and
  // only a regular file is served (not a folder such as "/css", not a device or a FIFO).
  int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (out_of_descriptors(errno))
      out.what = outcome::unavailable;
    return out;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return out;
  }
  // Back to blocking reads (a regular file never blocks; O_NONBLOCK only kept a FIFO from blocking the open).
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  out.file.native_handle(fd);
  out.mime = static_mime_type(real);
  out.what = outcome::found;
  return out;
}

std::optional<std::string> tile_origin(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 8) == "https://")
    rest = url.substr(8);
  else if (url.substr(0, 7) == "http://")
    rest = url.substr(7);
  else
    return std::nullopt;
  auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view{"-._~:/?#[]@!$&()*+=%{}"}.find(c) != std::string_view::npos;
  };
  for (char c : url)
    if (!safe(c))
      return std::nullopt;
  // The host is a name or an IPv4 address with an optional port: a '*' would make the CSP source a wildcard, and
  // userinfo, brackets or placeholders have no place in an origin.
  auto host_end = rest.find('/');
  auto host = rest.substr(0, host_end);
  auto colon = host.find(':');
  auto name = host.substr(0, colon);
  auto port = colon == std::string_view::npos ? std::string_view{} : host.substr(colon + 1);
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  };
  if (host_end == std::string_view::npos || name.empty() || !std::all_of(name.begin(), name.end(), name_char) ||
      (colon != std::string_view::npos &&
       (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))))
    return std::nullopt;
  for (auto placeholder : {"{z}", "{x}", "{y}"})
    if (url.find(placeholder) == std::string_view::npos)
      return std::nullopt;
  return std::string{url.substr(0, url.size() - rest.size())} + std::string{host};
}

std::string dashboard_csp(std::string_view tile_origin) {
  std::string images = "img-src 'self' data:";
  if (!tile_origin.empty())
    images += " " + std::string{tile_origin};
  return "default-src 'self'; " + images + "; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
         "form-action 'self'";
}

} // namespace dccs::bridges
