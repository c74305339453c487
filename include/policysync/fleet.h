// The PM's side of SPEC §9 over Kafka: read the status topic every data
// plane publishes to (ConsumerOptions::status_topic) and tell, per instance,
// whether a sync reached it: SYNCED, PENDING, NACKED (with the reason) or
// STALE (fleet_status.h). `policyctl status` and `policyctl publish-sync
// --wait` are built on it. No librdkafka type appears here.
//
// Example (wait until every live instance applied or refused a sync):
//   std::unique_ptr<policysync::StatusReader> r;
//   if (!policysync::StatusReader::create(brokers, {}, "policy.status", &r).ok()) return 2;
//   bool caught_up = false;
//   while (!caught_up)
//     if (!r->poll(std::chrono::milliseconds(100), &caught_up).ok()) return 2;
//   for (const auto& [name, rec] : r->latest()) { /* report_sync(rec, tp, offset, now) */ }
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policysync/fleet_status.h"
#include "policysync/status.h"
#include "policysync/watermarks.h"

namespace policysync {

class StatusReader {
 public:
  // Reads every partition of `status_topic` from its beginning, with no
  // consumer group. `properties`: librdkafka properties (security).
  [[nodiscard]] static Status create(
      const std::string& brokers,
      const std::vector<std::pair<std::string, std::string>>& properties,
      const std::string& status_topic, std::unique_ptr<StatusReader>* out);
  ~StatusReader();

  // Reads what has arrived, for at most `budget`. *caught_up: every
  // partition was read to its end at least once. Fails on a Kafka error
  // that no retry will fix (unknown topic, authorization).
  [[nodiscard]] Status poll(std::chrono::milliseconds budget, bool* caught_up);

  // The latest record of every instance (a tombstone removes it).
  const std::map<std::string, StatusRecord>& latest() const { return latest_; }
  // Instances whose latest record is not a status record: their earlier
  // record no longer says what they run, so they are out of latest() and a
  // PM must not count them as SYNCED. `unix_ms`: the record's Kafka
  // timestamp, to age it as report_sync() ages a record (an unreadable
  // record older than three default heartbeats, 90 s, is as good as STALE).
  struct Unreadable {
    std::string why;
    int64_t unix_ms = 0;
  };
  const std::map<std::string, Unreadable>& unreadable() const { return unreadable_; }

 private:
  StatusReader() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::map<std::string, StatusRecord> latest_;
  std::map<std::string, Unreadable> unreadable_;
};

// Reads `policy_topic` to its end and finds the last SYNC_COMPLETE of
// `group`: its coordinates. Reason::kMissingField if the group has none.
[[nodiscard]] Status find_last_sync(
    const std::string& brokers, const std::vector<std::pair<std::string, std::string>>& properties,
    const std::string& policy_topic, const std::string& group, std::chrono::milliseconds timeout,
    TopicPartition* tp, int64_t* offset);

}  // namespace policysync
