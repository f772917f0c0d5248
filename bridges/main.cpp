// dccs: the DCCS node binary.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "auth/keys_cli.hpp"
#include "auth/users_cli.hpp"
#include "bridges/cluster_cli.hpp"
#include "bridges/node.hpp"
#include "runtime/config.hpp"
#include "runtime/log.hpp"
#include "runtime/migrate.hpp"

int main(int argc, char** argv) {
  using namespace dccs;
  // `dccs user ...`: manage users and exit (auth/users_cli.hpp). Before the configuration: it has its own flags.
  if (auto rc = auth::user_command(argc, argv))
    return *rc;
  runtime::config cfg;
  std::string error;
  bool help = false;
  if (!cfg.load(argc, argv, error, help)) {
    std::cerr << "dccs: " << error << "\n";
    return 2;
  }
  if (help) {
    std::cout << runtime::config::help_text("dccs");
    return 0;
  }
  if (!cfg.positional().empty() && cfg.positional().front() == "migrate") {
    // `dccs migrate`: bring the database schema up to this binary's version, then exit.
    try {
      for (auto& role : runtime::migration_roles()) {
        auto url = cfg.str("db." + role + "_url");
        pqxx::connection conn{url.empty() ? cfg.str("db.url") : url};
        auto r = runtime::migrate(conn, role);
        std::cout << role << " schema at version " << r.to_version << " (was " << r.from_version << ", applied "
                  << r.applied.size() << ")\n";
      }
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "dccs migrate: " << e.what() << "\n";
      return 1;
    }
  }
  if (auto rc = auth::keys_command(cfg); rc >= 0)
    return rc;
  if (auto rc = bridges::cluster_command(cfg); rc >= 0)
    return rc;
  if (!cfg.positional().empty()) {
    std::cerr << "dccs: unexpected argument '" << cfg.positional().front() << "' (see --help)\n";
    return 2;
  }
  runtime::log::level lvl = runtime::log::level::info;
  runtime::log::parse_level(cfg.str("log.level"), lvl);
  runtime::log::configure(lvl, cfg.str("log.format") == "json" ? runtime::log::format::json
                                                                 : runtime::log::format::text);
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  bridges::node node{cfg};
  // After node.stop() everything is committed, flushed and closed. The process then ends without exit()'s static
  // destructors and atexit handlers: CAF 0.17 runs each detached actor on a detached thread that reports itself
  // done (actor_system::await_detached_threads) a moment before it has finished exiting (its private_thread object
  // and thread-local state, OpenSSL's included, are freed after), so exit()'s cleanup could free the same state at
  // the same time — seen once as "double free or corruption" right after the "stopped" line.
  auto finish = [&node](int rc) {
    node.stop();
    std::fflush(nullptr);
    std::_Exit(rc);
  };
  if (!node.start(error)) {
    runtime::log::error("node", "cannot start", {{"error", error}});
    finish(1);
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  runtime::log::info("node", "signal received", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  finish(0);
}
