// Where a restarted consumer resumes, through the consumer itself (issue 18
// items 2 and 5): records below the snapshot's next offset are never applied
// twice, and an offset reset never makes it skip records it does not hold.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace policysync
