// The provider shape (issue 19, SPEC §3.1): many small groups and a few
// large ones beside a large threat feed (bench/provider.h), through the
// public API a data plane uses: MessageParser -> PolicyStore::apply for the
// load and the resync, encode_snapshot/decode_snapshot for a restart,
// Reader::find_group + lookup over random groups for the workers.
//
// BM_SmallGroupSyncs: N groups of 10 rules (BEGIN_SYNC + 10 ADD_DOMAIN +
// SYNC_COMPLETE each): load and resync rates, bytes per group.
// BM_ProviderSet: the whole set (1M groups, ~20M rules, a 10M feed by
// default; POLICYSYNC_PROVIDER_GROUPS / _FEED scale it): bytes per rule and
// per group (memory_bytes() and RSS), load and resync rates, the longest
// single step, memory after the resync's grace period, restore time, and
// lookups over random groups against the same lookups in one group.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/rcu.h"
#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"
#include "policysync/snapshot.h"
#include "provider.h"

namespace policysync::bench {
namespace {

using Clock = std::chrono::steady_clock;

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

// Resident set size of this process, bytes.
size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Parses and applies payloads one at a time, timing each step (what
// Consumer::poll() cannot split); the payloads are built outside the timing.
struct Applier {
  explicit Applier(PolicyStore& s) : store(s), parser(ParserLimits{}) {}
  PolicyStore& store;
  MessageParser parser;
  Message msg;
  double busy_s = 0;  // parse + apply, summed
  uint64_t messages = 0;
  uint64_t max_step_ns = 0;
  uint64_t steps_over_1ms = 0;
  uint64_t refused = 0;

  // As the consumer does it: a SYNC_COMPLETE's pattern rules compile on
  // another thread (not a control step; the records wait, so its time counts
  // in the rate), the sync is then completed with them (a step).
  void apply(const std::string& payload) {
    auto t0 = Clock::now();
    const bool ok = parser.parse(payload.data(), payload.size(), &msg).ok();
    ApplyResult r = ApplyResult::kRejected;
    if (ok) {
      if (std::unique_ptr<PatternCompile> c = store.compile_for(msg)) {
        step(t0);
        std::thread([&] { c->run(); }).join();
        busy_s += std::chrono::duration<double>(Clock::now() - t0).count();
        t0 = Clock::now();
        r = store.apply(msg, "", std::move(c)).result;
      } else {
        r = store.apply(msg).result;
      }
    }
    step(t0);
    refused += r == ApplyResult::kRejected || r == ApplyResult::kSyncCountMismatch;
    ++messages;
  }
  void step(Clock::time_point t0) {
    const auto ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    busy_s += static_cast<double>(ns) / 1e9;
    max_step_ns = std::max(max_step_ns, ns);
    steps_over_1ms += ns > 1'000'000;
  }
  double rate() const { return static_cast<double>(messages) / busy_s; }
};

std::string sync_msg(const char* type, const std::string& g) {
  return std::string(R"({"type":")") + type + R"(","group_id":")" + g + R"("})";
}
std::string add_msg(const std::string& g, const std::string& domain, uint32_t category) {
  return R"({"type":"ADD_DOMAIN","group_id":")" + g + R"(","domain":")" + domain +
         R"(","action":"blacklist","category":)" + std::to_string(category) + "}";
}

// One sync of group g with `rules(g, j)` for j < n.
template <typename RuleFn>
void sync_group(Applier& a, const std::string& g, uint32_t n, RuleFn rules,
                std::vector<std::string>& buf) {
  buf.clear();
  buf.push_back(sync_msg("BEGIN_SYNC", g));
  for (uint32_t j = 0; j < n; ++j) buf.push_back(add_msg(g, rules(j), j));
  buf.push_back(R"({"type":"SYNC_COMPLETE","group_id":")" + g + R"(","count":)" +
                std::to_string(n) + "}");
  for (const std::string& p : buf) a.apply(p);
}

void report_steps(benchmark::State& state, const std::string& prefix, const Applier& a) {
  state.counters[prefix + "M_msg_per_s"] = a.rate() / 1e6;
  state.counters[prefix + "max_step_us"] = static_cast<double>(a.max_step_ns) / 1e3;
  state.counters[prefix + "steps_over_1ms"] = static_cast<double>(a.steps_over_1ms);
  if (a.refused) state.SkipWithError("a message was refused");
}

// N groups of 10 rules: the SPEC §3.1 small-group case on its own.
void BM_SmallGroupSyncs(benchmark::State& state) {
  const size_t groups = static_cast<size_t>(state.range(0));
  rcu::barrier();  // earlier benchmarks' frees are done
  for (auto _ : state) {
    const size_t rss0 = rss_bytes();
    auto store = std::make_unique<PolicyStore>();
    std::vector<std::string> buf;
    auto rules = [](size_t g) {
      return [g](uint32_t j) { return ProviderSet::rule(g, j + 100).domain; };  // plain, wildcard
    };
    Applier load{*store};
    for (size_t g = 0; g < groups; ++g)
      sync_group(load, ProviderSet::group_id(g), 10, rules(g), buf);
    const size_t bytes = store->memory_bytes();
    const size_t rss = rss_bytes() - rss0;
    Applier resync{*store};
    for (size_t g = 0; g < groups; ++g)
      sync_group(resync, ProviderSet::group_id(g), 10, rules(g), buf);
    rcu::barrier();
    report_steps(state, "load_", load);
    report_steps(state, "resync_", resync);
    state.counters["bytes_per_group"] = static_cast<double>(bytes) / static_cast<double>(groups);
    state.counters["rss_bytes_per_group"] = static_cast<double>(rss) / static_cast<double>(groups);
    state.counters["after_resync_vs_load"] =
        static_cast<double>(store->memory_bytes()) / static_cast<double>(bytes);
    store.reset();
    rcu::barrier();
  }
}
BENCHMARK(BM_SmallGroupSyncs)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);

