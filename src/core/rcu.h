// Thin layer over liburcu's QSBR flavour, used by the store and the Reader.
//
// Reader side: register/unregister, quiescent, offline/online (inlined by
// _LGPL_SOURCE). Writer side: retire(p) frees `p` after a grace period on
// liburcu's call_rcu thread, so the writer never stalls on a large free.
// Contract: docs/rcu.md.
//
// Under ThreadSanitizer, liburcu's own barriers are invisible, so each reader
// releases a TSan sync object just before it announces a quiescent state and
// each reclamation acquires it: exactly the happens-before edge QSBR gives.
#pragma once

#include <urcu/urcu-qsbr.h>

#include <utility>

#if defined(POLICYSYNC_TSAN)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace policysync::rcu {

#if defined(POLICYSYNC_TSAN)
extern char g_grace_period_sync;
inline void tsan_before_quiescent() { __tsan_release(&g_grace_period_sync); }
inline void tsan_after_grace_period() { __tsan_acquire(&g_grace_period_sync); }
#else
inline void tsan_before_quiescent() {}
inline void tsan_after_grace_period() {}
#endif

// Reader side (registered worker threads only; wait-free).
void register_reader();    // thread becomes an online QSBR reader
void unregister_reader();  // thread must hold no RCU-protected pointer
inline void quiescent() {
  tsan_before_quiescent();
  urcu_qsbr_quiescent_state();
}
void offline();
void online();

// Writer side (control thread; any thread may call, never from a callback).
// Runs `fn(arg)` after a grace period, on liburcu's call_rcu thread. O(1).
void defer(void (*fn)(void*), void* arg);

template <typename T>
void retire(T* p) {
  if (p == nullptr) return;
  defer([](void* q) { delete static_cast<T*>(q); }, p);
}

// Deleter of a unique_ptr to an object nobody reads any more whose free must
// not run on the writer (a large table): retire() moves it to the call_rcu
// thread.
template <typename T>
struct RetireDelete {
  void operator()(T* p) const { retire(p); }
};

// Blocks until every reader has passed a quiescent state. ~20 µs when readers
// are busy; use only where the writer must know all readers moved on.
void synchronize();

// Waits until every deferred free has run (tests, shutdown).
void barrier();

// Nanoseconds between the last defer() whose callback has run and that run:
// the grace period plus the reclaim thread's queueing. Any thread.
uint64_t last_reclaim_delay_ns();

}  // namespace policysync::rcu
