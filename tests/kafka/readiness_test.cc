// SPEC §5.5 readiness in the sharded shape (issue 18 item 4): a member is
// ready once every partition it owns, of every topic, is caught up, even
// when it owns no partition of one of its topics.
#include <gtest/gtest.h>

#include <string>

#include "mock_fixture.h"

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

}  // namespace
}  // namespace policysync
