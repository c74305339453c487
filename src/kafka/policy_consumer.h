// PolicyConsumer: the Kafka adapter (SPEC §5). It subscribes to the policy
// topic (and the malicious feed's, if any), feeds every record to a Pipeline,
// commits each partition's safe watermark at SYNC_COMPLETE and every few
// seconds while idle (asynchronously: the control loop never waits on the
// broker), on revocation and at shutdown (bounded in time), handles EAGER and
// COOPERATIVE rebalances, tracks readiness, copies invalid messages to a
// dead-letter topic, and reports statistics. The only code besides the
// producer that includes librdkafka.
//
// Example (the daemon's control thread):
//   std::unique_ptr<PolicyConsumer> c;
//   Status s = PolicyConsumer::create(options, store, log, &c);
//   if (s.ok()) s = c->run(stop_flag);   // returns at stop, or on a fatal error
//   c->close();                           // commit, leave the group
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kafka/kafka_config.h"
#include "kafka/partition_watcher.h"
#include "kafka/producer.h"
#include "kafka/status_publisher.h"
#include "policysync/log.h"
#include "policysync/pipeline.h"
#include "policysync/policy_store.h"
#include "policysync/watermarks.h"

namespace policysync::kafka {

// Where an assigned partition starts (SPEC §5.3). The default is the
// beginning of the partition; a snapshot (SPEC §7) provides real offsets.
class StartPositions {
 public:
  virtual ~StartPositions() = default;
  // An offset, or RD_KAFKA_OFFSET_BEGINNING.
  virtual int64_t start_offset(const TopicPartition& tp) = 0;
};

struct ConsumerOptions {
  std::string brokers;
  std::string topic;
  std::string malicious_topic;  // optional
  // Broadcast shape (default, SPEC §5.6): every partition of the topics is
  // assigned from metadata, no group membership; group_id only names the
  // committed offsets (monitoring). Sharded shape (shared_group): subscribe
  // under group_id and share partitions with the group's other members.
  std::string group_id;  // default: policysync-<hostname>
  bool shared_group = false;
  std::string instance_id;  // sharded shape: group.instance.id (static membership)
  Properties properties;    // -X and --config, in order; they win over defaults
  PipelineOptions pipeline;
  std::string dlq_topic;      // optional: copies of invalid messages
  int stats_interval_s = 30;  // 0: no stats line
  // SPEC §9: a status record on this topic (optional), keyed by the
  // instance name (default: group_id), at least every status_interval_s.
  std::string status_topic;
  std::string instance_name;
  int status_interval_s = 30;
  int idle_commit_ms = 5000;
  StartPositions* start_positions = nullptr;  // not owned; null: beginning
  // SPEC §7: DIR/policy.snapshot is restored at start (partitions then start
  // at its offsets) and rewritten at most every snapshot_interval_s after a
  // SYNC_COMPLETE, and at close. Empty: no snapshot.
  std::string state_dir;
  int snapshot_interval_s = 10;
  // close() finishes within this budget even with every broker unreachable:
  // dead-letter flush, final snapshot, final commit and leaving the group
  // share it; what does not fit is given up (and logged).
  int close_timeout_ms = 3000;
};

// What the stats line and /metrics show beyond the pipeline's counters.
// (The store's own figures, groups and entries, are PolicyStore::gauges():
// exact as of the last record applied.) Refreshed once a second: the oldest
// open sync's age and the lag (lag()).
struct ConsumerGauges {
  std::atomic<bool> ready{false};
  std::atomic<uint64_t> oldest_open_sync_ms{0};
  std::atomic<uint64_t> assigned{0};
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<uint64_t> rebalances{0};
  std::atomic<uint64_t> snapshots_written{0};
  std::atomic<uint64_t> snapshot_failures{0};
  std::atomic<uint64_t> last_snapshot_bytes{0};
  std::atomic<bool> restored{false};  // started from a valid snapshot
};

class PolicyConsumer {
 public:
  static Status create(const ConsumerOptions& options, PolicyStore& store, const Log& log,
                       std::unique_ptr<PolicyConsumer>* out);
  ~PolicyConsumer();

