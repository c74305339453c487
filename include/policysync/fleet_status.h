// What every data plane applied (SPEC §9): the status record an instance
// publishes to the status topic, and the PM's reading of it for one sync
// (SYNCED / PENDING / NACKED / STALE), as an xDS control plane reads its
// proxies' ACKs and NACKs. Kafka-free: the consumer sends these records
// (ConsumerOptions::status_topic), policyctl reads them (FleetStatus in
// fleet.h).
//
// Example (the PM side, a record read from the status topic):
//   policysync::StatusRecord r;
//   if (policysync::decode_status(value, &r).ok()) {
//     policysync::SyncReport s =
//         policysync::report_sync(r, {"policy", 0}, 1234, now_unix_ms);
//     if (s.state == policysync::SyncState::kNacked) alert(r.instance, s.reason);
//   }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policysync/refusals.h"
#include "policysync/status.h"
#include "policysync/watermarks.h"

namespace policysync {

struct StatusRecord {
  std::string instance;  // the record's key
  std::string host;
  std::string version;   // policysync's
  std::string state;     // "starting", "ready" or "stopped"
  int64_t unix_ms = 0;   // when the record was made
  int heartbeat_s = 30;  // the instance sends one at least this often
  struct Applied {
    TopicPartition tp;
    int64_t next = -1;  // every record below it is applied (or refused)
  };
  std::vector<Applied> applied;  // every policy partition it reads
  // The sharded shape (ConsumerOptions::shared_group): `applied` lists the
  // partitions this member owns, and a sync on another is not its to apply.
  bool sharded = false;
  uint64_t groups = 0;
  uint64_t entries = 0;
  uint64_t malicious = 0;
  std::vector<Rejection> rejected;  // the last ones (at most 100), oldest first
  // Not in the JSON: the record's Kafka timestamp when the topic stamps it
  // (message.timestamp.type=LogAppendTime), set by StatusReader; -1
  // otherwise. report_sync() then ages the record by the broker's clock,
  // not by the instance's.
  int64_t log_append_ms = -1;
};

// One JSON object (SPEC §9); the inverse of decode_status().
std::string encode_status(const StatusRecord& r);
// Fails with Reason::kBadJson / kMissingField / kWrongType naming the field.
[[nodiscard]] Status decode_status(std::string_view json, StatusRecord* out);

enum class SyncState : uint8_t { kSynced, kPending, kNacked, kStale, kNotAssigned };
std::string_view sync_state_name(SyncState s);  // "SYNCED", ...

struct SyncReport {
  SyncState state = SyncState::kPending;
  std::string reason;  // kNacked: the rejection's reason and where
  int64_t behind = 0;  // kPending: records between its next offset and the sync
  int64_t age_ms = 0;  // of the record
};

// The instance's state for the sync completed at tp@offset, as of `now_ms`:
// STALE when its last record is older than three heartbeats (or it
// stopped); NACKED when it lists that sync among the rejected;
// NOT_ASSIGNED when it is a sharded member that does not own tp (the sync
// is not its to apply); SYNCED when it applied past it; PENDING otherwise.
// A partition is applied in order, so "next > offset" means the sync was
// applied or refused (SPEC §9), and a refusal is listed (kept across
// restarts in the snapshot; the list holds the last Refusals::kMax).
SyncReport report_sync(const StatusRecord& r, const TopicPartition& tp, int64_t offset,
                       int64_t now_ms);

// "topic/partition@offset" -> parts; false if it is not of that form.
bool parse_coordinates(std::string_view s, TopicPartition* tp, int64_t* offset);

}  // namespace policysync
