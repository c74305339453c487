// Readers look up without pause while the writer applies many syncs; every
// entry of generation k carries category k, so a batch that mixes two
// generations, a partial sync, or a removed entry seen after its removal was
// published are all detectable. Runs under ThreadSanitizer in `make test`
// (and under ASan, which catches a read of reclaimed memory).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "policysync/message.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"

namespace policysync {
namespace {

constexpr int kEntries = 64;  // per generation
constexpr int kBatch = 32;

Message msg(MessageType t, std::string group, std::string domain = {}, uint32_t category = 0,
            RuleKind kind = RuleKind::kPlain) {
  Message m;
  m.type = t;
  m.group_id = std::move(group);
  m.domain.name = std::move(domain);
  m.domain.kind = kind;
  m.action = Action::kWhitelist;
  m.category = category;
  return m;
}

std::string entry(int i) { return "e" + std::to_string(i) + ".gen.test"; }

struct Shared {
  PolicyStore store;
  std::atomic<bool> done{false};
  // Release store after a victim's REMOVE_DOMAIN was applied; readers that
  // acquire it must never see that victim again.
  std::atomic<int> removed_upto{-1};
  std::atomic<uint64_t> batches{0};
};

void writer(Shared* s, int generations) {
  auto apply = [&](const Message& m) {
    ApplyOutcome o = s->store.apply(m);
    ASSERT_NE(o.result, ApplyResult::kRejected) << o.status.to_string();
  };
  for (int k = 1; k <= generations; ++k) {
    const uint32_t cat = static_cast<uint32_t>(k);
    apply(msg(MessageType::kBeginSync, "g"));
    // Entries in a different order each time, so the tables differ in layout.
    for (int j = 0; j < kEntries; ++j)
      apply(msg(MessageType::kAddDomain, "g", entry((j * 7 + k) % kEntries), cat));
    // A few pattern rules, their number varying so Hyperscan scratch needs change.
    for (int p = 0; p <= k % 4; ++p)
      apply(msg(MessageType::kAddDomain, "g", "p" + std::to_string(p) + "x*.gen.test", cat,
                RuleKind::kPattern));
    // An immediate add and remove of another group's victim, mid-sync of g.
    apply(msg(MessageType::kAddDomain, "v", "v" + std::to_string(k) + ".victim", cat));
    apply(msg(MessageType::kRemoveDomain, "v", "v" + std::to_string(k) + ".victim"));
    s->removed_upto.store(k, std::memory_order_release);
    apply(msg(MessageType::kSyncComplete, "g"));
  }
  s->done.store(true, std::memory_order_release);
}

void reader(Shared* s, std::atomic<int>* failures) {
  Reader r(s->store);
  std::vector<std::string> names;
  for (int i = 0; i < kBatch - 2; ++i) names.push_back(entry(i * 2 % kEntries));
  names.push_back("p0x1.gen.test");  // pattern rule p0x* exists in every generation
  names.push_back("x.e3.gen.test");  // suffix match on e3.gen.test
  std::vector<std::string_view> views(names.begin(), names.end());
  Verdict out[kBatch];
  uint32_t last_gen = 0;
  while (!s->done.load(std::memory_order_acquire)) {
    const int removed = s->removed_upto.load(std::memory_order_acquire);
    r.lookup_batch(r.find_group("g"), views.data(), views.size(), out);
    s->batches.fetch_add(1, std::memory_order_relaxed);
    const uint32_t gen = out[0].category;
    for (int i = 0; i < kBatch; ++i) {
      // Before the first sync nothing is there; after it every name must hit,
      // all with one generation's category.
      // One sync per generation: the policy's generation number is k too.
      if (gen == 0 ? out[i].action != Action::kNone
                   : (out[i].action != Action::kWhitelist || out[i].category != gen ||
                      out[i].generation != gen)) {
        ADD_FAILURE() << "batch mixes generations: name " << views[i] << " category "
                      << out[i].category << " vs " << gen;
        failures->fetch_add(1);
      }
    }
    if (gen < last_gen) {
      ADD_FAILURE() << "generation went back from " << last_gen << " to " << gen;
      failures->fetch_add(1);
    }
    last_gen = gen;
    if (removed > 0) {
      const std::string victim = "v" + std::to_string(removed) + ".victim";
      if (r.lookup("v", victim).action != Action::kNone) {
        ADD_FAILURE() << victim << " seen after its removal";
        failures->fetch_add(1);
      }
    }
    if (failures->load() > 10) break;
    r.quiescent();
  }
}

TEST(ConcurrencyTest, NoBatchEverSeesTwoGenerations) {
  Shared s;
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader, &s, &failures);
  std::thread w(writer, &s, 400);
  w.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(s.batches.load(), 0u);
  EXPECT_EQ(s.store.counters().syncs_completed.load(), 400u);
}

TEST(ConcurrencyTest, ReaderGoingOfflineDoesNotBlockTheWriter) {
  Shared s;
  std::atomic<bool> offline{false};
  std::atomic<bool> release{false};
  std::thread idle([&] {
    Reader r(s.store);
    r.offline();
    offline.store(true);
    while (!release.load()) std::this_thread::yield();
    r.online();
    EXPECT_EQ(r.lookup("g", entry(1)).category, 50u);
  });
  while (!offline.load()) std::this_thread::yield();
  // The writer needs grace periods (pattern scratch growth) while a reader is
  // offline and never quiescent: it must still finish.
  writer(&s, 50);
  release.store(true);
  idle.join();
}

// /groups and /metrics scan the group directory from a reader thread while the
// writer creates, syncs and removes groups (the directory grows and is
// rebuilt): every group seen carries a consistent generation and origin.
TEST(ConcurrencyTest, GroupScanWhileGroupsComeAndGo) {
  PolicyStore store;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> seen{0};
  std::atomic<int> failures{0};
  std::thread scanner([&] {
    Reader r(store);
    while (!done.load(std::memory_order_acquire)) {
      uint64_t cursor = 0;
      do {
        cursor = r.for_each_group(cursor, 64, [&](const GroupVersion& v) {
          seen.fetch_add(1, std::memory_order_relaxed);
          // Generation k was published by the SYNC_COMPLETE named "@k".
          const std::string want = v.generation ? "policy/0@" + std::to_string(v.generation) : "";
          if (v.origin != want || v.group.empty()) failures.fetch_add(1);
        });
        r.quiescent();
      } while (cursor != 0 && !done.load(std::memory_order_acquire));
    }
  });
  std::vector<int> generation(50, 0);  // the writer's count of each group's syncs
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 50; ++i) {
      const std::string g = "g" + std::to_string(i);
      for (int k = 1; k <= 2; ++k) {
        (void)store.apply(msg(MessageType::kBeginSync, g));
        (void)store.apply(msg(MessageType::kAddDomain, g, "a.test", 1));
        (void)store.apply(msg(MessageType::kSyncComplete, g),
                          "policy/0@" + std::to_string(++generation[i]));
      }
    }
    for (int i = 0; i < 50; i += 2) {
      (void)store.apply(msg(MessageType::kRemoveGroup, "g" + std::to_string(i)));
      generation[i] = 0;
    }
    // The scanner has seen groups before the writer goes on (it could run
    // all 40 rounds before the scanner's first pass, and end empty).
    while (round == 0 && seen.load(std::memory_order_relaxed) == 0) std::this_thread::yield();
    if (round % 10 == 9) {
      store.clear();  // everything at once, as a discarded snapshot does
      std::fill(generation.begin(), generation.end(), 0);
    }
  }
  done.store(true, std::memory_order_release);
  scanner.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(seen.load(), 0u);
}

}  // namespace
}  // namespace policysync
