#include "policysync/snapshot.h"

#define XXH_INLINE_ALL
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include "consumer/snapshot_format.h"
#include "core/rcu.h"
#include "core/store_state.h"

namespace policysync {

using detail::Group;
using detail::GroupDir;
using detail::RuleTable;
using detail::RuleValue;

namespace {

constexpr char kMagic[8] = {'P', 'S', 'Y', 'N', 'C', 'S', 'N', 'P'};
constexpr size_t kHeader = 8 + 4 + 4 + 8 + 8;

struct Out {
  std::string s;
  template <typename T>
  void put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str8(std::string_view v) {
    put<uint8_t>(static_cast<uint8_t>(v.size()));
    s.append(v);
  }
  void str16(std::string_view v) {
    put<uint16_t>(static_cast<uint16_t>(v.size()));
    s.append(v);
  }
  void value(const RuleValue& v) { s.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
};

struct In {
  const char* p;
  size_t left;
  bool ok = true;
  template <typename T>
  T get() {
    T v{};
    if (left < sizeof(T)) {
      ok = false;
      return v;
    }
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    left -= sizeof(T);
    return v;
  }
  std::string_view view(size_t n) {
    if (left < n) {
      ok = false;
      return {};
    }
    std::string_view v(p, n);
    p += n;
    left -= n;
    return v;
  }
  std::string_view view8() { return view(get<uint8_t>()); }
  std::string str16() { return std::string(view(get<uint16_t>())); }
  RuleValue value() {
    RuleValue v;
    if (left < sizeof(v)) {
      ok = false;
      return v;
    }
    std::memcpy(&v, p, sizeof(v));
    p += sizeof(v);
    left -= sizeof(v);
    return v;
  }
};

using snapshot::Entry;
using snapshot::kFlagAborted;
using snapshot::kFlagOverLimit;
using snapshot::kFlagPending;
using snapshot::Staged;
using StagedGroup = snapshot::Group;

void put_table(Out& o, const RuleTable& t, const std::map<std::string, RuleValue>& patterns) {
  o.put<uint32_t>(static_cast<uint32_t>(t.size() + patterns.size()));
  t.for_each_record([&](std::string_view k, unsigned kind, const RuleValue& v) {
    o.put<uint8_t>(kind == detail::kWildcardKind ? 1 : 0);
    o.str8(k);
    o.value(v);
  });
  for (const auto& [p, v] : patterns) {
    o.put<uint8_t>(2);
    o.str8(p);
    o.value(v);
  }
}

bool get_entries(In& in, std::vector<Entry>* out) {
  const uint32_t n = in.get<uint32_t>();
  if (!in.ok || n > in.left / 12) return false;  // every entry takes >= 12 bytes
  out->reserve(n);
  for (uint32_t i = 0; i < n && in.ok; ++i) {
    const uint8_t kind = in.get<uint8_t>();
    if (kind > 2) return false;
    const std::string_view name = in.view8();
    out->push_back(Entry{name, static_cast<RuleKind>(kind), in.value()});
  }
  return in.ok;
}

// An entry as a rule reads: "a.test", "*.a.test", "pattern:ads*.test".
std::string rule_text(const Entry& e) {
  static const char* kKinds[] = {"", "*.", "pattern:"};
  return kKinds[static_cast<int>(e.kind)] + std::string(e.name);
}

Status corrupt(const std::string& what) { return Status(Reason::kIo, "snapshot", what); }

Status parse_body(const std::string& bytes, Staged* st) {
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  In in{bytes.data() + kHeader, bytes.size() - kHeader};
  const uint32_t offsets = in.get<uint32_t>();
  for (uint32_t i = 0; i < offsets && in.ok; ++i) {
    snapshot::Partition p;
    p.offset.tp.topic = in.str16();
    p.offset.tp.partition = in.get<int32_t>();
    p.offset.next = in.get<int64_t>();
    const uint32_t holds = in.get<uint32_t>();
    if (holds > in.left / 10) return corrupt("malformed holds");  // each takes >= 10 bytes
    for (uint32_t h = 0; h < holds && in.ok; ++h) {
      const int64_t off = in.get<int64_t>();
      p.holds.emplace_back(off, in.str16());
    }
    st->partitions.push_back(std::move(p));
  }
  const uint32_t open = in.get<uint32_t>();
  for (uint32_t i = 0; i < open && in.ok; ++i) {
    Watermarks::OpenSync o;
    o.group = in.str16();
    o.tp.topic = in.str16();
    o.tp.partition = in.get<int32_t>();
    o.begin = in.get<int64_t>();
    st->open.push_back(std::move(o));
  }
  if (!in.ok || !get_entries(in, &st->malicious))
    return corrupt("malformed offsets or malicious table");
  const uint32_t groups = in.get<uint32_t>();
  for (uint32_t i = 0; i < groups && in.ok; ++i) {
    StagedGroup g;
    g.id = in.str16();
    g.generation = in.get<uint64_t>();
    g.origin = in.str16();
    g.synced_unix_ms = in.get<int64_t>();
    if (!get_entries(in, &g.active)) return corrupt("malformed group " + g.id);
    const uint8_t flags = in.get<uint8_t>();
    if (flags & ~(kFlagPending | kFlagAborted | kFlagOverLimit))
      return corrupt("unknown flags of group " + g.id);
    g.has_pending = flags & kFlagPending;
    g.aborted = flags & kFlagAborted;
    g.over_limit = flags & kFlagOverLimit;
    if (g.has_pending) {
      g.adds = in.get<uint64_t>();
      if (!get_entries(in, &g.pending)) return corrupt("malformed pending sync of " + g.id);
    }
    st->groups.push_back(std::move(g));
  }
  if (version >= 3) st->hash_seed = in.get<uint64_t>();
  if (version >= 4) {
    const uint32_t refused = in.get<uint32_t>();
    if (refused > Refusals::kMax)
      return corrupt("more refused syncs than " + std::to_string(Refusals::kMax));
    for (uint32_t i = 0; i < refused && in.ok; ++i) {
      Rejection r;
      r.group = in.str16();
      r.sync = in.str16();
      r.at = in.str16();
      r.reason = in.str16();
      r.unix_ms = in.get<int64_t>();
      st->refused.push_back(std::move(r));
    }
    const uint32_t causes = in.get<uint32_t>();
    if (causes > in.left / 6) return corrupt("malformed causes");  // each takes >= 6 bytes
    for (uint32_t i = 0; i < causes && in.ok; ++i) {
      std::string group = in.str16();
      Refusals::Cause c;
      c.at = in.str16();
      c.reason = in.str16();
      st->causes.emplace_back(std::move(group), std::move(c));
    }
  }
  if (!in.ok) return corrupt("truncated body");
  if (in.left != 0) return corrupt("trailing bytes after the body");
  return Status();
}

Message entry_message(const std::string& group, const Entry& e) {
  Message m;
  m.type = MessageType::kAddDomain;
  m.group_id = group;
  m.domain.name = std::string(e.name);
  m.domain.kind = e.kind;
  m.action = static_cast<Action>(e.value.action);
  m.category = e.value.category;
  m.port_mask = e.value.port_mask;
  m.confidence = e.value.confidence;
  return m;
}

}  // namespace

struct SnapshotCodec {
  static std::string encode(const PolicyStore& store, const Watermarks& wm) {
    // One buffer, sized up front, the header written in place at the end:
    // growing it and prepending the header copied a 10M-entry body 3 times.
    Out o;
    o.s.reserve(kHeader + estimated_body(store));
    o.s.resize(kHeader);
    const auto parts = wm.partitions();
    o.put<uint32_t>(static_cast<uint32_t>(parts.size()));
    for (const TopicPartition& tp : parts) {
      o.str16(tp.topic);
      o.put<int32_t>(tp.partition);
      o.put<int64_t>(wm.next_offset(tp));
      // Dead-letter copies still in flight: a restart resumes at the lowest
      // and sends them again (Watermarks::resume_offset).
      const auto holds = wm.holds(tp);
      o.put<uint32_t>(static_cast<uint32_t>(holds.size()));
      for (const auto& [off, reason] : holds) {
        o.put<int64_t>(off);
        o.str16(std::string_view(reason).substr(0, 1024));
      }
    }
    const auto open = wm.open_list();
    o.put<uint32_t>(static_cast<uint32_t>(open.size()));
    for (const auto& s : open) {
      o.str16(s.group);
      o.str16(s.tp.topic);
      o.put<int32_t>(s.tp.partition);
      o.put<int64_t>(s.begin);
    }
    const detail::StoreState& state = PolicyStore::Access::state(store);
    put_table(o, *state.malicious.load(std::memory_order_relaxed), {});
    GroupDir* dir = state.groups.load(std::memory_order_relaxed);
    o.put<uint32_t>(static_cast<uint32_t>(dir->size()));
    dir->for_each_record([&](std::string_view id, unsigned, const detail::GroupSlot& slot) {
      const Group* g = slot.group;
      o.str16(id);
      const detail::PolicyInfo& info = g->active->extra();
      o.put<uint64_t>(info.generation);
      o.str16(info.origin_view().substr(0, 255));
      o.put<int64_t>(info.synced_unix_ms);
      put_table(o, *g->active, g->patterns);
      const detail::Pending* pend = g->pending.get();
      o.put<uint8_t>(pend ? kFlagPending | (pend->aborted ? kFlagAborted : 0) |
                                (pend->over_limit ? kFlagOverLimit : 0)
                          : 0);
      if (pend) {
        o.put<uint64_t>(g->pending->adds);
        put_table(o, *g->pending->table, g->pending->patterns);
      }
    });
    o.put<uint64_t>(detail::process_hash_seed());
    // Version 4: the refused syncs and the causes of syncs that will be.
    const Refusals& refusals = wm.refusals();
    o.put<uint32_t>(static_cast<uint32_t>(refusals.list().size()));
    for (const Rejection& r : refusals.list()) {
      for (const std::string* f : {&r.group, &r.sync, &r.at, &r.reason}) o.str16(*f);
      o.put<int64_t>(r.unix_ms);
    }
    o.put<uint32_t>(static_cast<uint32_t>(refusals.causes().size()));
    for (const auto& [group, c] : refusals.causes()) {
      o.str16(group);
      o.str16(c.at);
      o.str16(c.reason);
    }
    char* h = o.s.data();
    const uint32_t version = kSnapshotVersion, reserved = 0;
    const uint64_t len = o.s.size() - kHeader, sum = XXH3_64bits(h + kHeader, len);
    std::memcpy(h, kMagic, 8);
    std::memcpy(h + 8, &version, 4);
    std::memcpy(h + 12, &reserved, 4);
    std::memcpy(h + 16, &len, 8);
    std::memcpy(h + 24, &sum, 8);
    return std::move(o.s);
  }

