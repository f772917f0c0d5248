#include "bridges/connection_gate.hpp"

#include <algorithm>
#include <sys/resource.h>

#include "runtime/metrics.hpp"

namespace dccs::bridges {

std::uint64_t descriptor_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  return rl.rlim_cur == RLIM_INFINITY ? std::uint64_t{1} << 20 : static_cast<std::uint64_t>(rl.rlim_cur);
}

std::uint64_t reserved_descriptors(std::uint64_t fd_limit) {
  return std::max<std::uint64_t>(64, fd_limit / 10);
}

std::size_t automatic_max_connections(std::uint64_t fd_limit, std::size_t reserve) {
  auto kept = reserved_descriptors(fd_limit) + reserve;
  if (fd_limit <= kept)
    return 1;
  return static_cast<std::size_t>(std::min<std::uint64_t>(fd_limit - kept, SIZE_MAX / 2));
}

connection_gate::connection_gate(std::size_t max_connections, std::size_t reserve, runtime::gauge* open_gauge)
  : max_(max_connections), reserve_(reserve), gauge_(open_gauge) {
}

connection_gate::tier connection_gate::admit() {
  auto before = open_.fetch_add(1, std::memory_order_relaxed);
  if (before < max_) {
    if (gauge_ != nullptr)
      gauge_->add(1);
    return tier::regular;
  }
  if (before - max_ < reserve_) {
    if (gauge_ != nullptr)
      gauge_->add(1);
    return tier::reserve;
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
  return tier::full;
}

void connection_gate::admit_anyway() {
  open_.fetch_add(1, std::memory_order_relaxed);
  if (gauge_ != nullptr)
    gauge_->add(1);
}

void connection_gate::release() {
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (gauge_ != nullptr)
    gauge_->add(-1);
}

} // namespace dccs::bridges
