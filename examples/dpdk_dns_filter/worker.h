// A worker lcore's loop and the counters the main lcore reads from it
// (dns_filter.cc). DPDK and policysync; the classification itself is
// burst_filter.h.
//
// Example (main lcore):
//   dns_filter::Worker w;  w.ports = {0};
//   rte_eal_remote_launch(dns_filter::worker_main, &w, lcore);
#pragma once

#include <policysync/policy_store.h>
#include <policysync/reader.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "burst_filter.h"
#include "group_map.h"

namespace dns_filter {

constexpr uint16_t kBurst = 32;
constexpr uint16_t kRing = 1024;

// EAL options for a machine without hugepages or NICs (a test box, CI): the
// memory is ordinary pages, ports come from --vdev only.
inline const std::vector<std::string> kNoHardwareEal = {
    "--no-huge", "--no-pci", "-m", "1024", "--no-shconf", "--no-telemetry"};

inline std::atomic<bool> g_stop{false};
// Ports the workers poll (bit = port id). The demo opens one at a time; a
// worker sees the change at its next burst. Relaxed: no data is published
// through it (the ports were started before the workers launched).
inline std::atomic<uint64_t> g_enabled_ports{~0ull};

struct Worker {
  unsigned lcore = 0;
  std::vector<uint16_t> ports;
  dns::FilterCounters counters;
  std::atomic<uint64_t> tx_full{0};  // forwarded but the TX ring was full: freed
};

struct Shared {
  const policysync::PolicyStore* store = nullptr;
  const dns::GroupMap* map = nullptr;
  bool fail_open = false;  // --on-unparsed=forward (burst_filter.h)
};
inline Shared g_shared;

// Worker lcore. Where each received frame's bytes are: one segment per
// frame (the pool's buffers hold a whole Ethernet frame and scattered RX is
// not enabled).
inline void frame_views(rte_mbuf* const* m, uint16_t n, const uint8_t** frames, uint32_t* lens) {
  for (uint16_t i = 0; i < n; ++i) {
    frames[i] = rte_pktmbuf_mtod(m[i], const uint8_t*);
    lens[i] = rte_pktmbuf_data_len(m[i]);
  }
}

// Worker lcore. Sends the mbufs whose forward[i] is set out of `port`
// (queue 0) in one burst and frees the others; *unsent counts forwarded ones
// the TX ring had no room for (freed too). Returns how many were sent.
inline uint16_t send_or_free(uint16_t port, rte_mbuf* const* m, const bool* forward, uint16_t n,
                             uint16_t* unsent) {
  rte_mbuf* tx[kBurst];
  uint16_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (forward[i])
      tx[k++] = m[i];
    else
      rte_pktmbuf_free(m[i]);
  }
  const uint16_t sent = rte_eth_tx_burst(port, 0, tx, k);
  if (sent < k) rte_pktmbuf_free_bulk(tx + sent, k - sent);
  *unsent = k - sent;
  return sent;
}

inline int worker_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  policysync::Reader reader(*g_shared.store);  // registered on this lcore
  dns::BurstFilter filter(*g_shared.map, reader, w.counters, g_shared.fail_open);
  rte_mbuf* rx[kBurst];
  const uint8_t* frames[kBurst];
  uint32_t lens[kBurst];
  bool forward[kBurst];
  while (!g_stop.load(std::memory_order_relaxed)) {
    const uint64_t enabled = g_enabled_ports.load(std::memory_order_relaxed);
    for (uint16_t port : w.ports) {
      if (!(enabled >> port & 1)) continue;
      const uint16_t n = rte_eth_rx_burst(port, 0, rx, kBurst);
      if (n == 0) continue;
      frame_views(rx, n, frames, lens);
      filter.classify(frames, lens, n, forward);
      uint16_t unsent = 0;
      (void)send_or_free(port, rx, forward, n, &unsent);
      if (unsent) dns::FilterCounters::bump(w.tx_full, unsent);
    }
    reader.quiescent();  // between bursts: old tables can be reclaimed
  }
  reader.offline();
  return 0;
}

inline bool start_port(uint16_t port, rte_mempool* pool, std::string* error) {
  rte_eth_conf conf{};
  const int socket = rte_eth_dev_socket_id(port);
  int rc = rte_eth_dev_configure(port, 1, 1, &conf);
  if (rc == 0) rc = rte_eth_rx_queue_setup(port, 0, kRing, socket, nullptr, pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(port, 0, kRing, socket, nullptr);
  if (rc == 0) rc = rte_eth_dev_start(port);
  if (rc != 0) *error = "port " + std::to_string(port) + ": " + rte_strerror(-rc);
  return rc == 0;
}

// Every worker's counters summed at one moment (each counter on its own:
// the workers keep counting while they are read).
struct Totals {
  static constexpr size_t kKinds = static_cast<size_t>(dns::Kind::kCount);
  uint64_t packets = 0, forwarded = 0, dropped = 0, unmatchable = 0, tx_full = 0;
  uint64_t verdicts[dns::FilterCounters::kActions] = {};
  uint64_t kinds[kKinds] = {};

  static Totals of(const std::vector<std::unique_ptr<Worker>>& workers) {
    Totals t;
    constexpr auto relaxed = std::memory_order_relaxed;
    for (const auto& w : workers) {
      const dns::FilterCounters& c = w->counters;
      t.packets += c.packets.load(relaxed);
      t.forwarded += c.forwarded.load(relaxed);
      t.dropped += c.dropped.load(relaxed);
      t.unmatchable += c.unmatchable.load(relaxed);
      t.tx_full += w->tx_full.load(relaxed);
      for (size_t a = 0; a < dns::FilterCounters::kActions; ++a)
        t.verdicts[a] += c.verdicts[a].load(relaxed);
      for (size_t k = 0; k < kKinds; ++k) t.kinds[k] += c.kinds[k].load(relaxed);
    }
    return t;
  }

  // What was counted since `earlier`.
  Totals since(const Totals& earlier) const {
    Totals d = *this;
    d.packets -= earlier.packets;
    d.forwarded -= earlier.forwarded;
    d.dropped -= earlier.dropped;
    d.unmatchable -= earlier.unmatchable;
    d.tx_full -= earlier.tx_full;
    for (size_t a = 0; a < dns::FilterCounters::kActions; ++a) d.verdicts[a] -= earlier.verdicts[a];
    for (size_t k = 0; k < kKinds; ++k) d.kinds[k] -= earlier.kinds[k];
    return d;
  }

  // "packets=.. forwarded=.. dropped=.. | verdicts: none=.. .. | packets: query=.. .."
  std::string line() const {
    std::ostringstream s;
    s << "packets=" << packets << " forwarded=" << forwarded << " dropped=" << dropped
      << " | verdicts:";
    for (size_t a = 0; a < dns::FilterCounters::kActions; ++a)
      s << ' ' << policysync::action_name(static_cast<policysync::Action>(a)) << '=' << verdicts[a];
    s << " unmatchable=" << unmatchable << " | packets:";
    for (size_t k = 0; k < kKinds; ++k)
      s << ' ' << dns::kind_name(static_cast<dns::Kind>(k)) << '=' << kinds[k];
    if (tx_full) s << " | tx_full=" << tx_full;
    return s.str();
  }
};

}  // namespace dns_filter
