#include "policysync/policy_store.h"

#include <cassert>
#include <chrono>
#include <utility>

#include "core/rcu.h"
#include "core/store_state.h"

namespace policysync {

using detail::Group;
using detail::GroupDir;
using detail::kPlainKind;
using detail::kWildcardKind;
using detail::PatternRule;
using detail::PatternSet;
using detail::Pending;
using detail::RuleTable;
using detail::RuleValue;

std::string_view apply_result_name(ApplyResult r) {
  switch (r) {
    case ApplyResult::kApplied:
      return "applied";
    case ApplyResult::kSyncOpened:
      return "sync_opened";
    case ApplyResult::kSyncRestarted:
      return "sync_restarted";
    case ApplyResult::kBuffered:
      return "buffered";
    case ApplyResult::kSyncCompleted:
      return "sync_completed";
    case ApplyResult::kSyncCountMismatch:
      return "sync_count_mismatch";
    case ApplyResult::kSyncAbortClosed:
      return "sync_abort_closed";
    case ApplyResult::kNoOpenSync:
      return "no_open_sync";
    case ApplyResult::kDropped:
      return "dropped";
    case ApplyResult::kRejected:
      return "rejected";
  }
  return "?";
}

namespace {

void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

ApplyOutcome outcome(ApplyResult r, Status s = Status()) {
  ApplyOutcome o;
  o.result = r;
  o.status = std::move(s);
  return o;
}

RuleValue rule_value(const Message& m) {
  RuleValue v;
  v.category = m.category;
  v.port_mask = m.port_mask;
  v.action = static_cast<uint8_t>(m.action);
  v.confidence = m.confidence;
  return v;
}

unsigned kind_bit(RuleKind k) { return k == RuleKind::kWildcard ? kWildcardKind : kPlainKind; }

Status bad_name(std::string_view key) {
  return Status(Reason::kBadDomain, "domain",
                "name of " + std::to_string(key.size()) + " bytes is not a normalised domain");
}

// Whether a table took the entry; why not in *why. ShadowGrowth never
// reports kFull (it grows or compacts first) and callers check the key's
// length before, so a refusal here is a broken invariant: asserted in debug
// builds, and in release the write is refused with a reason, never dropped
// silently.
bool stored(detail::TablePut p, std::string_view key, Status* why) {
  if (p == detail::TablePut::kInserted || p == detail::TablePut::kUpdated) return true;
  assert(p == detail::TablePut::kKeyTooLong);
  *why = p == detail::TablePut::kKeyTooLong
             ? bad_name(key)
             : Status(Reason::kLimitExceeded, "domain", "the table refused the entry");
  return false;
}

}  // namespace

struct PolicyStore::Ops {
  PolicyStore& s;
  detail::StoreState& st;

  Group* find(std::string_view id) const {
    GroupDir* dir = st.groups.load(std::memory_order_relaxed);
    const char* rec = dir->find_one(id, detail::plain_hash(id));
    return rec ? GroupDir::Record(rec).value().group : nullptr;
  }

  // Makes `t` the group's active table for readers: one release store into
  // its directory record (and into the shadow's copy of it, if the directory
  // is growing), pairing with the readers' acquire load (active_table()).
  void publish_active(Group* g, std::string_view id, RuleTable* t) {
    g->active = t;
    st.groups_growth.mutate(
        *st.groups.load(std::memory_order_relaxed), id, detail::plain_hash(id), 0, [t](char* rec) {
          auto* slot = reinterpret_cast<detail::GroupSlot*>(rec);
          std::atomic_ref<RuleTable*>(slot->active).store(t, std::memory_order_release);
        });
  }

  Group* find_or_create(std::string_view id, Status* why) {
    if (Group* g = find(id)) return g;
    // The store's own guard: callers (parser, snapshot loader) validate too.
    if (Status v = check_group_id(id); !v.ok()) {
      *why = std::move(v);
      return nullptr;
    }
    if (st.group_count >= s.limits_.max_groups) {
      bump(s.counters_.rejected_by_limit);
      *why = Status(Reason::kLimitExceeded, "group_id",
                    "groups limit " + std::to_string(s.limits_.max_groups) + " reached");
      return nullptr;
    }
    auto g = std::make_unique<Group>();
    const detail::GroupSlot slot{g->active, g.get()};
    if (!stored(st.groups_growth.upsert_published(st.groups, id, detail::plain_hash(id), 0, slot),
                id, why))
      return nullptr;
    ++st.group_count;
    return g.release();
  }

