// Lookup and memory benchmarks beside DPDK's rte_hash, on the same 1M-domain
// data set in the same run (docs/PERFORMANCE.md). Run: make bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_world.h"
#include "core/domain_hash.h"
#include "core/store_state.h"
#include "policysync/reader.h"

namespace policysync::bench {
namespace {

constexpr size_t kBurst = 32;

// --- one key at a time -----------------------------------------------------

void BM_RteHashLookup(benchmark::State& state) {
  World& w = World::get();
  const size_t n = w.data.queries.size();
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += w.rte->lookup(w.padded_query(i)) >= 0;
    if (++i == n) i = 0;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RteHashLookup);

// The exact-match table the store uses, alone: hash the (already normalised,
// padded) name, probe. The same work rte_hash_lookup does on its padded key.
void BM_ExactLookup(benchmark::State& state) {
  World& w = World::get();
  const detail::RuleTable& t = *w.exact_table;
  const size_t n = w.data.queries.size();
  size_t i = 0, hits = 0;
  uint8_t starts[detail::kMaxSplitLabels];
  uint64_t hashes[detail::kMaxSplitLabels];
  for (auto _ : state) {
    const char* name = w.padded_slots.data() + i * World::kSlot;
    const int len = static_cast<int>(w.queries[i].size());
    detail::suffix_hashes(name, len, starts, hashes);
    hits += t.find_one({name, static_cast<size_t>(len)}, hashes[0]) != nullptr;
    if (++i == n) i = 0;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ExactLookup);

// The full verdict through the public API: normalise the query, malicious
// table (10k entries) for the name and every parent, exact, every parent
// suffix, patterns (none in this group).
void BM_VerdictLookup(benchmark::State& state) {
  World& w = World::get();
  Reader reader(*w.store);
  const GroupRef g = reader.find_group("g");
  const size_t n = w.data.queries.size();
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    hits += reader.lookup(g, w.queries[i]).action != Action::kNone;
    if (++i == n) {
      i = 0;
      reader.quiescent();
    }
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_VerdictLookup);

// --- bursts of 32 ----------------------------------------------------------

void BM_RteHashLookupBulk32(benchmark::State& state) {
  World& w = World::get();
  const size_t bursts = w.data.queries.size() / kBurst;
  std::vector<const uint8_t*> keys(w.data.queries.size());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = w.padded_query(i);
  int32_t pos[kBurst];
  size_t b = 0, hits = 0;
  for (auto _ : state) {
    hits += static_cast<size_t>(w.rte->lookup_bulk(keys.data() + b * kBurst, kBurst, pos));
    if (++b == bursts) b = 0;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}
BENCHMARK(BM_RteHashLookupBulk32);

// The exact-match table alone, 32 keys with the same three-stage prefetch
// pipeline the Reader's batch uses: the like-for-like peer of
// rte_hash_lookup_bulk.
void BM_ExactLookupBatch32(benchmark::State& state) {
  World& w = World::get();
  const detail::RuleTable& t = *w.exact_table;
  const size_t bursts = w.queries.size() / kBurst;
  uint8_t starts[detail::kMaxSplitLabels];
  uint64_t hashes[detail::kMaxSplitLabels];
  uint64_t h[kBurst];
  size_t b = 0, hits = 0;
  for (auto _ : state) {
    const size_t first = b * kBurst;
    for (size_t i = 0; i < kBurst; ++i) {
      const char* name = w.padded_slots.data() + (first + i) * World::kSlot;
      detail::suffix_hashes(name, static_cast<int>(w.queries[first + i].size()), starts, hashes);
      h[i] = hashes[0];
      t.prefetch(h[i]);
    }
    for (size_t i = 0; i < kBurst; ++i) t.prefetch_matches(h[i]);
    for (size_t i = 0; i < kBurst; ++i) hits += t.find_one(w.queries[first + i], h[i]) != nullptr;
    if (++b == bursts) b = 0;
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}
BENCHMARK(BM_ExactLookupBatch32);

// Full verdicts in bursts over `names` (dotted or wire), a quiescent state
// after each pass over the data set, as a worker's loop would report.
template <typename Name, typename Lookup>
void verdict_bursts(benchmark::State& state, const std::vector<Name>& names, Lookup lookup,
                    const PolicyStore* store = nullptr) {
  World& w = World::get();
  Reader reader(store ? *store : *w.store);
  const GroupRef g = reader.find_group("g");
  const size_t bursts = names.size() / kBurst;
  Verdict out[kBurst];
  size_t b = 0, hits = 0;
  for (auto _ : state) {
    lookup(reader, g, names.data() + b * kBurst, out);
    hits += out[0].action != Action::kNone;
    if (++b == bursts) {
      b = 0;
      reader.quiescent();
    }
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
}

void BM_VerdictLookupBatch32(benchmark::State& state) {
  verdict_bursts(state, World::get().queries,
                 [](const Reader& r, GroupRef g, const std::string_view* names, Verdict* out) {
                   r.lookup_batch(g, names, kBurst, out);
                 });
}
BENCHMARK(BM_VerdictLookupBatch32);

// The same bursts against a store holding the same group and no malicious
// feed (built on first use): what a deployment without a feed pays.
void BM_VerdictLookupBatch32NoFeed(benchmark::State& state) {
  static const std::unique_ptr<PolicyStore> no_feed = [] {
    auto s = std::make_unique<PolicyStore>();
    load_group(*s, "g", World::get().data.domains);
    return s;
  }();
  verdict_bursts(
      state, World::get().queries,
      [](const Reader& r, GroupRef g, const std::string_view* names, Verdict* out) {
        r.lookup_batch(g, names, kBurst, out);
      },
      no_feed.get());
}
BENCHMARK(BM_VerdictLookupBatch32NoFeed);

// The same bursts with the names in DNS wire format, as a data plane takes
// them from packets (issue 9): compare with BM_VerdictLookupBatch32.
void BM_VerdictLookupWireBatch32(benchmark::State& state) {
  verdict_bursts(state, World::get().wire_queries,
                 [](const Reader& r, GroupRef g, const std::span<const uint8_t>* names,
                    Verdict* out) { r.lookup_wire_batch(g, names, kBurst, out); });
}
BENCHMARK(BM_VerdictLookupWireBatch32);

// --- memory ----------------------------------------------------------------

void BM_MemoryPerEntry(benchmark::State& state) {
  World& w = World::get();
  for (auto _ : state) benchmark::DoNotOptimize(w.store_bytes);
  const double n = static_cast<double>(w.data.domains.size());
  state.counters["policysync_B_per_entry"] = static_cast<double>(w.store_bytes) / n;
  state.counters["exact_table_B_per_entry"] =
      static_cast<double>(w.exact_table->memory_bytes()) / n;
  state.counters["rte_hash_B_per_entry"] = static_cast<double>(w.rte->memory_bytes()) / n;
  state.counters["avg_key_bytes"] = w.avg_key_bytes();
}
BENCHMARK(BM_MemoryPerEntry)->Iterations(1);

}  // namespace
}  // namespace policysync::bench
