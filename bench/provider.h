// The provider data set (issue 19, SPEC §3.1): what one node of a DNS
// filtering provider holds. Generated deterministically from a seed, nothing
// checked in:
//  - `groups` customer groups whose sizes follow a heavy tail: 99.5% hold
//    5-50 rules (5 + 45u^5: most near 5-15), 0.5% hold 1,000-100,000
//    (Pareto, alpha 3: most near 1,000), one in 200,000 holds 100,000; about
//    20 rules per group on average, so 1M groups carry ~20M rules;
//  - rules: plain names, one in eight a "*." wildcard, and in one group of a
//    thousand two pattern rules ("ads*.<name>");
//  - a threat feed of `feed` malicious domains.
// Names are 2-4 labels, 8-40 bytes (dataset.h's shape), each rule's first
// label carrying its index so names within a group never repeat.
//
// Example:
//   ProviderSet p(1'000'000, 10'000'000);
//   p.for_each_group([&](size_t g, uint32_t n) { ... p.rule(g, j) ... });
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace policysync::bench {

// splitmix64: one well-mixed 64-bit value per input, no state to carry.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct ProviderSet {
  static constexpr uint64_t kSeed = 20261205;
  size_t groups;
  size_t feed;
  std::vector<uint32_t> sizes;  // rules per group (patterns included)
  size_t rules = 0;

  ProviderSet(size_t group_count, size_t feed_size) : groups(group_count), feed(feed_size) {
    sizes.resize(groups);
    for (size_t g = 0; g < groups; ++g) {
      const uint64_t r = mix64(kSeed ^ (g * 0x100000001b3ull));
      const double u = static_cast<double>(r >> 11) / 9007199254740992.0;  // [0, 1)
      uint32_t n;
      if (g % 200000 == 1) {
        n = 100000;
      } else if ((r & 0x3ff) < 5) {  // 5 in 1024: about 0.5%
        // Pareto, alpha 3, from 1,000, cut at 100,000.
        n = static_cast<uint32_t>(std::min(100000.0, 1000.0 / std::cbrt(1.0 - u)));
      } else {
        // 5-50, skewed towards small: 5 + 45 * u^5.
        n = 5 + static_cast<uint32_t>(45.0 * u * u * u * u * u);
      }
      sizes[g] = n;
      rules += n;
    }
  }

  static std::string group_id(size_t g) { return "tenant-" + std::to_string(g); }

  enum class Kind { kPlain, kWildcard, kPattern };
  struct Rule {
    std::string domain;  // as the PM sends it ("*.x", "ads*.x" included)
    Kind kind;
  };

  // Rule j of group g.
  static Rule rule(size_t g, uint32_t j) {
    const uint64_t r = mix64(kSeed ^ mix64(g) ^ (uint64_t{j} << 1));
    std::string name = numbered("r", j, name_from(r));
    if (g % 1000 == 0 && j < 2) return {"ads" + std::to_string(j) + "*." + name, Kind::kPattern};
    if (r % 8 == 7) return {"*." + name, Kind::kWildcard};
    return {std::move(name), Kind::kPlain};
  }

  // Malicious domain i of the feed.
  static std::string malicious(size_t i) {
    return numbered("m", i, name_from(mix64(kSeed ^ 0xfeedull ^ mix64(i))));
  }

  // prefix, n, '-', rest: appended piece by piece (GCC 12 warns, wrongly,
  // of an overlapping memcpy in "literal" + std::string&&).
  static std::string numbered(std::string_view prefix, uint64_t n, std::string_view rest) {
    std::string out(prefix);
    out += std::to_string(n);
    out += '-';
    out += rest;
    return out;
  }

  // A name from 64 random bits: 1-3 labels of [a-z0-9] and a TLD.
  static std::string name_from(uint64_t r) {
    static const char* kTlds[] = {"com", "net", "org", "de", "io", "uk", "fr", "info",
                                  "xyz", "ru",  "jp",  "nl", "br", "it", "co", "app"};
    static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    const int labels = 1 + static_cast<int>(r % 3);
    r /= 3;
    for (int l = 0; l < labels; ++l) {
      const int len = 3 + static_cast<int>(r % 8);
      r = mix64(r);
      for (int i = 0; i < len; ++i) {
        out += kChars[r % 36];
        r /= 36;
        if (r < 36) r = mix64(r + static_cast<uint64_t>(i));
      }
      out += '.';
    }
    return out + kTlds[r % 16];
  }
};

}  // namespace policysync::bench
