#pragma once
/// The dashboard's files (http.static_dir), as the HTTP port serves them: a plain class, tested without a socket.

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/file.hpp>

namespace dccs::bridges {

/// Extensions of the files the built dashboard is made of; nothing else in the folder is served (not its
/// README, not sources, not dotfiles).
inline constexpr std::string_view static_extensions[] = {".html", ".htm", ".js",  ".mjs",  ".css",  ".json",
                                                         ".map",  ".svg", ".png", ".jpg",  ".jpeg", ".gif",
                                                         ".webp", ".ico", ".woff", ".woff2", ".webmanifest"};

/// The MIME type of a served file, by its extension.
const char* static_mime_type(std::string_view path);

/// A folder of static files. Serves only regular files whose real path (every symlink resolved) is inside the
/// folder's real path, whose names have one of static_extensions, and with no path segment starting with '.'.
class static_files {
public:
  /// `dir` empty, or not a folder: nothing is served.
  explicit static_files(const std::string& dir);

  enum class outcome {
    found,       ///< `file` is open, `mime` is set
    not_found,   ///< no such file, or one that is not served: 404
    unavailable, ///< the process is out of file descriptors: 503
  };

  struct result {
    outcome what = outcome::not_found;
    boost::beast::file file;
    const char* mime = nullptr;
  };

  /// Opens the file a request path names ("/", "/app.js", "/css/"; a path ending in '/' means its
  /// index.html). The path is not percent-decoded: "%2e%2e" is a name, not "..".
  result open(std::string_view path) const;

  /// The folder's real path ("" when nothing is served).
  const std::string& root() const { return root_; }

private:
  std::string root_;
};

/// The dashboard map's tile server (web.tile_url, web.tile_attribution, web.tile_max_zoom), as the page reads it
/// from GET /api/v1/config/web. An empty URL: no tile server (the page draws its offline base map only).
struct tile_settings {
  std::string url;
  std::string attribution;
  int max_zoom = 19;
  std::string origin; ///< scheme://host[:port] of url: the one image source the dashboard's CSP adds
};

/// The origin of a tile URL the dashboard can use: http(s)://host[:port]/... with {z}, {x} and {y}, made only of
/// URL characters that cannot end or extend a CSP directive (no space, ';', ',', quote). Nothing for any other.
std::optional<std::string> tile_origin(std::string_view url);

/// The Content-Security-Policy the dashboard's files are sent with: its own origin only, plus `tile_origin` (when
/// not empty) for images.
std::string dashboard_csp(std::string_view tile_origin);

} // namespace dccs::bridges
