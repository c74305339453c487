// What a worker lcore does with one received burst, without DPDK: parse every
// frame (dns_packet.h), map each query's source to its policy group
// (group_map.h), classify the queries of each group with one
// Reader::lookup_wire_batch(), and decide forward or drop:
//   blacklist or malicious verdict       drop
//   any other verdict (whitelist, allow,
//     none, a name no rule can match)    forward
//   not DNS (dns_packet.h's rule)        forward
//   a malformed query to port 53, or     drop (fail-closed; forward with
//     a packet whose port cannot be        fail_open, --on-unparsed=forward)
//     found
// and count each packet by parse result, verdict and drop reason.
//
// Example (one worker lcore, its Reader created on that lcore):
//   dns::BurstFilter filter(map, reader, counters);
//   filter.classify(frames, lens, n, forward);   // then tx or free each mbuf
//   reader.quiescent();
#pragma once

#include <policysync/reader.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns_packet.h"
#include "group_map.h"

namespace dns {

// One worker's counters. Written by that worker only; read by the main lcore
// for stats. Relaxed atomics: each counter is a statistic on its own, no
// other memory is published through it, so no ordering is needed; atomic
// only so that the reader sees whole values (no torn or racy reads).
struct FilterCounters {
  static constexpr size_t kActions = 5;  // policysync::Action values
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> forwarded{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> bursts{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Kind::kCount)> kinds{};
  std::array<std::atomic<uint64_t>, kActions> verdicts{};  // classified queries
  std::atomic<uint64_t> unmatchable{0};  // queries no rule can match (root, '*'): forwarded

  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t verdict(policysync::Action a) const {
    return verdicts[static_cast<size_t>(a)].load(std::memory_order_relaxed);
  }
  uint64_t kind(Kind k) const {
    return kinds[static_cast<size_t>(k)].load(std::memory_order_relaxed);
  }
};

class BurstFilter {
 public:
  static constexpr size_t kMaxBurst = 64;

  // fail_open: packets to port 53 that are not usable queries (and those
  // whose port cannot be found) are forwarded instead of dropped; they are
  // counted by reason either way.
  BurstFilter(const GroupMap& map, const policysync::Reader& reader, FilterCounters& counters,
              bool fail_open = false)
      : map_(map), reader_(reader), c_(counters), fail_open_(fail_open) {}

  // Reader side, wait-free; the Reader's own (registered) thread only.
  // Classifies frames[0..n) (n <= kMaxBurst): forward[i] says what to do
  // with frame i. verdicts (optional) receives each query's verdict
  // (MatchSource::kNone with generation 0 for a packet that is not a query).
  // The group's policy answers all of its queries in the burst from one
  // generation.
  void classify(const uint8_t* const* frames, const uint32_t* lens, size_t n, bool* forward,
                policysync::Verdict* verdicts = nullptr) {
    Packet pk[kMaxBurst];
    int group[kMaxBurst];
    int distinct[kMaxBurst];
    size_t n_distinct = 0;
    for (size_t i = 0; i < n; ++i) {
      pk[i] = parse(frames[i], lens[i]);
      FilterCounters::bump(c_.kinds[static_cast<size_t>(pk[i].kind)]);
      forward[i] = pk[i].kind == Kind::kNotDns || (fail_open_ && pk[i].kind != Kind::kQuery);
      if (verdicts) verdicts[i] = policysync::Verdict();
      if (pk[i].kind != Kind::kQuery) continue;
      group[i] = map_.match(pk[i].ipv6, pk[i].src);
      size_t d = 0;
      while (d < n_distinct && distinct[d] != group[i]) ++d;
      if (d == n_distinct) distinct[n_distinct++] = group[i];
    }
    std::span<const uint8_t> wires[kMaxBurst];
    size_t index[kMaxBurst];
    policysync::Verdict v[kMaxBurst];
    for (size_t d = 0; d < n_distinct; ++d) {
      size_t m = 0;
      for (size_t i = 0; i < n; ++i)
        if (pk[i].kind == Kind::kQuery && group[i] == distinct[d]) {
          wires[m] = pk[i].qname;
          index[m++] = i;
        }
      const policysync::GroupRef ref =
          distinct[d] < 0 ? policysync::GroupRef() : reader_.find_group(map_.groups()[distinct[d]]);
      reader_.lookup_wire_batch(ref, wires, m, v);
      for (size_t j = 0; j < m; ++j) {
        const policysync::Action a = v[j].action;
        FilterCounters::bump(c_.verdicts[static_cast<size_t>(a)]);
        if (v[j].source == policysync::MatchSource::kInvalidQuery)
          FilterCounters::bump(c_.unmatchable);
        forward[index[j]] =
            a != policysync::Action::kBlacklist && a != policysync::Action::kMalicious;
        if (verdicts) verdicts[index[j]] = v[j];
      }
    }
    size_t passed = 0;
    for (size_t i = 0; i < n; ++i) passed += forward[i];
    FilterCounters::bump(c_.packets, n);
    FilterCounters::bump(c_.forwarded, passed);
    FilterCounters::bump(c_.dropped, n - passed);
    FilterCounters::bump(c_.bursts);
  }

 private:
  const GroupMap& map_;
  const policysync::Reader& reader_;
  FilterCounters& c_;
  bool fail_open_;
};

}  // namespace dns
