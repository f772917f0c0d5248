#pragma once
/// An actor system on CAF's deterministic test coordinator: nothing runs until the test calls
/// `sched.run()`, so actor tests are exact and repeatable.

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/actors.hpp"
#include "runtime/log.hpp"

namespace dccs::test {

struct deterministic_system {
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.policy", caf::atom("testing"));
      set("logger.console", caf::atom("none"));
      actors::add_message_types(*this);
    }
  };

  deterministic_system()
    : sys(cfg), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())), self(sys) {
    runtime::log::configure(runtime::log::level::off, runtime::log::format::text);
  }

  config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

} // namespace dccs::test
