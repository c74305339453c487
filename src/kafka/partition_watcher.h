// PartitionWatcher: which partitions the policy topics have, refreshed on a
// thread of its own (SPEC §5.6, broadcast shape). Metadata and watermark
// queries are blocking librdkafka calls; here they never hold the control
// loop, which picks up each round's result with latest().
//
// Example (the consumer's control thread):
//   PartitionWatcher w(rk, {"policy", "malicious"}, 300000, /*watermarks=*/true);
//   PartitionWatcher::Round r;
//   if (w.latest(&seen, &r)) assign_new_partitions(r);
#pragma once

#include <librdkafka/rdkafka.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace policysync::kafka {

class PartitionWatcher {
 public:
  struct Partition {
    int32_t id = 0;
    int64_t lo = -1, hi = -1;  // log start and end, -1 if not queried or unknown
  };
  struct Round {
    uint64_t number = 0;
    std::map<std::string, std::vector<Partition>> topics;  // only topics that exist
    std::map<std::string, std::string> errors;             // topic -> why it has no partitions
  };

  // Starts the thread. `rk` must outlive the watcher. The first round runs at
  // once; later ones every `interval_ms`. With `first_watermarks` the first
  // round also queries every partition's log start and end.
  PartitionWatcher(rd_kafka_t* rk, std::vector<std::string> topics, int interval_ms,
                   bool first_watermarks);
  // Stops and joins the thread (at most one metadata request's timeout).
  ~PartitionWatcher();
  PartitionWatcher(const PartitionWatcher&) = delete;
  PartitionWatcher& operator=(const PartitionWatcher&) = delete;

  // Any thread, non-blocking. True and the round if one newer than *seen
  // exists (then *seen is its number).
  bool latest(uint64_t* seen, Round* out);

 private:
  void run();
  Round query(bool watermarks);

  rd_kafka_t* rk_;
  const std::vector<std::string> topics_;
  // One handle per topic for the watcher's life, destroyed after the thread
  // joins: a handle created and destroyed every round raced, under TSan, with
  // librdkafka's broker thread still read-locking it.
  // A null handle (librdkafka refused the name) carries why in handle_errors_.
  std::vector<rd_kafka_topic_t*> handles_;
  std::vector<std::string> handle_errors_;
  const int interval_ms_;
  const bool first_watermarks_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  Round round_;        // guarded by mu_
  std::thread thread_;
};

}  // namespace policysync::kafka