  // Control thread. Polls until `stop` is set (ok) or a fatal error (its
  // Status: authentication, TLS, authorization, fatal consumer error).
  Status run(const std::atomic<bool>& stop);
  // Control thread. One poll of at most `timeout_ms`; a fatal error if any.
  Status poll_once(int timeout_ms);
  // Control thread. Handles fetched records until `budget` is spent, waiting
  // for more only within it (Consumer::poll); a fatal error if any.
  Status poll_for(std::chrono::milliseconds budget);
  // Control thread. Commits the safe watermarks, leaves the group
  // (rd_kafka_consumer_close), destroys the handles. Idempotent.
  void close();

  // Any thread.
  bool ready() const { return gauges_.ready.load(std::memory_order_acquire); }
  const ConsumerGauges& gauges() const { return gauges_; }
  const PipelineCounters& counters() const { return pipeline_->counters(); }
  const StoreCounters& store_counters() const { return store_.counters(); }
  const StoreGauges& store_gauges() const { return store_.gauges(); }
  // Per-partition lag, "topic/partition" -> messages behind the partition's
  // end as last fetched (refreshed every second on the control thread).
  std::map<std::string, int64_t> lag() const;
  // The stats line (also logged every stats_interval_s).
  std::string stats_line() const;
  // Prometheus text exposition of the same figures.
  std::string metrics_text() const;

  // Control thread (tests): commits every assigned partition's watermark now.
  void commit_all();
  const Watermarks& watermarks() const { return wm_; }

 private:
  PolicyConsumer(const ConsumerOptions& o, PolicyStore& store, const Log& log);
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void commit_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* offsets, void* opaque);
  void commit_done(rd_kafka_resp_err_t err, const rd_kafka_topic_partition_list_t* offsets);
  void log_error(const char* what, rd_kafka_error_t* e);  // and destroys e
  void on_assign(rd_kafka_topic_partition_list_t* parts);
  void on_revoke(rd_kafka_topic_partition_list_t* parts, bool lost);
  void handle(rd_kafka_message_t* m);
  // What follows the pipeline's handling of the record at (tp, offset):
  // its dead-letter copy, the commit and snapshot it calls for.
  void after_handle(const HandleResult& r, const TopicPartition& tp, int64_t offset,
                    std::string_view payload, std::string_view key);
  // Whether no SYNC_COMPLETE's pattern rules are compiling, waiting until
  // `deadline` for a running compile and finishing its sync when it is done.
  bool compile_settled(std::chrono::steady_clock::time_point deadline);
  // Asynchronous: the result comes back through commit_cb on a later poll.
  void commit(const std::vector<TopicPartition>& tps);
  // Waits for the result, at most `timeout_ms` (revocation, close, tests).
  // Returns whether the broker confirmed it in time.
  bool commit_bounded(const std::vector<TopicPartition>& tps, int timeout_ms);
  // The partitions of `tps` whose safe watermark is not yet committed or
  // being committed; marks them as being committed.
  rd_kafka_topic_partition_list_t* commit_list(const std::vector<TopicPartition>& tps);
  void close_consumer(std::chrono::steady_clock::time_point deadline, bool broker_answers);
  void update_gauges();
  // SPEC §9: sends the status record when readiness changes, within a
  // second of a sync completing or being refused, every heartbeat, and
  // with `state` "stopped" at close (forced).
  void publish_status(std::chrono::steady_clock::time_point now, const char* forced_state);
  // Broadcast shape: assigns the partitions of a metadata round not assigned yet.
  void on_partitions(const PartitionWatcher::Round& round);
  // A restored snapshot against the topics' first watermarks: false (and the
  // snapshot dropped) if it cannot belong to them.
  bool snapshot_matches(const PartitionWatcher::Round& round);
  std::vector<TopicPartition> assigned_partitions() const;
  void update_readiness();
  void periodic();
  // The end of every poll: dead-letter deliveries, periodic work, fatal_.
  Status poll_tail();
  void restore_snapshot();
  // Whether the first record (or end) seen of `tp` lies below the offset a
  // restored snapshot resumed it at: an offset reset (the topic was deleted
  // and created again, or the snapshot was never checked against it). Then
  // the snapshot's state is dropped and every assigned partition is read
  // again from the beginning (the record is delivered again).
  bool reset_below_snapshot(const TopicPartition& tp, int64_t offset);
  // Where `tp` starts (SPEC §5.3). `round`: the broadcast watcher's result,
  // whose log start (if queried) avoids a blocking query.
  int64_t start_offset(const TopicPartition& tp, const PartitionWatcher::Round* round);
  // wait=false: encodes and writes on a thread of its own; until it is done,
  // no record is applied (see snapshot_settled). wait=true: here, now (close).
  void write_snapshot(bool wait);
  // Whether no snapshot is being encoded, waiting until `deadline` for a
  // running one to finish.
  bool snapshot_settled(std::chrono::steady_clock::time_point deadline);
  std::string snapshot_path() const { return opt_.state_dir + "/policy.snapshot"; }

