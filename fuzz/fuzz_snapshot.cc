// libFuzzer: the snapshot decoder, validator and restore (SPEC §7, issue
// 13.1) on arbitrary files. A checksum gate would stop almost every mutation
// before the body parser, so the first byte picks the mode:
//   0: the rest is a whole snapshot file, header and all;
//   1: the rest is a version-2 body, sealed here with a correct header
//      (length and XXH3-64), as a forger who can write the file would seal it;
//   2: the same as version 3 (the body ends with a hash seed);
//   3 and up: the same as version 4 (then the refused syncs and causes).
// Every input must be refused or restored; either way nothing may crash,
// leak or read out of bounds (ASan+UBSan), and a refusal loads nothing.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "policysync/reader.h"
#include "policysync/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] == 0) {
    bytes = rest;
  } else {
    bytes.assign("PSYNCSNP", 8);
    const uint32_t version = data[0] == 1 ? 2 : data[0] == 2 ? 3 : 4, reserved = 0;
    const uint64_t len = rest.size(), sum = XXH3_64bits(rest.data(), rest.size());
    bytes.append(reinterpret_cast<const char*>(&version), 4);
    bytes.append(reinterpret_cast<const char*>(&reserved), 4);
    bytes.append(reinterpret_cast<const char*>(&len), 8);
    bytes.append(reinterpret_cast<const char*>(&sum), 8);
    bytes += rest;
  }
  policysync::PolicyStore store(policysync::StoreLimits{1000, 100, 100, 0});
  policysync::Watermarks wm;
  policysync::Status s = policysync::decode_snapshot(bytes, &store, &wm);
  if (!s.ok()) {
    if (store.group_count() != 0 || store.malicious_entries() != 0 || !wm.partitions().empty())
      __builtin_trap();  // refused, yet loaded in part
    return 0;
  }
  // Restored: the tables answer lookups and re-encode to an equal snapshot.
  {
    policysync::Reader reader(store);
    policysync::Verdict v = reader.lookup("g", "a.example.com");
    (void)v;
  }
  if (policysync::canonical_dump(policysync::encode_snapshot(store, wm)) !=
      policysync::canonical_dump(bytes))
    __builtin_trap();
  return 0;
}