// The defaults' reach (README "Memory"): max_groups groups of 10 rules beside
// one group at max_entries_per_group, that group resynced; memory_bytes()
// and RSS at the peak (its pending table full beside its active one), and
// the snapshot's encoded size (held in memory while it is written). Run on
// its own for the RSS figure: --benchmark_filter=BM_DefaultLimits.
void BM_DefaultLimits(benchmark::State& state) {
  const StoreLimits limits;
  rcu::barrier();
  for (auto _ : state) {
    const size_t rss0 = rss_bytes();
    auto store = std::make_unique<PolicyStore>(limits);
    std::vector<std::string> buf;
    Applier a{*store};
    const size_t small = limits.max_groups - 1;
    for (size_t g = 0; g < small; ++g)
      sync_group(
          a, ProviderSet::group_id(g), 10,
          [g](uint32_t j) { return ProviderSet::rule(g, j + 100).domain; }, buf);
    const auto big_rules = [](uint32_t j) { return ProviderSet::rule(1, j + 2).domain; };
    const auto n = static_cast<uint32_t>(limits.max_entries_per_group);
    const std::string big = "at-the-limit";
    // Built message by message: 16M payloads held at once would dwarf the store.
    auto sync_big = [&] {
      a.apply(sync_msg("BEGIN_SYNC", big));
      for (uint32_t j = 0; j < n; ++j) a.apply(add_msg(big, big_rules(j), j));
    };
    auto complete_big = [&] {
      a.apply(R"({"type":"SYNC_COMPLETE","group_id":")" + big + R"(","count":)" +
              std::to_string(n) + "}");
    };
    sync_big();
    complete_big();
    sync_big();  // the resync: pending beside active
    const size_t peak_bytes = store->memory_bytes();
    const size_t peak_rss = rss_bytes() - rss0;
    complete_big();
    rcu::barrier();
    Watermarks wm;
    wm.assign({"policy", 0}, 1);
    const size_t snapshot = encode_snapshot(*store, wm).size();
    report_steps(state, "", a);
    state.counters["groups"] = static_cast<double>(store->group_count());
    state.counters["peak_memory_GB"] = static_cast<double>(peak_bytes) / 1e9;
    state.counters["peak_rss_GB"] = static_cast<double>(peak_rss) / 1e9;
    state.counters["steady_memory_GB"] = static_cast<double>(store->memory_bytes()) / 1e9;
    state.counters["snapshot_GB"] = static_cast<double>(snapshot) / 1e9;
    store.reset();
    rcu::barrier();
  }
}
BENCHMARK(BM_DefaultLimits)->Unit(benchmark::kMillisecond)->Iterations(1);

