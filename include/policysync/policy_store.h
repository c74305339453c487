// PolicyStore: every group's active and pending policy and the global
// malicious table (SPEC §3), applied by one writer and read by many workers
// through policysync::Reader (reader.h) without locks.
//
// The writer (the control thread) calls apply() for each parsed message.
// SYNC_COMPLETE publishes the group's new policy with one atomic pointer store
// and hands the old one to RCU (freed on liburcu's call_rcu thread after a
// grace period). Immediate operations change the active tables in place in
// O(1) amortised time. Reader/writer contract: docs/rcu.md.
//
// Example:
//   policysync::PolicyStore store;
//   policysync::ApplyOutcome o = store.apply(msg);   // control thread
//   if (o.result == policysync::ApplyResult::kSyncCompleted) commit_watermark();
// (tests/header_examples_test.cc compiles every public header's example.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "policysync/message.h"
#include "policysync/status.h"

namespace policysync {

struct StoreLimits {
  size_t max_entries_per_group = 16u << 20;  // active or pending rules of one group
  size_t max_groups = 1u << 20;
  size_t max_open_syncs = 1u << 16;
  uint8_t malicious_threshold = 0;  // SPEC §4 step 1: confidence >= threshold
};

enum class ApplyResult : uint8_t {
  kApplied,            // immediate change done (or nothing to do)
  kSyncOpened,         // BEGIN_SYNC: pending policy opened
  kSyncRestarted,      // BEGIN_SYNC while one was open: old pending discarded
  kBuffered,           // ADD/REMOVE_DOMAIN recorded in the open sync
  kSyncCompleted,      // SYNC_COMPLETE: the new policy is active
  kSyncCountMismatch,  // SYNC_COMPLETE whose count differs: aborted, old policy stays
  kSyncAbortClosed,    // SYNC_COMPLETE of an aborted sync: closed, old policy stays
  kNoOpenSync,         // SYNC_COMPLETE without BEGIN_SYNC: warning, no effect
  kDropped,            // a message of an aborted sync (SPEC §6): dropped
  kRejected,           // over a limit, or a pattern set that does not compile: see status
};

std::string_view apply_result_name(ApplyResult r);

struct [[nodiscard]] ApplyOutcome {
  ApplyResult result = ApplyResult::kApplied;
  Status status;       // why, for kRejected
  size_t entries = 0;  // the group's active rules after kSyncCompleted
};

// Monotonic counters (relaxed atomics: written by the writer, read by any
// thread for stats; no ordering with the tables is implied or needed).
struct StoreCounters {
  std::atomic<uint64_t> syncs_completed{0};
  std::atomic<uint64_t> syncs_aborted{0};    // count mismatch or invalid entry
  std::atomic<uint64_t> syncs_restarted{0};  // BEGIN_SYNC over an open sync
  std::atomic<uint64_t> syncs_discarded{0};  // revocation, REMOVE_GROUP
  std::atomic<uint64_t> complete_without_begin{0};
  std::atomic<uint64_t> dropped_in_aborted_sync{0};
  std::atomic<uint64_t> rejected_by_limit{0};
  std::atomic<uint64_t> rejected_bad_pattern{0};
  std::atomic<uint64_t> scratch_grace_periods{0};  // Hyperscan scratch growths
  std::atomic<uint64_t> last_swap_ns{0};           // the writer's time in the last SYNC_COMPLETE
};

// What the store holds, kept by the writer as it applies (relaxed atomics:
// each is a figure on its own, nothing is published through it). Any thread
// may read them; they are exact as of the writer's last call that returned
// (apply, abort_sync, discard_sync, clear, a snapshot restore). O(1): no
// walk over the groups.
struct StoreGauges {
  std::atomic<uint64_t> groups{0};
  std::atomic<uint64_t> entries{0};  // active rules of every group (patterns included)
  std::atomic<uint64_t> malicious{0};
  std::atomic<uint64_t> open_syncs{0};
};

// A group's pattern rules compiled off the control thread (Hyperscan takes
// milliseconds to seconds; SPEC §5.1). See PolicyStore::compile_for().
class PatternCompile {
 public:
  ~PatternCompile();
  PatternCompile(const PatternCompile&) = delete;
  PatternCompile& operator=(const PatternCompile&) = delete;
  // Any one thread, once: compiles the rules it was made with.
  void run();

