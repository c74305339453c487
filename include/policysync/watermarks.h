// Watermarks: the safe commit offset of every partition (SPEC §5.2).
//
// The committed offset of a partition is the lowest BEGIN_SYNC offset among
// syncs still open on it, or the next offset to read if none is open; an
// invalid message whose dead-letter copy is not yet confirmed holds the
// watermark at its offset too. Committing past another group's open sync
// would lose that sync on a crash; this class makes that impossible.
// Kafka-free: partitions are (topic, number) pairs.
//
// Example:
//   Watermarks wm;
//   wm.assign({"policy", 0}, 0);
//   wm.sync_opened({"policy", 0}, "g1", 10);   // BEGIN_SYNC at offset 10
//   wm.consumed({"policy", 0}, 11);
//   wm.safe({"policy", 0});                    // 10, not 12
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policysync/refusals.h"

namespace policysync {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator<(const TopicPartition& o) const {
    return topic != o.topic ? topic < o.topic : partition < o.partition;
  }
  bool operator==(const TopicPartition& o) const {
    return partition == o.partition && topic == o.topic;
  }
};

class Watermarks {
 public:
  // A partition starts being read at `next_offset` (a real offset; the
  // consumer calls this once it knows where reading starts, or with the first
  // consumed offset).
  void assign(const TopicPartition& tp, int64_t next_offset);
  // Reading of `tp` (re)starts at `offset` (an assignment). A partition
  // already known keeps a higher next offset: the records from `offset` up
  // to it were applied before (a restored snapshot's resume_offset() lies
  // below it while a dead-letter copy is held) and are skipped, only a held
  // record's copy being redone. An unknown partition starts at `offset`.
  void start(const TopicPartition& tp, int64_t offset);
  // Forgets the partition; returns the groups whose syncs were open on it.
  std::vector<std::string> revoke(const TopicPartition& tp);
  bool assigned(const TopicPartition& tp) const { return parts_.count(tp) != 0; }

  // The message at `offset` has been handled (applied, rejected or dropped).
  void consumed(const TopicPartition& tp, int64_t offset);
  // BEGIN_SYNC of `group` at `offset` (a restart moves the sync's start).
  void sync_opened(const TopicPartition& tp, std::string_view group, int64_t offset);
  // The group's sync closed (completed, aborted, discarded, group removed).
  void sync_closed(std::string_view group);
  // An invalid message's dead-letter copy is in flight / confirmed. `reason`
  // travels with the hold into a snapshot, so that a restart can send a copy
  // that was still in flight again (SPEC §5.2, §7).
  void hold(const TopicPartition& tp, int64_t offset, std::string reason = {});
  void release(const TopicPartition& tp, int64_t offset);
  // Whether (tp, offset) is held; its reason in *reason.
  bool held(const TopicPartition& tp, int64_t offset, std::string* reason = nullptr) const;
  // The holds of a partition, lowest offset first.
  std::vector<std::pair<int64_t, std::string>> holds(const TopicPartition& tp) const;
  // Where reading must resume so that nothing whose side effects are not yet
  // durable is lost: the lowest held offset, else the next offset (-1 if
  // unknown). Offsets below next_offset() are already applied.
  int64_t resume_offset(const TopicPartition& tp) const;

  // The offset to commit, or -1 if nothing was read yet.
  int64_t safe(const TopicPartition& tp) const;
  std::vector<TopicPartition> partitions() const;
  int64_t next_offset(const TopicPartition& tp) const;  // -1 if unknown
  size_t open_syncs() const { return open_.size(); }
  struct OpenSync {
    std::string group;
    TopicPartition tp;
    int64_t begin;
  };
  std::vector<OpenSync> open_list() const;
  // How long the oldest open sync has been open (zero if none). O(open syncs).
  std::chrono::steady_clock::duration oldest_open_age(
      std::chrono::steady_clock::time_point now) const;

  // The syncs refused on these partitions, with the causes of open syncs
  // that will be (SPEC §9): kept here so that a snapshot carries them.
  Refusals& refusals() { return refusals_; }
  const Refusals& refusals() const { return refusals_; }

 private:
  struct Part {
    int64_t next = -1;
    std::map<int64_t, std::string> holds;  // offset -> reason
  };
  struct Open {
    TopicPartition tp;
    int64_t begin;
    std::chrono::steady_clock::time_point since;  // when its BEGIN_SYNC was read
  };
  std::map<TopicPartition, Part> parts_;
  std::map<std::string, Open, std::less<>> open_;  // by group
  Refusals refusals_;
};

}  // namespace policysync
