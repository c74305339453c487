// DPDK rte_hash, the baseline measured in the same run. Kept behind a plain
// interface so that only rte_hash_baseline.cc sees DPDK's headers and flags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace policysync::bench {

class RteHashBaseline {
 public:
  static constexpr size_t kKeyLen = 40;  // the longest name in the data set, zero-padded
  // Starts DPDK's EAL (no hugepages) once per process. False on failure.
  static bool init_eal();
  // `name` must be unique among live tables (DPDK keeps a registry).
  explicit RteHashBaseline(const std::vector<std::string>& keys, const char* name = "baseline");
  ~RteHashBaseline();
  // Padded key copies of `names`, laid out kKeyLen apart.
  static std::vector<uint8_t> pad(const std::vector<std::string>& names);
  int32_t lookup(const uint8_t* key) const;
  // Looks up n (<= 64) keys; returns the number of hits.
  int lookup_bulk(const uint8_t* const* keys, unsigned n, int32_t* positions) const;
  size_t memory_bytes() const { return memory_bytes_; }

 private:
  void* h_ = nullptr;
  size_t memory_bytes_ = 0;
};

}  // namespace policysync::bench
