// Where a restarted consumer resumes, through the consumer itself (issue 18
// items 2 and 5): records below the snapshot's next offset are never applied
// twice, and an offset reset never makes it skip records it does not hold.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "kafka/mock_cluster.h"
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

// Polls `c` until `cond` holds (30 s at most).
bool poll_until(Consumer& c, const std::function<bool()>& cond) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!cond()) {
    const Status s = c.poll(std::chrono::milliseconds(10));
    EXPECT_TRUE(s.ok()) << s.to_string();
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
  return true;
}

struct Captured {
  std::vector<std::string> lines;
  Log log{[this](LogLevel, std::string_view m) { lines.emplace_back(m); }};
  std::string dump() const {
    std::string out;
    for (const auto& l : lines) out += "  " + l + "\n";
    return out;
  }
};

// Issue 18 item 2: a dead-letter copy still in flight at the stop makes the
// restart resume at its offset (to send the copy again); the records after
// it are in the snapshot already and must not be applied a second time.
TEST_F(MockTest, RecordsAfterAnInFlightDeadLetterCopyAreNotAppliedTwice) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  ASSERT_TRUE(cluster_->create_topic("policy.dlq", 1).ok());
  // The dead-letter topic is unreachable: the copy stays in flight.
  rd_kafka_mock_topic_set_error(cluster_->handle(), "policy.dlq",
                                RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  // @0 BEGIN_SYNC g, @1 ADD g a, @2 invalid (names h, which has no open
  // sync), @3 ADD g b.
  produce(brokers_, "policy", "k",
          {begin("g"), add("g", "a.com"), add("h", "bad..com"), add("g", "b.com")});
  const std::string dir = tmp("state");
  std::filesystem::remove_all(dir);
  auto opts = [&](const Log& log) {
    ConsumerOptions o = options("policy", log);
    o.group_id = "dlqrestart";
    o.state_dir = dir;
    o.dlq_topic = "policy.dlq";
    o.close_timeout_ms = 1000;
    return o;
  };
  {
    Captured cap;
    PolicyStore store;
    std::unique_ptr<Consumer> c;
    ASSERT_TRUE(Consumer::create(opts(cap.log), store, &c).ok());
    ASSERT_TRUE(poll_until(*c, [&] { return c->ready() && c->counters().consumed.load() == 4; }))
        << cap.dump();
    EXPECT_EQ(c->counters().dlq_delivered.load(), 0u) << cap.dump();
    c->close();  // a clean stop (SIGTERM): the snapshot holds the copy in flight
  }
  rd_kafka_mock_topic_set_error(cluster_->handle(), "policy.dlq", RD_KAFKA_RESP_ERR_NO_ERROR);
  produce(brokers_, "policy", "k", {complete("g", 2)});  // @4: two ADD_DOMAINs, a and b

  Captured cap;
  PolicyStore store;
  std::unique_ptr<Consumer> c;
  ASSERT_TRUE(Consumer::create(opts(cap.log), store, &c).ok());
  ASSERT_TRUE(poll_until(*c, [&] {
    return c->ready() && c->counters().dlq_delivered.load() == 1 &&
           store.counters().syncs_completed.load() + store.counters().syncs_aborted.load() > 0;
  })) << cap.dump();
  EXPECT_EQ(store.counters().syncs_aborted.load(), 0u) << "@3 applied twice:\n" << cap.dump();
  EXPECT_EQ(store.counters().syncs_completed.load(), 1u) << cap.dump();
  Reader r(store);
  EXPECT_EQ(r.lookup("g", "a.com").action, Action::kBlacklist) << cap.dump();
  EXPECT_EQ(r.lookup("g", "b.com").action, Action::kBlacklist) << cap.dump();
  c->close();
}

// Issue 18 item 5: the snapshot's offset lies past the end of a partition
// that was deleted and created again (here: a new cluster); librdkafka
// resets to the beginning. The records there are new, not "already
// applied": the snapshot's state is dropped and everything is replayed.
// Sharded: the start offset comes from the snapshot and is not checked
// against the partition first; broadcast: the first round's watermark query
// failed, so the snapshot could not be checked either.
class OffsetResetTest : public MockTest, public ::testing::WithParamInterface<bool> {};

TEST_P(OffsetResetTest, ResetBelowTheSnapshotOffsetReplaysInsteadOfSkipping) {
  const bool sharded = GetParam();
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  produce(brokers_, "policy", "k",
          {begin("old"), add("old", "old.com"), complete("old", 1), add("x", "x.com")});
  const std::string dir = tmp("state");
  std::filesystem::remove_all(dir);
  auto opts = [&](const std::string& brokers, const Log& log) {
    ConsumerOptions o = options("policy", log);
    o.brokers = brokers;
    o.group_id = "reset";
    o.shared_group = sharded;
    o.state_dir = dir;
    o.properties.emplace_back("session.timeout.ms", "6000");
    return o;
  };
  {
    Captured cap;
    PolicyStore store;
    std::unique_ptr<Consumer> c;
    ASSERT_TRUE(Consumer::create(opts(brokers_, cap.log), store, &c).ok());
    ASSERT_TRUE(poll_until(*c, [&] { return c->ready() && c->counters().consumed.load() == 4; }))
        << cap.dump();
    c->close();  // snapshot at policy/0@4
  }
  std::unique_ptr<kafka::MockCluster> fresh;
  ASSERT_TRUE(kafka::MockCluster::create(1, &fresh).ok());
  ASSERT_TRUE(fresh->create_topic("policy", 1).ok());
  produce(fresh->bootstraps(), "policy", "k",
          {begin("new"), add("new", "new.com"), complete("new", 1)});  // end 3 < 4
  if (!sharded) {
    // The watcher's first watermark query fails (hi = -1): no check.
    const rd_kafka_resp_err_t errs[] = {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                                        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART};
    rd_kafka_mock_push_request_errors_array(fresh->handle(), 2 /* ListOffsets */, 2, errs);
  }
  Captured cap;
  PolicyStore store;
  std::unique_ptr<Consumer> c;
  ASSERT_TRUE(Consumer::create(opts(fresh->bootstraps(), cap.log), store, &c).ok());
  Reader r(store);
  ASSERT_TRUE(poll_until(*c, [&] {
    r.quiescent();
    return c->ready() && r.lookup("new", "new.com").action == Action::kBlacklist;
  })) << cap.dump();
  EXPECT_EQ(r.lookup("old", "old.com").action, Action::kNone) << "old state survived";
  EXPECT_EQ(r.lookup("x", "x.com").action, Action::kNone) << cap.dump();
  c->close();
}

INSTANTIATE_TEST_SUITE_P(Shapes, OffsetResetTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "sharded" : "broadcast_unchecked";
                         });

}  // namespace
}  // namespace policysync
