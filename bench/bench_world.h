// What the benchmarks share, built once per process: the data set, rte_hash
// loaded with it, a PolicyStore whose group "g" holds it (plus a 10k-entry
// malicious feed), and a bare exact-match table with the same keys.
#pragma once

#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/domain_hash.h"
#include "core/store_state.h"
#include "dataset.h"
#include "policysync/message.h"
#include "policysync/policy_store.h"
#include "rte_hash_baseline.h"

namespace policysync::bench {

inline constexpr size_t kEntries = 1'000'000;
inline constexpr size_t kMalicious = 10'000;

inline Message add_msg(const std::string& group, const std::string& domain, uint32_t cat) {
  Message m;
  m.type = MessageType::kAddDomain;
  m.group_id = group;
  m.domain.name = domain;
  m.action = Action::kBlacklist;
  m.category = cat;
  return m;
}

inline Message type_msg(MessageType t, const std::string& group) {
  Message m;
  m.type = t;
  m.group_id = group;
  return m;
}

inline void load_group(PolicyStore& store, const std::string& group,
                       const std::vector<std::string>& names) {
  (void)store.apply(type_msg(MessageType::kBeginSync, group));
  for (size_t i = 0; i < names.size(); ++i)
    (void)store.apply(add_msg(group, names[i], static_cast<uint32_t>(i)));
  (void)store.apply(type_msg(MessageType::kSyncComplete, group));
}

struct World {
  Dataset data = make_dataset(kEntries);
  std::vector<uint8_t> padded = RteHashBaseline::pad(data.queries);
  std::unique_ptr<RteHashBaseline> rte;
  std::unique_ptr<PolicyStore> store = std::make_unique<PolicyStore>();
  std::unique_ptr<detail::RuleTable> exact_table = detail::RuleTable::create(64);
  size_t store_bytes = 0;
  // The queries laid out back to back, as names sit in a burst of packets,
  // so that reading a query costs what reading rte_hash's padded key costs.
  std::string query_blob;
  std::vector<std::string_view> queries;
  // Each query zero-padded in a 64-byte slot, as rte_hash gets its 40-byte keys.
  static constexpr size_t kSlot = 64;
  std::vector<char> padded_slots;
  // The same queries in DNS wire format, back to back (lookup_wire).
  std::vector<uint8_t> wire_blob;
  std::vector<std::span<const uint8_t>> wire_queries;

  World() {
    for (const auto& q : data.queries) query_blob += q;
    padded_slots.assign(data.queries.size() * kSlot, 0);
    for (size_t i = 0; i < data.queries.size(); ++i)
      std::memcpy(padded_slots.data() + i * kSlot, data.queries[i].data(), data.queries[i].size());
    size_t off = 0;
    for (const auto& q : data.queries) {
      queries.emplace_back(query_blob.data() + off, q.size());
      off += q.size();
    }
    std::vector<size_t> wire_starts;
    for (const auto& q : data.queries) {
      wire_starts.push_back(wire_blob.size());
      size_t from = 0;
      for (;;) {
        const size_t dot = q.find('.', from);
        const size_t end = dot == std::string::npos ? q.size() : dot;
        wire_blob.push_back(static_cast<uint8_t>(end - from));
        wire_blob.insert(wire_blob.end(), q.begin() + from, q.begin() + end);
        if (dot == std::string::npos) break;
        from = dot + 1;
      }
      wire_blob.push_back(0);
    }
    wire_starts.push_back(wire_blob.size());
    for (size_t i = 0; i + 1 < wire_starts.size(); ++i)
      wire_queries.emplace_back(wire_blob.data() + wire_starts[i],
                                wire_starts[i + 1] - wire_starts[i]);
    rte = std::make_unique<RteHashBaseline>(data.domains);
    const size_t before = store->memory_bytes();
    load_group(*store, "g", data.domains);
    store_bytes = store->memory_bytes() - before;
    std::mt19937_64 rng(7);
    for (size_t i = 0; i < kMalicious; ++i) {
      Message m;
      m.type = MessageType::kAddMalicious;
      m.domain.name = "m" + std::to_string(i) + "." + random_domain(rng);
      m.category = 1;
      (void)store->apply(m);
    }
    for (size_t i = 0; i < data.domains.size(); ++i) {
      const std::string& k = data.domains[i];
      detail::RuleValue v;
      v.category = static_cast<uint32_t>(i);
      const uint64_t h = detail::domain_hash(k);
      if (exact_table->upsert(k, h, 0, v) == detail::RuleTable::Put::kFull) {
        exact_table = exact_table->rebuilt(exact_table->size() + 1);
        if (exact_table->upsert(k, h, 0, v) != detail::RuleTable::Put::kInserted) std::abort();
      }
    }
  }

  const uint8_t* padded_query(size_t i) const {
    return padded.data() + i * RteHashBaseline::kKeyLen;
  }
  double avg_key_bytes() const {
    size_t total = 0;
    for (const auto& d : data.domains) total += d.size();
    return static_cast<double>(total) / static_cast<double>(data.domains.size());
  }

  static World& get() {
    static World w;
    return w;
  }
};

}  // namespace policysync::bench

#include "core/rcu.h"
namespace policysync::bench {
// Waits until every deferred free has run (for the reclaim-time figure).
inline void rcu_barrier_for_bench() { rcu::barrier(); }
}  // namespace policysync::bench