  ConsumerOptions opt_;
  PolicyStore& store_;
  const Log& log_;
  Watermarks wm_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<Producer> dlq_;
  std::unique_ptr<StatusPublisher> status_;
  std::string status_instance_;  // the status record's key
  std::chrono::steady_clock::time_point last_status_{};
  uint64_t status_news_ = UINT64_MAX;  // syncs completed + refused at the last record
  int status_ready_ = -1;              // readiness at the last record (-1: none sent)
  rd_kafka_t* rk_ = nullptr;
  std::unique_ptr<PartitionWatcher> watcher_;  // broadcast shape only
  uint64_t watcher_round_ = 0;
  bool first_round_ = true;
  std::map<std::string, std::string> topic_errors_;  // last reported, by topic
  ConsumerGauges gauges_;
  Status fatal_;
  bool closed_ = false;
  bool closing_ = false;  // inside close(): the final revocation is not news
  bool ever_ready_ = false;
  std::map<TopicPartition, bool> caught_up_;     // assigned partitions
  std::map<TopicPartition, int64_t> requested_;  // sent, confirmed or not
  // Partitions assigned at a snapshot's offset and not read yet: where their
  // first record must be (reset_below_snapshot).
  std::map<TopicPartition, int64_t> resume_at_;
  bool last_commit_ok_ = true;
  mutable std::mutex lag_mu_;
  std::map<std::string, int64_t> lag_;  // guarded by lag_mu_
  std::chrono::steady_clock::time_point last_commit_, last_stats_, last_gauges_;
  bool dirty_ = false;          // consumed since the last commit
  bool snapshot_due_ = false;   // a sync completed since the last snapshot
  bool unsnapshotted_ = false;  // anything applied since the last snapshot
  bool idle_ = false;           // the last poll found no record
  std::chrono::steady_clock::time_point last_snapshot_;
  // The snapshot being encoded and written, if any (write_snapshot).
  std::future<void> snapshot_job_;
  // The SYNC_COMPLETE whose pattern rules are compiling, if any (handle()).
  struct Deferred {
    TopicPartition tp;
    int64_t offset = -1;
    std::string payload, key;  // for its dead-letter copy, should it fail
  };
  Deferred deferred_;
  std::future<std::unique_ptr<PatternCompile>> compile_job_;
  // Last record's partition, cached to avoid a string per message.
  const rd_kafka_topic_t* last_rkt_ = nullptr;
  int32_t last_partition_ = -1;
  TopicPartition last_tp_;
};

// Tests only: called on the thread that encodes a snapshot, before it reads
// the store (nullptr: nothing).
extern void (*g_before_snapshot_encode_for_test)();

// The default consumer group id: "policysync-" + host name (SPEC §5.6).
std::string default_group_id();
std::string host_name();  // gethostname(), "unknown" if it has none

// Creates DIR (mode 0700) if missing and checks that a file can be written
// in it; a Status naming the path and the reason otherwise.
Status prepare_state_dir(const std::string& dir);

}  // namespace policysync::kafka