  // The entries' share of the body, exactly (a record holds what an entry
  // is written as: kind, value, length, name); the rest (offsets, group
  // headers) grows the buffer if it must.
  static size_t estimated_body(const PolicyStore& store) {
    const detail::StoreState& state = PolicyStore::Access::state(store);
    size_t n = 4096 + state.malicious.load(std::memory_order_relaxed)->live_bytes();
    state.groups.load(std::memory_order_relaxed)
        ->for_each_record([&](std::string_view id, unsigned, const detail::GroupSlot& slot) {
          n += 64 + id.size() + slot.group->active->live_bytes();
          if (slot.group->pending) n += slot.group->pending->table->live_bytes();
        });
    return n;
  }

  static Group* find(PolicyStore* store, const std::string& id) {
    const char* rec = PolicyStore::Access::state(*store)
                          .groups.load(std::memory_order_relaxed)
                          ->find_one(id, detail::plain_hash(id));
    return rec ? GroupDir::Record(rec).value().group : nullptr;
  }

  // Replaces a just-opened sync's pending state with one sized for n entries.
  static void presize(PolicyStore* store, const std::string& id, const std::vector<Entry>& es) {
    Group* g = find(store, id);
    if (!g || !g->pending) return;
    size_t n = 0, bytes = 0;
    for (const Entry& e : es)
      if (e.kind != RuleKind::kPattern) {
        ++n;
        bytes += RuleTable::record_size(e.name.size());
      }
    g->pending = std::make_unique<detail::Pending>(n, bytes);
    g->pending->serial = ++PolicyStore::Access::state(*store).syncs_opened;
  }

