// The store's internal state, shared by policy_store.cc (writer) and
// reader.cc (lookups). Not a public header.
#pragma once

#include <hs/hs_runtime.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/domain_hash.h"
#include "core/rcu.h"
#include "core/rcu_table.h"
#include "core/rule_value.h"
#include "core/shadow_growth.h"
#include "match/pattern_set.h"
#include "policysync/policy_store.h"

namespace policysync::detail {

// A rule table's header part (RcuTable's Extra): which sync made the
// generation a group's active table holds, and the group's pattern rules.
// (The feed's table carries one too, unused.) Set by the writer before the
// table is published (with the release store of its pointer) and immutable
// after, except `patterns`.
struct PolicyInfo {
  uint64_t generation = 0;  // the group's syncs completed so far
  int64_t synced_unix_ms = 0;
  int64_t record_unix_ms = -1;   // the SYNC_COMPLETE record's timestamp (-1 unknown)
  const char* origin = nullptr;  // "policy/0@42", in the table's arena
  uint32_t origin_len = 0;
  // Replaced by an immediate pattern change: the release store (writer)
  // pairs with the readers' acquire load (a reader that sees a set sees its
  // database).
  std::atomic<const PatternSet*> patterns{nullptr};
  bool owns_patterns = true;  // writer-only: false once a larger table took them over

  PolicyInfo() = default;
  PolicyInfo(const PolicyInfo&) = delete;
  PolicyInfo& operator=(const PolicyInfo&) = delete;
  ~PolicyInfo() {
    if (owns_patterns) delete patterns.load(std::memory_order_relaxed);
  }
  std::string_view origin_view() const { return {origin, origin_len}; }
  // A table replacing `old` (growth, compaction) takes over its generation
  // and its patterns; `store` copies the origin into the new table's arena.
  void adopt(PolicyInfo& old, const std::function<const char*(std::string_view)>& store) {
    generation = old.generation;
    synced_unix_ms = old.synced_unix_ms;
    record_unix_ms = old.record_unix_ms;
    origin = old.origin_len ? store(old.origin_view()) : nullptr;
    origin_len = old.origin_len;
    patterns.store(old.patterns.load(std::memory_order_relaxed), std::memory_order_relaxed);
    owns_patterns = old.owns_patterns;
    old.owns_patterns = false;
  }
};

using RuleTable = RcuTable<RuleValue, DomainHash, PolicyInfo>;
struct Group;

// A group's entry in the directory (the value of its record, keyed by the
// group id). `active` is what readers follow: the directory's record is
// updated in place when a sync or a growth replaces the group's table
// (publish_active in policy_store.cc), so a lookup goes directory -> table
// with no hop between.
struct GroupSlot {
  // Readers load it through std::atomic_ref with acquire, pairing with the
  // writer's release store: a reader that sees a table sees it built, its
  // PolicyInfo included.
  RuleTable* active;
  Group* group;  // writer-only
};
using GroupDir = RcuTable<GroupSlot, PlainHash>;

// Up to this many entries a table is sized to its content (compacted when it
// is published, restored at its exact size); a larger one keeps room to grow
// without a stop (ShadowGrowth), since copying it would be a long step.
inline constexpr size_t kSettleMax = 4096;

// Kinds of rule in a RuleTable, one bit each in a slot.
inline constexpr unsigned kPlainKind = 0;     // "example.com"
inline constexpr unsigned kWildcardKind = 1;  // "*.example.com", stored as "example.com"

// Reader side: the active table of the group whose directory record is `rec`.
inline const RuleTable* active_table(const char* rec) {
  auto* slot = reinterpret_cast<GroupSlot*>(const_cast<char*>(rec));
  return std::atomic_ref<RuleTable*>(slot->active).load(std::memory_order_acquire);
}

// Tests only: called by PatternCompile::run() before it compiles.
inline void (*g_before_pattern_compile_for_test)() = nullptr;

// Tests only: called as a Pending is destroyed (nullptr: nothing).
inline void (*g_pending_freed_for_test)() = nullptr;

// An open sync: writer-only, invisible to readers. Its table can hold
// millions of entries: once taken from its group it is freed through
// rcu::retire (PendingPtr), not on the writer (SPEC §5.1), unless it is
// small (PendingRelease).
struct Pending {
  // Sized for `expected` entries of `expected_bytes` in all (the group's
  // current size: a new sync of a group is usually about as large as the
  // last), so a steady-state resync never grows its table while it builds.
  // Its arena keeps kOriginReserve bytes more for the origin stored at
  // SYNC_COMPLETE (without them a resync of unchanged content had to add an
  // arena block, up to 1 MiB, for a 20-byte string).
  static constexpr size_t kOriginReserve = 64;
  // A table that SYNC_COMPLETE settles (at most kSettleMax entries) is
  // made to its content's size at once: it grows without a shadow anyway
  // (below ShadowGrowth's kMinCapacity a full table is rebuilt, O(its
  // size)), and a resync of unchanged content is then published as built,
  // where headroom left it 20% over its content, not enough to be settled
  // (issue 19: memory after a resync of 1M small groups was 1.15x).
  // `origin_bytes`: room for the origin, when the caller knows its likely
  // size (the last sync's); a longer one takes an arena block of its own.
  explicit Pending(size_t expected = 0, size_t expected_bytes = 0,
                   size_t origin_bytes = kOriginReserve)
      : table(expected <= kSettleMax
                  ? RuleTable::for_content(expected, expected_bytes + origin_bytes)
                  : RuleTable::with_headroom(expected, expected_bytes + origin_bytes)) {
    growth.expect(expected);
  }
  std::unique_ptr<RuleTable> table;
  ShadowGrowth<RuleTable> growth;  // how `table` grows (every upsert and erase goes through it)
  std::map<std::string, RuleValue> patterns;
  uint64_t adds = 0;  // ADD_DOMAIN received, for SYNC_COMPLETE's count
  // Which sync this is (the store's count of syncs opened) and how often its
  // pattern rules changed: a PatternCompile must match both (compile_for).
  uint64_t serial = 0;
  uint64_t pattern_changes = 0;
  bool aborted = false;  // SPEC §6: an invalid message poisoned it
  // A BEGIN_SYNC refused by max_open_syncs: poisoned from the start (its
  // messages are dropped, never applied piece by piece) and not counted in
  // StoreState::open_syncs, since it buffers nothing.
  bool over_limit = false;
  ~Pending() {
    if (g_pending_freed_for_test) g_pending_freed_for_test();
  }
};
// Frees a Pending taken from its group: on the call_rcu thread (issue 18
// item 6: a 10M-entry sync took hundreds of ms to free), unless it holds
// next to nothing (a completed sync, whose table was published, or a small
// one), which is freed at once: cheaper than its deferral.
struct PendingRelease {
  void operator()(Pending* p) const {
    if (p == nullptr) return;
    const bool small =
        p->patterns.size() <= 16 &&
        (!p->table || p->table->memory_bytes() <= ShadowGrowth<RuleTable>::kFreeAtOnceBytes);
    if (small)
      delete p;
    else
      rcu::retire(p);
  }
};
using PendingPtr = std::unique_ptr<Pending, PendingRelease>;

// A group's writer-side state (GroupSlot::group). Owns the active table;
// freed through RCU with it (REMOVE_GROUP, clear).
struct Group {
  RuleTable* active;                          // the writer's copy of GroupSlot::active
  std::map<std::string, RuleValue> patterns;  // what active's patterns were built from
  std::unique_ptr<Pending> pending;
  ShadowGrowth<RuleTable> active_growth;  // how active grows under immediate ADD_DOMAINs

