#include "actors/fanout.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <string_view>

#include "actors/drone_json.hpp"

namespace dccs::actors {

namespace {

fragment make_fragment(const drone_state& st) {
  fragment f;
  f.drone_id = st.info.id;
  f.group = st.info.group;
  f.json.reserve(384);
  append_drone_json(f.json, st);
  return f;
}

} // namespace

void fanout::mark(stored& n) {
  auto& e = n.second;
  e.version = ++version_;
  if (!e.dirty) {
    e.dirty = true;
    dirty_.push_back(&n);
  }
}

void fanout::update(const drone_state& st) {
  update(drone_state{st});
}

void fanout::update(drone_state&& st) {
  auto it = states_.find(st.info.id);
  if (it == states_.end())
    it = states_.emplace(st.info.id, entry{}).first;
  auto& e = it->second;
  if (!e.state.info.id.empty() && e.state.info.group != st.info.group)
    removals_.emplace_back(st.info.id, e.state.info.group); // moved (its actor republished it in a new group)
  e.state = std::move(st);
  mark(*it);
}

bool fanout::seen_by_any(const std::string& id, const std::string& group) const {
  for (auto& [sub, entry] : subs_)
    if (entry.sees(id, group))
      return true;
  return false;
}

bool fanout::restore(const drone_state& st) {
  auto it = states_.find(st.info.id);
  if (it != states_.end()) {
    auto& cur = it->second.state;
    if (cur.connected || cur.last_seen >= st.last_seen)
      return false;
  }
  update(st);
  return true;
}

void fanout::regroup(const std::string& id, const std::string& group) {
  auto it = states_.find(id);
  if (it == states_.end() || it->second.state.info.group == group)
    return;
  removals_.emplace_back(id, it->second.state.info.group);
  it->second.state.info.group = group;
  mark(*it);
}

bool fanout::remove(const std::string& id, bool even_connected) {
  auto it = states_.find(id);
  if (it == states_.end())
    return true;
  if (it->second.state.connected && !even_connected)
    return false;
  removals_.emplace_back(id, it->second.state.info.group);
  if (it->second.dirty)
    dirty_.erase(std::find(dirty_.begin(), dirty_.end(), &*it));
  states_.erase(it);
  return true;
}

void fanout::event(const status_event& ev) {
  auto it = states_.find(ev.drone_id);
  if (it != states_.end()) {
    it->second.state.status = ev.status;
    mark(*it);
  }
  events_.push_back(ev);
}

void fanout::subscribe(sub_id id, subscription sub) {
  sub_entry entry;
  entry.all = sub.all;
  entry.ids.insert(sub.ids.begin(), sub.ids.end());
  entry.scope = std::move(sub.scope);
  subs_[id] = std::move(entry);
}

void fanout::unsubscribe(sub_id id) {
  subs_.erase(id);
}

fragment_batch fanout::snapshot(const subscription& sub) const {
  auto out = std::make_shared<std::vector<fragment>>();
  if (sub.all) {
    out->reserve(states_.size());
    for (auto& [id, e] : states_)
      if (sub.scope.covers(e.state.info.group))
        out->push_back(make_fragment(e.state));
  } else {
    for (auto& id : sub.ids) {
      auto it = states_.find(id);
      if (it != states_.end() && sub.scope.covers(it->second.state.info.group))
        out->push_back(make_fragment(it->second.state));
    }
  }
  return out;
}

fragment_batch fanout::filter(const fragment_batch& all, const sub_entry& sub) {
  if (!all || all->empty())
    return nullptr;
  if (sub.all && sub.scope.all)
    return all; // the common case for admins: every subscriber to everything shares one batch
  auto out = std::make_shared<std::vector<fragment>>();
  for (auto& f : *all)
    if (sub.sees(f.drone_id, f.group))
      out->push_back(f);
  if (out->empty())
    return nullptr;
  return out;
}

std::vector<fanout::delivery> fanout::tick(std::int64_t now_ms) {
  std::vector<delivery> result;
  if (dirty_.empty() && events_.empty() && removals_.empty())
    return result;
  fragment_batch drones;
  fragment_batch events;
  // Publish every pending drone whose interval has passed; keep the others pending.
  auto d = std::make_shared<std::vector<fragment>>();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    auto& e = dirty_[i]->second;
    // The first telemetry after a hello goes out at once, even right after the hello's own publication.
    bool first_telemetry = e.state.has_telemetry && !e.published_telemetry;
    if (!first_telemetry && now_ms - e.last_published < min_interval_) {
      dirty_[kept] = dirty_[i];
      ++kept;
      continue;
    }
    e.dirty = false;
    e.last_published = now_ms;
    e.published_telemetry = e.state.has_telemetry;
    // Serialized only when a subscriber sees it (most watch a few drones, not the fleet).
    if (seen_by_any(e.state.info.id, e.state.info.group)) {
      d->push_back(make_fragment(e.state));
      ++serialized_;
    }
  }
  dirty_.resize(kept);
  if (!d->empty())
    drones = std::move(d);
  if (!subs_.empty() && !events_.empty()) {
    auto e = std::make_shared<std::vector<fragment>>();
    e->reserve(events_.size());
    for (auto& ev : events_) {
      fragment f;
      f.drone_id = ev.drone_id;
      auto st = states_.find(ev.drone_id);
      if (st != states_.end())
        f.group = st->second.state.info.group;
      append_event_json(f.json, ev);
      e->push_back(std::move(f));
    }
    events = std::move(e);
  }
  events_.clear();
  auto removals = std::move(removals_);
  removals_.clear();
  for (auto& [id, sub] : subs_) {
    delivery d{id, filter(drones, sub), filter(events, sub), nullptr};
    // Gone for this subscriber: it covered the drone in its old group, and does not see it where it is now.
    std::shared_ptr<std::vector<fragment>> gone;
    for (auto& [drone, old_group] : removals) {
      if (!sub.sees(drone, old_group))
        continue;
      auto now = states_.find(drone);
      if (now != states_.end() && sub.scope.covers(now->second.state.info.group))
        continue;
      if (!gone)
        gone = std::make_shared<std::vector<fragment>>();
      fragment f;
      f.drone_id = drone;
      f.group = old_group;
      append_json_string(f.json, drone);
      gone->push_back(std::move(f));
    }
    d.removed = std::move(gone);
    if (d.drones || d.events || d.removed)
      result.push_back(std::move(d));
  }
  return result;
}

