// Restart from a snapshot vs a replay, in process: restoring N entries from a
// snapshot file against parsing and applying the N messages that built them
// (a lower bound on a replay from a broker, which also has to fetch them).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/rcu.h"
#include "policysync/message_parser.h"
#include "policysync/snapshot.h"

namespace policysync::bench {
namespace {

std::vector<std::string> sync_payloads(size_t n) {
  std::vector<std::string> out;
  out.reserve(n + 2);
  out.push_back(R"({"type":"BEGIN_SYNC","group_id":"g"})");
  for (size_t i = 0; i < n; ++i)
    out.push_back(R"({"type":"ADD_DOMAIN","group_id":"g","domain":"d)" + std::to_string(i) + "." +
                  std::to_string(i % 997) + R"(.example.com","action":"blacklist","category":3})");
  out.push_back(R"({"type":"SYNC_COMPLETE","group_id":"g"})");
  return out;
}

void replay(const std::vector<std::string>& payloads, PolicyStore* store) {
  MessageParser parser;
  Message m;
  for (const std::string& p : payloads)
    if (parser.parse(p.data(), p.size(), &m).ok()) (void)store->apply(m);
}

void BM_Replay(benchmark::State& state) {
  const auto payloads = sync_payloads(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    PolicyStore store;
    replay(payloads, &store);
    benchmark::DoNotOptimize(store.group_count());
  }
  state.counters["entries"] = static_cast<double>(state.range(0));
}

void BM_RestoreFromSnapshotFile(benchmark::State& state) {
  const auto payloads = sync_payloads(static_cast<size_t>(state.range(0)));
  const std::string path = "/tmp/policysync-bench.snapshot";
  {
    PolicyStore store;
    replay(payloads, &store);
    Watermarks wm;
    wm.assign({"policy", 0}, static_cast<int64_t>(payloads.size()));
    const std::string bytes = encode_snapshot(store, wm);
    state.counters["snapshot_MB"] = static_cast<double>(bytes.size()) / 1e6;
    if (!write_snapshot_file(path, bytes).ok()) state.SkipWithError("write failed");
  }
  for (auto _ : state) {
    auto store = std::make_unique<PolicyStore>();
    Watermarks wm;
    {
      std::string bytes;  // freed inside the timing: the restore's own cost
      Status s = read_snapshot_file(path, &bytes);
      if (s.ok()) s = decode_snapshot(bytes, store.get(), &wm);
      if (!s.ok()) state.SkipWithError(s.to_string().c_str());
    }
    benchmark::DoNotOptimize(store->group_count());
    state.PauseTiming();  // ready here; tearing the store down is not restoring it
    store.reset();
    rcu::barrier();
    state.ResumeTiming();
  }
  std::remove(path.c_str());
  state.counters["entries"] = static_cast<double>(state.range(0));
}

BENCHMARK(BM_Replay)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_RestoreFromSnapshotFile)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace policysync::bench
