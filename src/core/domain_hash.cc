#include "core/domain_hash.h"

#include <sys/random.h>

#include <chrono>
#include <cstdlib>

namespace policysync::detail {

uint64_t init_process_hash_seed() {
  uint64_t s = 0;
  if (getrandom(&s, sizeof(s), 0) != sizeof(s))  // fall back to the clock, still per-process
    s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  s |= 1;  // never 0, the "not set" mark
  uint64_t expected = 0;
  // Relaxed: see g_process_hash_seed. A lost race returns the winner's seed.
  if (!g_process_hash_seed.compare_exchange_strong(expected, s, std::memory_order_relaxed))
    return expected;
  return s;
}

bool adopt_process_hash_seed(uint64_t seed) {
  if (seed == 0) return false;
  uint64_t expected = 0;
  if (g_process_hash_seed.compare_exchange_strong(expected, seed, std::memory_order_relaxed))
    return true;
  return expected == seed;
}

#if defined(POLICYSYNC_AES_HASH)
AesHashKeys make_aes_hash_keys() {
  uint64_t k[4];
  uint64_t x = process_hash_seed();
  for (auto& w : k) {  // splitmix64: four independent words from the seed
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    w = z ^ (z >> 31);
  }
  return {_mm_set_epi64x(static_cast<long long>(k[0]), static_cast<long long>(k[1])),
          _mm_set_epi64x(static_cast<long long>(k[2]), static_cast<long long>(k[3]))};
}

bool cpu_has_aes() {
  // POLICYSYNC_PORTABLE_HASH=1 forces the portable hash (tests compare the two).
  if (const char* e = std::getenv("POLICYSYNC_PORTABLE_HASH"); e && e[0] == '1') return false;
  __builtin_cpu_init();  // may run before constructors (a static's initialiser)
  return __builtin_cpu_supports("aes");
}
#endif

}  // namespace policysync::detail
