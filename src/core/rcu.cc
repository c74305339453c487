#include "core/rcu.h"

#include <atomic>
#include <cassert>
#include <chrono>

namespace policysync::rcu {

#if defined(POLICYSYNC_TSAN)
char g_grace_period_sync;
#endif

}  // namespace policysync::rcu

#if defined(POLICYSYNC_TSAN)
// ThreadSanitizer builds only: suppressions for liburcu, compiled in so that
// every program of a TSan build (tests, kafka_consumer started by the tests)
// has them without TSAN_OPTIONS. liburcu is not built with TSan: its
// grace-period machinery (futexes, uatomic_* with inline asm barriers) is
// invisible to TSan, so memory it allocates on one thread and frees on its
// call_rcu thread looks racy; its reader side, inlined by _LGPL_SOURCE,
// accesses urcu_qsbr_gp (futex wake-up) with volatile loads and stores by
// design. policysync's own reclamation is covered by happens-before
// annotations (rcu.h), not by these.
//
// Debian's libcpp-httplib (the admin endpoint) is not built with TSan either:
// a function-local static it initialises on one worker thread is read by
// another after a guard check TSan cannot see, so its own memcpy/memcmp look
// racy. called_from_lib ignores only the memory accesses of interceptors that
// library calls itself; policysync's handlers, which it calls, stay checked
// (a race: pattern would match any stack with an httplib frame in it).
//
// librdkafka 2.8.0 (built with TSan here) has a data race of its own: its
// broker thread reads a partition's rktp_leader_epoch while building a Fetch
// request (rd_kafka_broker_fetch_toppars, rdkafka_fetcher.c:1109) without
// the partition lock that rd_kafka_toppar_leader_update holds when a
// metadata refresh writes it (rdkafka_topic.c:719). Open upstream:
// https://github.com/confluentinc/librdkafka/issues/5262. It shows when a
// broker comes back while partitions are being fetched: it failed
// MockTest.BrokerLossIsRetriedWhileLookupsKeepAnswering in CI (issue 18
// item 9). The frame is librdkafka's own Fetch builder, never reached from
// policysync code, so no race of ours can hide behind it. A second one, also
// open upstream (https://github.com/confluentinc/librdkafka/issues/4469):
// rd_kafka_broker_set_nodename writes a broker's rkb_nodeid under its lock
// when a consumer group's coordinator is cleared at close, while the broker
// thread reads it unlocked (rd_kafka_transport_request_sent); it failed
// MockTest.PolicyctlErrorsAreNotNacks once (policyctl exited 66, TSan's code).
extern "C" const char* __tsan_default_suppressions() {
  return "race:liburcu-qsbr.so.8\n"
         "race:urcu/static/urcu-qsbr.h\n"
         "called_from_lib:libcpp-httplib.so\n"
         "race:rd_kafka_broker_fetch_toppars\n"
         "race:rd_kafka_broker_set_nodename\n";
}
#endif

namespace policysync::rcu {

namespace {

enum class State { kUnregistered, kOnline, kOffline };

// Per-thread registration. A writer that was never a Reader is registered
// lazily on its first defer() and kept offline, so it never holds up a grace
// period; the guard unregisters it when the thread exits.
struct ThreadState {
  State state = State::kUnregistered;
  bool lazily_registered = false;
  ~ThreadState() {
    if (lazily_registered && state != State::kUnregistered) urcu_qsbr_unregister_thread();
  }
};
thread_local ThreadState t_state;

struct Deferred {
  rcu_head head;  // first member: the callback casts back from it
  void (*fn)(void*);
  void* arg;
  std::chrono::steady_clock::time_point queued;
};

// Relaxed: a statistic, read for display only.
std::atomic<uint64_t> g_last_reclaim_delay_ns{0};

// Callbacks queued and not yet run. seq_cst (rare: one per retired object):
// barrier() skips liburcu's barrier, whose call_rcu thread wakes up to 10 ms
// late, when this reads 0, and then every callback's effects must be visible.
std::atomic<uint64_t> g_outstanding{0};

void run_deferred(rcu_head* head) {
  tsan_after_grace_period();
  auto* d = reinterpret_cast<Deferred*>(head);
  g_last_reclaim_delay_ns.store(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - d->queued)
                                .count()),
      std::memory_order_relaxed);
  d->fn(d->arg);
  delete d;
  g_outstanding.fetch_sub(1);
}

}  // namespace

void register_reader() {
  assert(t_state.state == State::kUnregistered || t_state.lazily_registered);
  if (t_state.state == State::kUnregistered)
    urcu_qsbr_register_thread();
  else if (t_state.state == State::kOffline)
    urcu_qsbr_thread_online();
  t_state.state = State::kOnline;
  t_state.lazily_registered = false;
}

void unregister_reader() {
  tsan_before_quiescent();
  urcu_qsbr_unregister_thread();
  t_state.state = State::kUnregistered;
}

void offline() {
  tsan_before_quiescent();
  urcu_qsbr_thread_offline();
  t_state.state = State::kOffline;
}

void online() {
  urcu_qsbr_thread_online();
  t_state.state = State::kOnline;
}

void defer(void (*fn)(void*), void* arg) {
  auto* d = new Deferred{{}, fn, arg, std::chrono::steady_clock::now()};
  g_outstanding.fetch_add(1);
  if (t_state.state == State::kUnregistered) {
    urcu_qsbr_register_thread();
    urcu_qsbr_thread_offline();
    t_state.state = State::kOffline;
    t_state.lazily_registered = true;
  }
  // call_rcu wants an online thread (it reads per-CPU data under the read lock).
  const bool was_offline = t_state.state == State::kOffline;
  if (was_offline) urcu_qsbr_thread_online();
  // The node and every write before this call happen before run_deferred on
  // liburcu's call_rcu thread; liburcu's queue is not instrumented, so TSan is
  // told here (found by the daemon's tests under TSan: the writer's `new` of d
  // raced with run_deferred's read of d->queued).
  tsan_before_quiescent();
  urcu_qsbr_call_rcu(&d->head, run_deferred);
  if (was_offline) urcu_qsbr_thread_offline();
}

void synchronize() {
  urcu_qsbr_synchronize_rcu();
  tsan_after_grace_period();
}

void barrier() {
  if (g_outstanding.load() == 0) return;  // nothing queued: nothing to wait for
  if (t_state.state == State::kUnregistered) {
    // Nothing was deferred from this thread, but other threads may have.
    urcu_qsbr_register_thread();
    urcu_qsbr_thread_offline();
    t_state.state = State::kOffline;
    t_state.lazily_registered = true;
  }
  urcu_qsbr_barrier();
  tsan_after_grace_period();
}

uint64_t last_reclaim_delay_ns() { return g_last_reclaim_delay_ns.load(std::memory_order_relaxed); }

}  // namespace policysync::rcu
