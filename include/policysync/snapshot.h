// Durable local snapshot of the consumer's state (SPEC §7): every group's
// active policy, every open pending sync, the malicious table, each
// partition's next offset and open syncs, and the syncs refused (SPEC §9),
// so that restore + resume equals never having stopped (SPEC §5.3).
//
// File format (little-endian), version 4; versions 2 and 3 are read too (body:
// src/consumer/snapshot_format.h):
//   "PSYNCSNP" | u32 version | u32 reserved | u64 body length | u64 XXH3-64 of body | body
// A file that is short, has another magic or version, or fails its checksum
// is rejected whole. The checksum catches damage, not forgery: decoding then
// checks every name, group_id, value, offset and limit as a message would be
// checked, before anything touches the store.
//
// Example:
//   std::string bytes = encode_snapshot(store, watermarks);     // control thread
//   Status s = write_snapshot_file(dir + "/policy.snapshot", bytes);
//   ...
//   std::string in; Status r = read_snapshot_file(path, &in);
//   if (r.ok()) r = decode_snapshot(in, &fresh_store, &fresh_watermarks);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policysync/policy_store.h"
#include "policysync/status.h"
#include "policysync/watermarks.h"

namespace policysync {

inline constexpr uint32_t kSnapshotVersion = 4;  // written; 2, 3 and 4 are read

// Control thread (reads the writer's view). O(entries).
std::string encode_snapshot(const PolicyStore& store, const Watermarks& watermarks);

// Applies a snapshot to an empty store and watermarks (control thread).
// Nothing is changed unless the whole snapshot is valid and applied; on any
// error the store and watermarks are as they were.
Status decode_snapshot(const std::string& bytes, PolicyStore* store, Watermarks* watermarks);

// Writes `bytes` to `path` durably: a temporary file in the same directory,
// fsync, rename over `path`, fsync of the directory.
Status write_snapshot_file(const std::string& path, const std::string& bytes);
// Reads and checks magic, version, length and checksum (not the body).
Status read_snapshot_file(const std::string& path, std::string* bytes);

struct SnapshotInfo {
  uint32_t version = 0;
  struct Offset {
    TopicPartition tp;
    int64_t next;
  };
  std::vector<Offset> offsets;
  struct GroupInfo {
    std::string id;
    size_t active = 0;
    bool pending = false;
    size_t pending_entries = 0;
  };
  std::vector<GroupInfo> groups;
  size_t malicious = 0;
  size_t open_syncs = 0;
};
// Every fact a snapshot holds, one sorted line each ("active g example.com
// 2/0/0/100", "offset policy/0 42", ...): equal for equal states, whatever the
// tables' layout. For tests and `policyctl snapshot-info --entries`.
std::string canonical_dump(const std::string& bytes);

// Parses a checked snapshot's contents for display (policyctl snapshot-info).
Status describe_snapshot(const std::string& bytes, SnapshotInfo* info);

}  // namespace policysync
