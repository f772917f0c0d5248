#include "runtime/membership.hpp"

#include <algorithm>

namespace dccs::runtime {

membership::membership(member_info self, std::int64_t timeout_ms)
  : self_(std::move(self)), timeout_ms_(timeout_ms) {
}

bool membership::heard(const member_info& m, std::int64_t now) {
  if (m.id == self_.id)
    return false;
  auto it = members_.find(m.id);
  if (it != members_.end()) {
    auto& known = it->second;
    if (m.epoch < known.info.epoch)
      return false;
    known.last_heard = std::max(known.last_heard, now);
    if (m.epoch == known.info.epoch && m.http == known.info.http && m.cluster == known.info.cluster
        && m.roles == known.info.roles)
      return false;
    known.info = m;
    ++version_;
    return true;
  }
  auto gone = departed_.find(m.id);
  if (gone != departed_.end()) {
    if (m.epoch < gone->second)
      return false;
    departed_.erase(gone);
  }
  members_.emplace(m.id, entry{m, now});
  ++version_;
  return true;
}

bool membership::lost(const std::string& id, std::int64_t now) {
  auto it = members_.find(id);
  if (it == members_.end())
    return false;
  depart(it);
  ++version_;
  return true;
}

std::vector<std::string> membership::expire(std::int64_t now) {
  std::vector<std::string> expired;
  for (auto it = members_.begin(); it != members_.end();) {
    auto next = std::next(it);
    if (now - it->second.last_heard > timeout_ms_) {
      expired.push_back(it->first);
      depart(it);
    }
    it = next;
  }
  if (!expired.empty())
    ++version_;
  return expired;
}

std::vector<std::string> membership::live() const {
  std::vector<std::string> ids;
  ids.reserve(members_.size() + 1);
  for (const auto& [id, e] : members_)
    ids.push_back(id);
  ids.insert(std::upper_bound(ids.begin(), ids.end(), self_.id), self_.id);
  return ids;
}

const member_info* membership::find(const std::string& id) const {
  if (id == self_.id)
    return &self_;
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second.info;
}

std::optional<std::int64_t> membership::last_heard(const std::string& id) const {
  auto it = members_.find(id);
  if (it == members_.end())
    return std::nullopt;
  return it->second.last_heard;
}

void membership::depart(std::map<std::string, entry>::iterator it) {
  departed_[it->first] = it->second.info.epoch;
  members_.erase(it);
}

} // namespace dccs::runtime