  // Applies a checked snapshot to an empty store. Everything that could be
  // refused was checked before (snapshot::check); a failure left (out of
  // memory for a Hyperscan scratch) undoes what was applied, so the store is
  // never left half-loaded (SPEC §7).
  static Status restore(Staged& st, PolicyStore* store, Watermarks* wm) {
    if (store->group_count() != 0 || store->malicious_entries() != 0 || !wm->partitions().empty())
      return Status(Reason::kIo, "snapshot", "restore needs an empty store");
    (void)detail::adopt_process_hash_seed(st.hash_seed);  // speed only (snapshot_format.h)
    // Two passes over every entry, on two threads: the check (which reads
    // names, kinds and values) and the build of the tables, private until
    // the check passed (which hashes the names and writes them into tables
    // nobody reads yet). Nothing is published before both are done.
    Status s;
    std::thread checker([&] { s = snapshot::check(st, store->limits()); });
    Built built;
    Status b = build(&st, &built);
    checker.join();
    if (!s.ok()) return s;
    if (!b.ok()) return b;
    s = publish(st, built, store);
    if (!s.ok()) {
      undo(st, store);
      return s;
    }
    // Restoring is not news: the counters start from zero.
    StoreCounters& c = PolicyStore::Access::counters(*store);
    for (auto* a : {&c.syncs_completed, &c.syncs_aborted, &c.syncs_restarted, &c.syncs_discarded,
                    &c.complete_without_begin, &c.dropped_in_aborted_sync, &c.rejected_by_limit,
                    &c.rejected_bad_pattern})
      a->store(0, std::memory_order_relaxed);
    for (const auto& p : st.partitions) {
      wm->assign(p.offset.tp, p.offset.next);
      for (const auto& [off, reason] : p.holds) wm->hold(p.offset.tp, off, reason);
    }
    for (const auto& o : st.open) wm->sync_opened(o.tp, o.group, o.begin);
    for (Rejection& r : st.refused) wm->refusals().add(std::move(r));
    for (auto& [group, c] : st.causes)
      wm->refusals().set_cause(group, std::move(c.at), std::move(c.reason));
    PolicyStore::Access::publish_gauges(*store);  // malicious entries went in directly
    return Status();
  }

