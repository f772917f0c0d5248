#pragma once
/// `dccs user ...`: user management from the command line, against the node's auth database (db.auth_url, else
/// db.url; the auth schema is migrated first).
///
///   dccs user add NAME --role admin|operator|viewer|analytics [--groups a,b]
///   dccs user passwd NAME
///   dccs user disable NAME
///   dccs user enable NAME
///   dccs user list
///
/// `add` and `passwd` take the password from DCCS_USER_PASSWORD when it is set and not empty, else from the first
/// line of standard input when that is not a terminal (a pipe or a file: `printf '%s\n' "$pw" | dccs user passwd
/// bob`), else (a terminal, or an input that ends before any byte) they make a random 24-character password and
/// print it once. The node's options (--config, --db.url, ..., and their DCCS_* variables) apply as for `dccs`.
/// Exit status: 0 done, 1 refused or failed (unknown user, duplicate, weak password, database), 2 usage error.

#include <iosfwd>
#include <optional>

namespace dccs::auth {

/// Environment variable that gives `dccs user add|passwd` the password.
constexpr const char* user_password_env = "DCCS_USER_PASSWORD";

/// When the command line's first positional argument is `user`, runs the user command and returns its exit status
/// (writing results to `out`, errors to `err`); nothing for any other command line.
std::optional<int> user_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

/// The same, on std::cout and std::cerr.
std::optional<int> user_command(int argc, const char* const* argv);

} // namespace dccs::auth
