// The synthetic data set every benchmark uses: N distinct domains of 8-40
// bytes with 2-4 labels and mixed TLDs, and a query stream of 50% hits and 50%
// misses in random order. Deterministic (fixed seed).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace policysync::bench {

struct Dataset {
  std::vector<std::string> domains;  // in the table
  std::vector<std::string> queries;  // 50% from domains, 50% absent, shuffled
};

inline std::string random_domain(std::mt19937_64& rng) {
  static const char* kTlds[] = {"com", "net", "org", "de", "io", "uk", "fr", "info",
                                "xyz", "ru",  "jp",  "nl", "br", "it", "co", "app"};
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  const std::string tld = kTlds[rng() % (sizeof(kTlds) / sizeof(kTlds[0]))];
  const int labels = 2 + static_cast<int>(rng() % 3);              // 2..4
  const int total = 8 + static_cast<int>(rng() % 33);              // 8..40
  int room = total - static_cast<int>(tld.size()) - (labels - 1);  // bytes for the other labels
  if (room < labels - 1) room = labels - 1;
  std::string out;
  for (int l = 0; l < labels - 1; ++l) {
    const int left = labels - 1 - l;
    int len =
        left == 1 ? room : 1 + static_cast<int>(rng() % static_cast<unsigned>(room - left + 1));
    if (len > 63) len = 63;
    room -= len;
    for (int i = 0; i < len; ++i) out += kChars[rng() % 36];
    out += '.';
  }
  return out + tld;
}

inline Dataset make_dataset(size_t n, uint64_t seed = 20261125) {
  std::mt19937_64 rng(seed);
  Dataset d;
  std::unordered_set<std::string> seen;
  seen.reserve(n * 2);
  d.domains.reserve(n);
  while (d.domains.size() < n) {
    std::string s = random_domain(rng);
    if (seen.insert(s).second) d.domains.push_back(std::move(s));
  }
  d.queries.reserve(n);
  for (size_t i = 0; i < n / 2; ++i) d.queries.push_back(d.domains[rng() % n]);
  while (d.queries.size() < n) {
    std::string s = random_domain(rng);
    if (seen.insert(s).second) d.queries.push_back(std::move(s));
  }
  std::shuffle(d.queries.begin(), d.queries.end(), rng);
  return d;
}

}  // namespace policysync::bench
