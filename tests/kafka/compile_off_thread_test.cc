// SPEC §5.1: a SYNC_COMPLETE's pattern rules compile off the control thread
// (Hyperscan takes milliseconds to seconds): poll() returns meanwhile, no
// record is applied until the sync is finished with its compiled set, and
// then everything goes on in order.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "core/store_state.h"
#include "kafka/producer.h"
#include "mock_fixture.h"
#include "policysync/consumer.h"
#include "policysync/reader.h"

namespace policysync {
namespace {

using testing::add;
using testing::begin;
using testing::complete;
using testing::MockTest;
using testing::produce;
using testing::wait_until;

struct CompileLatch {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  bool released = false;
  std::thread::id thread;
};
CompileLatch g_latch;
void hold_compile() {
  std::unique_lock<std::mutex> l(g_latch.mu);
  ++g_latch.calls;
  g_latch.thread = std::this_thread::get_id();
  g_latch.cv.notify_all();
  g_latch.cv.wait_for(l, std::chrono::seconds(60), [] { return g_latch.released; });
}

TEST_F(MockTest, PatternRulesCompileOffTheControlThreadWhileRecordsWait) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  // The records after the SYNC_COMPLETE are there already, fetched with it
  // (in one poll()'s slice): the group's next sync, and another group's
  // immediate add. None may be applied before the first sync is published
  // (review of this change: Consumer::poll() went on applying them, the next
  // sync restarted the compiling one, and both were lost).
  produce(brokers_, "policy", "g",
          {begin("g"), add("g", "ads*.example.com"), add("g", "plain.test"), complete("g", 2),
           begin("g"), add("g", "second.test"), add("g", "ads*.example.com"), complete("g", 2),
           add("h", "early.test")});
  PolicyStore store;
  Log quiet([](LogLevel, std::string_view) {});
  std::unique_ptr<Consumer> consumer;
  detail::g_before_pattern_compile_for_test = hold_compile;
  ASSERT_TRUE(Consumer::create(options("policy", quiet), store, &consumer).ok());
  // The SYNC_COMPLETE is read; its compile starts on another thread and is held.
  ASSERT_TRUE(wait_until([&] {
    EXPECT_TRUE(consumer->poll(std::chrono::milliseconds(10)).ok());
    std::lock_guard<std::mutex> l(g_latch.mu);
    return g_latch.calls > 0;
  }));
  {
    std::lock_guard<std::mutex> l(g_latch.mu);
    EXPECT_NE(g_latch.thread, std::this_thread::get_id()) << "compiled on the control thread";
  }
  EXPECT_EQ(store.counters().syncs_completed.load(), 0u) << "published before its compile ran";
  EXPECT_TRUE(store.has_open_sync("g"));
  const uint64_t consumed = consumer->counters().consumed.load();
  EXPECT_EQ(consumed, 4u) << "records after the compiling SYNC_COMPLETE were handled";
  // A record after it arrives: poll() returns and leaves it unapplied.
  produce(brokers_, "policy", "h", {add("h", "late.test")});
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
       std::chrono::steady_clock::now() < end;)
    ASSERT_TRUE(consumer->poll(std::chrono::milliseconds(5)).ok());
  EXPECT_EQ(consumer->counters().consumed.load(), consumed) << "applied while a sync compiled";
  {
    std::lock_guard<std::mutex> l(g_latch.mu);
    g_latch.released = true;
  }
  g_latch.cv.notify_all();
  // The sync completes with its patterns, then the waiting records are
  // applied in order: the second sync (compiled off the thread too) and the
  // immediate adds.
  ASSERT_TRUE(wait_until([&] {
    EXPECT_TRUE(consumer->poll(std::chrono::milliseconds(10)).ok());
    return consumer->counters().consumed.load() == consumed + 6;
  }));
  EXPECT_EQ(store.counters().syncs_completed.load(), 2u);
  EXPECT_EQ(store.counters().syncs_aborted.load(), 0u);
  EXPECT_EQ(store.counters().syncs_restarted.load(), 0u);
  Reader reader(store);
  EXPECT_EQ(reader.lookup("g", "ads7.example.com").action, Action::kBlacklist);
  EXPECT_EQ(reader.lookup("g", "plain.test").action, Action::kNone) << "sync 2 replaced sync 1";
  EXPECT_EQ(reader.lookup("g", "second.test").action, Action::kBlacklist);
  EXPECT_EQ(reader.version(reader.find_group("g")).generation, 2u);
  EXPECT_EQ(reader.lookup("h", "early.test").action, Action::kBlacklist);
  EXPECT_EQ(reader.lookup("h", "late.test").action, Action::kBlacklist);
  EXPECT_EQ(consumer->status().open_syncs, 0u);
  consumer->close();
  detail::g_before_pattern_compile_for_test = nullptr;
}

}  // namespace
}  // namespace policysync
