// Users in a real PostgreSQL (the test command starts a throwaway one with pg_virtualenv; the connection comes
// from the PG* environment variables), a scratch database per test; and `dccs user ...` end to end.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "auth/refresh.hpp"
#include "auth/users.hpp"
#include "runtime/migrate.hpp"
#include "tests/support/scratch_db.hpp"

extern char** environ;

using namespace dccs::auth;
using dccs::test::scratch_database;

namespace {

/// A scratch database with the auth schema.
struct auth_db {
  scratch_database db;
  pqxx::connection conn{db.url()};
  auth_db() { dccs::runtime::migrate(conn, "auth"); }
};

user_errc reason_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const user_error& e) {
    return e.reason();
  }
  FAIL("no user_error");
  return user_errc::invalid;
}

/// Sets an environment variable for one scope, then removes it.
struct scoped_env {
  std::string name;
  scoped_env(std::string n, const std::string& value) : name(std::move(n)) { setenv(name.c_str(), value.c_str(), 1); }
  ~scoped_env() { unsetenv(name.c_str()); }
};

/// The password line bootstrap_admin or the CLI prints ("    <password>"), or "".
std::string printed_password(const std::string& text) {
  std::istringstream in{text};
  std::string line;
  std::string found;
  while (std::getline(in, line))
    if (line.rfind("    ", 0) == 0 && line.size() > 4)
      found = line.substr(4);
  return found;
}

} // namespace

TEST_CASE("users: create, find, list, count, change role, groups, password and enabled") {
  auth_db a;
  CHECK(count_users(a.conn) == 0);
  CHECK(list_users(a.conn).empty());
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(5);
  auto bob = create_user(a.conn, "bob", "bob's long password", role::operator_, {"north", "east", "north"});
  CHECK(bob.id > 0);
  CHECK(bob.name == "bob");
  CHECK(bob.role == role::operator_);
  CHECK(bob.groups == std::vector<std::string>{"east", "north"});
  CHECK(bob.enabled);
  CHECK(bob.password_hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  CHECK(bob.created_at > before);
  CHECK(bob.updated_at == bob.created_at);
  CHECK(bob.password_changed_at == bob.created_at);
  create_user(a.conn, "alice@example.org", "alice's long password", role::viewer);
  CHECK(count_users(a.conn) == 2);
  auto all = list_users(a.conn);
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "alice@example.org");
  CHECK(all[0].groups.empty());
  CHECK(all[1].name == "bob");

  auto found = find_by_name(a.conn, "bob");
  REQUIRE(found);
  CHECK(found->id == bob.id);
  CHECK(found->groups == bob.groups);
  CHECK(found->password_hash == bob.password_hash);
  CHECK_FALSE(find_by_name(a.conn, "nobody"));
  CHECK_FALSE(find_by_name(a.conn, "Bob")); // names are case-sensitive

  set_role_groups(a.conn, "bob", role::admin, {"west"});
  found = find_by_name(a.conn, "bob");
  CHECK(found->role == role::admin);
  CHECK(found->groups == std::vector<std::string>{"west"});
  CHECK(found->updated_at >= bob.updated_at);

  set_password(a.conn, "bob", "bob's new long password");
  found = find_by_name(a.conn, "bob");
  CHECK(found->password_hash != bob.password_hash);
  CHECK(found->password_changed_at > bob.password_changed_at);
  CHECK_FALSE(authenticate(a.conn, "bob", "bob's long password"));
  CHECK(authenticate(a.conn, "bob", "bob's new long password"));

  set_enabled(a.conn, "bob", false);
  CHECK_FALSE(find_by_name(a.conn, "bob")->enabled);
  set_enabled(a.conn, "bob", true);
  CHECK(find_by_name(a.conn, "bob")->enabled);

  CHECK(reason_of([&] { set_password(a.conn, "nobody", "a long enough password"); }) == user_errc::not_found);
  CHECK(reason_of([&] { set_enabled(a.conn, "nobody", false); }) == user_errc::not_found);
  CHECK(reason_of([&] { set_role_groups(a.conn, "nobody", role::viewer, {}); }) == user_errc::not_found);
  CHECK(reason_of([&] { set_password(a.conn, "bob", "short"); }) == user_errc::weak_password);
  CHECK(reason_of([&] { set_role_groups(a.conn, "bob", role::viewer, {"no spaces"}); }) == user_errc::invalid);
  CHECK(authenticate(a.conn, "bob", "bob's new long password")); // unchanged by the refusals
}

