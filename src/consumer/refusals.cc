#include "policysync/refusals.h"

#include <utility>

#include "core/utf8.h"

namespace policysync {

namespace {

std::string cut(std::string s) {
  if (s.size() > Refusals::kMaxText) s.resize(detail::utf8_prefix(s, Refusals::kMaxText).size());
  return s;
}

}  // namespace

void Refusals::add(Rejection r) {
  // Refused again (a partition read again after it came back to this
  // member): one entry, the newest, so repeats never push others out.
  for (auto it = list_.begin(); it != list_.end(); ++it)
    if (it->sync == r.sync) {
      list_.erase(it);
      break;
    }
  if (list_.size() == kMax) list_.pop_front();
  r.group = cut(std::move(r.group));
  r.sync = cut(std::move(r.sync));
  r.at = cut(std::move(r.at));
  r.reason = cut(std::move(r.reason));
  list_.push_back(std::move(r));
}

void Refusals::refuse(const std::string& group, const std::string& sync, const std::string& reason,
                      int64_t unix_ms) {
  auto c = causes_.find(group);
  if (c == causes_.end()) {
    add(Rejection{group, sync, sync, reason, unix_ms});
    return;
  }
  add(Rejection{group, sync, std::move(c->second.at), std::move(c->second.reason), unix_ms});
  causes_.erase(c);
}

void Refusals::set_cause(const std::string& group, std::string at, std::string reason) {
  causes_[group] = Cause{cut(std::move(at)), cut(std::move(reason))};
}

void Refusals::drop_cause(std::string_view group) {
  auto c = causes_.find(group);
  if (c != causes_.end()) causes_.erase(c);
}

}  // namespace policysync
