// What a consumer says of itself: SPEC §5.5 readiness in the sharded shape
// (issue 18 item 4: a member is ready once every partition it owns, of every
// topic, is caught up, even when it owns no partition of one of its topics),
// and Consumer::status() (item 8: exact right after a poll).
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "mock_fixture.h"
#include "policysync/consumer.h"

namespace policysync {
namespace {

using testing::add;
using testing::begin;
using testing::complete;
using testing::Instance;
using testing::MockTest;
using testing::produce;
using testing::pump;

// Two members over a 2-partition policy topic and a 1-partition malicious
// topic: the range assignor gives one of them a policy partition only.
TEST_F(MockTest, ShardedMemberWithoutAPartitionOfOneTopicIsReady) {
  ASSERT_TRUE(cluster_->create_topic("pol", 2).ok());
  ASSERT_TRUE(cluster_->create_topic("mal", 1).ok());
  produce(brokers_, "pol", "g", {begin("g"), add("g", "g.com"), complete("g", 1)});
  produce(brokers_, "mal", "m", {R"({"type":"ADD_MALICIOUS","domain":"evil.test","category":1})"});
  const kafka::Properties range = {{"partition.assignment.strategy", "range"}};
  Instance a(brokers_, "pol", "shg", range, "", /*shared=*/true, "mal");
  Instance b(brokers_, "pol", "shg", range, "", /*shared=*/true, "mal");
  // Both in the group and the three partitions split between them.
  ASSERT_TRUE(pump(
      {&a, &b},
      [&] { return a.assigned() > 0 && b.assigned() > 0 && a.assigned() + b.assigned() == 3; },
      std::chrono::seconds(60)))
      << "A:\n"
      << a.dump() << "B:\n"
      << b.dump();
  Instance& one = a.assigned() == 1 ? a : b;  // pol/1 only
  ASSERT_EQ(one.assigned(), 1u);
  ASSERT_TRUE(pump({&a, &b}, [&] { return a.consumer->ready() && b.consumer->ready(); }))
      << "A (" << a.assigned() << " partitions):\n"
      << a.dump() << "B (" << b.assigned() << " partitions):\n"
      << b.dump();
  EXPECT_TRUE(one.logged("ready: 1 partitions caught up")) << one.dump();
}

// Issue 18 item 8: Consumer::status() right after a poll that completed a
// sync shows that sync's entries (it showed a count up to a second old).
TEST_F(MockTest, StatusShowsTheEntriesOfTheSyncJustApplied) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  produce(brokers_, "policy", "g", {begin("g"), add("g", "one.com"), complete("g", 1)});
  Log log([](LogLevel, std::string_view) {});
  PolicyStore store;
  std::unique_ptr<Consumer> c;
  ASSERT_TRUE(Consumer::create(options("policy", log), store, &c).ok());
  auto poll_until = [&](const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!cond() && std::chrono::steady_clock::now() < deadline)
      EXPECT_TRUE(c->poll(std::chrono::milliseconds(10)).ok());
    return cond();
  };
  ASSERT_TRUE(poll_until([&] { return c->ready(); }));
  EXPECT_EQ(c->status().entries, 1u);
  produce(brokers_, "policy", "g",
          {begin("g"), add("g", "one.com"), add("g", "two.com"), add("g", "three.com"),
           complete("g", 3)});
  ASSERT_TRUE(poll_until([&] {
    const ConsumerStatus s = c->status();  // taken right after each poll
    EXPECT_EQ(s.entries, store.total_entries());
    EXPECT_EQ(s.groups, store.group_count());
    EXPECT_EQ(s.open_syncs, store.open_syncs());
    return store.counters().syncs_completed.load() == 2;
  }));
  EXPECT_EQ(c->status().entries, 3u);
  c->close();
}

}  // namespace
}  // namespace policysync