  bool over_entry_limit(size_t current, Status* why) {
    if (current < s.limits_.max_entries_per_group) return false;
    bump(s.counters_.rejected_by_limit);
    *why = Status(
        Reason::kLimitExceeded, "domain",
        "entries per group limit " + std::to_string(s.limits_.max_entries_per_group) + " reached");
    return true;
  }

  // Makes sure every reader's Hyperscan scratch fits `set`'s database before
  // the database is published (see ScratchProto). Any allocation failure
  // refuses the set: publishing a database that a reader's scratch is too
  // small for would let Hyperscan write past that scratch.
  Status ensure_scratch(const PatternSet* set) {
    if (set == nullptr || set->database() == nullptr) return Status();
    if (hs_alloc_scratch(set->database(), &st.writer_scratch) != HS_SUCCESS)
      return Status(Reason::kBadPattern, "domain", "cannot allocate Hyperscan scratch");
    // Compared with the published prototype, not with the writer's scratch
    // before this call: a growth whose prototype could not be published
    // (clone failure) is retried here next time, never skipped.
    size_t need = 0, have = 0;
    hs_scratch_size(st.writer_scratch, &need);
    detail::ScratchProto* old = st.scratch_proto.load();
    if (old != nullptr && hs_scratch_size(old->scratch, &have) == HS_SUCCESS && have >= need)
      return Status();
    auto proto = std::make_unique<detail::ScratchProto>();
    if (hs_clone_scratch(st.writer_scratch, &proto->scratch) != HS_SUCCESS)
      return Status(Reason::kBadPattern, "domain", "cannot clone Hyperscan scratch");
    proto->epoch = (old ? old->epoch : 0) + 1;
    st.scratch_proto.store(proto.release());
    st.scratch_epoch.store(old ? old->epoch + 1 : 1);
    // Every reader refreshes its scratch at its next quiescent state/online;
    // after this grace period none can scan with a scratch that is too small.
    rcu::synchronize();
    bump(s.counters_.scratch_grace_periods);
    rcu::retire(old);
    return Status();
  }

  static std::vector<PatternRule> rule_list(const std::map<std::string, RuleValue>& rules) {
    std::vector<PatternRule> list;
    list.reserve(rules.size());
    for (const auto& [p, v] : rules) list.push_back({p, v});
    return list;
  }

  // `precompiled`: the same rules compiled off this thread (compile_for).
  Status compile(const std::map<std::string, RuleValue>& rules, std::unique_ptr<PatternSet>* out,
                 PatternCompile::Impl* precompiled = nullptr) {
    if (rules.empty()) {
      out->reset();
      return Status();
    }
    Status st_;
    if (precompiled) {
      st_ = std::move(precompiled->status);
      *out = std::move(precompiled->set);
    } else {
      st_ = PatternSet::compile(rule_list(rules), out);
    }
    if (st_.ok()) st_ = ensure_scratch(out->get());
    if (!st_.ok()) bump(s.counters_.rejected_bad_pattern);
    return st_;
  }

  // Immediate pattern change: recompile and publish the group's pattern set.
  Status publish_patterns(Group* g, std::map<std::string, RuleValue> rules) {
    std::unique_ptr<PatternSet> set;
    Status why = compile(rules, &set);
    if (!why.ok()) return why;
    // Release pairs with the readers' acquire load of PolicyInfo::patterns.
    const PatternSet* old =
        g->active->extra().patterns.exchange(set.release(), std::memory_order_acq_rel);
    rcu::retire(const_cast<PatternSet*>(old));
    g->patterns = std::move(rules);
    return Status();
  }

