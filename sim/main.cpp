// dccs-sim: virtual drone fleet for DCCS (see sim/app.hpp and `dccs-sim --help`).
#include "sim/app.hpp"
#include "sim/options.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  const auto parsed = dccs::sim::parse_options(argc, argv);
  if (parsed.help) {
    std::fputs(dccs::sim::usage().c_str(), stdout);
    return 0;
  }
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "dccs-sim: %s\n(see dccs-sim --help)\n", parsed.error.c_str());
    return 2;
  }
  try {
    return dccs::sim::run(parsed.opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dccs-sim: %s\n", e.what());
    return 1;
  }
}
