#include "auth/users_cli.hpp"

#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <unistd.h>

#include "auth/audit.hpp"
#include "auth/refresh.hpp"
#include "auth/users.hpp"
#include "runtime/config.hpp"
#include "runtime/migrate.hpp"

namespace dccs::auth {

namespace {

constexpr const char* usage_text
  = "usage: dccs [node options] user add NAME --role admin|operator|viewer|analytics [--groups a,b]\n"
    "       dccs [node options] user passwd NAME\n"
    "       dccs [node options] user disable NAME\n"
    "       dccs [node options] user enable NAME\n"
    "       dccs [node options] user list\n"
    "\n"
    "Manages the users of the auth database (db.auth_url, else db.url; migrated first).\n"
    "add and passwd take the password from DCCS_USER_PASSWORD, else from the first line of standard input\n"
    "when it is not a terminal, else they make a random one and print it once. A password has at least 12\n"
    "characters and at most 1024 bytes.\n"
    "Exit status: 0 done, 1 refused or failed, 2 usage error.\n";

/// The command line split into the user command's own flags and what the node's configuration parses.
struct parsed_args {
  std::vector<std::string> config_args; ///< argv[0] and every argument but --role and --groups
  std::optional<std::string> role;
  std::optional<std::string> groups;
  bool help = false;
  std::string error; ///< a usage error in the user flags
};

parsed_args split_args(int argc, const char* const* argv) {
  parsed_args p;
  p.config_args.emplace_back(argc > 0 ? argv[0] : "dccs");
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool taken = false;
    for (auto [flag, slot] : {std::pair{"--role", &p.role}, std::pair{"--groups", &p.groups}}) {
      std::string f = flag;
      if (arg == f) {
        if (i + 1 >= argc)
          p.error = "option '" + f + "' needs a value";
        else
          *slot = argv[++i];
        taken = true;
      } else if (arg.rfind(f + "=", 0) == 0) {
        *slot = arg.substr(f.size() + 1);
        taken = true;
      }
    }
    if (arg == "--help" || arg == "-h")
      p.help = true;
    if (!taken)
      p.config_args.push_back(arg);
  }
  return p;
}

/// The first positional argument, found as runtime::config::load finds them (a flag without `=` takes the next
/// argument as its value, unless it is a boolean followed by another flag or nothing).
std::string first_positional(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--help" || arg == "-h")
      continue;
    if (arg.rfind("--", 0) != 0)
      return arg;
    auto name = arg.substr(2);
    if (name.find('=') != std::string::npos)
      continue;
    bool boolean = false;
    for (auto& spec : runtime::option_specs())
      if (spec.name == name)
        boolean = spec.type == runtime::option_type::boolean;
    if (boolean && (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0))
      continue;
    ++i;
  }
  return {};
}

