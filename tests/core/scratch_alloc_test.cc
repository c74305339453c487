// Issue 13.10: a Hyperscan scratch allocation that fails while a new pattern
// database is being published refuses that database (kRejected); the next
// attempt publishes a scratch prototype large enough, never skips it.
#include <gtest/gtest.h>
#include <hs/hs_common.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "store_fixture.h"

namespace policysync {
namespace {

// Allocations left before the allocator starts failing (< 0: never fails).
std::atomic<int> g_allocs_left{-1};

void* counting_malloc(size_t n) {
  int left = g_allocs_left.load();
  while (left >= 0) {
    if (left == 0) return nullptr;
    if (g_allocs_left.compare_exchange_weak(left, left - 1)) break;
  }
  return std::malloc(n);
}

class ScratchAllocTest : public testing::StoreTest {
 protected:
  ScratchAllocTest() { hs_set_scratch_allocator(counting_malloc, std::free); }
  ~ScratchAllocTest() override {
    g_allocs_left = -1;
    hs_set_scratch_allocator(nullptr, nullptr);
  }

  // A sync of `n` pattern rules; more (and longer) patterns need a larger
  // Hyperscan scratch.
  ApplyResult pattern_sync(int n) {
    begin("g");
    for (int i = 0; i < n; ++i)
      add("g", "ads" + std::to_string(i) + "*x*y" + std::to_string(i) + "*.example.com",
          "blacklist");
    return complete("g");
  }
};

TEST_F(ScratchAllocTest, CloneFailureRefusesTheDatabaseAndIsRetriedLater) {
  ASSERT_EQ(pattern_sync(1), ApplyResult::kSyncCompleted);
  const uint64_t grown = store_.counters().scratch_grace_periods.load();
  ASSERT_EQ(grown, 1u);

  // The writer's scratch grows (hs_alloc_scratch makes two allocations),
  // its clone (the third) fails.
  g_allocs_left = 2;
  EXPECT_EQ(pattern_sync(200), ApplyResult::kRejected);
  EXPECT_EQ(last_.status.reason(), Reason::kBadPattern);
  EXPECT_EQ(action("g", "ads1qxzy1w.example.com"), Action::kNone) << "old policy stays";
  EXPECT_EQ(action("g", "ads0qxzy0w.example.com"), Action::kBlacklist);

  // Memory is back: the same sync publishes a new prototype before the
  // database, so every reader's scratch fits it.
  g_allocs_left = -1;
  ASSERT_EQ(pattern_sync(200), ApplyResult::kSyncCompleted);
  EXPECT_EQ(store_.counters().scratch_grace_periods.load(), grown + 1)
      << "the grown scratch was never published to the readers";
  EXPECT_EQ(action("g", "ads199qxzy199w.example.com"), Action::kBlacklist);
}

TEST_F(ScratchAllocTest, AllocationFailureRefusesTheDatabase) {
  ASSERT_EQ(pattern_sync(1), ApplyResult::kSyncCompleted);
  g_allocs_left = 0;
  EXPECT_EQ(pattern_sync(200), ApplyResult::kRejected);
  g_allocs_left = -1;
  EXPECT_EQ(action("g", "ads0qxzy0w.example.com"), Action::kBlacklist);
  EXPECT_EQ(action("g", "ads7qxzy7w.example.com"), Action::kNone);
}

// A reader whose clone fails drops its scratch rather than keep one that may
// be too small; it consults pattern rules again once a clone succeeds.
TEST_F(ScratchAllocTest, ReaderCloneFailureSkipsPatternsUntilItSucceeds) {
  ASSERT_EQ(pattern_sync(1), ApplyResult::kSyncCompleted);
  g_allocs_left = 3;  // the writer's growth (2) and its prototype (1); not the reader's clone
  ASSERT_EQ(pattern_sync(200), ApplyResult::kSyncCompleted);
  EXPECT_EQ(g_allocs_left.load(), 0);
  EXPECT_EQ(action("g", "ads7qxzy7w.example.com"), Action::kNone)
      << "scanned with a scratch older than the database";
  g_allocs_left = -1;
  reader_.quiescent();
  EXPECT_EQ(action("g", "ads7qxzy7w.example.com"), Action::kBlacklist);
}

}  // namespace
}  // namespace policysync
