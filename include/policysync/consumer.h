// Consumer: keeps a PolicyStore in sync with the policy topic over Kafka
// (SPEC §5): every partition read from the beginning or from the state dir's
// snapshot, every record applied through the store, safe watermarks
// committed, readiness tracked. The engine `kafka_consumer` runs, for a data
// plane that owns its tables and polls from its own main loop. No librdkafka
// type or header appears here (link policysync::kafka).
//
// Example (a DPDK-style main lcore):
//   policysync::PolicyStore store;                  // the application owns it
//   policysync::ConsumerOptions o;
//   o.brokers = "kafka1:9092";
//   o.topic = "policy_updates";
//   std::unique_ptr<policysync::Consumer> consumer;
//   if (!policysync::Consumer::create(o, store, &consumer).ok()) return 1;
//   while (running) {
//     (void)consumer->poll(std::chrono::milliseconds(1));  // bounded step
//     serve_other_modules();
//   }
//   consumer->close();                              // snapshot, commit, leave
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policysync/log.h"
#include "policysync/pipeline.h"
#include "policysync/policy_store.h"
#include "policysync/status.h"

namespace policysync {

struct ConsumerOptions {
  std::string brokers;          // bootstrap.servers
  std::string topic;            // the policy topic
  std::string malicious_topic;  // optional: the threat feed's topic
  // Broadcast shape (default, SPEC §5.6): every partition assigned, no group
  // membership; group_id (default "policysync-<hostname>") only names the
  // committed offsets. shared_group: the sharded shape (subscribe as a
  // member of group_id); instance_id: its static membership.
  std::string group_id;
  bool shared_group = false;
  std::string instance_id;
  // librdkafka properties, applied in order after policysync's own (they
  // win): security settings, timeouts. Secrets never appear in logs.
  std::vector<std::pair<std::string, std::string>> properties;
  bool skip_invalid = false;  // --on-invalid=skip (SPEC §6); default: abort the sync
  size_t max_message_bytes = 64 * 1024;
  std::string dlq_topic;      // optional: copies of invalid messages
  int stats_interval_s = 30;  // one stats line per interval on the log (0: none)
  // SPEC §9, what every data plane applied: a status record (fleet_status.h)
  // on this compacted topic, keyed by instance_name (default: group_id in
  // the broadcast shape; sharded, where members share group_id:
  // group_id/instance_id, else group_id@hostname),
  // when ready, within a second of a sync completing or being refused, at
  // least every status_interval_s, and "stopped" at close(). Best effort:
  // never blocks poll(), a failure is logged once and counted.
  std::string status_topic;
  std::string instance_name;
  int status_interval_s = 30;
  std::string state_dir;  // optional: DIR/policy.snapshot (SPEC §7), created 0700
  int snapshot_interval_s = 10;
  int close_timeout_ms = 3000;  // close() returns within this, broker or not
  const Log* log = nullptr;     // not owned; null: stderr, info and above
};

// A point-in-time copy of the consumer's gauges, taken at the call: groups,
// entries, malicious and open_syncs are exact as of the last record poll()
// applied (PolicyStore::gauges()); the rest as of the last poll().
struct ConsumerStatus {
  bool ready = false;
  bool restored = false;  // started from a valid snapshot
  uint64_t assigned_partitions = 0;
  uint64_t groups = 0;
  uint64_t entries = 0;
  uint64_t malicious = 0;
  uint64_t open_syncs = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t snapshots_written = 0;
  uint64_t snapshot_failures = 0;
};

class Consumer {
 public:
  // Control thread. Validates the options, creates the state dir, restores
  // its snapshot into `store` (which must be empty then), connects. `store`
  // must outlive the Consumer and, with a state_dir, is changed only through
  // poll(): a snapshot is read from it on a thread of its own. Fails with
  // Reason::kConfig for bad options or properties, naming them.
  [[nodiscard]] static Status create(const ConsumerOptions& options, PolicyStore& store,
                                     std::unique_ptr<Consumer>* out);
  ~Consumer();  // close()
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Control thread only; bounded. Handles the records already fetched, and
  // waits for more only while `budget` lasts; commits, snapshots and stats
  // run here too. Returns once the budget is spent (budget 0: after about
  // 0.1 ms of already-fetched records, never waiting), so a main loop that
  // serves other work is held about that long; one record's work (a
  // SYNC_COMPLETE's swap, a pattern compile) is never split. A snapshot
  // (options.state_dir) is encoded on a thread of its own (0.3 s at 1M
  // entries); until it is written poll() applies no record (they wait,
  // fetched), so the file is exactly the state at its offsets, and the
  // budget still holds. A non-ok Status is fatal (authentication, TLS,
  // authorization): stop and close().
  Status poll(std::chrono::milliseconds budget);

  // Control thread only. poll() in a loop until `stop` is set (ok) or a
  // fatal error (its Status).
  Status run(const std::atomic<bool>& stop);

  // Any thread, wait-free. SPEC §5.5: every assigned partition caught up.
  bool ready() const;

  // Control thread only. Writes the snapshot, commits, leaves the group,
  // within options.close_timeout_ms. Idempotent.
  void close();

  // Any thread. Counters of the records handled (pipeline.h).
  const PipelineCounters& counters() const;
  ConsumerStatus status() const;
  std::string metrics_text() const;  // Prometheus text exposition
  std::string stats_line() const;    // the periodic stats line

 private:
  Consumer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses "key=value" (a -X argument) into *out. Fails on a missing '='.
[[nodiscard]] Status parse_property(std::string_view key_value,
                                    std::vector<std::pair<std::string, std::string>>* out);
// Reads a properties file: key=value lines, '#' comments, blank lines.
[[nodiscard]] Status read_property_file(const std::string& path,
                                        std::vector<std::pair<std::string, std::string>>* out);

}  // namespace policysync
