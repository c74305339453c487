// How long each single step of the control loop takes (issue 12, item 1): the
// distribution of parse + apply times of every message of a first sync of N
// entries, of a resync of N over N with a snapshot taken in its middle as
// PolicyConsumer takes it (the control thread copies the watermarks and
// starts the encode on a thread of its own; records wait until it is
// written), of N immediate ADD_DOMAINs into a published table, and the one
// step that drops an open sync of N entries (BEGIN_SYNC over it, a count
// mismatch, a revocation, REMOVE_GROUP). A step is
// what Consumer::poll() cannot split, so its maximum is the longest a data
// plane's main loop can be held by policysync.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "core/rcu.h"
#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/snapshot.h"
#include "policysync/watermarks.h"

namespace policysync::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Steps {
  std::vector<uint32_t> ns;  // one per step
  void add(Clock::time_point t0) {
    ns.push_back(static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count(),
        UINT32_MAX)));
  }
  // Sets p50/p99/p999/max (microseconds) with `prefix`.
  void report(benchmark::State& state, const std::string& prefix) {
    if (ns.empty()) return;
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
      return ns[std::min(ns.size() - 1, static_cast<size_t>(q * static_cast<double>(ns.size())))] /
             1e3;
    };
    state.counters[prefix + "p50_us"] = at(0.50);
    state.counters[prefix + "p99_us"] = at(0.99);
    state.counters[prefix + "p999_us"] = at(0.999);
    state.counters[prefix + "max_us"] = ns.back() / 1e3;
    state.counters[prefix + "steps_over_1ms"] =
        static_cast<double>(ns.end() - std::upper_bound(ns.begin(), ns.end(), uint32_t{1'000'000}));
  }
};

// The i-th ADD_DOMAIN of a sync (names as in snapshot_bench.cc).
void add_payload(size_t i, std::string* out) {
  *out = R"({"type":"ADD_DOMAIN","group_id":"g","domain":"d)" + std::to_string(i) + "." +
         std::to_string(i % 997) + R"(.example.com","action":"blacklist","category":3})";
}

// One sync of n entries through parser and store, each message timed; with
// `snapshot_at` > 0, a snapshot is taken after that many: *start_us is what
// the control thread spends starting it, *encode_ms how long the encode (on
// its own thread) holds the records back.
void run_sync(PolicyStore& store, MessageParser& parser, size_t n, Steps* steps,
              size_t snapshot_at = 0, double* start_us = nullptr, double* encode_ms = nullptr) {
  Message m;
  std::string p = R"({"type":"BEGIN_SYNC","group_id":"g"})";
  auto step = [&] {
    const auto t0 = Clock::now();
    if (parser.parse(p.data(), p.size(), &m).ok()) (void)store.apply(m);
    steps->add(t0);
  };
  step();
  Watermarks wm;
  wm.assign({"policy", 0}, 0);
  for (size_t i = 0; i < n; ++i) {
    add_payload(i, &p);  // not timed: the message arrives built
    step();
    if (encode_ms && i + 1 == snapshot_at) {
      const auto t0 = Clock::now();
      auto job = std::async(std::launch::async,
                            [&store, copy = wm] { return encode_snapshot(store, copy).size(); });
      *start_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      benchmark::DoNotOptimize(job.get());
      *encode_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
  }
  p = R"({"type":"SYNC_COMPLETE","group_id":"g"})";
  step();
}

// n immediate ADD_DOMAINs (no sync) into group "h": the published table grows
// while it answers lookups.
void run_immediate(PolicyStore& store, MessageParser& parser, size_t n, Steps* steps) {
  Message m;
  std::string p;
  for (size_t i = 0; i < n; ++i) {
    add_payload(i, &p);
    p.replace(p.find(R"("group_id":"g")"), 14, R"("group_id":"h")");
    const auto t0 = Clock::now();
    if (parser.parse(p.data(), p.size(), &m).ok()) (void)store.apply(m);
    steps->add(t0);
  }
}

// The steps that drop an open sync of n entries without applying it (issue
// 18 item 6): each is timed alone, after the sync was built (not timed).
double drop_step_us(PolicyStore& store, MessageParser& parser, size_t n,
                    const std::function<void()>& drop) {
  Message m;
  std::string p = R"({"type":"BEGIN_SYNC","group_id":"d"})";
  if (parser.parse(p.data(), p.size(), &m).ok()) (void)store.apply(m);
  for (size_t i = 0; i < n; ++i) {
    add_payload(i, &p);
    p.replace(p.find(R"("group_id":"g")"), 14, R"("group_id":"d")");
    if (parser.parse(p.data(), p.size(), &m).ok()) (void)store.apply(m);
  }
  const auto t0 = Clock::now();
  drop();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

void BM_ControlSteps(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Steps first, resync, immediate;
  std::map<std::string, double> drops;
  double start_us = 0, encode_ms = 0;
  // Earlier benchmarks' tables are still being freed on the call_rcu thread
  // (hundreds of MB of munmap, which slows this thread's page faults): wait.
  rcu::barrier();
  for (auto _ : state) {
    PolicyStore store;
    MessageParser parser;
    run_sync(store, parser, n, &first);
    run_sync(store, parser, n, &resync, n / 2, &start_us, &encode_ms);
    run_immediate(store, parser, n, &immediate);
    auto apply = [&](const char* json) {
      Message m;
      if (parser.parse(json, std::strlen(json), &m).ok()) (void)store.apply(m);
    };
    drops["drop_by_begin_sync_us"] =
        drop_step_us(store, parser, n, [&] { apply(R"({"type":"BEGIN_SYNC","group_id":"d"})"); });
    drops["drop_by_count_mismatch_us"] = drop_step_us(
        store, parser, n, [&] { apply(R"({"type":"SYNC_COMPLETE","group_id":"d","count":1})"); });
    drops["drop_by_revocation_us"] =
        drop_step_us(store, parser, n, [&] { (void)store.discard_sync("d"); });
    drops["drop_by_remove_group_us"] =
        drop_step_us(store, parser, n, [&] { apply(R"({"type":"REMOVE_GROUP","group_id":"d"})"); });
  }
  for (const auto& [name, us] : drops) state.counters[name] = us;
  first.report(state, "first_sync_");
  resync.report(state, "resync_");
  immediate.report(state, "immediate_");
  state.counters["snapshot_start_on_control_thread_us"] = start_us;
  state.counters["records_held_by_snapshot_ms"] = encode_ms;
  state.counters["entries"] = static_cast<double>(n);
}
BENCHMARK(BM_ControlSteps)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace policysync::bench
