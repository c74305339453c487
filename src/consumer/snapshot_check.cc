// Validation of a decoded snapshot before anything of it is applied (SPEC §7,
// issue 13.1): the same rules a message is held to.
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "consumer/snapshot_format.h"
#include "match/pattern_set.h"
#include "policysync/message.h"

namespace policysync::snapshot {

namespace {

using detail::PatternRule;
using detail::PatternSet;

Status bad(const std::string& what) { return Status(Reason::kIo, "snapshot", what); }

// A stored name is exactly what normalisation makes of it (it came from a
// normalised message): lower-case ASCII, no trailing dot, 1-253 bytes, labels
// of 1-63 bytes of [a-z0-9-_]; patterns hold `*` inside a label.
bool valid_name(const Entry& e) {
  if (e.name.empty() || e.name.size() > kMaxDomainLength) return false;
  if (e.kind == RuleKind::kPattern) {
    PolicyName n;
    return normalize_policy_domain(e.name, &n).ok() && n.kind == RuleKind::kPattern &&
           n.name == e.name;
  }
  char buf[kMaxDomainLength + 2];
  const int n = normalize_query_ascii(e.name, buf);
  return n == static_cast<int>(e.name.size()) &&
         std::memcmp(buf, e.name.data(), e.name.size()) == 0;
}

// `where` names the table in an error (built only then).
template <typename Where>
Status check_entries(const std::vector<Entry>& entries, bool malicious, const Where& where,
                     std::vector<PatternRule>* patterns) {
  // Names listed twice are found while the tables are filled
  // (SnapshotCodec::fill_pending), which compares them anyway: a set here
  // cost a third of a restore (issue 12).
  for (const Entry& e : entries) {
    if (malicious && e.kind != RuleKind::kPlain)
      return bad(where() + ": a malicious entry is a rule");
    if (!valid_name(e))
      return bad(where() + ": invalid name (" + std::to_string(e.name.size()) + " bytes)");
    const auto action = static_cast<Action>(e.value.action);
    const bool action_ok = malicious ? action == Action::kMalicious
                                     : action == Action::kWhitelist ||
                                           action == Action::kBlacklist || action == Action::kAllow;
    if (!action_ok)
      return bad(where() + ": entry " + std::string(e.name) + " has action " +
                 std::to_string(e.value.action));
    if (e.value.confidence > 100)
      return bad(where() + ": confidence over 100 for " + std::string(e.name));
    if (e.kind == RuleKind::kPattern) patterns->push_back({std::string(e.name), e.value});
  }
  return Status();
}

template <typename Where>
Status compiles(std::vector<PatternRule> rules, const Where& where,
                std::unique_ptr<PatternSet>* out = nullptr) {
  if (rules.empty()) return Status();
  std::unique_ptr<PatternSet> set;
  Status s = PatternSet::compile(std::move(rules), &set);
  if (!s.ok()) return bad(where() + ": " + s.to_string());
  if (out) *out = std::move(set);
  return s;
}

// Kafka's topic name rule: 1-249 characters of [a-zA-Z0-9._-].
bool valid_topic(const std::string& t) {
  if (t.empty() || t.size() > 249) return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  return true;
}

}  // namespace

Status check(Staged& st, const StoreLimits& lim) {
  std::map<TopicPartition, int64_t> next;
  for (const Partition& p : st.partitions) {
    const TopicPartition& tp = p.offset.tp;
    const std::string name = tp.topic + "/" + std::to_string(tp.partition);
    if (!valid_topic(tp.topic) || tp.partition < 0) return bad("invalid partition " + name);
    if (p.offset.next < 0) return bad("negative offset for " + name);
    if (!next.emplace(tp, p.offset.next).second) return bad("partition " + name + " twice");
    for (const auto& [off, reason] : p.holds)
      if (off < 0 || off >= p.offset.next) return bad("hold outside " + name + "'s read range");
  }
  if (st.groups.size() > lim.max_groups) return bad("more groups than --max-groups");
  if (st.malicious.size() > lim.max_entries_per_group)
    return bad("malicious table larger than --max-entries-per-group");
  std::vector<PatternRule> none;
  Status s = check_entries(
      st.malicious, true, [] { return std::string("malicious table"); }, &none);
  if (!s.ok()) return s;

  std::unordered_map<std::string_view, const Group*> groups;
  groups.reserve(st.groups.size());
  size_t open_syncs = 0;
  for (Group& g : st.groups) {
    if (Status v = check_group_id(g.id); !v.ok()) return bad("group: " + v.to_string());
    if (!groups.emplace(g.id, &g).second) return bad("group " + g.id + " twice");
    if (!g.origin.empty() && !check_group_id(g.origin).ok())  // printable, <= 255 bytes
      return bad("group " + g.id + ": unprintable origin");
    if (g.active.size() > lim.max_entries_per_group || g.pending.size() > lim.max_entries_per_group)
      return bad("group " + g.id + " holds more entries than --max-entries-per-group");
    if (!g.has_pending && (g.aborted || g.over_limit || g.adds || !g.pending.empty()))
      return bad("group " + g.id + ": sync state without an open sync");
    if ((g.aborted || g.over_limit) && !g.pending.empty())
      return bad("group " + g.id + ": an aborted sync holds entries");
    if (g.over_limit && !g.aborted) return bad("group " + g.id + ": a refused sync not aborted");
    open_syncs += g.has_pending && !g.over_limit;
    std::vector<PatternRule> active_patterns, pending_patterns;
    auto active = [&] { return "group " + g.id; };
    auto pending = [&] { return "pending sync of " + g.id; };
    s = check_entries(g.active, false, active, &active_patterns);
    if (s.ok()) s = check_entries(g.pending, false, pending, &pending_patterns);
    if (s.ok()) s = compiles(std::move(active_patterns), active, &g.active_patterns);
    if (s.ok()) s = compiles(std::move(pending_patterns), pending);
    if (!s.ok()) return s;
  }
  if (open_syncs > lim.max_open_syncs) return bad("more open syncs than --max-open-syncs");

  std::set<std::string_view> open_groups;
  for (const auto& o : st.open) {
    auto g = groups.find(o.group);
    if (g == groups.end() || !g->second->has_pending)
      return bad("open sync of " + o.group + " without its pending state");
    if (!open_groups.insert(o.group).second) return bad("open sync of " + o.group + " twice");
    auto n = next.find(o.tp);
    if (n == next.end() || o.begin < 0 || o.begin >= n->second)
      return bad("open sync of " + o.group + " begins outside its partition's read range");
  }
  // The refused syncs (version 4): texts as Refusals keeps them.
  auto text = [](const std::string& t) { return t.size() <= Refusals::kMaxText; };
  for (const Rejection& r : st.refused)
    if (!text(r.group) || !text(r.sync) || !text(r.at) || !text(r.reason))
      return bad("a refused sync's text is over " + std::to_string(Refusals::kMaxText) + " bytes");
  std::set<std::string_view> caused;
  for (const auto& [group, c] : st.causes) {
    if (Status v = check_group_id(group); !v.ok())
      return bad("cause of a refusal: " + v.to_string());
    if (!caused.insert(group).second) return bad("cause of " + group + "'s refusal twice");
    if (!text(c.at) || !text(c.reason))
      return bad("cause of " + group + "'s refusal: text over " +
                 std::to_string(Refusals::kMaxText) + " bytes");
  }
  return Status();
}

}  // namespace policysync::snapshot
