// The snapshot body as decoded, before anything is applied: shared by the
// codec (snapshot.cc) and its validator (snapshot_check.cc). Not public.
//
// Body, version 3 (little-endian; str16 = u16 length + bytes):
//   u32 partitions, each: str16 topic, i32 partition, i64 next,
//       u32 holds, each: i64 offset, str16 reason
//   u32 open syncs, each: str16 group, str16 topic, i32 partition, i64 begin
//   entries (malicious table)
//   u32 groups, each: str16 id, u64 generation, str16 origin, i64 synced
//       (unix ms), entries (active),
//       u8 flags (1 = pending, 2 = aborted, 4 = over the open-sync limit),
//       if pending: u64 adds, entries (pending)
//   entries = u32 n, each: u8 kind (0 plain, 1 wildcard, 2 pattern),
//       u8 length + name, RuleValue (raw bytes), in the table's slot order
//   u64 hash seed of the writing process (version 3; version 2 ends before
//       it): adopted by a restoring process that has hashed nothing yet, so
//       that slot order is insertion order again (detail::adopt_process_hash_seed)
//   version 4 (version 3 ends before it): the refused syncs (SPEC §9,
//       Refusals), so that a restart forgets no NACK:
//       u32 n (<= Refusals::kMax), each: str16 group, str16 sync, str16 at,
//           str16 reason, i64 unix_ms; oldest first
//       u32 causes, each: str16 group, str16 at, str16 reason
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/rule_value.h"
#include "match/pattern_set.h"
#include "policysync/domain_name.h"
#include "policysync/policy_store.h"
#include "policysync/snapshot.h"
#include "policysync/watermarks.h"

namespace policysync::snapshot {

struct Entry {
  std::string_view name;  // into the snapshot's bytes, which outlive it
  RuleKind kind;
  detail::RuleValue value;
  uint64_t hash =
      0;  // domain_hash(name) of a plain or wildcard entry, set before the tables are filled
};

struct Group {
  std::string id;
  uint64_t generation = 0;  // of the active policy (Reader::version)
  std::string origin;
  int64_t synced_unix_ms = 0;
  std::vector<Entry> active;
  // The active pattern rules compiled by check(), so that the restore does
  // not compile them a second time (null: none).
  std::unique_ptr<detail::PatternSet> active_patterns;
  bool has_pending = false;
  bool aborted = false;
  bool over_limit = false;
  uint64_t adds = 0;
  std::vector<Entry> pending;
};

struct Partition {
  SnapshotInfo::Offset offset;
  std::vector<std::pair<int64_t, std::string>> holds;
};

struct Staged {
  uint64_t hash_seed = 0;          // 0: none (version 2)
  std::vector<Rejection> refused;  // version 4
  std::vector<std::pair<std::string, Refusals::Cause>> causes;
  std::vector<Partition> partitions;
  std::vector<Watermarks::OpenSync> open;
  std::vector<Entry> malicious;
  std::vector<Group> groups;
};

inline constexpr uint8_t kFlagPending = 1, kFlagAborted = 2, kFlagOverLimit = 4;

// Checks that a decoded snapshot holds exactly what messages could have
// produced (SPEC §2, §7): every name normalised, every group_id valid and
// unique, every value in range, every pattern set compilable, offsets and
// open syncs consistent, limits respected. The checksum is no MAC: whoever
// can write the file can make it pass, so nothing is trusted. Keeps each
// group's compiled active patterns (Group::active_patterns).
Status check(Staged& st, const StoreLimits& limits);

}  // namespace policysync::snapshot
