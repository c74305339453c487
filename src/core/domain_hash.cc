#include "core/domain_hash.h"

#include <sys/random.h>

#include <chrono>

namespace policysync::detail {

uint64_t make_process_hash_seed() {
  uint64_t s = 0;
  if (getrandom(&s, sizeof(s), 0) != sizeof(s))  // fall back to the clock, still per-process
    s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return s | 1;
}

}  // namespace policysync::detail