/// A password from DCCS_USER_PASSWORD, else the first line of a non-terminal standard input; nothing when neither
/// gives one (a terminal, or an input that ends before its first byte): the caller makes one up.
std::optional<std::string> supplied_password() {
  if (auto env = std::getenv(user_password_env); env != nullptr && *env != '\0')
    return std::string{env};
  if (isatty(STDIN_FILENO))
    return std::nullopt;
  std::string line;
  bool any = false;
  char c;
  // At most one byte more than allowed is kept: a longer line is refused as too long, not read to its end.
  while (std::cin.get(c)) {
    any = true;
    if (c == '\n')
      break;
    if (line.size() <= max_password_bytes)
      line += c;
  }
  if (!any)
    return std::nullopt;
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

std::vector<std::string> split_groups(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos)
      comma = text.size();
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string utc(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print_table(std::ostream& out, const std::vector<user>& users) {
  std::vector<std::vector<std::string>> rows{{"NAME", "ROLE", "GROUPS", "ENABLED", "CREATED"}};
  for (auto& u : users) {
    std::string groups;
    for (auto& g : u.groups)
      groups += (groups.empty() ? "" : ",") + g;
    rows.push_back({u.name, to_string(u.role), groups.empty() ? "-" : groups, u.enabled ? "yes" : "no",
                    utc(u.created_at)});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  for (auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (i + 1 < r.size())
        out << std::left << std::setw(static_cast<int>(width[i] + 2)) << r[i];
      else
        out << r[i];
    }
    out << "\n";
  }
}

void print_generated(std::ostream& out, const std::string& name, const std::string& password) {
  out << "password of user '" << name << "', shown only this once:\n\n    " << password << "\n\n";
}

} // namespace

namespace {

/// What a change from the command line does in its transaction, as the REST route does: the user's refresh
/// tokens are revoked (disabling, a new password: their sessions end) and the change is audited, with the
/// machine account that ran the command as the actor.
user_change_hook cli_change(const char* action) {
  return [action](pqxx::transaction_base& tx, const user& before, const user& after) {
    auto revoked = (before.enabled && !after.enabled) || std::string{action} == audit_action::password_changed
                     ? revoke_user(tx, after.id)
                     : 0;
    audit_entry e;
    const char* login = std::getenv("USER");
    e.actor = std::string{"cli:"} + (login != nullptr && *login != '\0' ? login : "unknown");
    e.action = action;
    e.outcome = audit_outcome::ok;
    e.detail = nlohmann::json{{"user", after.name}, {"refresh_revoked", revoked}};
    write_audit(tx, e);
  };
}

} // namespace

std::optional<int> user_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  auto args = split_args(argc, argv);
  if (first_positional(args.config_args) != "user")
    return std::nullopt;
  if (args.help) {
    out << usage_text;
    return 0;
  }
  auto usage = [&](const std::string& why) {
    err << "dccs user: " << why << "\n" << usage_text;
    return 2;
  };
  if (!args.error.empty())
    return usage(args.error);
  runtime::config cfg;
  std::vector<const char*> cargv;
  for (auto& a : args.config_args)
    cargv.push_back(a.c_str());
  std::string error;
  bool help = false;
  if (!cfg.load(static_cast<int>(cargv.size()), cargv.data(), error, help))
    return usage(error);
  const auto& pos = cfg.positional(); // "user", the subcommand, its operands
  if (pos.size() < 2)
    return usage("which user command?");
  const auto& cmd = pos[1];
  bool takes_name = cmd == "add" || cmd == "passwd" || cmd == "disable" || cmd == "enable";
  if (!takes_name && cmd != "list")
    return usage("unknown user command '" + cmd + "'");
  if (pos.size() != (takes_name ? 3u : 2u))
    return usage(takes_name ? "'user " + cmd + "' takes one user name" : "'user list' takes no argument");
  if (cmd != "add" && (args.role || args.groups))
    return usage("--role and --groups go with 'user add'");
  std::optional<role> new_role;
  std::vector<std::string> groups;
  if (cmd == "add") {
    if (!args.role)
      return usage("'user add' needs --role admin|operator|viewer|analytics");
    new_role = parse_role(*args.role);
    if (!new_role)
      return usage("unknown role '" + *args.role + "' (admin, operator, viewer or analytics)");
    if (args.groups)
      groups = split_groups(*args.groups);
  }
  const std::string name = takes_name ? pos[2] : std::string{};
  try {
    auto url = cfg.str("db.auth_url");
    pqxx::connection conn{url.empty() ? cfg.str("db.url") : url};
    runtime::migrate(conn, "auth");
    if (cmd == "list") {
      print_table(out, list_users(conn));
    } else if (cmd == "disable" || cmd == "enable") {
      user_patch patch;
      patch.enabled = cmd == "enable";
      update_user(conn, name, std::move(patch), cli_change(cmd == "enable" ? audit_action::user_enabled
                                                                          : audit_action::user_disabled));
      out << "user '" << name << "' " << cmd << "d\n";
    } else {
      auto supplied = supplied_password();
      auto password = supplied ? *supplied : random_password();
      if (cmd == "add") {
        auto u = create_user(conn, name, password, *new_role, groups);
        out << "user '" << u.name << "' created (role " << to_string(u.role) << ")\n";
      } else {
        user_patch patch;
        patch.password = password;
        update_user(conn, name, std::move(patch), cli_change(audit_action::password_changed));
        out << "password of user '" << name << "' changed\n";
      }
      if (!supplied)
        print_generated(out, name, password);
    }
    out.flush();
    return 0;
  } catch (const user_error& e) {
    err << "dccs user " << cmd << ": " << e.what() << "\n";
  } catch (const pqxx::broken_connection& e) {
    err << "dccs user " << cmd << ": cannot connect to the auth database: " << e.what() << "\n";
  } catch (const std::exception& e) {
    err << "dccs user " << cmd << ": " << e.what() << "\n";
  }
  return 1;
}

std::optional<int> user_command(int argc, const char* const* argv) {
  return user_command(argc, argv, std::cout, std::cerr);
}

} // namespace dccs::auth