  explicit Group(RuleTable* t = RuleTable::create(0).release()) : active(t) {}
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  ~Group() { delete active; }
};

// A Hyperscan scratch prototype large enough for every database published so
// far; readers clone it (Reader::refresh_scratch).
struct ScratchProto {
  hs_scratch_t* scratch = nullptr;
  uint64_t epoch = 0;
  ~ScratchProto() { hs_free_scratch(scratch); }
};

// A generation's provenance, given by the snapshot loader so that a restored
// generation keeps its number, origin and time.
struct SyncStamp {
  uint64_t generation;
  std::string_view origin;
  int64_t synced_unix_ms;
};

struct StoreState {
  // Published pointers: release stores by the writer pair with acquire loads
  // in lookups (a reader that sees a table sees its slots initialised).
  std::atomic<GroupDir*> groups{GroupDir::create(64).release()};
  std::atomic<RuleTable*> malicious{RuleTable::create(64).release()};
  // seq_cst: Reader::online()/quiescent() must observe a new prototype
  // published before a grace period the writer then waits for.
  std::atomic<ScratchProto*> scratch_proto{nullptr};
  std::atomic<uint64_t> scratch_epoch{0};
  // Writer-only.
  ShadowGrowth<GroupDir> groups_growth;
  ShadowGrowth<RuleTable> malicious_growth;
  hs_scratch_t* writer_scratch = nullptr;
  size_t group_count = 0;
  size_t open_syncs = 0;
  size_t total_entries = 0;   // every group's active_size(), kept as they change
  uint64_t syncs_opened = 0;  // Pending::serial
};

}  // namespace policysync::detail

namespace policysync {

// PolicyStore's private parts (policy_store.h declares them, opaque).
struct PolicyStore::State : detail::StoreState {};

struct PatternCompile::Impl {
  std::vector<detail::PatternRule> rules;   // given by compile_for()
  uint64_t serial = 0;                      // whose rules they are: the sync's serial and pattern
  uint64_t pattern_changes = 0;             // changes (apply() checks both)
  std::unique_ptr<detail::PatternSet> set;  // run()'s result
  Status status;
  bool ran = false;
};

struct PolicyStore::Access {
  static detail::StoreState& state(const PolicyStore& s) { return *s.state_; }
  static StoreCounters& counters(PolicyStore& s) { return s.counters_; }
  // Writer side: StoreGauges from the writer's own figures (after changes
  // made outside apply(), e.g. a snapshot restore).
  static void publish_gauges(PolicyStore& s);
  // Writer side, restore (snapshot.cc): group `id`, which must not exist,
  // with the generation `stamp` and its active table `t` filled already (its
  // plain and wildcard rules); `patterns` compiled are `compiled` (null:
  // none). No sync is opened, nothing retired.
  static Status restore_group(PolicyStore& s, std::string_view id,
                              std::unique_ptr<detail::RuleTable> t,
                              std::map<std::string, detail::RuleValue> patterns,
                              std::unique_ptr<detail::PatternSet> compiled,
                              const detail::SyncStamp& stamp, detail::Group** out);
};

}  // namespace policysync
