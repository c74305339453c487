#include "rte_hash_baseline.h"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace policysync::bench {

namespace {
size_t heap_allocated() {
  rte_malloc_socket_stats st{};
  rte_malloc_get_socket_stats(0, &st);
  return st.heap_allocsz_bytes;
}
}  // namespace

bool RteHashBaseline::init_eal() {
  static int rc = [] {
    const char* argv[] = {"bench",       "--no-huge",      "--no-pci",          "-m", "1024",
                          "--no-shconf", "--no-telemetry", "--log-level=error", "-l", "0"};
    const int r =
        rte_eal_init(static_cast<int>(sizeof(argv) / sizeof(argv[0])), const_cast<char**>(argv));
    // EAL pins the calling thread to lcore 0, and threads it starts inherit
    // that; the benchmarks are not a DPDK app, so give every CPU back.
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
    return r;
  }();
  return rc >= 0;
}

RteHashBaseline::RteHashBaseline(const std::vector<std::string>& keys, const char* name) {
  const size_t before = heap_allocated();
  rte_hash_parameters p{};
  p.name = name;
  p.entries = static_cast<uint32_t>(keys.size());
  p.key_len = kKeyLen;
  p.hash_func = rte_hash_crc;
  p.socket_id = 0;
  h_ = rte_hash_create(&p);
  if (h_ == nullptr) {
    std::fprintf(stderr, "rte_hash_create(%s) failed\n", name);
    std::abort();
  }
  std::vector<uint8_t> padded = pad(keys);
  for (size_t i = 0; i < keys.size(); ++i)
    rte_hash_add_key(static_cast<rte_hash*>(h_), padded.data() + i * kKeyLen);
  memory_bytes_ = heap_allocated() - before;
}

RteHashBaseline::~RteHashBaseline() { rte_hash_free(static_cast<rte_hash*>(h_)); }

std::vector<uint8_t> RteHashBaseline::pad(const std::vector<std::string>& names) {
  std::vector<uint8_t> out(names.size() * kKeyLen, 0);
  for (size_t i = 0; i < names.size(); ++i)
    std::memcpy(out.data() + i * kKeyLen, names[i].data(), std::min(names[i].size(), kKeyLen));
  return out;
}

int32_t RteHashBaseline::lookup(const uint8_t* key) const {
  return rte_hash_lookup(static_cast<const rte_hash*>(h_), key);
}

int RteHashBaseline::lookup_bulk(const uint8_t* const* keys, unsigned n, int32_t* positions) const {
  rte_hash_lookup_bulk(static_cast<const rte_hash*>(h_),
                       reinterpret_cast<const void**>(const_cast<const uint8_t**>(keys)), n,
                       positions);
  int hits = 0;
  for (unsigned i = 0; i < n; ++i) hits += positions[i] >= 0;
  return hits;
}

}  // namespace policysync::bench