  // The tables a restore fills before it publishes them: the feed's and each
  // group's active one (same order as Staged::groups), each sized for what
  // it will hold. Nobody reads them until publish().
  struct Built {
    std::unique_ptr<RuleTable> feed;
    std::vector<std::unique_ptr<RuleTable>> groups;
    std::vector<std::map<std::string, RuleValue>> patterns;  // a group's pattern rules
  };

  // Hashes every entry and fills the private tables; a name listed twice is
  // found here (the tables compare names anyway). Entries come in their
  // table's slot order, i.e. sorted by hash: into a table sized for them each
  // lands at or after the one before (linear; into a table that grew as they
  // came they piled into one cluster: a 1M feed took 93 s, issue 19).
  static Status build(Staged* st, Built* b) {
    auto hash = [](std::vector<Entry>& entries) {
      for (Entry& e : entries)
        if (e.kind != RuleKind::kPattern) e.hash = detail::domain_hash(e.name);
    };
    auto fill = [](RuleTable& t, const std::vector<Entry>& entries, const auto& where) {
      for (const Entry& e : entries) {
        if (e.kind == RuleKind::kPattern) continue;
        const unsigned kind =
            e.kind == RuleKind::kWildcard ? detail::kWildcardKind : detail::kPlainKind;
        const auto put = t.upsert(e.name, e.hash, kind, e.value);
        if (put != detail::TablePut::kInserted)  // a name listed twice, or refused
          return put == detail::TablePut::kUpdated ? duplicate(where(), e)
                                                   : refused(where(), e, put);
      }
      return Status();
    };
    auto sized = [](const std::vector<Entry>& entries, size_t* n, size_t* bytes) {
      *n = *bytes = 0;
      for (const Entry& e : entries)
        if (e.kind != RuleKind::kPattern) {
          ++*n;
          *bytes += RuleTable::record_size(e.name.size());
        }
    };
    size_t n, bytes;
    hash(st->malicious);
    sized(st->malicious, &n, &bytes);
    // The feed may take immediate adds right after: room to grow (with_headroom).
    b->feed = RuleTable::with_headroom(n, bytes);
    if (Status s = fill(*b->feed, st->malicious, [] { return std::string("malicious table"); });
        !s.ok())
      return s;
    b->groups.reserve(st->groups.size());
    b->patterns.resize(st->groups.size());
    for (size_t i = 0; i < st->groups.size(); ++i) {
      StagedGroup& g = st->groups[i];
      hash(g.active);
      hash(g.pending);
      sized(g.active, &n, &bytes);
      const size_t origin = std::min<size_t>(g.origin.size(), 255);
      // A large table keeps room to grow under immediate ADD_DOMAINs without
      // a stop (ShadowGrowth); a small one is sized to its content.
      b->groups.push_back(n > detail::kSettleMax ? RuleTable::with_headroom(n, bytes + origin)
                                                 : RuleTable::for_content(n, bytes + origin));
      if (Status s = fill(*b->groups.back(), g.active, [&g] { return "group " + g.id; }); !s.ok())
        return s;
      for (const Entry& e : g.active)
        if (e.kind == RuleKind::kPattern &&
            !b->patterns[i].emplace(std::string(e.name), e.value).second)
          return duplicate("group " + g.id, e);
    }
    return Status();
  }