  ApplyOutcome add_domain(const Message& m) {
    Status why;
    const std::string& key = m.domain.name;
    if (key.empty() || key.size() > kMaxDomainLength)
      return outcome(ApplyResult::kRejected, bad_name(key));
    Group* g = find_or_create(m.group_id, &why);
    if (!g) return outcome(ApplyResult::kRejected, why);
    const RuleValue v = rule_value(m);
    if (Pending* p = g->pending.get()) {
      if (p->aborted) {
        bump(s.counters_.dropped_in_aborted_sync);
        return outcome(ApplyResult::kDropped);
      }
      ++p->adds;
      if (m.domain.kind == RuleKind::kPattern) {
        if (!p->patterns.count(key) &&
            over_entry_limit(p->table->size() + p->patterns.size(), &why))
          return outcome(ApplyResult::kRejected, why);
        p->patterns[key] = v;
        ++p->pattern_changes;
      } else {
        const unsigned kind = kind_bit(m.domain.kind);
        if (p->table->size() + p->patterns.size() >= s.limits_.max_entries_per_group &&
            !p->table->find_one(key, detail::domain_hash(key), kind) &&
            over_entry_limit(p->table->size() + p->patterns.size(), &why))
          return outcome(ApplyResult::kRejected, why);
        if (!stored(p->growth.upsert(p->table, key, detail::domain_hash(key), kind, v), key, &why))
          return outcome(ApplyResult::kRejected, why);
      }
      return outcome(ApplyResult::kBuffered);
    }
    if (m.domain.kind == RuleKind::kPattern) {
      auto rules = g->patterns;
      const bool fresh = !rules.count(key);
      if (fresh && over_entry_limit(active_size(g), &why))
        return outcome(ApplyResult::kRejected, why);
      rules[key] = v;
      why = publish_patterns(g, std::move(rules));
      if (!why.ok()) return outcome(ApplyResult::kRejected, why);
      st.total_entries += fresh;
      return outcome(ApplyResult::kApplied);
    }
    const unsigned kind = kind_bit(m.domain.kind);
    const uint64_t h = detail::domain_hash(key);
    RuleTable* t = g->active;
    if (active_size(g) >= s.limits_.max_entries_per_group && !t->find_one(key, h, kind) &&
        over_entry_limit(active_size(g), &why))
      return outcome(ApplyResult::kRejected, why);
    const detail::TablePut put = g->active_growth.upsert_published(
        t, key, h, kind, v, [&](RuleTable* bigger) { publish_active(g, m.group_id, bigger); });
    if (!stored(put, key, &why)) return outcome(ApplyResult::kRejected, why);
    st.total_entries += put == detail::TablePut::kInserted;
    return outcome(ApplyResult::kApplied);
  }

  ApplyOutcome remove_domain(const Message& m) {
    Group* g = find(m.group_id);
    if (!g) return outcome(ApplyResult::kApplied);
    Pending* p = g->pending.get();
    if (p && p->aborted) {
      bump(s.counters_.dropped_in_aborted_sync);
      return outcome(ApplyResult::kDropped);
    }
    const std::string& key = m.domain.name;
    if (m.domain.kind == RuleKind::kPattern) {
      if (p && p->patterns.erase(key)) ++p->pattern_changes;
      if (g->patterns.count(key)) {
        auto rules = g->patterns;
        rules.erase(key);
        Status why = publish_patterns(g, std::move(rules));
        if (!why.ok()) return outcome(ApplyResult::kRejected, why);
        --st.total_entries;
      }
      return outcome(ApplyResult::kApplied);
    }
    const unsigned kind = kind_bit(m.domain.kind);
    const uint64_t h = detail::domain_hash(key);
    st.total_entries -= g->active_growth.erase(*g->active, key, h, kind);
    if (p) p->growth.erase(*p->table, key, h, kind);  // so the swap does not bring it back
    return outcome(ApplyResult::kApplied);
  }

  // A small table about to be published is copied into one sized to its
  // content when it holds much more than that (a first sync grows its table
  // by doubling; SPEC §3.1: the cost follows the content). O(size), so only
  // below kSettleMax entries: a large table keeps its slack (at most half
  // its slots and one arena block).
  // `reserve`: arena bytes the caller stores next (the origin).
  static void settle(std::unique_ptr<RuleTable>& t, size_t reserve) {
    if (t->size() > detail::kSettleMax) return;
    const size_t fit = RuleTable::for_content_bytes(t->size(), t->live_bytes() + reserve);
    // Near its fit, but without room for the origin (its records grew: a
    // table made at its content's size, see Pending), the origin would take
    // an arena block of its own: copied instead.
    if (t->memory_bytes() <= fit + fit / 4 && t->has_room_for_bytes(reserve)) return;
    std::unique_ptr<RuleTable> small = t->compacted(reserve);
    detail::ShadowGrowth<RuleTable>::release_unread(std::exchange(t, std::move(small)));
  }