// Queries for the lookup comparison: half rules of the chosen groups (a
// wildcard's subdomain, a plain rule's name), half names no rule holds.
struct Query {
  size_t group;
  std::string name;
};

std::vector<Query> queries(const ProviderSet& p, size_t n, size_t only_group = SIZE_MAX) {
  std::vector<Query> out;
  out.reserve(n);
  for (size_t i = 0; out.size() < n; ++i) {
    const uint64_t r = mix64(0x9e37ull ^ i);
    const size_t g = only_group != SIZE_MAX ? only_group : r % p.groups;
    if (i % 2 == 0) {
      const ProviderSet::Rule rule =
          ProviderSet::rule(g, static_cast<uint32_t>((r >> 32) % p.sizes[g]));
      if (rule.kind == ProviderSet::Kind::kPattern) continue;
      out.push_back({g, rule.kind == ProviderSet::Kind::kWildcard ? "www" + rule.domain.substr(1)
                                                                  : rule.domain});
    } else {
      out.push_back({g, ProviderSet::numbered("q", i, ProviderSet::name_from(r))});
    }
  }
  return out;
}

// Nanoseconds per query: find_group + lookup for each (random groups), or
// lookup alone in a group found once (one group).
double lookup_ns(const PolicyStore& store, const std::vector<Query>& qs, bool per_query_group) {
  Reader reader(store);
  std::vector<std::string> ids;
  ids.reserve(qs.size());
  for (const Query& q : qs) ids.push_back(ProviderSet::group_id(q.group));
  const GroupRef one = reader.find_group(ids[0]);
  uint64_t hits = 0;
  const auto t0 = Clock::now();
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < qs.size(); ++i) {
      const GroupRef g = per_query_group ? reader.find_group(ids[i]) : one;
      hits += reader.lookup(g, qs[i].name).action != Action::kNone;
      if ((i & 31) == 31) reader.quiescent();
    }
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  benchmark::DoNotOptimize(hits);
  return ns / static_cast<double>(2 * qs.size());
}

