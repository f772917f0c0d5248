#pragma once

#include "sim/options.hpp"

namespace dccs::sim {

/// Runs the simulator: raises RLIMIT_NOFILE, resolves the node, ramps the fleet up, reports every
/// --report-interval seconds on stderr, stops after --duration or on SIGINT/SIGTERM (SIGUSR1 starts
/// the measurement window), prints the final report (and the --json line on stdout).
/// Returns the process exit status: 0 after a clean run, 1 if no connection ever succeeded, 2 when the
/// --command-log file cannot be written, 3 with --stop-when-acked if frames were still unacknowledged at exit.
int run(const options& opts);

} // namespace dccs::sim