  // The store's shared tables (still empty) replaced by tables sized for
  // what the snapshot holds. Entries come in their table's slot order, i.e.
  // sorted by hash: into a table that grows as they come, that order piles
  // them into one cluster (quadratic: a 1M feed took 93 s, issue 19); at
  // their full size each lands at or after the one before (linear).
  static void presize_shared(const Staged& st, Built& b, detail::StoreState& state) {
    const size_t feed = b.feed->size();
    rcu::retire(state.malicious.exchange(b.feed.release(), std::memory_order_acq_rel));
    state.malicious_growth.expect(feed);
    size_t bytes = 0;
    for (const StagedGroup& g : st.groups) bytes += GroupDir::record_size(g.id.size());
    rcu::retire(state.groups.exchange(GroupDir::with_headroom(st.groups.size(), bytes).release(),
                                      std::memory_order_acq_rel));
    state.groups_growth.expect(st.groups.size());
  }

  // Publishes what build() filled, once the check passed: the feed, then
  // each group with its table (and its open sync, filled here).
  static Status publish(Staged& st, Built& b, PolicyStore* store) {
    detail::StoreState& state = PolicyStore::Access::state(*store);
    presize_shared(st, b, state);
    for (size_t i = 0; i < st.groups.size(); ++i) {
      StagedGroup& g = st.groups[i];
      Group* grp = nullptr;
      const detail::SyncStamp stamp{g.generation, g.origin, g.synced_unix_ms};
      if (Status s = PolicyStore::Access::restore_group(*store, g.id, std::move(b.groups[i]),
                                                        std::move(b.patterns[i]),
                                                        std::move(g.active_patterns), stamp, &grp);
          !s.ok())
        return Status(Reason::kIo, "snapshot", "group " + g.id + ": " + s.to_string());
      if (!g.has_pending) continue;
      if (g.over_limit) {
        grp->pending = std::make_unique<detail::Pending>(0);
        grp->pending->aborted = grp->pending->over_limit = true;
        grp->pending->adds = g.adds;
        continue;
      }
      Message b;
      b.type = MessageType::kBeginSync;
      b.group_id = g.id;
      const ApplyOutcome o = store->apply(b);
      if (o.result != ApplyResult::kSyncOpened) return failed("pending sync of " + g.id, o);
      presize(store, g.id, g.pending);
      if (Status s = fill_pending(store, g.id, g.pending, "pending sync of "); !s.ok()) return s;
      grp->pending->adds = g.adds;
      grp->pending->aborted = g.aborted;
    }
    return Status();
  }