  // Takes the group's open sync away, keeping open_syncs exact. Whoever
  // drops the result frees it on the call_rcu thread unless it is small
  // (PendingRelease): a restart, a count mismatch, a discard or a
  // REMOVE_GROUP of a sync of 10M entries would otherwise spend hundreds of
  // ms freeing it here (issue 18 item 6).
  detail::PendingPtr take_pending(Group* g) {
    detail::PendingPtr p(g->pending.release());
    if (p && !p->over_limit) --st.open_syncs;
    return p;
  }

  ApplyOutcome begin_sync(const Message& m) {
    Status why;
    Group* g = find_or_create(m.group_id, &why);
    if (!g) return outcome(ApplyResult::kRejected, why);
    const bool restart = g->pending != nullptr;
    take_pending(g).reset();  // freed off this thread unless small
    if (st.open_syncs >= s.limits_.max_open_syncs) {
      // Refused, but the group's sync is poisoned all the same (SPEC §6):
      // without it the sync's ADD_DOMAINs would go straight into the active
      // policy, and workers would see it applied piece by piece.
      g->pending = std::make_unique<Pending>(0);
      g->pending->aborted = g->pending->over_limit = true;
      bump(s.counters_.rejected_by_limit);
      bump(s.counters_.syncs_aborted);
      return outcome(ApplyResult::kRejected,
                     Status(Reason::kLimitExceeded, "group_id",
                            "open syncs limit " + std::to_string(s.limits_.max_open_syncs) +
                                " reached; the sync is dropped until its SYNC_COMPLETE"));
    }
    // Room for an origin as long as the last sync's (its offset grows by a
    // digit now and then: 8 bytes more; none if it had none).
    const detail::PolicyInfo& last = g->active->extra();
    const size_t origin_room = last.generation == 0 ? Pending::kOriginReserve
                               : last.origin_len    ? last.origin_len + 8
                                                    : 0;
    g->pending = std::make_unique<Pending>(g->active->size(), g->active->live_bytes(), origin_room);
    g->pending->serial = ++st.syncs_opened;
    ++st.open_syncs;
    if (restart) {
      bump(s.counters_.syncs_restarted);
      return outcome(ApplyResult::kSyncRestarted);
    }
    return outcome(ApplyResult::kSyncOpened);
  }

  ApplyOutcome sync_complete(const Message& m, std::string_view origin,
                             PatternCompile::Impl* precompiled) {
    Group* g = find(m.group_id);
    if (!g || !g->pending) {
      bump(s.counters_.complete_without_begin);
      return outcome(ApplyResult::kNoOpenSync);
    }
    detail::PendingPtr p = take_pending(g);
    if (p->aborted) return outcome(ApplyResult::kSyncAbortClosed);  // counted at abort
    // A compile made for another sync, or for rules changed since (the store
    // changed in between, against compile_for()'s contract), is not used:
    // the rules are compiled here.
    if (precompiled &&
        (precompiled->serial != p->serial || precompiled->pattern_changes != p->pattern_changes))
      precompiled = nullptr;
    if (m.has_count && m.count != p->adds) {
      bump(s.counters_.syncs_aborted);
      return outcome(ApplyResult::kSyncCountMismatch,
                     Status(Reason::kOutOfRange, "count",
                            "count " + std::to_string(m.count) + " but " + std::to_string(p->adds) +
                                " ADD_DOMAIN received"));
    }
    std::unique_ptr<PatternSet> set;
    Status why = compile(p->patterns, &set, precompiled);
    if (!why.ok()) {
      bump(s.counters_.syncs_aborted);
      return outcome(ApplyResult::kRejected, why);
    }
    p->growth.drop();  // the table is complete as it is
    const size_t entries = p->table->size() + p->patterns.size();
    origin = origin.substr(0, 255);
    settle(p->table, origin.size());
    RuleTable* fresh = p->table.release();
    detail::PolicyInfo& info = fresh->extra();
    info.patterns.store(set.release(), std::memory_order_relaxed);  // published with the table
    info.generation = g->active->extra().generation + 1;
    info.record_unix_ms = m.timestamp_ms;
    info.synced_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    info.origin = origin.empty() ? nullptr : fresh->store_bytes(origin);
    info.origin_len = static_cast<uint32_t>(origin.size());
    st.total_entries += entries;
    st.total_entries -= active_size(g);
    // The swap (SPEC §3): one release store into the group's directory
    // record, pairing with the readers' acquire load. The old generation is
    // freed on the call_rcu thread after a grace period; the writer does not
    // wait.
    RuleTable* old = g->active;
    publish_active(g, m.group_id, fresh);
    rcu::retire(old);
    g->active_growth.drop();     // it was growing the old generation's table
    g->active_growth.expect(0);  // a restore's size says nothing about this one
    g->patterns = std::move(p->patterns);
    bump(s.counters_.syncs_completed);
    ApplyOutcome o = outcome(ApplyResult::kSyncCompleted);
    o.entries = entries;
    return o;
  }

