// make bench-dpdk: packets per second of one worker lcore running the DNS
// filter (examples/dpdk_dns_filter/burst_filter.h) against the seed's own
// lookup pipeline (seed_pipeline.h), on the same packets in the same loop.
//
// Policy: group "g" with the data set's 1M domains (blacklist) and 10k suffix
// rules, and a 10k-entry malicious feed; every source maps to "g". Traffic:
// 131,072 pre-built DNS query frames (half IPv4, half IPv6; 50% of the names
// are in the policy), replayed by net_pcap with infinite_rx=1 (each RX copies
// a frame into a fresh mbuf, as a NIC fills one) and sent to net_null.
// Loops, all with the same RX/TX/quiescent code:
//   io         RX -> TX, frames untouched
//   parse      + dns::parse of every frame
//   policysync + BurstFilter::classify (parse, group, one wire batch lookup)
//   seed       + SeedPipeline (parse, key, rte_hash malicious, rte_hash
//                exact, Hyperscan literals)
// Each loop runs kPackets packets, three times, interleaved; medians. Then the
// policysync loop runs while the main lcore applies a 1M-entry resync of "g"
// (BEGIN_SYNC, 1,010,000 ADD_DOMAIN, SYNC_COMPLETE) straight into the store:
// the worker's rate in that window against its rate just before it.
#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_world.h"
#include "burst_filter.h"
#include "dataset.h"
#include "demo_traffic.h"
#include "dns_frame.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"
#include "rte_hash_baseline.h"
#include "seed_pipeline.h"
#include "worker.h"

namespace {

using namespace policysync;
using namespace policysync::bench;

constexpr size_t kFrames = 131072;
constexpr uint64_t kPackets = 8'000'000;
constexpr size_t kSuffixes = 10'000;
constexpr uint16_t kBurst = 32;
constexpr uint16_t kRx = 0, kTx = 1;

enum class Mode { kIo, kParse, kPolicysync, kSeed };
const char* const kModeName[] = {"io", "parse", "policysync", "seed"};

struct Setup {
  PolicyStore* store;
  const dns::GroupMap* map;
  const SeedPipeline* seed;
};
Setup g_setup;

struct Trial {
  Mode mode = Mode::kIo;
  uint64_t packets = 0;  // stop after this many (0: run until `stop`)
  std::atomic<bool> stop{false};
  // Written by the worker after each burst, read by the main lcore during
  // the sync run. Relaxed: a progress figure, nothing is published by it.
  std::atomic<uint64_t> done{0};
  uint64_t cycles = 0;     // worker's TSC cycles for `packets`
  uint64_t forwarded = 0;  // checks that both pipelines agree
};

int run_trial(void* arg) {
  Trial& t = *static_cast<Trial*>(arg);
  Reader reader(*g_setup.store);
  dns::FilterCounters counters;
  dns::BurstFilter filter(*g_setup.map, reader, counters);
  SeedPipeline::Worker seed(*g_setup.seed);
  rte_mbuf* rx[kBurst];
  const uint8_t* frames[kBurst];
  uint32_t lens[kBurst];
  bool forward[kBurst];
  uint64_t done = 0, forwarded = 0;
  const uint64_t start = rte_rdtsc();
  while (t.packets ? done < t.packets : !t.stop.load(std::memory_order_relaxed)) {
    const uint16_t n = rte_eth_rx_burst(kRx, 0, rx, kBurst);
    dns_filter::frame_views(rx, n, frames, lens);
    std::fill(forward, forward + n, true);
    switch (t.mode) {
      case Mode::kIo:
        break;
      case Mode::kParse:
        for (uint16_t i = 0; i < n; ++i)
          forward[i] = dns::parse(frames[i], lens[i]).kind != dns::Kind::kBadName;
        break;
      case Mode::kPolicysync:
        filter.classify(frames, lens, n, forward);
        break;
      case Mode::kSeed:
        seed.classify(frames, lens, n, forward);
        break;
    }
    uint16_t unsent = 0;
    forwarded += dns_filter::send_or_free(kTx, rx, forward, n, &unsent) + unsent;
    done += n;
    t.done.store(done, std::memory_order_relaxed);
    reader.quiescent();
  }
  t.cycles = rte_rdtsc() - start;
  t.forwarded = forwarded;
  reader.offline();
  return 0;
}

std::vector<std::vector<uint8_t>> make_frames(const Dataset& d) {
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < kFrames; ++i) {
    dns::FrameSpec s;
    s.ipv6 = i % 2 == 1;
    s.src_last = static_cast<uint8_t>(i);
    out.push_back(dns::dns_frame(s, dns::question(d.queries[i])));
  }
  return out;
}