void BM_ProviderSet(benchmark::State& state) {
  const ProviderSet p(env_size("POLICYSYNC_PROVIDER_GROUPS", 1'000'000),
                      env_size("POLICYSYNC_PROVIDER_FEED", 10'000'000));
  rcu::barrier();
  for (auto _ : state) {
    const size_t rss0 = rss_bytes();
    auto store = std::make_unique<PolicyStore>();
    std::vector<std::string> buf;
    auto rules = [](size_t g) {
      return [g](uint32_t j) { return ProviderSet::rule(g, j).domain; };
    };
    Applier load{*store};
    for (size_t g = 0; g < p.groups; ++g)
      sync_group(load, ProviderSet::group_id(g), p.sizes[g], rules(g), buf);
    for (size_t i = 0; i < p.feed; ++i)
      load.apply(R"({"type":"ADD_MALICIOUS","domain":")" + ProviderSet::malicious(i) +
                 R"(","category":4,"confidence":90})");
    rcu::barrier();
    const size_t bytes = store->memory_bytes();
    const size_t rss = rss_bytes() - rss0;
    const double entries = static_cast<double>(p.rules + p.feed);

    Applier resync{*store};
    for (size_t g = 0; g < p.groups; ++g)
      sync_group(resync, ProviderSet::group_id(g), p.sizes[g], rules(g), buf);
    rcu::barrier();  // the old generations are freed once the grace period passed
    const size_t bytes_after = store->memory_bytes();

    // Restore: the snapshot's encode, then a decode into a fresh store.
    Watermarks wm;
    wm.assign({"policy", 0}, static_cast<int64_t>(load.messages));
    std::string snap = encode_snapshot(*store, wm);
    auto restored = std::make_unique<PolicyStore>();
    Watermarks wm2;
    const auto r0 = Clock::now();
    const Status s = decode_snapshot(snap, restored.get(), &wm2);
    const double restore_s = std::chrono::duration<double>(Clock::now() - r0).count();
    if (!s.ok()) state.SkipWithError(s.to_string().c_str());
    snap = std::string();
    restored.reset();
    rcu::barrier();

    // Lookups: random groups, then the same number in the largest group.
    size_t largest = 0;
    for (size_t g = 1; g < p.groups; ++g)
      if (p.sizes[g] > p.sizes[largest]) largest = g;
    const double random_ns = lookup_ns(*store, queries(p, 1'000'000), true);
    const double one_ns = lookup_ns(*store, queries(p, 1'000'000, largest), false);

    report_steps(state, "load_", load);
    report_steps(state, "resync_", resync);
    state.counters["groups"] = static_cast<double>(p.groups);
    state.counters["rules"] = static_cast<double>(p.rules);
    state.counters["feed"] = static_cast<double>(p.feed);
    state.counters["memory_GB"] = static_cast<double>(bytes) / 1e9;
    state.counters["rss_GB"] = static_cast<double>(rss) / 1e9;
    state.counters["bytes_per_entry"] = static_cast<double>(bytes) / entries;
    state.counters["rss_bytes_per_entry"] = static_cast<double>(rss) / entries;
    state.counters["after_resync_vs_load"] =
        static_cast<double>(bytes_after) / static_cast<double>(bytes);
    state.counters["restore_s"] = restore_s;
    state.counters["restore_ns_per_entry"] = restore_s * 1e9 / entries;
    state.counters["lookup_random_groups_ns"] = random_ns;
    state.counters["lookup_one_group_ns"] = one_ns;
    state.counters["lookup_ratio"] = random_ns / one_ns;
    store.reset();
    rcu::barrier();
  }
}
BENCHMARK(BM_ProviderSet)->Unit(benchmark::kMillisecond)->Iterations(1);

// Restore time per entry for each table kind on its own (issue 19: <= 100 ns
// per entry, linear): a 1M feed, one group of 1M rules, 100k groups of 10.
void BM_RestoreShape(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  PolicyStore store;
  Applier a(store);
  std::vector<std::string> buf;
  size_t entries = 0;
  if (shape == 0) {
    for (size_t i = 0; i < 1'000'000; ++i)
      a.apply(R"({"type":"ADD_MALICIOUS","domain":")" + ProviderSet::malicious(i) +
              R"(","category":4})");
    entries = 1'000'000;
  } else if (shape == 1) {
    sync_group(
        a, "big", 1'000'000, [](uint32_t j) { return ProviderSet::rule(1, j + 2).domain; }, buf);
    entries = 1'000'000;
  } else {
    for (size_t g = 0; g < 100'000; ++g)
      sync_group(
          a, ProviderSet::group_id(g), 10,
          [g](uint32_t j) { return ProviderSet::rule(g, j + 100).domain; }, buf);
    entries = 100'000 * 11;  // a directory entry per group and its rules
  }
  Watermarks wm;
  wm.assign({"policy", 0}, 1);
  const std::string snap = encode_snapshot(store, wm);
  for (auto _ : state) {
    auto fresh = std::make_unique<PolicyStore>();
    Watermarks w;
    const Status s = decode_snapshot(snap, fresh.get(), &w);
    if (!s.ok()) state.SkipWithError(s.to_string().c_str());
    state.PauseTiming();  // tearing the store down is not restoring it
    fresh.reset();
    rcu::barrier();
    state.ResumeTiming();
  }
  state.counters["entries"] = static_cast<double>(entries);
  state.counters["memory_B_per_entry"] =
      static_cast<double>(store.memory_bytes()) / static_cast<double>(entries);
  // The encoded snapshot is held in memory while the writer thread writes it.
  state.counters["snapshot_B_per_entry"] =
      static_cast<double>(snap.size()) / static_cast<double>(entries);
  state.counters["ns_per_entry"] = benchmark::Counter(
      static_cast<double>(entries),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetLabel(shape == 0 ? "feed 1M" : shape == 1 ? "one group 1M" : "100k groups x 10");
}
BENCHMARK(BM_RestoreShape)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace policysync::bench
