// A query made ready for the tables: normalised into a padded buffer, split
// into suffixes, every suffix hashed. Reader side, wait-free, no allocation.
// About 1.4 KiB: lives on the worker's stack.
#pragma once

#include <cstring>
#include <string_view>

#include "core/domain_hash.h"
#include "policysync/domain_name.h"

namespace policysync::detail {

struct PreparedQuery {
  char name[kMaxDomainLength + 2 + kHashPadding];
  int n = -1;
  int labels = 0;
  uint8_t starts[kMaxLabels];
  uint64_t hashes[kMaxLabels];

  // False if the query is not a valid ASCII name.
  bool prepare(std::string_view qname) {
    n = normalize_query_ascii(qname, name);
    if (n < 0) return false;
    std::memset(name + n, 0, kHashPadding);
    labels = suffix_hashes(name, n, starts, hashes);
    return true;
  }
  std::string_view suffix(int k) const {
    return {name + starts[k], static_cast<size_t>(n - starts[k])};
  }
};

}  // namespace policysync::detail
