// Large table memory: anonymous mmap above 2 MiB (zero pages, faulted in as
// the table fills, so allocating a big table costs nothing up front), and
// cache-line aligned heap memory below.
//
// No MADV_HUGEPAGE: with the kernel's usual THP defrag setting ("madvise"), a
// page fault in an madvised region compacts memory synchronously, and the
// control thread filling a table stalled 5-20 ms at a time (a first sync of
// 10M entries: 20 ms steps; 0.9 ms without it), while lookups measured the
// same within noise with and without it (docs/PERFORMANCE.md, issue 12).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace policysync::detail {

inline constexpr size_t kHugePage = 2u << 20;  // the mmap threshold and rounding

struct BigFree {
  size_t bytes = 0;
  void operator()(void* p) const {
    if (bytes >= kHugePage)
      munmap(p, bytes);
    else
      std::free(p);
  }
};

template <typename T>
using BigPtr = std::unique_ptr<T[], BigFree>;

// Zero-filled memory for n objects of T (trivially constructible). Aborts on
// exhaustion, as operator new would.
template <typename T>
BigPtr<T> big_alloc(size_t n) {
  size_t bytes = n * sizeof(T);
  void* p;
  if (bytes >= kHugePage) {
    bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
  } else {
    // Cache-line aligned, so that 8 slots share one line.
    const size_t rounded = (bytes + 63) / 64 * 64;
    p = std::aligned_alloc(64, rounded ? rounded : 64);
    if (p == nullptr) std::abort();
    std::memset(p, 0, rounded ? rounded : 64);
  }
  return BigPtr<T>(static_cast<T*>(p), BigFree{bytes});
}

}  // namespace policysync::detail
