// Writer-side benchmarks: parse + apply of ADD_DOMAIN messages, and the
// writer's stall when a 1M-entry group is swapped (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bench_world.h"
#include "policysync/message_parser.h"
#include "policysync/reader.h"

namespace policysync::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<std::string> add_payloads(const std::vector<std::string>& domains) {
  std::vector<std::string> out;
  out.reserve(domains.size());
  for (size_t i = 0; i < domains.size(); ++i)
    out.push_back(R"({"type":"ADD_DOMAIN","group_id":"enterprise_a","domain":")" + domains[i] +
                  R"(","action":"blacklist","category":)" + std::to_string(i % 64) + "}");
  return out;
}

// Baseline: building rte_hash from the same 1M keys (add_key each).
void BM_RteHashAdd1M(benchmark::State& state) {
  World& w = World::get();
  for (auto _ : state) {
    RteHashBaseline h(w.data.domains, "rte_add_bench");
    benchmark::DoNotOptimize(&h);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.data.domains.size()));
}
BENCHMARK(BM_RteHashAdd1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// Parse (simdjson On-Demand, name normalisation) + apply into an open sync.
void BM_ParseApplyAddDomain1M(benchmark::State& state) {
  World& w = World::get();
  static const std::vector<std::string> payloads = add_payloads(w.data.domains);
  MessageParser parser;
  Message m;
  double worst = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto store = std::make_unique<PolicyStore>();
    (void)store->apply(type_msg(MessageType::kBeginSync, "enterprise_a"));
    state.ResumeTiming();
    for (const std::string& p : payloads) {
      const auto t0 = Clock::now();
      if (!parser.parse(p.data(), p.size(), &m).ok()) state.SkipWithError("parse failed");
      (void)store->apply(m);
      worst = std::max(worst, seconds_since(t0));
    }
    state.PauseTiming();
    store.reset();
    state.ResumeTiming();
  }
  state.counters["longest_single_apply_ms"] = worst * 1e3;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * payloads.size()));
}
BENCHMARK(BM_ParseApplyAddDomain1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// Parse alone, to split the cost.
void BM_ParseOnly1M(benchmark::State& state) {
  World& w = World::get();
  static const std::vector<std::string> payloads = add_payloads(w.data.domains);
  MessageParser parser;
  Message m;
  for (auto _ : state)
    for (const std::string& p : payloads)
      benchmark::DoNotOptimize(parser.parse(p.data(), p.size(), &m).ok());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * payloads.size()));
}
BENCHMARK(BM_ParseOnly1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// The writer's stall at SYNC_COMPLETE of a 1M-entry sync replacing a 1M-entry
// policy, with a worker thread looking up throughout. The old policy is freed
// on liburcu's call_rcu thread; the time until it is gone is reported apart.
void BM_SwapStall1M(benchmark::State& state) {
  World& w = World::get();
  PolicyStore store;
  load_group(store, "g", w.data.domains);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0};
  std::thread worker([&] {
    Reader r(store);
    size_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      benchmark::DoNotOptimize(r.lookup("g", w.queries[i]));
      if (++i == w.data.queries.size()) i = 0;
      if ((i & 63) == 0) {
        lookups.fetch_add(64, std::memory_order_relaxed);
        r.quiescent();
      }
    }
  });
  double worst = 0, reclaim = 0, worst_add = 0;
  for (auto _ : state) {
    (void)store.apply(type_msg(MessageType::kBeginSync, "g"));
    for (size_t i = 0; i < w.data.domains.size(); ++i) {
      const auto ta = Clock::now();
      (void)store.apply(add_msg("g", w.data.domains[i], static_cast<uint32_t>(i + 1)));
      worst_add = std::max(worst_add, seconds_since(ta));
    }
    const auto t0 = Clock::now();
    ApplyOutcome o = store.apply(type_msg(MessageType::kSyncComplete, "g"));
    const double stall = seconds_since(t0);
    if (o.result != ApplyResult::kSyncCompleted) state.SkipWithError("sync failed");
    state.SetIterationTime(stall);
    worst = std::max(worst, stall);
    const auto t1 = Clock::now();
    rcu_barrier_for_bench();
    reclaim = std::max(reclaim, seconds_since(t1));
  }
  stop = true;
  worker.join();
  state.counters["max_stall_us"] = worst * 1e6;
  state.counters["longest_add_in_resync_ms"] = worst_add * 1e3;
  state.counters["max_reclaim_ms_on_call_rcu_thread"] = reclaim * 1e3;
  state.counters["worker_lookups"] = static_cast<double>(lookups.load());
}
BENCHMARK(BM_SwapStall1M)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(5);

}  // namespace
}  // namespace policysync::bench

int main(int argc, char** argv) {
  if (!policysync::bench::RteHashBaseline::init_eal()) {
    std::fprintf(stderr, "DPDK EAL init failed (needs --no-huge support)\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
