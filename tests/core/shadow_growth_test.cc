// ShadowGrowth (src/core/shadow_growth.h): a pending table grows by taking
// over a shadow it has been copied into, never by a full rebuild once it is
// large, and holds exactly what was written whatever the mix of upserts,
// rewrites and erases.
#include "core/shadow_growth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "core/rcu.h"
#include "core/store_state.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"

namespace policysync::detail {
namespace {

using Growth = ShadowGrowth<RuleTable>;

std::string key_of(size_t i) { return "k" + std::to_string(i) + ".example"; }

RuleValue value_of(uint32_t x) {
  RuleValue v;
  v.category = x;
  return v;
}

TEST(ShadowGrowthTest, LargeTablesGrowByTakingOverTheShadowNeverByRebuilding) {
  auto t = RuleTable::create(64);
  Growth g;
  uint64_t rebuilds_when_large = UINT64_MAX;
  constexpr size_t kKeys = 200'000;
  for (size_t i = 0; i < kKeys; ++i) {
    const std::string k = key_of(i);
    ASSERT_EQ(g.upsert(t, k, DomainHash::hash(k), 0, value_of(static_cast<uint32_t>(i))),
              TablePut::kInserted);
    if (rebuilds_when_large == UINT64_MAX && t->capacity() >= Growth::kMinCapacity)
      rebuilds_when_large = g.stats().rebuilds;
  }
  EXPECT_GE(g.stats().shadow_swaps, 4u) << "capacity " << t->capacity();
  EXPECT_EQ(g.stats().rebuilds, rebuilds_when_large) << "a rebuild after the table got large";
  EXPECT_EQ(g.stats().finished_copies, 0u) << "the shadow was complete every time";
  ASSERT_EQ(t->size(), kKeys);
  for (size_t i = 0; i < kKeys; ++i) {
    const std::string k = key_of(i);
    const char* rec = t->find_one(k, DomainHash::hash(k), 0);
    ASSERT_NE(rec, nullptr) << k;
    EXPECT_EQ(RuleTable::Record(rec).value().category, i) << k;
  }
  g.drop();
  rcu::barrier();
}

// Random upserts (new keys and rewrites, both kinds) and erases against a
// std::map; the table must equal the model at every checkpoint.
TEST(ShadowGrowthTest, HoldsExactlyWhatWasWrittenUnderRewritesAndErases) {
  auto t = RuleTable::create(64);
  Growth g;
  std::map<std::pair<std::string, unsigned>, uint32_t> model;
  std::mt19937_64 rng(12);
  constexpr size_t kOps = 400'000, kPool = 120'000;
  for (size_t op = 1; op <= kOps; ++op) {
    const std::string k = key_of(rng() % kPool);
    const unsigned kind = static_cast<unsigned>(rng() % 2);
    const uint64_t h = DomainHash::hash(k);
    if (rng() % 4 == 0) {
      g.erase(*t, k, h, kind);
      model.erase({k, kind});
    } else {
      const auto x = static_cast<uint32_t>(op);
      ASSERT_NE(g.upsert(t, k, h, kind, value_of(x)), TablePut::kKeyTooLong);
      model[{k, kind}] = x;
    }
    if (op % 50'000 != 0) continue;
    ASSERT_EQ(t->size(), model.size()) << "after " << op << " operations";
    for (const auto& [kk, x] : model) {
      const char* rec = t->find_one(kk.first, DomainHash::hash(kk.first), kk.second);
      ASSERT_NE(rec, nullptr) << kk.first << " kind " << kk.second << " after " << op;
      ASSERT_EQ(RuleTable::Record(rec).value().category, x) << kk.first;
    }
  }
  EXPECT_GE(g.stats().shadow_swaps, 2u);
  g.drop();
  rcu::barrier();
}

// Published tables grow the same way while readers look up: immediate
// ADD_DOMAINs into a group's active table and ADD_MALICIOUS into the feed,
// 150k each, with a reader checking that every entry the writer has
// announced stays visible through every growth (the shadow is published
// whole, the old table retired through RCU).
TEST(ShadowGrowthTest, PublishedTablesNeverHideAnEntryFromReadersWhileGrowing) {
  PolicyStore store;
  constexpr uint64_t kN = 150'000;
  std::atomic<uint64_t> announced{0};  // entries 0..announced-1 are in both tables
  std::atomic<bool> done{false};
  std::thread reader([&] {
    Reader r(store);
    std::mt19937_64 rng(3);
    uint64_t checks = 0;
    while (!done.load()) {
      const uint64_t n = announced.load();
      if (n == 0) {
        r.quiescent();
        continue;
      }
      const uint64_t i = rng() % n;
      ASSERT_EQ(r.lookup("g", key_of(i)).action, Action::kBlacklist) << i << " of " << n;
      ASSERT_EQ(r.lookup("other", "m" + key_of(i)).action, Action::kMalicious) << i << " of " << n;
      if (++checks % 64 == 0) r.quiescent();
    }
  });
  Message add;
  add.type = MessageType::kAddDomain;
  add.group_id = "g";
  add.action = Action::kBlacklist;
  Message mal;
  mal.type = MessageType::kAddMalicious;
  mal.category = 1;
  mal.confidence = 100;
  mal.action = Action::kMalicious;  // as the parser sets it
  for (uint64_t i = 0; i < kN; ++i) {
    add.domain.name = key_of(i);
    mal.domain.name = "m" + key_of(i);
    ASSERT_EQ(store.apply(add).result, ApplyResult::kApplied);
    ASSERT_EQ(store.apply(mal).result, ApplyResult::kApplied);
    announced.store(i + 1);
  }
  done = true;
  reader.join();
  const StoreState& st = PolicyStore::Access::state(store);
  EXPECT_GE(st.malicious_growth.stats().shadow_swaps, 3u);
  EXPECT_EQ(store.active_entries("g"), kN);
}

}  // namespace
}  // namespace policysync::detail