  ApplyOutcome remove_group(const Message& m) {
    Group* g = find(m.group_id);
    if (!g) return outcome(ApplyResult::kApplied);
    if (take_pending(g)) bump(s.counters_.syncs_discarded);
    st.total_entries -= active_size(g);
    st.groups_growth.erase(*st.groups.load(std::memory_order_relaxed), m.group_id,
                           detail::plain_hash(m.group_id), 0);
    --st.group_count;
    rcu::retire(g);
    return outcome(ApplyResult::kApplied);
  }

  size_t active_size(const Group* g) const { return g->active->size() + g->patterns.size(); }
};

PolicyStore::PolicyStore(StoreLimits limits) : limits_(limits), state_(std::make_unique<State>()) {}

PolicyStore::~PolicyStore() {
  rcu::barrier();  // every deferred free has run
  detail::StoreState& st = *state_;
  GroupDir* dir = st.groups.load(std::memory_order_relaxed);
  dir->for_each_record(
      [](std::string_view, unsigned, const detail::GroupSlot& s) { delete s.group; });
  delete dir;
  delete st.malicious.load(std::memory_order_relaxed);
  delete st.scratch_proto.load();
  hs_free_scratch(st.writer_scratch);
}

void PolicyStore::Access::publish_gauges(PolicyStore& s) {
  const detail::StoreState& st = *s.state_;
  // Relaxed: see StoreGauges.
  s.gauges_.groups.store(st.group_count, std::memory_order_relaxed);
  s.gauges_.entries.store(st.total_entries, std::memory_order_relaxed);
  s.gauges_.malicious.store(st.malicious.load(std::memory_order_relaxed)->size(),
                            std::memory_order_relaxed);
  s.gauges_.open_syncs.store(st.open_syncs, std::memory_order_relaxed);
}

Status PolicyStore::Access::restore_group(PolicyStore& s, std::string_view id,
                                          std::unique_ptr<RuleTable> t,
                                          std::map<std::string, RuleValue> patterns,
                                          std::unique_ptr<PatternSet> compiled,
                                          const detail::SyncStamp& stamp, Group** out) {
  detail::StoreState& st = *s.state_;
  Ops ops{s, st};
  if (ops.find(id)) return Status(Reason::kIo, "group_id", "group listed twice");
  if (st.group_count >= s.limits_.max_groups)
    return Status(Reason::kLimitExceeded, "group_id",
                  "groups limit " + std::to_string(s.limits_.max_groups) + " reached");
  const std::string_view origin = stamp.origin.substr(0, 255);
  const size_t rules = t->size();
  if (patterns.empty() != (compiled == nullptr))
    return Status(Reason::kBadPattern, "domain", "pattern rules not compiled");
  if (Status c = ops.ensure_scratch(compiled.get()); !c.ok()) return c;
  detail::PolicyInfo& info = t->extra();
  info.patterns.store(compiled.release(), std::memory_order_relaxed);  // published with the table
  info.generation = stamp.generation;
  info.synced_unix_ms = stamp.synced_unix_ms;
  info.origin = origin.empty() ? nullptr : t->store_bytes(origin);
  info.origin_len = static_cast<uint32_t>(origin.size());
  auto g = std::make_unique<Group>(t.release());
  if (rules > detail::kSettleMax) g->active_growth.expect(rules);
  Status why;
  if (!stored(st.groups_growth.upsert_published(st.groups, id, detail::plain_hash(id), 0,
                                                detail::GroupSlot{g->active, g.get()}),
              id, &why))
    return why;
  g->patterns = std::move(patterns);
  ++st.group_count;
  st.total_entries += g->active->size() + g->patterns.size();
  *out = g.release();
  return Status();
}

ApplyOutcome PolicyStore::apply(const Message& m, std::string_view origin) {
  ApplyOutcome o = apply_message(m, origin, nullptr);
  Access::publish_gauges(*this);
  return o;
}

ApplyOutcome PolicyStore::apply(const Message& m, std::string_view origin,
                                std::unique_ptr<PatternCompile> compiled) {
  ApplyOutcome o = apply_message(m, origin, std::move(compiled));
  Access::publish_gauges(*this);
  return o;
}

std::unique_ptr<PatternCompile> PolicyStore::compile_for(const Message& m) const {
  if (m.type != MessageType::kSyncComplete) return nullptr;
  Ops ops{const_cast<PolicyStore&>(*this), *state_};
  const Group* g = ops.find(m.group_id);
  if (!g || !g->pending || g->pending->aborted || g->pending->patterns.empty()) return nullptr;
  if (m.has_count && m.count != g->pending->adds) return nullptr;  // aborted: nothing to compile
  std::unique_ptr<PatternCompile> c(new PatternCompile());
  c->impl_->rules = Ops::rule_list(g->pending->patterns);
  c->impl_->serial = g->pending->serial;
  c->impl_->pattern_changes = g->pending->pattern_changes;
  return c;
}

PatternCompile::PatternCompile() : impl_(std::make_unique<Impl>()) {}
PatternCompile::~PatternCompile() = default;
void PatternCompile::run() {
  if (detail::g_before_pattern_compile_for_test) detail::g_before_pattern_compile_for_test();
  impl_->status = PatternSet::compile(std::move(impl_->rules), &impl_->set);
  impl_->ran = true;
}

ApplyOutcome PolicyStore::apply_message(const Message& m, std::string_view origin,
                                        std::unique_ptr<PatternCompile> compiled) {
  Ops ops{*this, *state_};
  detail::StoreState& st = *state_;
  switch (m.type) {
    case MessageType::kBeginSync:
      return ops.begin_sync(m);
    case MessageType::kAddDomain:
      return ops.add_domain(m);
    case MessageType::kRemoveDomain:
      return ops.remove_domain(m);
    case MessageType::kSyncComplete: {
      const auto t0 = std::chrono::steady_clock::now();
      // A compile that was never run is done here, as apply() without one.
      PatternCompile::Impl* pre =
          compiled && compiled->impl_->ran ? compiled->impl_.get() : nullptr;
      ApplyOutcome o = ops.sync_complete(m, origin, pre);
      if (o.result == ApplyResult::kSyncCompleted)
        counters_.last_swap_ns.store(
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now() - t0)
                                      .count()),
            std::memory_order_relaxed);
      return o;
    }
    case MessageType::kAddMalicious: {
      if (m.domain.name.empty() || m.domain.name.size() > kMaxDomainLength)
        return outcome(ApplyResult::kRejected, bad_name(m.domain.name));
      const uint64_t h = detail::domain_hash(m.domain.name);
      RuleTable* t = st.malicious.load(std::memory_order_relaxed);
      Status why;
      if (t->size() >= limits_.max_entries_per_group && !t->find_one(m.domain.name, h) &&
          ops.over_entry_limit(t->size(), &why))
        return outcome(ApplyResult::kRejected, why);
      if (!stored(st.malicious_growth.upsert_published(st.malicious, m.domain.name, h, kPlainKind,
                                                       rule_value(m)),
                  m.domain.name, &why))
        return outcome(ApplyResult::kRejected, why);
      return outcome(ApplyResult::kApplied);
    }
    case MessageType::kRemoveMalicious:
      st.malicious_growth.erase(*st.malicious.load(std::memory_order_relaxed), m.domain.name,
                                detail::domain_hash(m.domain.name), kPlainKind);
      return outcome(ApplyResult::kApplied);
    case MessageType::kAddGroup: {
      Status why;
      return ops.find_or_create(m.group_id, &why) ? outcome(ApplyResult::kApplied)
                                                  : outcome(ApplyResult::kRejected, why);
    }
    case MessageType::kRemoveGroup:
      return ops.remove_group(m);
  }
  return outcome(ApplyResult::kApplied);
}

