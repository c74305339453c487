// Table memory: anonymous mmap from 64 KiB up (zero pages, faulted in as the
// table fills), cache-line aligned heap memory below.
//
// Why not malloc from 64 KiB up: glibc serves everything under its dynamic
// mmap threshold (which climbs to 32 MiB once a large block was freed) from
// the heap, and once the heap holds millions of freed small records, such a
// malloc first sorts glibc's unsorted free list. Measured (docs/PERFORMANCE.md,
// issue 19): a million small-group syncs after a 10M-entry benchmark had 31
// control steps over 1 ms, up to 30 ms, each one a table of 64 KiB-2 MiB
// being allocated (CPU time, no page faults, no table growth in the step);
// with these from mmap: 1 step over 1 ms. Whether glibc or another
// allocator (jemalloc measured the same) is the embedding process's choice;
// this keeps the large blocks off whichever it is.
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

inline constexpr size_t kMapMin = 64u << 10;    // from here on: mmap
inline constexpr size_t kHugePage = 2u << 20;  // from here on: rounded to 2 MiB

// The bytes an allocation of `bytes` really takes.
inline size_t table_alloc_size(size_t bytes) {
  if (bytes >= kHugePage) return (bytes + kHugePage - 1) / kHugePage * kHugePage;
  if (bytes >= kMapMin) return (bytes + 4095) / 4096 * 4096;
  return bytes ? (bytes + 63) / 64 * 64 : 64;
}

// `bytes` of 64-byte aligned memory, zero-filled only if `zero` (mmap's
// always is). Aborts on exhaustion, as operator new would.
inline void* table_alloc(size_t bytes, bool zero) {
  const size_t size = table_alloc_size(bytes);
  void* p;
  if (bytes >= kMapMin) {
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
  } else {
    p = std::aligned_alloc(64, size);
    if (p == nullptr) std::abort();
    if (zero) std::memset(p, 0, size);
  }
  return p;
}

// Frees what table_alloc(bytes, ...) returned.
inline void table_free(void* p, size_t bytes) {
  if (bytes >= kMapMin)
    munmap(p, table_alloc_size(bytes));
  else
    std::free(p);
}

struct BigFree {
  size_t bytes = 0;  // as asked of table_alloc
  void operator()(void* p) const { table_free(p, bytes); }
};

template <typename T>
using BigPtr = std::unique_ptr<T[], BigFree>;

// Zero-filled memory for n objects of T (trivially constructible).
template <typename T>
BigPtr<T> big_alloc(size_t n) {
  const size_t bytes = n * sizeof(T);
  return BigPtr<T>(static_cast<T*>(table_alloc(bytes, /*zero=*/true)), BigFree{bytes});
}

}  // namespace policysync::detail