void apply_group(PolicyStore& store, const std::vector<std::string>& domains,
                 const std::vector<std::string>& suffixes) {
  (void)store.apply(type_msg(MessageType::kBeginSync, "g"));
  for (size_t i = 0; i < domains.size(); ++i)
    (void)store.apply(add_msg("g", domains[i], static_cast<uint32_t>(i)));
  for (const auto& s : suffixes) (void)store.apply(add_msg("g", "*." + s, 0));
  (void)store.apply(type_msg(MessageType::kSyncComplete, "g"));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int measure(const Dataset& data, const std::vector<std::string>& suffixes,
            const std::vector<std::string>& malicious,
            const std::vector<std::vector<uint8_t>>& frames);

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  char dir[] = "/tmp/dpdk_filter_bench.XXXXXX";
  if (!mkdtemp(dir)) return 1;
  const std::string pcap_path = std::string(dir) + "/queries.pcap";

  std::printf("building the data set: 1M domains, 10k suffix rules, 10k malicious\n");
  const Dataset data = make_dataset(kEntries);
  std::mt19937_64 rng(11);
  std::vector<std::string> suffixes, malicious;
  for (size_t i = 0; i < kSuffixes; ++i)
    suffixes.push_back("s" + std::to_string(i) + "." + random_domain(rng));
  for (size_t i = 0; i < kMalicious; ++i)
    malicious.push_back("m" + std::to_string(i) + "." + random_domain(rng));
  const auto frames = make_frames(data);
  std::string error;
  if (!dns::write_frames(pcap_path, frames, &error)) {
    std::fprintf(stderr, "dpdk_filter_bench: %s\n", error.c_str());
    return 1;
  }

  const std::string vdev_rx = "net_pcap0,rx_pcap=" + pcap_path + ",infinite_rx=1";
  std::vector<std::string> args = {"dpdk_filter_bench"};
  args.insert(args.end(), dns_filter::kNoHardwareEal.begin(), dns_filter::kNoHardwareEal.end());
  args.insert(args.end(),
              {"--log-level=error", "-l", "0-1", "--vdev", vdev_rx, "--vdev", "net_null0"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "dpdk_filter_bench: EAL: %s (needs 2 CPUs)\n", rte_strerror(rte_errno));
    return 1;
  }
  // Small buffers: 131,072 preloaded frames plus the copies in flight.
  rte_mempool* pool = rte_pktmbuf_pool_create("bench", kFrames + 16384, 256, 0,
                                              RTE_PKTMBUF_HEADROOM + 256, rte_socket_id());
  if (!pool || !dns_filter::start_port(kRx, pool, &error) ||
      !dns_filter::start_port(kTx, pool, &error)) {
    std::fprintf(stderr, "dpdk_filter_bench: %s\n", pool ? error.c_str() : "mbuf pool");
    return 1;
  }

  const int rc = measure(data, suffixes, malicious, frames);
  rte_eth_dev_stop(kRx);
  rte_eth_dev_stop(kTx);
  rte_eal_cleanup();
  std::remove(pcap_path.c_str());
  rmdir(dir);
  return rc;
}

// Everything that holds DPDK memory lives here, gone before rte_eal_cleanup.
namespace {
int measure(const Dataset& data, const std::vector<std::string>& suffixes,
            const std::vector<std::string>& malicious,
            const std::vector<std::vector<uint8_t>>& frames) {
  PolicyStore store;
  apply_group(store, data.domains, suffixes);
  for (size_t i = 0; i < malicious.size(); ++i) {
    Message m;
    m.type = MessageType::kAddMalicious;
    m.domain.name = malicious[i];
    m.category = 1;
    (void)store.apply(m);
  }
  RteHashBaseline mal_hash(malicious, "malicious");
  RteHashBaseline exact_hash(data.domains, "exact");
  std::vector<std::string> parents = data.domains;
  parents.insert(parents.end(), suffixes.begin(), suffixes.end());
  const auto compile_start = std::chrono::steady_clock::now();
  SeedPipeline seed(mal_hash, exact_hash, parents);
  const double compile_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - compile_start).count();
  std::printf("seed: Hyperscan literal database of %zu parents compiled in %.1f s\n",
              parents.size(), compile_s);
  dns::GroupMap map;
  std::string error;
  if (!dns::GroupMap::parse("default g\n", "bench", &map, &error)) return 1;
  g_setup = {&store, &map, &seed};
  const unsigned worker = rte_get_next_lcore(rte_lcore_id(), 1, 0);