bool PolicyStore::abort_sync(std::string_view group_id) {
  Ops ops{*this, *state_};
  Group* g = ops.find(group_id);
  if (!g || !g->pending || g->pending->aborted) return false;
  g->pending->aborted = true;
  // Free the buffered entries (on the call_rcu thread: a large table's free
  // is not the writer's work): they can never be applied.
  g->pending->growth.drop();
  rcu::retire(g->pending->table.release());
  g->pending->table = RuleTable::create(0);
  g->pending->patterns.clear();
  bump(counters_.syncs_aborted);
  Access::publish_gauges(*this);
  return true;
}

bool PolicyStore::discard_sync(std::string_view group_id) {
  Ops ops{*this, *state_};
  Group* g = ops.find(group_id);
  if (!g || !ops.take_pending(g)) return false;
  bump(counters_.syncs_discarded);
  Access::publish_gauges(*this);
  return true;
}

bool PolicyStore::close_aborted_sync(std::string_view group_id) {
  Ops ops{*this, *state_};
  Group* g = ops.find(group_id);
  if (!g || !g->pending || !g->pending->aborted || !ops.take_pending(g)) return false;
  Access::publish_gauges(*this);
  return true;
}

bool PolicyStore::note_invalid_add(std::string_view group_id) {
  Ops ops{*this, *state_};
  Group* g = ops.find(group_id);
  if (!g || !g->pending || g->pending->aborted) return false;
  ++g->pending->adds;
  return true;
}