TEST_CASE("users: invalid names, groups and passwords, and duplicates are refused with typed errors") {
  auth_db a;
  create_user(a.conn, "carol", "carol's long password", role::viewer);
  CHECK(reason_of([&] { create_user(a.conn, "carol", "another long password", role::admin); })
        == user_errc::duplicate);
  try {
    create_user(a.conn, "carol", "another long password", role::admin);
  } catch (const user_error& e) {
    CHECK(e.code() == dccs::runtime::db_errc::conflict); // as pg_link::run passes it on
    CHECK(std::string{e.what()}.find("another long password") == std::string::npos);
  }
  // Names are unique regardless of case: "Carol" is taken by "carol", and nothing of hers changed.
  CHECK(reason_of([&] { create_user(a.conn, "Carol", "another long password", role::admin); })
        == user_errc::duplicate);
  CHECK(reason_of([&] { create_user(a.conn, "CAROL", "another long password", role::admin); })
        == user_errc::duplicate);
  CHECK(authenticate(a.conn, "carol", "carol's long password"));
  for (auto name : {"", "with space", "semi;colon", "ünïcode", "x'y"})
    CHECK(reason_of([&] { create_user(a.conn, name, "a long enough password", role::viewer); })
          == user_errc::invalid);
  CHECK(reason_of([&] { create_user(a.conn, std::string(65, 'n'), "a long enough password", role::viewer); })
        == user_errc::invalid);
  CHECK_NOTHROW(create_user(a.conn, std::string(64, 'n'), "a long enough password", role::viewer));
  CHECK_NOTHROW(create_user(a.conn, "a.b-c_d@e", "a long enough password", role::viewer));
  CHECK(reason_of([&] { create_user(a.conn, "dave", "a long enough password", role::viewer, {"a,b"}); })
        == user_errc::invalid);
  CHECK(reason_of([&] { create_user(a.conn, "dave", "a long enough password", role::viewer, {""}); })
        == user_errc::invalid);
  CHECK(reason_of([&] { create_user(a.conn, "dave", "too short", role::viewer); }) == user_errc::weak_password);
  CHECK(reason_of([&] { create_user(a.conn, "dave", std::string(1025, 'p'), role::viewer); })
        == user_errc::weak_password);
  CHECK_FALSE(find_by_name(a.conn, "dave"));
  // The schema refuses what the code would have refused, too.
  pqxx::work tx{a.conn};
  CHECK_THROWS_AS(tx.exec("INSERT INTO auth.users (name, password_hash, role) VALUES ('x y', 'h', 'viewer')"),
                  pqxx::check_violation);
}

TEST_CASE("users: the schema refuses bad rows on its own") {
  auth_db a;
  auto refused = [&](const std::string& values) {
    pqxx::work tx{a.conn};
    try {
      tx.exec("INSERT INTO auth.users (name, password_hash, role, groups) VALUES " + values);
      return false;
    } catch (const pqxx::check_violation&) {
      return true;
    }
  };
  CHECK(refused("('ok', 'h', 'root', '{}')"));
  CHECK(refused("('', 'h', 'viewer', '{}')"));
  CHECK(refused("('ok', 'h', 'viewer', '{\"a b\"}')"));
  CHECK(refused("('ok', 'h', 'viewer', ARRAY[NULL]::text[])"));
  CHECK(refused("('ok', 'h', 'viewer', '{{a},{b}}')"));
  CHECK_FALSE(refused("('ok', 'h', 'viewer', '{a,b}')"));
}

TEST_CASE("users: authenticate: the right password of an enabled user only, unknown users get nothing") {
  auth_db a;
  create_user(a.conn, "erin", "erin's long password", role::operator_, {"g1"});
  auto u = authenticate(a.conn, "erin", "erin's long password");
  REQUIRE(u);
  CHECK(u->name == "erin");
  CHECK(u->role == role::operator_);
  CHECK(u->groups == std::vector<std::string>{"g1"});
  CHECK_FALSE(authenticate(a.conn, "erin", "erin's wrong password"));
  CHECK_FALSE(authenticate(a.conn, "erin", ""));
  CHECK_FALSE(authenticate(a.conn, "erin", std::string(1 << 20, 'x')));
  CHECK_FALSE(authenticate(a.conn, "nobody", "erin's long password"));
  CHECK_FALSE(authenticate(a.conn, "", "erin's long password"));
  set_enabled(a.conn, "erin", false);
  CHECK_FALSE(authenticate(a.conn, "erin", "erin's long password"));
  set_enabled(a.conn, "erin", true);
  CHECK(authenticate(a.conn, "erin", "erin's long password"));
}

