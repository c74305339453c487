// Pipeline: what the consumer does with one record, Kafka-free (SPEC §3, §5.2,
// §6). It parses the payload, applies it to the store, keeps the partition's
// safe watermark, counts and logs every invalid message once, aborts the
// named group's open sync (or, with skip_invalid, drops only the bad entry),
// and tells the Kafka adapter when to commit and what to copy to the
// dead-letter topic.
//
// Example (the adapter's poll loop):
//   HandleResult r = pipeline.handle(tp, offset, payload, len);
//   if (r.copy_to_dlq) produce_copy(r.dlq_reason);  // then pipeline.dlq_done()
//   if (r.commit) commit(watermarks.safe(tp));
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "policysync/fleet_status.h"
#include "policysync/log.h"
#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/watermarks.h"

namespace policysync {

struct PipelineOptions {
  ParserLimits parser;
  bool skip_invalid = false;  // --on-invalid=skip: keep the sync, drop the entry
  bool dead_letter = false;   // hold invalid offsets until their copy is confirmed
  // A SYNC_COMPLETE with pattern rules to compile is handed back (as
  // HandleResult::compile) to be compiled off the consumer thread and
  // finished with finish_compile() (SPEC §5.1); false: compiled in handle().
  bool compile_off_thread = false;
};
// With the log at LogLevel::kTrace the pipeline writes one line per message in
// the seed's format ("[ADD_DOMAIN] group=... domain=... action=..."): the
// demo's output, and `kafka_consumer -v`.

struct [[nodiscard]] HandleResult {
  bool invalid = false;  // rejected: see `why`
  Status why;
  std::string dlq_reason;    // the policysync-reason header of its copy
  bool copy_to_dlq = false;  // produce a copy, then call dlq_done()
  bool commit = false;       // a sync completed: commit the safe watermarks now
  // compile_off_thread: the record is a SYNC_COMPLETE whose pattern rules
  // must be compiled first. Run it on any thread, then finish_compile()
  // before handling any other record (the store must not change meanwhile).
  std::unique_ptr<PatternCompile> compile;
};

// Relaxed atomics: written by the consumer thread, read by stats/metrics.
struct PipelineCounters {
  static constexpr size_t kTypes = 8;
  static constexpr size_t kReasons = kReasonCount;
  std::atomic<uint64_t> consumed{0};
  std::array<std::atomic<uint64_t>, kTypes> applied{};    // by MessageType
  std::array<std::atomic<uint64_t>, kReasons> invalid{};  // by Reason
  std::atomic<uint64_t> dlq_pending{0};
  std::atomic<uint64_t> dlq_delivered{0};
  std::atomic<uint64_t> dlq_failed{0};
  std::atomic<uint64_t> syncs_rejected{0};  // listed in Pipeline::rejections()
  // Convergence (SPEC §9): a SYNC_COMPLETE record's timestamp (CreateTime or
  // LogAppendTime) to its swap. Per bucket, not cumulative: le 0.1 0.5 1 3
  // 5 10 20 30 60 s, then +Inf (the buckets Istio settled on).
  static constexpr std::array<double, 9> kConvergenceBuckets = {0.1, 0.5, 1, 3, 5, 10, 20, 30, 60};
  std::array<std::atomic<uint64_t>, kConvergenceBuckets.size() + 1> convergence{};
  std::atomic<uint64_t> convergence_count{0};
  std::atomic<uint64_t> convergence_sum_ms{0};
  std::atomic<uint64_t> convergence_clamped{0};   // negative (clock skew): counted as 0
  std::atomic<uint64_t> convergence_replayed{0};  // completed while catching up: not measured
  std::atomic<uint64_t> last_convergence_ms{0};
};

class Pipeline {
 public:
  Pipeline(PolicyStore& store, Watermarks& watermarks, PipelineOptions options, const Log& log);

  // Consumer thread. Whether the records handled now are news (the consumer
  // is caught up: ready) or history being replayed (a start without a
  // snapshot, a newly assigned partition). Only news is measured for
  // convergence (SPEC §9): a replayed sync of last week is no convergence
  // time; it is counted in convergence_replayed. Default: news.
  void set_live(bool live) { live_ = live; }

  // Consumer thread. One record of `tp` at `offset`; `timestamp_ms` is the
  // record's (CreateTime or LogAppendTime, ms since the epoch; -1 unknown).
  HandleResult handle(const TopicPartition& tp, int64_t offset, const void* data, size_t len,
                      int64_t timestamp_ms = -1);

  // Consumer thread. The syncs refused (SPEC §6, §9), the last
  // kMaxRejections, oldest first: each with its SYNC_COMPLETE's coordinates,
  // those of the message that refused it and why.
  static constexpr size_t kMaxRejections = Refusals::kMax;
  const std::deque<Rejection>& rejections() const { return wm_.refusals().list(); }

  // Consumer thread. Completes the SYNC_COMPLETE that handle() returned
  // with a compile (run or not), as handle() would have.
  HandleResult finish_compile(const TopicPartition& tp, int64_t offset,
                              std::unique_ptr<PatternCompile> compiled);

  // Consumer thread. The partition was revoked: its open syncs are discarded
  // (the next owner replays them; the active tables stay, SPEC §5.4).
  void revoke(const TopicPartition& tp);

  // Consumer thread. The dead-letter copy of (tp, offset) was delivered or
  // failed for good; either way the hold on the watermark is released.
  void dlq_done(const TopicPartition& tp, int64_t offset, bool delivered);

  const PipelineCounters& counters() const { return counters_; }
  const PolicyStore& store() const { return store_; }

 private:
  HandleResult invalid(const TopicPartition& tp, int64_t offset, Status why,
                       const std::string& group, bool counts_as_add);
  HandleResult already_applied(const TopicPartition& tp, int64_t offset);
  // What handle() does once the store applied `m` at (tp, offset).
  HandleResult conclude(const TopicPartition& tp, int64_t offset, const Message& m, ApplyOutcome o);
  void trace_applied(const Message& m, const ApplyOutcome& o) const;
  // An invalid BEGIN_SYNC of msg_'s group: its sync opened poisoned.
  void poison_sync(const TopicPartition& tp, int64_t offset, const std::string& why);

  PolicyStore& store_;
  Watermarks& wm_;
  PipelineOptions opt_;
  const Log& log_;
  MessageParser parser_;
  Message msg_;
  Message deferred_;  // the SYNC_COMPLETE waiting for its compile
  // Lists the refusal of `group`'s sync completed at `sync` (with the
  // cause that aborted it, if one is known: Refusals::refuse).
  void reject(const std::string& group, const std::string& sync, const std::string& reason);
  void observe_convergence(int64_t record_ms);
  bool live_ = true;
  PipelineCounters counters_;
};

// "policy/3@42": a record's coordinates as logs print them.
std::string coordinates(const TopicPartition& tp, int64_t offset);

}  // namespace policysync
