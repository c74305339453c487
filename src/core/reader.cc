#include "policysync/reader.h"

#include <cassert>

#include "core/rcu.h"
#include "core/store_state.h"
#include "policysync/domain_name.h"

namespace policysync {

using detail::Group;
using detail::GroupDir;
using detail::kMaxLabels;
using detail::kPlainKind;
using detail::kWildcardKind;
using detail::PatternSet;
using detail::Policy;
using detail::RuleTable;
using detail::RuleValue;

std::string_view match_source_name(MatchSource s) {
  switch (s) {
    case MatchSource::kNone: return "none";
    case MatchSource::kMalicious: return "malicious";
    case MatchSource::kExact: return "exact";
    case MatchSource::kSuffix: return "suffix";
    case MatchSource::kWildcard: return "wildcard";
    case MatchSource::kPattern: return "pattern";
    case MatchSource::kInvalidQuery: return "invalid_query";
  }
  return "?";
}

namespace {

Verdict from_record(const char* rec, MatchSource src) {
  RuleTable::Record r(rec);
  const RuleValue v = r.value();
  Verdict out;
  out.action = static_cast<Action>(v.action);
  out.source = src;
  out.category = v.category;
  out.port_mask = v.port_mask;
  out.confidence = src == MatchSource::kMalicious ? v.confidence : 0;
  out.rule = r.key();
  return out;
}

Verdict invalid_query() {
  Verdict v;
  v.source = MatchSource::kInvalidQuery;
  return v;
}

}  // namespace

Reader::Reader(const PolicyStore& store) : store_(store) {
  rcu::register_reader();
  refresh_scratch();
}

Reader::~Reader() {
  rcu::unregister_reader();
  hs_free_scratch(scratch_);
}

void Reader::refresh_scratch() {
  const detail::StoreState& st = *store_.state_;
  // seq_cst: see StoreState::scratch_epoch.
  const uint64_t epoch = st.scratch_epoch.load();
  if (epoch == scratch_epoch_) return;
  // Safe to dereference: we are online, and the writer retires a prototype
  // only through RCU.
  const detail::ScratchProto* proto = st.scratch_proto.load();
  if (proto == nullptr) return;
  hs_scratch_t* fresh = nullptr;
  if (hs_clone_scratch(proto->scratch, &fresh) != HS_SUCCESS) return;  // retried next time
  hs_free_scratch(scratch_);
  scratch_ = fresh;
  scratch_epoch_ = proto->epoch;
}

void Reader::quiescent() {
  rcu::quiescent();
  refresh_scratch();
}

void Reader::offline() { rcu::offline(); }

void Reader::online() {
  rcu::online();
  refresh_scratch();
}

GroupRef Reader::find_group(std::string_view group_id) const {
  // Acquire pairs with the writer's release store of a rebuilt directory.
  const GroupDir* dir = store_.state_->groups.load(std::memory_order_acquire);
  const char* rec = dir->find_one(group_id, detail::plain_hash(group_id));
  return GroupRef(rec ? GroupDir::Record(rec).value() : nullptr);
}

Reader::Tables Reader::load(const Group* g) const {
  // Acquire loads pair with the writer's release stores of each pointer: a
  // table or policy seen here is fully built. Loaded once per lookup or per
  // batch, so one batch never mixes two generations of a group's policy.
  Tables t;
  t.mal = store_.state_->malicious.load(std::memory_order_acquire);
  t.pol = g ? g->active.load(std::memory_order_acquire) : nullptr;
  t.tab = t.pol ? t.pol->table.load(std::memory_order_acquire) : nullptr;
  t.patterns = t.pol ? t.pol->patterns.load(std::memory_order_acquire) : nullptr;
  return t;
}

Verdict Reader::resolve(const Tables& t, const char* name, int n, int labels,
                        const uint8_t* starts, const uint64_t* hashes) const {
  auto suffix = [&](int k) {
    return std::string_view(name + starts[k], static_cast<size_t>(n - starts[k]));
  };
  const RuleTable* mal = t.mal;
  const RuleTable* tab = t.tab;

  // 1. Malicious: the query or any parent, most specific first.
  const uint8_t threshold = store_.limits().malicious_threshold;
  for (int k = 0; k < labels; ++k) {
    const char* rec = mal->find_one(suffix(k), hashes[k], kPlainKind);
    if (rec && RuleTable::Record(rec).value().confidence >= threshold)
      return from_record(rec, MatchSource::kMalicious);
  }
  if (tab == nullptr) return Verdict();
  // 2. Exact: a plain rule on the name itself ("*.x" never matches x).
  if (const char* rec = tab->find_one(suffix(0), hashes[0], kPlainKind))
    return from_record(rec, MatchSource::kExact);
  // 3. Most specific parent; on one parent "*.p" beats "p".
  for (int k = 1; k < labels; ++k) {
    const char* recs[2] = {nullptr, nullptr};
    const unsigned found = tab->find(suffix(k), hashes[k], 3u, recs);
    if (found & (1u << kWildcardKind)) return from_record(recs[kWildcardKind], MatchSource::kWildcard);
    if (found) return from_record(recs[kPlainKind], MatchSource::kSuffix);
  }
  // 4. Pattern rules.
  const PatternSet* ps = t.patterns;
  if (ps && scratch_) {
    const int i = ps->match(name, n, scratch_);
    if (i >= 0) {
      const detail::PatternRule& r = ps->rule(i);
      Verdict v;
      v.action = static_cast<Action>(r.value.action);
      v.source = MatchSource::kPattern;
      v.category = r.value.category;
      v.port_mask = r.value.port_mask;
      v.rule = r.pattern;
      return v;
    }
  }
  return Verdict();
}

Verdict Reader::lookup(GroupRef group, std::string_view qname) const {
  char name[kMaxDomainLength + 2];
  const int n = normalize_query_ascii(qname, name);
  if (n < 0) return invalid_query();
  uint8_t starts[kMaxLabels];
  uint64_t hashes[kMaxLabels];
  const int labels = detail::suffix_hashes(name, n, starts, hashes);
  return resolve(load(group.g_), name, n, labels, starts, hashes);
}

Verdict Reader::lookup(std::string_view group_id, std::string_view qname) const {
  return lookup(find_group(group_id), qname);
}

void Reader::lookup_batch(GroupRef group, const std::string_view* qnames, size_t n,
                          Verdict* out) const {
  // Two passes per chunk, as rte_hash_lookup_bulk does: normalise, hash and
  // prefetch every suffix of every query, then resolve with the lines in flight.
  constexpr size_t kChunk = 16;
  constexpr int kInlineLabels = 8;
  struct Q {
    char name[kMaxDomainLength + 2];
    int n;
    int labels;
    uint8_t starts[kInlineLabels];
    uint64_t hashes[kInlineLabels];
  };
  Q qs[kChunk];
  const Tables t = load(group.g_);
  for (size_t base = 0; base < n; base += kChunk) {
    const size_t m = n - base < kChunk ? n - base : kChunk;
    for (size_t i = 0; i < m; ++i) {
      Q& q = qs[i];
      q.n = normalize_query_ascii(qnames[base + i], q.name);
      q.labels = 0;
      if (q.n < 0) continue;
      uint8_t starts[kMaxLabels];
      uint64_t hashes[kMaxLabels];
      const int labels = detail::suffix_hashes(q.name, q.n, starts, hashes);
      if (labels > kInlineLabels) {  // rare: resolved now, same generation
        out[base + i] = resolve(t, q.name, q.n, labels, starts, hashes);
        q.labels = -1;
        continue;
      }
      q.labels = labels;
      for (int k = 0; k < labels; ++k) {
        q.starts[k] = starts[k];
        q.hashes[k] = hashes[k];
        t.mal->prefetch(hashes[k]);
        if (t.tab) t.tab->prefetch(hashes[k]);
      }
    }
    for (size_t i = 0; i < m; ++i) {
      const Q& q = qs[i];
      if (q.n < 0) out[base + i] = invalid_query();
      else if (q.labels >= 0) out[base + i] = resolve(t, q.name, q.n, q.labels, q.starts, q.hashes);
    }
  }
}

}  // namespace policysync