TEST_CASE("users: an unknown user costs about what a wrong password costs") {
  auth_db a;
  create_user(a.conn, "frank", "frank's long password", role::viewer);
  // Interleaved, so that load on the machine slows both alike; the failure this catches is an unknown user
  // answered without the argon2id work (a ratio near 0), far outside these bounds.
  using clock = std::chrono::steady_clock;
  auto time_ms = [](auto f) {
    auto t0 = clock::now();
    f();
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  std::vector<double> wrongs, unknowns;
  for (int i = 0; i < 7; ++i) {
    wrongs.push_back(time_ms([&] { CHECK_FALSE(authenticate(a.conn, "frank", "not frank's password")); }));
    unknowns.push_back(time_ms([&] { CHECK_FALSE(authenticate(a.conn, "nobody", "not frank's password")); }));
  }
  std::sort(wrongs.begin(), wrongs.end());
  std::sort(unknowns.begin(), unknowns.end());
  auto wrong = wrongs[3];
  auto unknown = unknowns[3];
  INFO("wrong password " << wrong << " ms, unknown user " << unknown << " ms (medians)");
  CHECK(unknown > wrong * 0.3);
  CHECK(unknown < wrong * 3);
}

TEST_CASE("users: a hash with weaker parameters is upgraded at the next successful login") {
  auth_db a;
  create_user(a.conn, "gina", "gina's long password", role::viewer);
  auto weak = hash_password("gina's long password", {4096, 1, 1});
  REQUIRE(weak.rfind("$argon2id$v=19$m=4096,t=1,p=1$", 0) == 0);
  REQUIRE(needs_rehash(weak, recommended()));
  {
    pqxx::work tx{a.conn};
    tx.exec_params("UPDATE auth.users SET password_hash = $1 WHERE name = 'gina'", weak);
    tx.commit();
  }
  auto changed_before = find_by_name(a.conn, "gina")->password_changed_at;
  // A failed login upgrades nothing.
  CHECK_FALSE(authenticate(a.conn, "gina", "not gina's password"));
  CHECK(find_by_name(a.conn, "gina")->password_hash == weak);
  auto u = authenticate(a.conn, "gina", "gina's long password");
  REQUIRE(u);
  auto stored = find_by_name(a.conn, "gina");
  CHECK(stored->password_hash != weak);
  CHECK(u->password_hash == stored->password_hash);
  CHECK(stored->password_hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  CHECK_FALSE(needs_rehash(stored->password_hash, recommended()));
  CHECK(verify_password("gina's long password", stored->password_hash));
  CHECK(stored->password_changed_at == changed_before); // the same password
  CHECK(authenticate(a.conn, "gina", "gina's long password"));
  CHECK(find_by_name(a.conn, "gina")->password_hash == stored->password_hash); // nothing more to upgrade
}

TEST_CASE("users: a malformed stored hash authenticates nobody") {
  auth_db a;
  create_user(a.conn, "hank", "hank's long password", role::viewer);
  pqxx::work tx{a.conn};
  tx.exec("UPDATE auth.users SET password_hash = '$argon2id$v=19$m=19456,t=2,p=1$broken' WHERE name = 'hank'");
  tx.commit();
  CHECK_FALSE(authenticate(a.conn, "hank", "hank's long password"));
}

TEST_CASE("users: bootstrap creates exactly one admin from two nodes at once, prints its password once") {
  unsetenv(admin_password_env);
  auth_db a;
  pqxx::connection c1{a.db.url()};
  pqxx::connection c2{a.db.url()};
  std::ostringstream out1, out2;
  std::atomic<int> ready{0};
  std::atomic<int> created{0};
  std::atomic<int> failures{0};
  auto node = [&](pqxx::connection& c, std::ostringstream& out) {
    ++ready;
    while (ready < 2) {
    }
    try {
      if (bootstrap_admin(c, out))
        ++created;
    } catch (const std::exception&) {
      ++failures;
    }
  };
  std::thread t1{node, std::ref(c1), std::ref(out1)};
  std::thread t2{node, std::ref(c2), std::ref(out2)};
  t1.join();
  t2.join();
  CHECK(failures == 0);
  CHECK(created == 1);
  CHECK(count_users(a.conn) == 1);
  auto text = out1.str() + out2.str();
  CHECK((out1.str().empty() != out2.str().empty()));
  auto password = printed_password(text);
  CHECK(password.size() == 24);
  CHECK(text.find(password) == text.rfind(password)); // printed once
  auto admin = authenticate(a.conn, "admin", password);
  REQUIRE(admin);
  CHECK(admin->role == role::admin);
  CHECK(admin->enabled);
  std::ostringstream again;
  CHECK_FALSE(bootstrap_admin(a.conn, again));
  CHECK(again.str().empty());
  CHECK(count_users(a.conn) == 1);
}

TEST_CASE("users: bootstrap takes the password from DCCS_ADMIN_PASSWORD, checked, and never prints it") {
  auth_db a;
  {
    scoped_env env{admin_password_env, "short"};
    std::ostringstream out;
    CHECK(reason_of([&] { bootstrap_admin(a.conn, out); }) == user_errc::weak_password);
    CHECK(count_users(a.conn) == 0);
  }
  {
    scoped_env env{admin_password_env, "the admin's chosen password"};
    std::ostringstream out;
    CHECK(bootstrap_admin(a.conn, out));
    CHECK(out.str().find("the admin's chosen password") == std::string::npos);
    CHECK(out.str().find(admin_password_env) != std::string::npos);
  }
  CHECK(std::getenv(admin_password_env) == nullptr);
  CHECK(authenticate(a.conn, "admin", "the admin's chosen password"));
  // Users exist: nothing happens, whatever the variable says.
  scoped_env env{admin_password_env, "short"};
  std::ostringstream out;
  CHECK_FALSE(bootstrap_admin(a.conn, out));
  CHECK(count_users(a.conn) == 1);
}

#ifdef DCCS_NODE_BIN

namespace {

struct run_result {
  int status = -1;
  std::string out; ///< stdout and stderr
};

/// Runs `dccs <args>` with `env` added (and DCCS_USER_PASSWORD / DCCS_ADMIN_PASSWORD removed unless given), its
/// standard input `input` (a pipe) or /dev/null (nothing).
run_result run_dccs(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                const std::optional<std::string>& input = std::nullopt) {
  std::vector<std::string> argv{DCCS_NODE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string s = *e;
    if (s.rfind("DCCS_", 0) != 0)
      envs.push_back(s);
  }
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> cargv, cenv;
  for (auto& a : argv)
    cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs)
    cenv.push_back(e.data());
  cenv.push_back(nullptr);
  int out_fds[2], in_fds[2];
  REQUIRE(pipe(out_fds) == 0);
  REQUIRE(pipe(in_fds) == 0);
  int devnull = open("/dev/null", O_RDONLY);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(input ? in_fds[0] : devnull, 0);
    dup2(out_fds[1], 1);
    dup2(out_fds[1], 2);
    close(out_fds[0]);
    close(in_fds[1]);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(devnull);
  close(out_fds[1]);
  close(in_fds[0]);
  if (input) {
    auto n = write(in_fds[1], input->data(), input->size());
    CHECK(n == static_cast<ssize_t>(input->size()));
  }
  close(in_fds[1]);
  run_result r;
  char buf[4096];
  while (true) {
    pollfd p{out_fds[0], POLLIN, 0};
    if (poll(&p, 1, 30000) <= 0)
      break;
    auto n = read(out_fds[0], buf, sizeof(buf));
    if (n <= 0)
      break;
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  close(out_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

} // namespace

TEST_CASE("users: `dccs user` end to end through the binary") {
  scratch_database db;
  std::vector<std::string> node{"--db.url", db.url()};
  auto with = [&](std::vector<std::string> more) {
    auto all = node;
    all.insert(all.end(), more.begin(), more.end());
    return all;
  };

  // add: the password from the environment, from a pipe, or made up and printed once.
  auto r = run_dccs(with({"user", "add", "ivan", "--role", "operator", "--groups", "b,a"}),
                {"DCCS_USER_PASSWORD=ivan's long password"});
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.find("ivan's long password") == std::string::npos);
  r = run_dccs(with({"user", "add", "judy", "--role=viewer"}), {}, std::string{"judy's long password\n"});
  CHECK(r.status == 0);
  r = run_dccs(with({"user", "add", "kate", "--role", "admin"}));
  CHECK(r.status == 0);
  auto kate_password = printed_password(r.out);
  CHECK(kate_password.size() == 24);

  pqxx::connection conn{db.url()};
  CHECK(authenticate(conn, "ivan", "ivan's long password"));
  CHECK(find_by_name(conn, "ivan")->groups == std::vector<std::string>{"a", "b"});
  CHECK(authenticate(conn, "judy", "judy's long password"));
  CHECK(authenticate(conn, "kate", kate_password));

  // Refusals: duplicate, weak password, unknown user, invalid name: 1 with a message.
  r = run_dccs(with({"user", "add", "ivan", "--role", "viewer"}), {"DCCS_USER_PASSWORD=another long password"});
  CHECK(r.status == 1);
  CHECK(r.out.find("exists already") != std::string::npos);
  r = run_dccs(with({"user", "add", "leo", "--role", "viewer"}), {}, std::string{"short\n"});
  CHECK(r.status == 1);
  CHECK(r.out.find("at least 12 characters") != std::string::npos);
  CHECK_FALSE(find_by_name(conn, "leo"));
  r = run_dccs(with({"user", "passwd", "nobody"}), {"DCCS_USER_PASSWORD=another long password"});
  CHECK(r.status == 1);
  CHECK(r.out.find("no user named 'nobody'") != std::string::npos);
  r = run_dccs(with({"user", "disable", "nobody"}));
  CHECK(r.status == 1);
  r = run_dccs(with({"user", "add", "bad name", "--role", "viewer"}), {"DCCS_USER_PASSWORD=another long password"});
  CHECK(r.status == 1);

  // passwd, disable, enable.
  r = run_dccs(with({"user", "passwd", "judy"}), {}, std::string{"judy's new long password\r\n"});
  CHECK(r.status == 0);
  CHECK_FALSE(authenticate(conn, "judy", "judy's long password"));
  CHECK(authenticate(conn, "judy", "judy's new long password"));
  auto judy = find_by_name(conn, "judy");
  REQUIRE(judy);
  auto session = issue_refresh(conn, judy->id, std::chrono::hours(1));
  r = run_dccs(with({"user", "disable", "judy"}));
  CHECK(r.status == 0);
  CHECK_FALSE(authenticate(conn, "judy", "judy's new long password"));
  // As over REST: her sessions end (refresh tokens revoked) and the change is audited, by the machine account.
  CHECK(rotate_refresh(conn, session.token).status == refresh_status::revoked);
  {
    pqxx::work tx{conn};
    auto rows = tx.exec("SELECT action, actor FROM auth.audit WHERE detail->>'user' = 'judy' ORDER BY id");
    tx.commit();
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][0].as<std::string>() == "password_changed");
    CHECK(rows[1][0].as<std::string>() == "user_disabled");
    CHECK(rows[1][1].as<std::string>().rfind("cli:", 0) == 0);
  }

  r = run_dccs(with({"user", "list"}));
  CHECK(r.status == 0);
  CHECK(r.out.find("NAME") != std::string::npos);
  CHECK(r.out.find("a,b") != std::string::npos);
  std::istringstream lines{r.out};
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("judy ", 0) == 0) {
      CHECK(line.find("viewer") != std::string::npos);
      CHECK(line.find(" no ") != std::string::npos);
    }
    if (line.rfind("ivan ", 0) == 0)
      CHECK(line.find(" yes ") != std::string::npos);
    ++rows;
  }
  CHECK(rows == 4);

  r = run_dccs(with({"user", "enable", "judy"}));
  CHECK(r.status == 0);
  CHECK(authenticate(conn, "judy", "judy's new long password"));

  // Usage errors: 2.
  for (auto args : std::vector<std::vector<std::string>>{{"user"},
                                                         {"user", "frob"},
                                                         {"user", "add", "mia"},
                                                         {"user", "add", "mia", "--role", "root"},
                                                         {"user", "add", "mia", "--role"},
                                                         {"user", "list", "extra"},
                                                         {"user", "passwd"},
                                                         {"user", "disable", "ivan", "--role", "admin"},
                                                         {"user", "list", "--no.such.option", "1"}}) {
    r = run_dccs(with(args));
    INFO(r.out);
    CHECK(r.status == 2);
  }
  CHECK_FALSE(find_by_name(conn, "mia"));
  r = run_dccs({"user", "--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("usage: dccs") != std::string::npos);
  // Not a user command: --role stays unknown to the node.
  r = run_dccs({"--role", "admin"});
  CHECK(r.status == 2);
  // No database: 1 with a message.
  r = run_dccs({"--db.url", "host=127.0.0.1 port=1 connect_timeout=2", "user", "list"});
  CHECK(r.status == 1);
  CHECK(r.out.find("cannot connect") != std::string::npos);
}

#endif