  // Puts a checked table's entries into the group's sync just opened: plain
  // and wildcard ones straight into its table (no Message, no allocation per
  // entry: a third of a restore went to building Messages), pattern rules
  // through apply() (compiled at SYNC_COMPLETE). A name listed twice, which
  // the check leaves to this step, fails the restore (the caller undoes).
  static Status fill_pending(PolicyStore* store, const std::string& id,
                             const std::vector<Entry>& entries, const char* where) {
    detail::Pending* p = find(store, id)->pending.get();
    for (const Entry& e : entries) {
      const size_t before = p->table->size() + p->patterns.size();
      if (e.kind == RuleKind::kPattern) {
        ApplyOutcome o = store->apply(entry_message(id, e));
        if (o.result != ApplyResult::kBuffered) return failed(where + id, o);
      } else {
        const unsigned kind =
            e.kind == RuleKind::kWildcard ? detail::kWildcardKind : detail::kPlainKind;
        const auto put = p->growth.upsert(p->table, e.name, e.hash, kind, e.value);
        if (Status s = refused(where + id, e, put); !s.ok()) return s;
      }
      if (p->table->size() + p->patterns.size() == before) return duplicate(where + id, e);
    }
    return Status();
  }

  // A table that did not take a checked entry (ShadowGrowth never reports
  // kFull, and the check refused overlong names): the restore fails, undone.
  static Status refused(const std::string& where, const Entry& e, detail::RuleTable::Put put) {
    if (put == detail::RuleTable::Put::kInserted || put == detail::RuleTable::Put::kUpdated)
      return Status();
    return Status(Reason::kIo, "snapshot", where + ": entry not stored " + rule_text(e));
  }

  static Status duplicate(const std::string& where, const Entry& e) {
    return Status(Reason::kIo, "snapshot", where + ": duplicate entry " + rule_text(e));
  }

  static Status failed(const std::string& where, const ApplyOutcome& o) {
    return Status(Reason::kIo, "snapshot", where + ": " + o.status.to_string());
  }