std::map<std::string_view, const drone_state*> fanout::first_after(const auth::scope& scope, std::size_t limit,
                                                                    const std::string& after, bool& more) const {
  std::map<std::string_view, const drone_state*> page;
  more = false;
  for (auto& [id, e] : states_) {
    if ((!after.empty() && id <= after) || !scope.covers(e.state.info.group))
      continue;
    page.emplace(id, &e.state);
    if (page.size() > limit) {
      page.erase(std::prev(page.end()));
      more = true;
    }
  }
  return page;
}

state_list fanout::page(const auth::scope& scope, std::size_t limit, const std::string& after) const {
  bool more = false;
  state_list out;
  out.version = version_;
  for (auto& [id, st] : first_after(scope, limit, after, more))
    out.states.push_back(*st);
  return out;
}

state_list fanout::changes(std::uint64_t since) const {
  state_list out;
  out.version = version_;
  for (auto& [id, e] : states_)
    if (e.version > since)
      out.states.push_back(e.state);
  return out;
}

void fanout::offline(const std::string& id, double at) {
  auto it = states_.find(id);
  if (it == states_.end())
    return;
  auto& st = it->second.state;
  st.connected = false;
  if (st.status != link_status::lost)
    event(status_event{id, link_status::lost, st.status, at});
  else
    mark(*it);
}

std::vector<fanout::sub_id> fanout::audience(const std::string& id, const std::string& group) const {
  std::vector<sub_id> out;
  for (auto& [sub, e] : subs_)
    if (e.sees(id, group))
      out.push_back(sub);
  return out;
}

std::size_t fanout::sweep(double cutoff) {
  std::vector<std::string> old;
  for (auto& [id, e] : states_)
    if (!e.state.connected && e.state.last_seen > 0 && e.state.last_seen < cutoff)
      old.push_back(id);
  for (auto& id : old)
    remove(id);
  return old.size();
}

std::string fanout::list_json(const auth::scope& scope, std::size_t limit, const std::string& after) const {
  bool more = false;
  auto page = first_after(scope, limit, after, more); // the first `limit` after `after`, in id order
  std::string out;
  out.reserve(64 + page.size() * 384);
  out += "{\"drones\":[";
  bool first = true;
  for (auto& [id, st] : page) {
    if (!first)
      out += ',';
    first = false;
    append_drone_json(out, *st);
  }
  out += "],\"next_cursor\":";
  if (more && !page.empty())
    append_json_string(out, std::prev(page.end())->first);
  else
    out += "null";
  out += '}';
  return out;
}

const drone_state* fanout::find(const std::string& id) const {
  auto it = states_.find(id);
  return it == states_.end() ? nullptr : &it->second.state;
}

} // namespace dccs::actors
