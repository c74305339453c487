// SPEC §9 on a real broker (Kafka 4.x): three kafka_consumer processes
// publish their status to a compacted topic; policyctl publishes a sync and
// waits for them (one refuses it: a limit); a SIGKILLed instance turns STALE
// after three heartbeats and is SYNCED again after a restart, with no new
// sync published.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "real_fixture.h"

namespace policysync {
namespace {

using testing::add;
using testing::begin;
using testing::Broker;
using testing::Child;
using testing::complete;
using testing::consumer_args;
using testing::free_port;
using testing::kafka_tool;
using testing::kBin;
using testing::kcat_produce;
using testing::ready;
using testing::sh;
using testing::tmp;
using testing::wait_until;

const std::string kCtl = POLICYCTL_BIN;

std::string status(const std::string& sync) {
  return sh("'" + kCtl + "' status " + Broker::get().bootstrap + " fleet.status --sync " + sync +
            " 2>&1");
}

TEST(FleetTest, WaitNamesTheRefusingInstanceKilledOneTurnsStaleThenSyncedAgain) {
  testing::create_topic("fleet.policy", 1);
  kafka_tool("org.apache.kafka.tools.TopicCommand --bootstrap-server " + Broker::get().bootstrap +
             " --create --if-not-exists --topic fleet.status --partitions 1 "
             "--replication-factor 1 --config cleanup.policy=compact");
  kcat_produce("fleet.policy",
               {{"g", begin("g")}, {"g", add("g", "old.test")}, {"g", complete("g", 1)}});
  struct Plane {
    std::string name;
    int port;
    std::vector<std::string> args;
    std::unique_ptr<Child> child;
  };
  std::vector<Plane> planes;
  for (const char* name : {"dp-a", "dp-b", "dp-c"}) {
    Plane p{name, free_port(), {}, nullptr};
    std::vector<std::string> extra = {
        "--status-topic", "fleet.status", "--instance-name", name, "--status-interval", "1"};
    if (p.name == "dp-c") extra.insert(extra.end(), {"--max-entries-per-group", "2"});
    p.args = consumer_args("fleet.policy", "fleet-" + p.name, p.port, extra);
    p.child = std::make_unique<Child>(kBin, p.args, tmp(p.name + ".out"));
    planes.push_back(std::move(p));
  }
  for (Plane& p : planes)
    ASSERT_TRUE(wait_until([&] { return ready(p.port); })) << p.child->output();

  const std::string file = tmp("sync.csv");
  std::ofstream(file) << "a.test,blacklist\nb.test,blacklist\nc.test,blacklist,7\n";
  Child pm(kCtl,
           {"publish-sync", Broker::get().bootstrap, "fleet.policy", "g", file, "--wait=60",
            "--status-topic", "fleet.status"},
           tmp("publish.out"));
  EXPECT_EQ(pm.wait(), 1) << pm.output();
  EXPECT_NE(pm.output().find("NACKED dp-c: limit_exceeded: domain: entries per group limit 2"),
            std::string::npos)
      << pm.output();
  EXPECT_NE(pm.output().find("2 SYNCED, 1 NACKED"), std::string::npos) << pm.output();
  const std::string sync = "fleet.policy/0@7";
  ASSERT_NE(pm.output().find("SYNC_COMPLETE at " + sync), std::string::npos) << pm.output();

  // SIGKILL: no "stopped" record; three heartbeats later the PM calls it STALE.
  planes[1].child->signal(SIGKILL);
  planes[1].child->wait();
  ASSERT_TRUE(
      wait_until([&] { return status(sync).find("dp-b  ready  STALE") != std::string::npos; },
                 std::chrono::seconds(20)))
      << status(sync);
  EXPECT_NE(status(sync).find("dp-a  ready  SYNCED"), std::string::npos) << status(sync);

  // Started again (a full replay): SYNCED again, with no new sync published.
  planes[1].child = std::make_unique<Child>(kBin, planes[1].args, tmp("dp-b-again.out"));
  ASSERT_TRUE(
      wait_until([&] { return status(sync).find("dp-b  ready  SYNCED") != std::string::npos; },
                 std::chrono::seconds(30)))
      << status(sync) << planes[1].child->output();
  for (Plane& p : planes) {
    p.child->signal(SIGTERM);
    EXPECT_EQ(p.child->wait(), 0) << p.child->output();
  }
  EXPECT_NE(status(sync).find("dp-a  stopped  STALE"), std::string::npos) << status(sync);
}

}  // namespace
}  // namespace policysync
