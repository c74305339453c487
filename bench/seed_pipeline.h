// The seed's lookup pipeline, written from its description (Module 20's
// data-plane application): per burst, parse each frame, turn each query's
// QNAME into a lower-case dotted key zero-padded to rte_hash's key length,
// look the burst up in the malicious rte_hash, then in the group's exact
// rte_hash, and scan what neither table holds with the group's Hyperscan
// literal database, compiled from the group's domain table ("build pending
// Hyperscan DB from pending domain table" at each SYNC_COMPLETE). The
// literals are ".parent\0", scanned over the key and its zero pad, so that
// they match strict subdomains only: with the exact table, the same answers
// as policysync's rules. The baseline dpdk_filter_bench measures
// dns::BurstFilter against, on the same packets in the same loop.
//
// Example:
//   SeedPipeline seed(malicious, exact, parents);   // compiles the HS database
//   SeedPipeline::Worker w(seed);                    // per lcore: its scratch
//   w.classify(frames, lens, n, forward);
#pragma once

#include <hs/hs.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dns_packet.h"
#include "rte_hash_baseline.h"

namespace policysync::bench {

class SeedPipeline {
 public:
  static constexpr size_t kMaxBurst = 64;  // rte_hash_lookup_bulk's limit
  static constexpr size_t kKeyLen = RteHashBaseline::kKeyLen;

  // `parents`: domains whose strict subdomains are blocked (every plain
  // rule, every "*." rule's parent).
  SeedPipeline(const RteHashBaseline& malicious, const RteHashBaseline& exact,
               const std::vector<std::string>& parents)
      : malicious_(malicious), exact_(exact) {
    std::vector<std::string> lits;
    for (const auto& s : parents) lits.push_back("." + s + '\0');
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    std::vector<unsigned> flags(lits.size(), HS_FLAG_SINGLEMATCH), ids(lits.size());
    for (size_t i = 0; i < lits.size(); ++i) {
      ptrs.push_back(lits[i].c_str());
      lens.push_back(lits[i].size());
      ids[i] = static_cast<unsigned>(i);
    }
    hs_compile_error_t* err = nullptr;
    if (hs_compile_lit_multi(ptrs.data(), flags.data(), ids.data(), lens.data(),
                             static_cast<unsigned>(lits.size()), HS_MODE_BLOCK, nullptr, &db_,
                             &err) != HS_SUCCESS) {
      std::fprintf(stderr, "seed pipeline: hs_compile_lit_multi: %s\n", err ? err->message : "?");
      std::abort();
    }
  }
  ~SeedPipeline() { hs_free_database(db_); }

  // One per worker lcore (Hyperscan scratch is per thread).
  class Worker {
   public:
    explicit Worker(const SeedPipeline& p) : p_(p) {
      if (hs_alloc_scratch(p.db_, &scratch_) != HS_SUCCESS) std::abort();
    }
    ~Worker() { hs_free_scratch(scratch_); }

    // forward[i]: frame i passes (not DNS, or a query no table blocks).
    void classify(const uint8_t* const* frames, const uint32_t* lens, size_t n, bool* forward) {
      uint8_t keys[kMaxBurst][kKeyLen + 1];  // + the zero that ends a 40-byte name
      const uint8_t* key_ptr[kMaxBurst];
      size_t key_len[kMaxBurst], index[kMaxBurst];
      size_t m = 0;
      for (size_t i = 0; i < n; ++i) {
        const dns::Packet pk = dns::parse(frames[i], lens[i]);
        forward[i] = pk.kind == dns::Kind::kNotDns;
        if (pk.kind != dns::Kind::kQuery) continue;
        key_len[m] = to_key(pk.qname.data(), keys[m]);
        key_ptr[m] = keys[m];
        index[m++] = i;
      }
      if (m == 0) return;
      int32_t mal[kMaxBurst], exact[kMaxBurst];
      p_.malicious_.lookup_bulk(key_ptr, static_cast<unsigned>(m), mal);
      p_.exact_.lookup_bulk(key_ptr, static_cast<unsigned>(m), exact);
      for (size_t j = 0; j < m; ++j) {
        bool blocked = mal[j] >= 0 || exact[j] >= 0;
        // The zero after the name anchors ".parent\0" at its end.
        if (!blocked)
          hs_scan(p_.db_, reinterpret_cast<const char*>(keys[j]),
                  static_cast<unsigned>(key_len[j] + 1), 0, scratch_, on_match, &blocked);
        forward[index[j]] = !blocked;
      }
    }

   private:
    static int on_match(unsigned, unsigned long long, unsigned long long, unsigned, void* hit) {
      *static_cast<bool*>(hit) = true;
      return 1;  // stop scanning
    }
    // Wire QNAME -> lower-case dotted key, zero-padded; longer names are cut
    // at kKeyLen (the data set's names all fit). Returns the name's length.
    static size_t to_key(const uint8_t* wire, uint8_t* key) {
      std::memset(key, 0, kKeyLen + 1);
      size_t out = 0;
      for (size_t at = 0; wire[at] != 0; at += wire[at] + 1) {
        if (out) {
          if (out < kKeyLen) key[out] = '.';
          ++out;
        }
        for (size_t i = 1; i <= wire[at]; ++i, ++out) {
          const uint8_t c = wire[at + i];
          if (out < kKeyLen) key[out] = c >= 'A' && c <= 'Z' ? c + 32 : c;
        }
      }
      return out < kKeyLen ? out : kKeyLen;
    }

    const SeedPipeline& p_;
    hs_scratch_t* scratch_ = nullptr;
  };

 private:
  const RteHashBaseline& malicious_;
  const RteHashBaseline& exact_;
  hs_database_t* db_ = nullptr;
};

}  // namespace policysync::bench
