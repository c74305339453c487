#include "policysync/reader.h"

#include <cassert>

#include "core/prepared_query.h"
#include "core/rcu.h"
#include "core/store_state.h"
#include "policysync/domain_name.h"

namespace policysync {

using detail::GroupDir;
using detail::kPlainKind;
using detail::kWildcardKind;
using detail::PatternSet;
using detail::RuleTable;
using detail::RuleValue;

std::string_view match_source_name(MatchSource s) {
  switch (s) {
    case MatchSource::kNone:
      return "none";
    case MatchSource::kMalicious:
      return "malicious";
    case MatchSource::kExact:
      return "exact";
    case MatchSource::kSuffix:
      return "suffix";
    case MatchSource::kWildcard:
      return "wildcard";
    case MatchSource::kPattern:
      return "pattern";
    case MatchSource::kInvalidQuery:
      return "invalid_query";
    case MatchSource::kMalformedName:
      return "malformed_name";
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

// The verdict for a name no policy can answer (generation 0).
Verdict refused(MatchSource why) {
  Verdict v;
  v.source = why;
  return v;
}

// Why prepare() / prepare_wire() refused a name; kNone if it is usable.
MatchSource refusal(bool prepared) {
  return prepared ? MatchSource::kNone : MatchSource::kInvalidQuery;
}
MatchSource wire_refusal(int prepared) {
  return prepared > 0   ? MatchSource::kNone
         : prepared < 0 ? MatchSource::kMalformedName
                        : MatchSource::kInvalidQuery;
}

}  // namespace

Reader::Reader(const PolicyStore& store) : store_(store) {
  rcu::register_reader();
  refresh_scratch();
}

Reader::~Reader() {
  rcu::unregister_reader();
  hs_free_scratch(static_cast<hs_scratch_t*>(scratch_));
}

void Reader::refresh_scratch() {
  const detail::StoreState& st = PolicyStore::Access::state(store_);
  // seq_cst: see StoreState::scratch_epoch.
  const uint64_t epoch = st.scratch_epoch.load();
  if (epoch == scratch_epoch_) return;
  // Safe to dereference: we are online, and the writer retires a prototype
  // only through RCU.
  const detail::ScratchProto* proto = st.scratch_proto.load();
  if (proto == nullptr) return;
  hs_scratch_t* fresh = nullptr;
  if (hs_clone_scratch(proto->scratch, &fresh) != HS_SUCCESS) {
    // Out of memory. The old scratch may be too small for a database the
    // writer publishes after this grace period, so it is dropped: pattern
    // rules are not consulted (never scanned with a short scratch) until a
    // later quiescent state clones successfully.
    hs_free_scratch(static_cast<hs_scratch_t*>(scratch_));
    scratch_ = nullptr;
    return;
  }
  hs_free_scratch(static_cast<hs_scratch_t*>(scratch_));
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
  const GroupDir* dir = PolicyStore::Access::state(store_).groups.load(std::memory_order_acquire);
  // The group's directory record: lookups load its active table from it.
  const char* rec = dir->find_one(group_id, detail::plain_hash(group_id));
  // The table's header (and, for a small table, its first chunks: the same
  // allocation) is fetched now, while the caller prepares its query (one
  // dependent miss less on a lookup among a million groups).
  if (rec) detail::active_table(rec)->prefetch_header();
  return GroupRef(rec);
}

// The lookup steps; nested in Reader for its private members.
struct Reader::Ops {
  // The pointers one lookup or one batch reads, loaded once.
  struct Tables {
    const RuleTable* mal = nullptr;  // null when the feed is empty
    const RuleTable* tab = nullptr;  // the group's active table (null: unknown group)
    const detail::PatternSet* patterns = nullptr;
    uint64_t generation = 0;
  };
  static Tables load(const Reader& r, const void* group);
  static Verdict resolve(const Reader& r, const Tables& t, const detail::PreparedQuery& q);
  static Verdict resolve_prefetched(const Reader& r, const Tables& t,
                                    const detail::PreparedQuery& q);
  // lookup_batch() over any name form: prep(i, q) prepares name i into q and
  // returns why it is unusable (kNone if usable).
  template <typename Prep>
  static void batch(const Reader& r, GroupRef group, size_t n, Verdict* out, Prep prep);
};

Reader::Ops::Tables Reader::Ops::load(const Reader& r, const void* group) {
  const PolicyStore& store_ = r.store_;
  // Acquire loads pair with the writer's release stores of each pointer: a
  // table or policy seen here is fully built. Loaded once per lookup or per
  // batch, so one batch never mixes two generations of a group's policy.
  Tables t;
  t.mal = PolicyStore::Access::state(store_).malicious.load(std::memory_order_acquire);
  if (t.mal->maybe_empty()) t.mal = nullptr;  // no feed: no probe per suffix
  if (group == nullptr) return t;
  t.tab = detail::active_table(static_cast<const char*>(group));
  // Acquire pairs with the release store of an immediate pattern change.
  t.patterns = t.tab->extra().patterns.load(std::memory_order_acquire);
  t.generation = t.tab->extra().generation;
  return t;
}

namespace {

// Stage 1 of a lookup: fetch the home chunk of every suffix in each table.
void prefetch_chunks(const RuleTable* mal, const RuleTable* tab, const detail::PreparedQuery& q) {
  for (int k = 0; k < q.labels; ++k) {
    if (mal) mal->prefetch(q.hashes[k]);
    if (tab) tab->prefetch(q.hashes[k]);
  }
}

// Stage 2: fetch the records whose tags match (most suffixes match none).
void prefetch_records(const RuleTable* mal, const RuleTable* tab, const detail::PreparedQuery& q) {
  for (int k = 0; k < q.labels; ++k) {
    if (mal) mal->prefetch_matches(q.hashes[k]);
    if (tab) tab->prefetch_matches(q.hashes[k]);
  }
}

}  // namespace

Verdict Reader::Ops::resolve(const Reader& r, const Tables& t, const detail::PreparedQuery& q) {
  prefetch_chunks(t.mal, t.tab, q);
  prefetch_records(t.mal, t.tab, q);
  return resolve_prefetched(r, t, q);
}

Verdict Reader::Ops::resolve_prefetched(const Reader& r, const Tables& t,
                                        const detail::PreparedQuery& q) {
  const PolicyStore& store_ = r.store_;
  hs_scratch_t* scratch_ = static_cast<hs_scratch_t*>(r.scratch_);
  const int labels = q.labels;
  // 1. Malicious: the query or any parent, most specific first.
  const uint8_t threshold = store_.limits().malicious_threshold;
  for (int k = 0; t.mal && k < labels; ++k) {
    const char* rec = t.mal->find_one(q.suffix(k), q.hashes[k], kPlainKind);
    if (rec && RuleTable::Record(rec).value().confidence >= threshold)
      return from_record(rec, MatchSource::kMalicious);
  }
  if (t.tab == nullptr) return Verdict();
  // 2. Exact: a plain rule on the name itself ("*.x" never matches x).
  if (const char* rec = t.tab->find_one(q.suffix(0), q.hashes[0], kPlainKind))
    return from_record(rec, MatchSource::kExact);
  // 3. Most specific parent; on one parent "*.p" beats "p".
  for (int k = 1; k < labels; ++k) {
    const char* recs[2] = {nullptr, nullptr};
    const unsigned found = t.tab->find(q.suffix(k), q.hashes[k], 3u, recs);
    if (found & (1u << kWildcardKind))
      return from_record(recs[kWildcardKind], MatchSource::kWildcard);
    if (found) return from_record(recs[kPlainKind], MatchSource::kSuffix);
  }
  // 4. Pattern rules.
  if (t.patterns && scratch_) {
    const int i = t.patterns->match(q.name, q.n, scratch_);
    if (i >= 0) {
      const detail::PatternRule& r = t.patterns->rule(i);
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
  detail::PreparedQuery q;
  if (!q.prepare(qname)) return refused(MatchSource::kInvalidQuery);
  const Ops::Tables t = Ops::load(*this, group.g_);
  Verdict v = Ops::resolve(*this, t, q);
  v.generation = t.generation;
  return v;
}

GroupVersion Reader::version(GroupRef group) const {
  GroupVersion v;
  if (!group) return v;
  const char* rec = static_cast<const char*>(group.g_);
  // Acquire (in active_table) pairs with the writer's release store of the
  // record's table: its PolicyInfo was set before.
  const detail::PolicyInfo& info = detail::active_table(rec)->extra();
  v.group = GroupDir::Record(rec).key();
  v.generation = info.generation;
  v.origin = info.origin_view();
  v.synced_unix_ms = info.synced_unix_ms;
  v.record_unix_ms = info.record_unix_ms;
  return v;
}

uint64_t Reader::scan_groups(uint64_t cursor, size_t limit, void* ctx,
                             void (*fn)(void*, const GroupVersion&)) const {
  // Acquire pairs with the writer's release store of a rebuilt directory.
  const GroupDir* dir = PolicyStore::Access::state(store_).groups.load(std::memory_order_acquire);
  const size_t next =
      dir->scan(cursor, limit, [&](const char* rec) { fn(ctx, version(GroupRef(rec))); });
  return next >= dir->capacity() ? 0 : next;
}

Verdict Reader::lookup(std::string_view group_id, std::string_view qname) const {
  return lookup(find_group(group_id), qname);
}

template <typename Prep>
void Reader::Ops::batch(const Reader& r, GroupRef group, size_t n, Verdict* out, Prep prep) {
  // Three passes per chunk, as rte_hash_lookup_bulk does: prepare every query
  // and fetch its home chunks; match the tags and fetch the records they
  // let through; resolve with those lines in flight. 16 prepared queries take
  // about 23 KiB of stack.
  constexpr size_t kChunk = 16;
  detail::PreparedQuery qs[kChunk];
  MatchSource why[kChunk];
  const Tables t = load(r, group.g_);
  const uint64_t generation = t.generation;
  for (size_t base = 0; base < n; base += kChunk) {
    const size_t m = n - base < kChunk ? n - base : kChunk;
    for (size_t i = 0; i < m; ++i) {
      why[i] = prep(base + i, qs[i]);
      if (why[i] == MatchSource::kNone) prefetch_chunks(t.mal, t.tab, qs[i]);
    }
    for (size_t i = 0; i < m; ++i)
      if (why[i] == MatchSource::kNone) prefetch_records(t.mal, t.tab, qs[i]);
    for (size_t i = 0; i < m; ++i) {
      if (why[i] != MatchSource::kNone) {
        out[base + i] = refused(why[i]);  // generation 0, as lookup() gives
        continue;
      }
      out[base + i] = resolve_prefetched(r, t, qs[i]);
      out[base + i].generation = generation;
    }
  }
}

void Reader::lookup_batch(GroupRef group, const std::string_view* qnames, size_t n,
                          Verdict* out) const {
  Ops::batch(*this, group, n, out,
             [&](size_t i, detail::PreparedQuery& q) { return refusal(q.prepare(qnames[i])); });
}

Verdict Reader::lookup_wire(GroupRef group, std::span<const uint8_t> wire) const {
  detail::PreparedQuery q;
  const MatchSource why = wire_refusal(q.prepare_wire(wire.data(), wire.size()));
  if (why != MatchSource::kNone) return refused(why);
  const Ops::Tables t = Ops::load(*this, group.g_);
  Verdict v = Ops::resolve(*this, t, q);
  v.generation = t.generation;
  return v;
}

void Reader::lookup_wire_batch(GroupRef group, const std::span<const uint8_t>* wires, size_t n,
                               Verdict* out) const {
  Ops::batch(*this, group, n, out, [&](size_t i, detail::PreparedQuery& q) {
    return wire_refusal(q.prepare_wire(wires[i].data(), wires[i].size()));
  });
}

}  // namespace policysync