void PolicyStore::clear() {
  detail::StoreState& st = *state_;
  // Both replaced by empty tables with one release store each (pairs with the
  // readers' acquire loads); the old ones and every group go through RCU.
  GroupDir* old_dir = st.groups.exchange(GroupDir::create(64).release(), std::memory_order_acq_rel);
  old_dir->for_each_record(
      [](std::string_view, unsigned, const detail::GroupSlot& s) { rcu::retire(s.group); });
  rcu::retire(old_dir);
  rcu::retire(st.malicious.exchange(RuleTable::create(64).release(), std::memory_order_acq_rel));
  st.groups_growth.drop();
  st.malicious_growth.drop();
  st.groups_growth.expect(0);
  st.malicious_growth.expect(0);
  st.group_count = 0;
  st.open_syncs = 0;
  st.total_entries = 0;
  Access::publish_gauges(*this);
}

bool PolicyStore::has_open_sync(std::string_view group_id) const {
  Ops ops{const_cast<PolicyStore&>(*this), *state_};
  Group* g = ops.find(group_id);
  return g && g->pending;
}

size_t PolicyStore::open_syncs() const { return state_->open_syncs; }
size_t PolicyStore::group_count() const { return state_->group_count; }

size_t PolicyStore::active_entries(std::string_view group_id) const {
  Ops ops{const_cast<PolicyStore&>(*this), *state_};
  Group* g = ops.find(group_id);
  return g ? ops.active_size(g) : 0;
}

size_t PolicyStore::malicious_entries() const {
  return state_->malicious.load(std::memory_order_relaxed)->size();
}

size_t PolicyStore::total_entries() const { return state_->total_entries; }

uint64_t PolicyStore::last_reclaim_delay_ns() { return rcu::last_reclaim_delay_ns(); }

size_t PolicyStore::memory_bytes() const {
  const detail::StoreState& st = *state_;
  size_t total = st.malicious.load(std::memory_order_relaxed)->memory_bytes();
  GroupDir* dir = st.groups.load(std::memory_order_relaxed);
  total += dir->memory_bytes();
  dir->for_each_record([&](std::string_view, unsigned, const detail::GroupSlot& s) {
    total += sizeof(Group) + s.group->active->memory_bytes();
    if (s.group->pending) total += s.group->pending->table->memory_bytes();
  });
  return total;
}

}  // namespace policysync