  // Removes everything publish() may have added (the store was empty).
  static void undo(const Staged& st, PolicyStore* store) {
    Message m;
    m.type = MessageType::kRemoveGroup;
    for (const StagedGroup& g : st.groups) {
      m.group_id = g.id;
      (void)store->apply(m);
    }
    m.type = MessageType::kRemoveMalicious;
    m.group_id.clear();
    for (const Entry& e : st.malicious) {
      m.domain.name = std::string(e.name);
      (void)store->apply(m);
    }
  }
};

std::string encode_snapshot(const PolicyStore& store, const Watermarks& wm) {
  return SnapshotCodec::encode(store, wm);
}

static Status check_header(const std::string& bytes) {
  if (bytes.empty()) return corrupt("empty file");
  if (bytes.size() < kHeader)
    return corrupt("truncated header (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data(), kMagic, 8) != 0)
    return corrupt("not a policysync snapshot (bad magic)");
  uint32_t version;
  uint64_t len, sum;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&len, bytes.data() + 16, 8);
  std::memcpy(&sum, bytes.data() + 24, 8);
  if (version < 2 || version > kSnapshotVersion)
    return corrupt("version " + std::to_string(version) + ", this build reads 2 to " +
                   std::to_string(kSnapshotVersion));
  if (len != bytes.size() - kHeader)
    return corrupt("truncated: body of " + std::to_string(bytes.size() - kHeader) +
                   " bytes, header says " + std::to_string(len));
  if (XXH3_64bits(bytes.data() + kHeader, len) != sum) return corrupt("checksum mismatch");
  return Status();
}

Status decode_snapshot(const std::string& bytes, PolicyStore* store, Watermarks* wm) {
  Status s = check_header(bytes);
  if (!s.ok()) return s;
  Staged st;
  s = parse_body(bytes, &st);
  if (!s.ok()) return s;
  return SnapshotCodec::restore(st, store, wm);
}

Status describe_snapshot(const std::string& bytes, SnapshotInfo* info) {
  Status s = check_header(bytes);
  if (!s.ok()) return s;
  Staged st;
  s = parse_body(bytes, &st);
  if (!s.ok()) return s;
  std::memcpy(&info->version, bytes.data() + 8, 4);
  for (const auto& p : st.partitions) info->offsets.push_back(p.offset);
  info->malicious = st.malicious.size();
  info->open_syncs = st.open.size();
  for (const auto& g : st.groups)
    info->groups.push_back({g.id, g.active.size(), g.has_pending, g.pending.size()});
  return Status();
}

std::string canonical_dump(const std::string& bytes) {
  Staged st;
  if (!check_header(bytes).ok() || !parse_body(bytes, &st).ok()) return "invalid snapshot\n";
  auto entry = [](const Entry& e) {
    return rule_text(e) + " " + std::to_string(e.value.action) + "/" +
           std::to_string(e.value.category) + "/" + std::to_string(e.value.port_mask) + "/" +
           std::to_string(e.value.confidence);
  };
  std::vector<std::string> lines;
  for (const auto& p : st.partitions) {
    const std::string tp = p.offset.tp.topic + "/" + std::to_string(p.offset.tp.partition);
    lines.push_back("offset " + tp + " " + std::to_string(p.offset.next));
    for (const auto& [off, reason] : p.holds)
      lines.push_back("hold " + tp + "@" + std::to_string(off) + " " + reason);
  }
  for (const auto& o : st.open)
    lines.push_back("open " + o.group + " " + o.tp.topic + "/" + std::to_string(o.tp.partition) +
                    "@" + std::to_string(o.begin));
  for (size_t i = 0; i < st.refused.size(); ++i) {  // numbered: their order is kept
    const Rejection& r = st.refused[i];
    char n[24];
    std::snprintf(n, sizeof(n), "%03zu", i);
    lines.push_back("refused " + std::string(n) + " " + r.group + " " + r.sync + " at " + r.at +
                    " " + r.reason);
  }
  for (const auto& [group, c] : st.causes)
    lines.push_back("cause " + group + " at " + c.at + " " + c.reason);
  for (const auto& e : st.malicious) lines.push_back("malicious " + entry(e));
  for (const auto& g : st.groups) {
    lines.push_back("group " + g.id + " generation=" + std::to_string(g.generation) +
                    (g.origin.empty() ? "" : " origin=" + g.origin));
    for (const auto& e : g.active) lines.push_back("active " + g.id + " " + entry(e));
    if (g.has_pending)
      lines.push_back("pending " + g.id + (g.aborted ? " aborted" : "") +
                      (g.over_limit ? " over_limit" : "") + " adds=" + std::to_string(g.adds));
    for (const auto& e : g.pending) lines.push_back("pending " + g.id + " " + entry(e));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

Status read_snapshot_file(const std::string& path, std::string* bytes) {
  struct stat sb {};
  if (stat(path.c_str(), &sb) != 0)
    return Status(Reason::kIo, "snapshot", path + ": " + std::strerror(errno));
  if (!S_ISREG(sb.st_mode)) return corrupt(path + " is not a regular file");
  // One read() per chunk into a buffer sized once (an istreambuf_iterator
  // copy went byte by byte: most of a 10M-entry restore).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status(Reason::kIo, "snapshot", "cannot read " + path + ": " + std::strerror(errno));
  bytes->resize(static_cast<size_t>(sb.st_size));
  size_t got = 0;
  int err = 0;
  while (got < bytes->size()) {
    const ssize_t n = ::read(fd, bytes->data() + got, bytes->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;  // an error, or the file shrank (the header check then says so)
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (err != 0)
    return Status(Reason::kIo, "snapshot", "cannot read " + path + ": " + std::strerror(err));
  bytes->resize(got);
  Status s = check_header(*bytes);
  return s.ok() ? s : Status(Reason::kIo, "snapshot", path + ": " + s.detail());
}

Status write_snapshot_file(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  auto fail = [&](const char* step) {
    const std::string why = std::string(step) + " " + tmp + ": " + std::strerror(errno);
    unlink(tmp.c_str());
    return Status(Reason::kIo, "snapshot", why);
  };
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status(Reason::kIo, "snapshot", "create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    close(fd);
    return fail("fsync");
  }
  if (close(fd) != 0) return fail("close");
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Status();
}

}  // namespace policysync
