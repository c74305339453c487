// Hashes of a domain name and of all its parent suffixes in one pass.
//
// The hash of a name chains its labels from the right:
//   h(com) = X(com, seed);  h(example.com) = X(example, h(com)); ...
// with X = XXH3-64 seeded by the previous value, so a lookup of
// "a.b.example.com" gets the hashes of the name and of every parent while
// reading each byte once. Tables store keys under the same hash.
#pragma once

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace policysync::detail {

inline constexpr uint64_t kDomainSeed = 0x9e3779b97f4a7c15ull;
inline constexpr int kMaxLabels = 128;  // 253 bytes hold at most 127 labels

// Splits a normalised name into suffixes. starts[k] is the offset of suffix k
// (k = 0 is the whole name, k = labels-1 the last label); hashes[k] its hash.
// Returns the number of labels.
inline int suffix_hashes(const char* name, int n, uint8_t* starts, uint64_t* hashes) {
  int labels = 0;
  starts[labels++] = 0;
  for (int i = 0; i < n; ++i)
    if (name[i] == '.') starts[labels++] = static_cast<uint8_t>(i + 1);
  uint64_t h = kDomainSeed;
  int end = n;
  for (int k = labels - 1; k >= 0; --k) {
    h = XXH3_64bits_withSeed(name + starts[k], static_cast<size_t>(end - starts[k]), h);
    hashes[k] = h;
    end = starts[k] - 1;
  }
  return labels;
}

inline uint64_t domain_hash(std::string_view name) {
  uint8_t starts[kMaxLabels];
  uint64_t hashes[kMaxLabels];
  suffix_hashes(name.data(), static_cast<int>(name.size()), starts, hashes);
  return hashes[0];
}

inline uint64_t plain_hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

}  // namespace policysync::detail

namespace policysync::detail {
struct DomainHash {
  static uint64_t hash(std::string_view key) { return domain_hash(key); }
};
struct PlainHash {
  static uint64_t hash(std::string_view key) { return plain_hash(key); }
};
}  // namespace policysync::detail
