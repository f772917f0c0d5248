#include "runtime/placement.hpp"

#include <algorithm>

namespace dccs::runtime {

namespace {

// FNV-1a 64 (the cluster protocol: see placement.hpp before changing anything here).
constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;
constexpr unsigned char separator = 0xFF; // never a byte of UTF-8 text

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) {
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= fnv_prime;
  }
  return h;
}

std::uint64_t fnv1a(std::uint64_t h, unsigned char byte) {
  h ^= byte;
  h *= fnv_prime;
  return h;
}

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// The FNV state after `kind`, the separator, `id` and the separator: shared by the weights of every node.
std::uint64_t entity_prefix(std::string_view kind, std::string_view id) {
  auto h = fnv1a(fnv_offset, kind);
  h = fnv1a(h, separator);
  h = fnv1a(h, id);
  return fnv1a(h, separator);
}

std::uint64_t node_weight(std::uint64_t prefix, std::string_view node) {
  return fmix64(fnv1a(prefix, node));
}

// The index in `nodes` of the owner of the entity whose prefix is `prefix`; nodes must not be empty.
std::size_t pick(std::uint64_t prefix, const std::vector<std::string>& nodes) {
  std::size_t best = 0;
  auto best_weight = node_weight(prefix, nodes[0]);
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    auto w = node_weight(prefix, nodes[i]);
    if (w > best_weight || (w == best_weight && nodes[i] < nodes[best])) {
      best = i;
      best_weight = w;
    }
  }
  return best;
}

} // namespace

std::uint64_t placement_weight(std::string_view kind, std::string_view id, std::string_view node) {
  return node_weight(entity_prefix(kind, id), node);
}

std::string owner_of(std::string_view kind, std::string_view id, const std::vector<std::string>& nodes) {
  if (nodes.empty())
    return {};
  return nodes[pick(entity_prefix(kind, id), nodes)];
}

placement::placement(std::vector<std::string> nodes) : nodes_(std::move(nodes)) {
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
}

const std::string& placement::owner(std::string_view kind, std::string_view id) const {
  static const std::string none;
  if (nodes_.empty())
    return none;
  return nodes_[pick(entity_prefix(kind, id), nodes_)];
}

} // namespace dccs::runtime
