// SPEC §9 on the mock cluster: three data planes publish their status; the
// PM (policyctl) publishes a sync and waits for them: one refuses it (a
// limit), the others apply it; a clean stop says "stopped"; a status topic
// that cannot be written changes nothing that is applied.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mock_fixture.h"
#include "policysync/consumer.h"
#include "policysync/fleet.h"
#include "policysync/reader.h"

namespace policysync {
namespace {

using testing::add;
using testing::begin;
using testing::Child;
using testing::complete;
using testing::MockTest;
using testing::POLICYCTL_BIN_PATH;
using testing::produce;
using testing::wait_until;

// A data plane: its store, its consumer polled on a thread of its own.
struct Plane {
  std::unique_ptr<PolicyStore> store;
  Log log{[this](LogLevel, std::string_view m) {
    std::lock_guard<std::mutex> g(mu);
    lines.emplace_back(m);
  }};
  std::mutex mu;
  std::vector<std::string> lines;
  std::unique_ptr<Consumer> consumer;
  std::atomic<bool> stop{false};
  std::thread thread;

  Plane(ConsumerOptions o, StoreLimits limits) : store(std::make_unique<PolicyStore>(limits)) {
    o.log = &log;
    Status s = Consumer::create(o, *store, &consumer);
    EXPECT_TRUE(s.ok()) << s.to_string();
    thread = std::thread([this] {
      EXPECT_TRUE(consumer->run(stop).ok());
      consumer->close();
    });
  }
  ~Plane() { halt(); }
  void halt() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  size_t count(const std::string& needle) {
    std::lock_guard<std::mutex> g(mu);
    size_t n = 0;
    for (const auto& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
};

// The latest record of every instance on `topic`, read to its end.
std::map<std::string, StatusRecord> read_status(const std::string& brokers,
                                                const std::string& topic) {
  std::unique_ptr<StatusReader> r;
  EXPECT_TRUE(StatusReader::create(brokers, {}, topic, &r).ok());
  if (!r) return {};
  bool caught_up = false;
  for (int i = 0; i < 100 && !caught_up; ++i)
    EXPECT_TRUE(r->poll(std::chrono::milliseconds(100), &caught_up).ok());
  return r->latest();
}

TEST_F(MockTest, PmWaitsForEveryInstanceAndNamesTheOneThatRefused) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  ASSERT_TRUE(cluster_->create_topic("policy.status", 1).ok());
  produce(brokers_, "policy", "g", {begin("g"), add("g", "old.test"), complete("g", 1)});
  std::vector<std::unique_ptr<Plane>> planes;
  for (const char* name : {"dp-a", "dp-b", "dp-c"}) {
    ConsumerOptions o = options("policy", Log());
    o.group_id = std::string("grp-") + name;
    o.status_topic = "policy.status";
    o.instance_name = name;
    o.status_interval_s = 1;
    StoreLimits limits;
    if (std::string(name) == "dp-c") limits.max_entries_per_group = 2;  // refuses a sync of 3
    planes.push_back(std::make_unique<Plane>(o, limits));
  }
  ASSERT_TRUE(wait_until([&] {
    const auto st = read_status(brokers_, "policy.status");
    size_t ready = 0;
    for (const auto& [n, r] : st) ready += r.state == "ready";
    return ready == 3;
  }));

  const std::string file = tmp("sync.csv");
  std::ofstream(file) << "a.test,blacklist\nb.test,blacklist\nc.test,blacklist,7\n";
  Child pm(POLICYCTL_BIN_PATH,
           {"publish-sync", brokers_, "policy", "g", file, "--wait=30", "--status-topic",
            "policy.status"},
           tmp("publish.out"));
  EXPECT_EQ(pm.wait(), 1) << pm.output();
  const std::string out = pm.output();
  EXPECT_NE(out.find("NACKED dp-c: limit_exceeded: domain: entries per group limit 2 reached"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("2 SYNCED, 1 NACKED"), std::string::npos) << out;
  EXPECT_EQ(out.find("NACKED dp-a"), std::string::npos) << out;
  {  // one Reader per thread at a time
    Reader r(*planes[0]->store);
    EXPECT_EQ(r.lookup("g", "c.test").action, Action::kBlacklist);
  }
  {
    Reader c(*planes[2]->store);
    EXPECT_EQ(c.lookup("g", "old.test").action, Action::kBlacklist) << "the old policy stays";
  }

  // policyctl status for the group's last sync, as a table and as JSON.
  Child st(POLICYCTL_BIN_PATH,
           {"status", brokers_, "policy.status", "--group", "g", "--policy-topic", "policy"},
           tmp("status.out"));
  ASSERT_EQ(st.wait(), 0) << st.output();
  EXPECT_NE(st.output().find("sync policy/0@7:"), std::string::npos) << st.output();
  EXPECT_NE(st.output().find("dp-a  ready  SYNCED"), std::string::npos) << st.output();
  EXPECT_NE(st.output().find("dp-c  ready  NACKED"), std::string::npos) << st.output();
  EXPECT_NE(st.output().find("(limit_exceeded: domain: entries per group limit 2 reached (at "
                             "policy/0@6))"),
            std::string::npos)
      << st.output();
  Child js(POLICYCTL_BIN_PATH,
           {"status", brokers_, "policy.status", "--sync", "policy/0@7", "--json"},
           tmp("status.json"));
  ASSERT_EQ(js.wait(), 0) << js.output();
  EXPECT_NE(js.output().find(R"("instance":"dp-b")"), std::string::npos) << js.output();
  EXPECT_NE(js.output().find(R"("verdict":"SYNCED")"), std::string::npos) << js.output();
  EXPECT_NE(js.output().find(R"("verdict":"NACKED")"), std::string::npos) << js.output();

  // A clean stop says so: the PM counts the instance out (STALE).
  planes[1]->halt();
  const auto after = read_status(brokers_, "policy.status");
  ASSERT_TRUE(after.count("dp-b"));
  EXPECT_EQ(after.at("dp-b").state, "stopped");
  const int64_t now = after.at("dp-b").unix_ms;
  EXPECT_EQ(report_sync(after.at("dp-b"), {"policy", 0}, 7, now).state, SyncState::kStale);
}

TEST_F(MockTest, MissingStatusTopicChangesNothingAppliedAndIsLoggedOnce) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  ASSERT_TRUE(cluster_->create_topic("status.gone", 1).ok());
  rd_kafka_mock_topic_set_error(cluster_->handle(), "status.gone",
                                RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  produce(brokers_, "policy", "g", {begin("g"), add("g", "x.test"), complete("g", 1)});
  ConsumerOptions o = options("policy", Log());
  o.group_id = "grp-gone";
  o.status_topic = "status.gone";
  o.status_interval_s = 1;
  Plane p(o, StoreLimits{});
  // Several heartbeats fail; the policy is applied all the same.
  ASSERT_TRUE(wait_until([&] {
    const std::string m = p.consumer->metrics_text();
    return m.find("policysync_status_records_total{outcome=\"failed\"} 3") != std::string::npos;
  })) << p.consumer->metrics_text();
  EXPECT_TRUE(p.consumer->ready());
  Reader r(*p.store);
  EXPECT_EQ(r.lookup("g", "x.test").action, Action::kBlacklist);
  EXPECT_EQ(p.count("status topic status.gone: record not delivered"), 1u)
      << "one log line for a failure that goes on";
}

// The sharded shape: members share the group and each owns some
// partitions. A sync is its owner's to apply; the others say NOT_ASSIGNED
// and are not waited for (review of issue 20: they stayed PENDING and the
// wait timed out). Default names do not collide: group/instance_id, or
// group@host.
TEST_F(MockTest, ShardedMembersNotOwningTheSyncArePassedOver) {
  ASSERT_TRUE(cluster_->create_topic("policy", 2).ok());
  ASSERT_TRUE(cluster_->create_topic("policy.status", 1).ok());
  std::vector<std::unique_ptr<Plane>> planes;
  for (const char* id : {"m1", ""}) {
    ConsumerOptions o = options("policy", Log());
    o.group_id = "dp";
    o.shared_group = true;
    o.instance_id = id;
    o.status_topic = "policy.status";
    o.status_interval_s = 1;
    o.properties.emplace_back("session.timeout.ms", "6000");  // the mock's rebalance wait
    planes.push_back(std::make_unique<Plane>(o, StoreLimits{}));
  }
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  const std::string named = "dp/m1", by_host = std::string("dp@") + host;
  // Both ready, each owning one partition.
  ASSERT_TRUE(wait_until([&] {
    const auto st = read_status(brokers_, "policy.status");
    return st.count(named) && st.count(by_host) && st.at(named).state == "ready" &&
           st.at(by_host).state == "ready" && st.at(named).applied.size() == 1 &&
           st.at(by_host).applied.size() == 1 && st.at(named).sharded;
  })) << planes[0]->consumer->metrics_text();

  const std::string file = tmp("sync.csv");
  std::ofstream(file) << "a.test,blacklist\n";
  Child pm(POLICYCTL_BIN_PATH,
           {"publish-sync", brokers_, "policy", "g", file, "--wait=30", "--status-topic",
            "policy.status"},
           tmp("publish.out"));
  EXPECT_EQ(pm.wait(), 0) << pm.output();
  EXPECT_NE(pm.output().find("1 SYNCED, 0 NACKED"), std::string::npos) << pm.output();
  Child st(POLICYCTL_BIN_PATH,
           {"status", brokers_, "policy.status", "--group", "g", "--policy-topic", "policy"},
           tmp("status.out"));
  ASSERT_EQ(st.wait(), 0) << st.output();
  EXPECT_NE(st.output().find("  ready  SYNCED"), std::string::npos) << st.output();
  EXPECT_NE(st.output().find("  ready  NOT_ASSIGNED"), std::string::npos) << st.output();
}

// A record on the status topic that is not a status record (another
// program's, a later version's): its instance is shown UNREADABLE and waited
// for while fresh, passed over once as old as a stale record (second review
// of issue 20: it blocked every --wait until a tombstone came).
TEST_F(MockTest, UnreadableStatusRecordsAreShownAndWaitedForUntilOld) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  ASSERT_TRUE(cluster_->create_topic("policy.status", 1).ok());
  ConsumerOptions o = options("policy", Log());
  o.group_id = "grp-ok";
  o.status_topic = "policy.status";
  o.instance_name = "dp-ok";
  o.status_interval_s = 1;
  Plane plane(o, StoreLimits{});
  ASSERT_TRUE(wait_until([&] {
    const auto st = read_status(brokers_, "policy.status");
    return st.count("dp-ok") && st.at("dp-ok").state == "ready";
  }));
  auto produce_at = [&](const std::string& key, int64_t ts_ms) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", brokers_.c_str(), err, sizeof(err)),
              RD_KAFKA_CONF_OK);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ASSERT_NE(rk, nullptr) << err;
    const std::string value = "not a status record";
    ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("policy.status"),
                                RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
  };
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  produce_at("dp-old", now - 10 * 60'000);  // ten minutes old
  const std::string file = tmp("sync.csv");
  std::ofstream(file) << "a.test,blacklist\n";
  Child pm(POLICYCTL_BIN_PATH,
           {"publish-sync", brokers_, "policy", "g", file, "--wait=30", "--status-topic",
            "policy.status"},
           tmp("publish.out"));
  EXPECT_EQ(pm.wait(), 0) << "an old unreadable record is not waited for\n" << pm.output();
  produce_at("dp-new", now);
  Child pm2(POLICYCTL_BIN_PATH,
            {"publish-sync", brokers_, "policy", "g", file, "--wait=3", "--status-topic",
             "policy.status"},
            tmp("publish2.out"));
  EXPECT_EQ(pm2.wait(), 2) << pm2.output();
  EXPECT_NE(pm2.output().find("PENDING dp-new (its status record is unreadable: bad_json"),
            std::string::npos)
      << pm2.output();
  Child st(POLICYCTL_BIN_PATH, {"status", brokers_, "policy.status"}, tmp("status.out"));
  ASSERT_EQ(st.wait(), 0) << st.output();
  EXPECT_NE(st.output().find("dp-new  UNREADABLE"), std::string::npos) << st.output();
  EXPECT_NE(st.output().find("dp-old  UNREADABLE"), std::string::npos) << st.output();
  EXPECT_NE(st.output().find("dp-ok  ready"), std::string::npos) << st.output();
}

// policyctl's errors exit 3, never 1 (a NACK) or 2 (a timeout): a rollout
// script must tell "refused" from "could not ask" (review of issue 20).
TEST_F(MockTest, PolicyctlErrorsAreNotNacks) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  const std::string file = tmp("sync.csv");
  std::ofstream(file) << "a.test,blacklist\n";
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const Case cases[] = {
      {{"status", brokers_, "no.such.status"}, "no.such.status"},
      {{"publish-sync", brokers_, "policy", "g", file, "--wait=5", "--status-topic",
        "no.such.status"},
       "no.such.status"},
      {{"publish-sync", brokers_, "policy", "g", file, "--wait"}, "--wait needs --status-topic"},
      {{"status", brokers_, "policy.status", "--sync", "policy@3"}, "--sync takes"},
      {{"no-such-command"}, "unknown command"},
  };
  for (const Case& c : cases) {
    Child p(POLICYCTL_BIN_PATH, c.args, tmp("err.out"));
    EXPECT_EQ(p.wait(), 3) << c.args[0] << "\n" << p.output();
    EXPECT_NE(p.output().find(c.says), std::string::npos) << p.output();
  }
}

// make demo-fleet: the embedded fleet, one plane refusing, the table printed.
TEST(ProgramTest, DemoFleetPrintsTheStatusTable) {
  Child d(POLICYCTL_BIN_PATH, {"demo-fleet"}, ::testing::TempDir() + "/demo-fleet.out");
  ASSERT_EQ(d.wait(), 0) << d.output();
  const std::string out = d.output();
  for (const char* line : {"NACKED dp-3: limit_exceeded: domain: entries per group limit 2 reached",
                           "2 SYNCED, 1 NACKED", "exit 1", "dp-1  ready  SYNCED",
                           "dp-2  ready  SYNCED", "dp-3  ready  NACKED"})
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
}

}  // namespace
}  // namespace policysync
