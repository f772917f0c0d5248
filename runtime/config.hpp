#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dccs::runtime {

/// The kind of value an option takes; every value is checked against it when the configuration loads.
enum class option_type { string, integer, number, boolean };

/// One configuration option: its dotted name, type, default and help text.
struct option_spec {
  std::string name;
  option_type type;
  std::string default_value;
  std::string help;
  std::int64_t min = 0; ///< for integers: smallest accepted value
  std::int64_t max = 0; ///< for integers: largest accepted value (min == max: no bounds)
  std::vector<std::string> choices = {}; ///< for strings: the accepted values, if restricted
};

/// Every option the node knows, in the order `dccs --help` lists them.
const std::vector<option_spec>& option_specs();

/// The node's configuration. Sources, lowest precedence first:
///   1. built-in defaults (the table in config.cpp, mirrored by config/dccs.conf),
///   2. a config file (`--config FILE` or `DCCS_CONFIG`), lines of `name = value`, `#` comments,
///   3. environment variables `DCCS_<NAME>` (`http.port` -> `DCCS_HTTP_PORT`),
///   4. command-line flags `--name value` or `--name=value`.
class config {
public:
  /// A configuration holding only the defaults.
  config();

  /// Loads from all sources. Returns false and sets `error` on an unknown option, a bad value, or an
  /// unreadable file. Sets `help` when `--help` was given (nothing else is checked then).
  bool load(int argc, const char* const* argv, std::string& error, bool& help);

  /// Reads `name = value` lines. Returns false and sets `error` on failure.
  bool load_file(const std::string& path, std::string& error);

  /// Sets one option from text, checking name and value. Returns false and sets `error` on failure.
  bool set(const std::string& name, const std::string& value, std::string& error);

  const std::string& str(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool boolean(const std::string& name) const;

  /// The positional arguments (a subcommand such as `migrate`, in later versions).
  const std::vector<std::string>& positional() const { return positional_; }

  /// Text for `dccs --help`.
  static std::string help_text(const std::string& program);

  /// The environment variable name for an option: `http.port` -> `DCCS_HTTP_PORT`.
  static std::string env_name(const std::string& name);

private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

} // namespace dccs::runtime