 private:
  friend class PolicyStore;
  PatternCompile();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class PolicyStore {
 public:
  explicit PolicyStore(StoreLimits limits = {});
  // No Reader may still be using the store.
  ~PolicyStore();
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // Writer side, one thread at a time (the control thread). Never waits for
  // readers, except for one grace period when a new pattern database needs a
  // larger Hyperscan scratch than any before it. `origin` names where the
  // message came from (the consumer passes "topic/partition@offset"); a
  // SYNC_COMPLETE records it in the generation it publishes (Reader::version).
  ApplyOutcome apply(const Message& msg, std::string_view origin = {});

  // Writer side. A SYNC_COMPLETE in two steps, so that its pattern rules
  // compile on another thread: if `msg` is a SYNC_COMPLETE whose open sync
  // will be published with pattern rules, returns their compile (run it
  // anywhere), and apply(msg, origin, compile) then completes the sync with
  // it; the store must not change in between. Null: nothing to compile,
  // apply(msg, origin) as usual.
  //
  // Example (the control thread; nothing else is applied meanwhile):
  //   if (auto c = store.compile_for(msg)) {
  //     std::thread([&] { c->run(); }).join();   // or a future polled later
  //     o = store.apply(msg, origin, std::move(c));
  //   }
  std::unique_ptr<PatternCompile> compile_for(const Message& msg) const;
  ApplyOutcome apply(const Message& msg, std::string_view origin,
                     std::unique_ptr<PatternCompile> compiled);

  // Writer side. An invalid message named `group_id` (SPEC §6): if the group
  // has an open sync it becomes aborted (its remaining messages are dropped
  // until SYNC_COMPLETE or BEGIN_SYNC). Returns true if a sync was aborted.
  bool abort_sync(std::string_view group_id);

  // Writer side. An ADD_DOMAIN of `group_id` that was invalid and skipped
  // (--on-invalid=skip): it still counts as received, so that SYNC_COMPLETE's
  // `count` compares against every ADD_DOMAIN the PM sent (SPEC §3, §6).
  // Returns true if the group has an open, unaborted sync.
  bool note_invalid_add(std::string_view group_id);

  // Writer side. Drops the group's open sync without applying it (partition
  // revocation, SPEC §5.4). Returns true if one was open.
  bool discard_sync(std::string_view group_id);

  // Writer side. Closes the group's open sync that an invalid message
  // aborted, as its SYNC_COMPLETE would (an invalid SYNC_COMPLETE still ends
  // its sync, SPEC §6); counted once, at the abort. Returns true if an
  // aborted sync was open.
  bool close_aborted_sync(std::string_view group_id);

  // Writer side. Removes every group (and its open sync) and every malicious
  // entry, as a REMOVE_GROUP / REMOVE_MALICIOUS of each would; readers see
  // the empty store after at most one grace period. For a consumer that
  // restored a snapshot and then finds it does not match the topic (SPEC §7).
  void clear();

  // Writer side. Queries of the writer's own view.
  bool has_open_sync(std::string_view group_id) const;
  size_t open_syncs() const;
  size_t group_count() const;
  size_t active_entries(std::string_view group_id) const;  // 0 if unknown
  size_t malicious_entries() const;
  size_t total_entries() const;  // active rules of every group; O(1)
  size_t memory_bytes() const;   // tables and arenas, all groups

  // Any thread.
  const StoreCounters& counters() const { return counters_; }
  const StoreGauges& gauges() const { return gauges_; }
  const StoreLimits& limits() const { return limits_; }
  // Time from the last retired table to its free (grace period + queueing).
  static uint64_t last_reclaim_delay_ns();

  // Internal: the library's own access to the private parts (the snapshot
  // codec's); defined in src/, unusable from outside.
  struct Access;

 private:
  // Private parts, defined in src/ only: the tables and the writer's operations.
  struct State;
  struct Ops;
  ApplyOutcome apply_message(const Message& msg, std::string_view origin,
                             std::unique_ptr<PatternCompile> compiled);
  friend class Reader;
  StoreLimits limits_;
  StoreCounters counters_;
  StoreGauges gauges_;
  std::unique_ptr<State> state_;
};

}  // namespace policysync