  // Both pipelines must answer every frame alike before their speed counts.
  size_t blocked = 0, disagree = 0;
  {
    Reader reader(store);
    dns::FilterCounters counters;
    dns::BurstFilter filter(map, reader, counters);
    SeedPipeline::Worker sw(seed);
    for (size_t at = 0; at < frames.size(); at += kBurst) {
      const uint8_t* f[kBurst];
      uint32_t len[kBurst];
      bool a[kBurst], b[kBurst];
      for (size_t i = 0; i < kBurst; ++i) {
        f[i] = frames[at + i].data();
        len[i] = static_cast<uint32_t>(frames[at + i].size());
      }
      filter.classify(f, len, kBurst, a);
      sw.classify(f, len, kBurst, b);
      for (size_t i = 0; i < kBurst; ++i) {
        blocked += !a[i];
        if (a[i] != b[i])
          std::printf("disagree: %s policysync=%s seed=%s\n", data.queries[at + i].c_str(),
                      a[i] ? "forward" : "drop", b[i] ? "forward" : "drop");
        disagree += a[i] != b[i];
      }
      reader.quiescent();
    }
  }
  std::printf("%zu of %zu frames blocked by both pipelines; %zu disagreements\n",
              blocked - disagree, frames.size(), disagree);
  if (disagree) return 1;

  std::vector<double> ns[4];
  double forwarded[4] = {};
  for (int rep = 0; rep < 3; ++rep)
    for (int m = 0; m < 4; ++m) {
      Trial t;
      t.mode = static_cast<Mode>(m);
      t.packets = kPackets;
      rte_eal_remote_launch(run_trial, &t, worker);
      rte_eal_wait_lcore(worker);
      ns[m].push_back(1e9 * static_cast<double>(t.cycles) / static_cast<double>(rte_get_tsc_hz()) /
                      static_cast<double>(t.packets));
      forwarded[m] = static_cast<double>(t.forwarded) / static_cast<double>(t.packets);
    }

  // The sync run: the rate over the 4M packets before the resync, then in it.
  Trial t;
  t.mode = Mode::kPolicysync;
  rte_eal_remote_launch(run_trial, &t, worker);
  const auto seen = [&] { return t.done.load(std::memory_order_relaxed); };
  while (seen() < 1'000'000) rte_pause();  // warm-up
  const uint64_t c0 = seen(), t0 = rte_rdtsc();
  while (seen() < c0 + 4'000'000) rte_pause();
  const uint64_t c1 = seen(), t1 = rte_rdtsc();
  apply_group(store, data.domains, suffixes);
  const uint64_t c2 = seen(), t2 = rte_rdtsc();
  t.stop = true;
  rte_eal_wait_lcore(worker);
  const double hz = static_cast<double>(rte_get_tsc_hz());
  const double before_mpps =
      static_cast<double>(c1 - c0) / (static_cast<double>(t1 - t0) / hz) / 1e6;
  const double during_mpps =
      static_cast<double>(c2 - c1) / (static_cast<double>(t2 - t1) / hz) / 1e6;

  const double io = median(ns[0]), parse = median(ns[1]), ps = median(ns[2]), sd = median(ns[3]);
  std::printf("machine: %ld CPUs; one worker lcore; %llu packets per loop, medians of 3\n",
              sysconf(_SC_NPROCESSORS_ONLN), static_cast<unsigned long long>(kPackets));
  std::printf("| loop | Mpps per lcore | ns/packet | forwarded |\n|---|---|---|---|\n");
  for (int m = 0; m < 4; ++m)
    std::printf("| %s | %.2f | %.1f | %.1f%% |\n", kModeName[m], 1e3 / median(ns[m]), median(ns[m]),
                100 * forwarded[m]);
  std::printf("cost split, ns/packet: I/O %.1f, parse %.1f, lookup policysync %.1f vs seed %.1f\n",
              io, parse - io, ps - parse, sd - parse);
  std::printf("policysync / seed packet rate: %.2fx\n", sd / ps);
  std::printf(
      "1M-entry resync on the main lcore (%.0f ms): worker %.2f Mpps during vs %.2f before "
      "(%+.1f%%)\n",
      1e3 * static_cast<double>(t2 - t1) / hz, during_mpps, before_mpps,
      100.0 * (during_mpps - before_mpps) / before_mpps);
  return 0;
}

}  // namespace
