#include "policysync/watermarks.h"

#include <algorithm>

namespace policysync {

void Watermarks::assign(const TopicPartition& tp, int64_t next_offset) {
  parts_[tp].next = next_offset;
}

void Watermarks::start(const TopicPartition& tp, int64_t offset) {
  Part& p = parts_[tp];
  p.next = std::max(p.next, offset);
}

std::vector<std::string> Watermarks::revoke(const TopicPartition& tp) {
  std::vector<std::string> groups;
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.tp == tp) {
      groups.push_back(it->first);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  parts_.erase(tp);
  return groups;
}

void Watermarks::consumed(const TopicPartition& tp, int64_t offset) {
  Part& p = parts_[tp];
  p.next = std::max(p.next, offset + 1);
}

void Watermarks::sync_opened(const TopicPartition& tp, std::string_view group, int64_t offset) {
  const auto now = std::chrono::steady_clock::now();
  auto it = open_.find(group);
  if (it == open_.end())
    open_.emplace(std::string(group), Open{tp, offset, now});
  else
    it->second = Open{tp, offset, now};
}

void Watermarks::sync_closed(std::string_view group) {
  auto it = open_.find(group);
  if (it != open_.end()) open_.erase(it);
}

void Watermarks::hold(const TopicPartition& tp, int64_t offset, std::string reason) {
  parts_[tp].holds[offset] = std::move(reason);
}

void Watermarks::release(const TopicPartition& tp, int64_t offset) {
  auto p = parts_.find(tp);
  if (p != parts_.end()) p->second.holds.erase(offset);
}

bool Watermarks::held(const TopicPartition& tp, int64_t offset, std::string* reason) const {
  auto p = parts_.find(tp);
  if (p == parts_.end()) return false;
  auto h = p->second.holds.find(offset);
  if (h == p->second.holds.end()) return false;
  if (reason) *reason = h->second;
  return true;
}

std::vector<std::pair<int64_t, std::string>> Watermarks::holds(const TopicPartition& tp) const {
  auto p = parts_.find(tp);
  if (p == parts_.end()) return {};
  return {p->second.holds.begin(), p->second.holds.end()};
}

int64_t Watermarks::resume_offset(const TopicPartition& tp) const {
  auto p = parts_.find(tp);
  if (p == parts_.end()) return -1;
  if (!p->second.holds.empty()) return std::min(p->second.next, p->second.holds.begin()->first);
  return p->second.next;
}

int64_t Watermarks::safe(const TopicPartition& tp) const {
  auto p = parts_.find(tp);
  if (p == parts_.end() || p->second.next < 0) return -1;
  int64_t w = p->second.next;
  if (!p->second.holds.empty()) w = std::min(w, p->second.holds.begin()->first);
  for (const auto& [group, open] : open_)
    if (open.tp == tp) w = std::min(w, open.begin);
  return w;
}

std::chrono::steady_clock::duration Watermarks::oldest_open_age(
    std::chrono::steady_clock::time_point now) const {
  std::chrono::steady_clock::duration oldest{0};
  for (const auto& [group, open] : open_) oldest = std::max(oldest, now - open.since);
  return oldest;
}

std::vector<TopicPartition> Watermarks::partitions() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, p] : parts_) out.push_back(tp);
  return out;
}

std::vector<Watermarks::OpenSync> Watermarks::open_list() const {
  std::vector<OpenSync> out;
  for (const auto& [g, o] : open_) out.push_back({g, o.tp, o.begin});
  return out;
}

int64_t Watermarks::next_offset(const TopicPartition& tp) const {
  auto p = parts_.find(tp);
  return p == parts_.end() ? -1 : p->second.next;
}

}  // namespace policysync
