// Large table memory backed by transparent huge pages where the kernel allows
// them (MADV_HUGEPAGE): a 1M-entry table spans ~50 MB that lookups touch at
// random, and 4 KiB pages would cost a TLB miss on nearly every probe.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace policysync::detail {

inline constexpr size_t kHugePage = 2u << 20;

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
    madvise(p, bytes, MADV_HUGEPAGE);  // advisory: fine if refused
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
