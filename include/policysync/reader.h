// Reader: a worker thread's registration with the policy store's RCU (QSBR)
// domain, and its lookups (SPEC §4).
//
// One Reader per worker thread, created on that thread. While it exists the
// thread is an online QSBR reader: it must call quiescent() between bursts
// (every few microseconds to milliseconds) and offline() before it blocks,
// or the writer's memory reclamation stalls. Everything a lookup returns
// (Verdict::rule, GroupRef) is valid until the next quiescent() or offline().
// Contract: docs/rcu.md.
//
// Example (a worker's poll loop):
//   policysync::Reader reader(store);
//   while (running) {
//     auto g = reader.find_group("enterprise_a");
//     reader.lookup_batch(g, names, n, verdicts);   // wait-free
//     reader.quiescent();                           // between bursts
//   }
//
// Names taken from packets need no conversion: lookup_wire() reads a
// question's QNAME as it is on the wire ("\3www\6github\3com\0").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "policysync/policy_store.h"
#include "policysync/verdict.h"

namespace policysync {

// A group found by Reader::find_group(); empty for an unknown group. Valid
// until the reader's next quiescent state.
class GroupRef {
 public:
  GroupRef() = default;
  explicit operator bool() const { return g_ != nullptr; }

 private:
  friend class Reader;
  explicit GroupRef(const void* g) : g_(g) {}
  const void* g_ = nullptr;  // the store's group record (opaque)
};

// Which sync a group's active policy came from (Envoy's version_info).
// The views point into RCU-protected memory: valid until the reader's next
// quiescent state.
struct GroupVersion {
  std::string_view group;
  uint64_t generation = 0;     // syncs completed; 0 = none yet
  std::string_view origin;     // the SYNC_COMPLETE's "topic/partition@offset"
  int64_t synced_unix_ms = 0;  // when it was applied (0 = never)
  // The SYNC_COMPLETE record's timestamp (-1: unknown, e.g. restored from a
  // snapshot): synced_unix_ms less this is the sync's convergence (SPEC §9).
  int64_t record_unix_ms = -1;
};

class Reader {
 public:
  // Registers the calling thread (online). May allocate (Hyperscan scratch).
  explicit Reader(const PolicyStore& store);
  // Unregisters the calling thread; it must be the thread that constructed it.
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Registered worker thread only; wait-free unless a new pattern database
  // needs a larger scratch, which is then allocated here (never in lookups).
  void quiescent();
  // Before blocking (sleep, I/O wait): the writer stops waiting for us.
  void offline();
  // After offline(): back to reading. Same progress note as quiescent().
  void online();

  // Reader side, wait-free; registered worker threads only.
  GroupRef find_group(std::string_view group_id) const;

  // Reader side, wait-free; registered worker threads only. No lock,
  // allocation or system call. `qname` as on the wire (ASCII, any case,
  // optional trailing dot); convert IDN U-labels with normalize_query() first.
  Verdict lookup(GroupRef group, std::string_view qname) const;
  Verdict lookup(std::string_view group_id, std::string_view qname) const;

  // Reader side, wait-free; registered threads only. The group's current
  // generation (an empty GroupVersion for an unknown group).
  GroupVersion version(GroupRef group) const;

  // Reader side, wait-free (bounded by `limit` slots); registered threads
  // only. Visits up to `limit` groups from `cursor` (0 to start) in table
  // order; returns the cursor to continue from, 0 once every group was seen.
  // A group added or a directory grown between calls may be missed or seen
  // twice (monitoring, not a snapshot).
  template <typename Fn>
  uint64_t for_each_group(uint64_t cursor, size_t limit, Fn&& fn) const {
    return scan_groups(cursor, limit, &fn,
                       [](void* f, const GroupVersion& v) { (*static_cast<Fn*>(f))(v); });
  }

  // Reader side, wait-free; registered worker threads only. n lookups in one
  // group, with memory prefetched across the burst (best at n = 16..64).
  void lookup_batch(GroupRef group, const std::string_view* qnames, size_t n, Verdict* out) const;

  // Reader side, wait-free; registered worker threads only. No lock,
  // allocation or system call. `wire` starts with a DNS question's QNAME in
  // wire format (domain_name.h); at most wire.size() bytes are read and what
  // follows the name is ignored. Answers as lookup() on the dotted form of
  // the same name; MatchSource::kMalformedName if wire_name_length() is 0;
  // kInvalidQuery for a well-formed name that is not a valid ASCII host name
  // (the root; a byte outside [A-Za-z0-9_-] in a label).
  Verdict lookup_wire(GroupRef group, std::span<const uint8_t> wire) const;

  // Reader side, wait-free; registered worker threads only. lookup_wire() on
  // n names in one group, prefetched as lookup_batch() is; one generation of
  // the group's policy answers the whole batch.
  void lookup_wire_batch(GroupRef group, const std::span<const uint8_t>* wires, size_t n,
                         Verdict* out) const;

 private:
  struct Ops;  // the lookup steps, defined in src/core/reader.cc
  void refresh_scratch();
  uint64_t scan_groups(uint64_t cursor, size_t limit, void* ctx,
                       void (*fn)(void*, const GroupVersion&)) const;

  const PolicyStore& store_;
  void* scratch_ = nullptr;  // this thread's Hyperscan scratch (hs_scratch_t)
  uint64_t scratch_epoch_ = 0;
};

}  // namespace policysync
