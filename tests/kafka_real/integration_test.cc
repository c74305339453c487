// Integration tests against a real Apache Kafka broker (KRaft, one node on
// 127.0.0.1) started by the CTest fixture with scripts/kafka/broker. Producers
// are real clients written by others where it matters (kcat); committed
// offsets are read with Kafka's own consumer-groups tool.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../kafka/kafka_test_util.h"
#include "broker_env.h"

namespace policysync {
namespace {

using testing::Broker;
using testing::Child;
using testing::create_topic;
using testing::free_port;
using testing::group_offsets;
using testing::http_get;
using testing::lookup_action;
using testing::sh;
using testing::wait_until;

const std::string kBin = KAFKA_CONSUMER_BIN;

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "/" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + name;
}

// Produces "key|json" lines with kcat, a client nobody here wrote.
void kcat_produce(const std::string& topic, const std::vector<std::pair<std::string, std::string>>& msgs,
                  const std::string& extra = "") {
  const std::string file = tmp("kcat.in");
  {
    std::ofstream out(file);
    for (const auto& [k, v] : msgs) out << k << "|" << v << "\n";
  }
  int st = 0;
  sh("kcat -P -b " + Broker::get().bootstrap + " -t " + topic + " -K '|' -X enable.idempotence=true " +
         extra + " -l " + file + " 2>&1",
     &st);
  ASSERT_EQ(st, 0);
}

std::string begin(const std::string& g) { return R"({"type":"BEGIN_SYNC","group_id":")" + g + R"("})"; }
std::string add(const std::string& g, const std::string& d, const std::string& action = "blacklist",
                int category = 0) {
  return R"({"type":"ADD_DOMAIN","group_id":")" + g + R"(","domain":")" + d + R"(","action":")" +
         action + R"(","category":)" + std::to_string(category) + "}";
}
std::string complete(const std::string& g, int count) {
  return R"({"type":"SYNC_COMPLETE","group_id":")" + g + R"(","count":)" + std::to_string(count) + "}";
}

bool ready(int port) {
  int st = 0;
  http_get(port, "/readyz", &st);
  return st == 200;
}

long metric(int port, const std::string& name) {
  const std::string body = http_get(port, "/metrics");
  const size_t at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stol(body.substr(at + name.size() + 2));
}

std::vector<std::string> consumer_args(const std::string& topic, const std::string& group, int port,
                                       std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {Broker::get().bootstrap, topic, "--group", group, "--metrics-port",
                                std::to_string(port), "--stats-interval", "0"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// 1. The seed's scenario end to end, kcat as the PM.
TEST(RealBrokerTest, SeedScenarioWithKcatAsProducer) {
  create_topic("seed", 1);
  const std::string g = "enterprise_a";
  kcat_produce("seed", {{g, begin(g)},
                        {g, add(g, "google.com", "whitelist")},
                        {g, add(g, "facebook.com", "blacklist", 2)},
                        {g, add(g, "youtube.com", "blacklist", 2)},
                        {g, R"({"type":"REMOVE_DOMAIN","group_id":"enterprise_a","domain":"youtube.com"})"},
                        {g, complete(g, 3)},
                        {"feed", R"({"type":"ADD_MALICIOUS","domain":"c2.evil.net","category":4,"confidence":98})"}});
  const int port = free_port();
  Child c(kBin, consumer_args("seed", "seed-dp", port), tmp("consumer.out"));
  ASSERT_TRUE(wait_until([&] { return ready(port); })) << c.output();
  EXPECT_EQ(lookup_action(port, g, "google.com"), "whitelist");
  EXPECT_EQ(lookup_action(port, g, "facebook.com"), "blacklist");
  EXPECT_EQ(lookup_action(port, g, "youtube.com"), "none");
  EXPECT_EQ(lookup_action(port, g, "c2.evil.net"), "malicious");
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(), 0) << c.output();
  // Graceful stop committed the end of the partition (no sync open).
  auto offs = group_offsets("seed-dp", "seed");
  ASSERT_EQ(offs.count(0), 1u);
  EXPECT_EQ(offs[0].first, 7);
}

// 2. SIGKILL at random points of a long stream of interleaved syncs.
TEST(RealBrokerTest, KilledAtRandomPointsTwentyTimesEndsInTheUninterruptedState) {
  constexpr int kGroups = 6, kEntries = 40, kGenerations = 30, kPartitions = 3;
  create_topic("stream", kPartitions);
  // The stream: generation k of every group carries category k; the groups'
  // messages interleave at random, each group's in order.
  std::mt19937 rng(7);
  std::vector<std::vector<std::pair<std::string, std::string>>> chunks;
  for (int k = 1; k <= kGenerations; ++k) {
    std::vector<std::vector<std::string>> per(kGroups);
    for (int i = 0; i < kGroups; ++i) {
      const std::string g = "sg" + std::to_string(i);
      per[i].push_back(begin(g));
      for (int j = 0; j < kEntries; ++j)
        per[i].push_back(add(g, "e" + std::to_string(j) + "." + g + ".test", "blacklist", k));
      per[i].push_back(complete(g, kEntries));
    }
    std::vector<size_t> next(kGroups, 0);
    std::vector<std::pair<std::string, std::string>> chunk;
    for (size_t left = kGroups * per[0].size(); left > 0; --left) {
      int i;
      do i = static_cast<int>(rng() % kGroups);
      while (next[i] == per[i].size());
      chunk.emplace_back("sg" + std::to_string(i), per[i][next[i]++]);
    }
    chunks.push_back(std::move(chunk));
  }
  const int port = free_port();
  // Static membership: a restarted instance takes its partitions back at once.
  const auto args = consumer_args("stream", "stream-dp", port,
                                  {"-X", "group.instance.id=stream-dp-1", "-X", "session.timeout.ms=10000"});
  std::atomic<bool> done{false};
  std::atomic<int> partial{0}, checks{0};
  // A checker: every group's names in one /lookup (one batch, one generation):
  // a response mixing categories saw a partial sync.
  std::thread checker([&] {
    while (!done) {
      for (int i = 0; i < kGroups; ++i) {
        const std::string g = "sg" + std::to_string(i);
        std::string q = "/lookup?group=" + g;
        for (int j = 0; j < kEntries; ++j) q += "&domain=e" + std::to_string(j) + "." + g + ".test";
        const std::string body = http_get(port, q);
        if (body.empty() || body[0] != '[') continue;  // consumer down
        std::set<std::string> cats;
        for (size_t at = body.find("\"category\":"); at != std::string::npos; at = body.find("\"category\":", at + 1))
          cats.insert(body.substr(at + 11, body.find(',', at) - at - 11));
        ++checks;
        if (cats.size() != 1) ++partial;
      }
    }
  });
  std::thread producer([&] {
    for (const auto& chunk : chunks) kcat_produce("stream", chunk);
  });
  for (int round = 0; round < 20; ++round) {
    Child c(kBin, args, tmp("round" + std::to_string(round) + ".out"));
    // Kill at a random point: after it has consumed something, at a random moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    c.signal(SIGKILL);
    c.wait();
  }
  producer.join();
  Child last(kBin, args, tmp("final.out"));
  ASSERT_TRUE(wait_until([&] { return ready(port); }, std::chrono::seconds(60))) << last.output();
  // Final state = an uninterrupted run's: every name at the last generation.
  for (int i = 0; i < kGroups; ++i)
    for (int j = 0; j < kEntries; j += 7) {
      const std::string g = "sg" + std::to_string(i);
      const std::string body = http_get(port, "/lookup?group=" + g + "&domain=e" + std::to_string(j) + "." + g + ".test");
      EXPECT_NE(body.find("\"category\":" + std::to_string(kGenerations) + ","), std::string::npos) << body;
    }
  // Committed = safe watermarks: with no sync open, the end of each partition.
  std::string seen;
  const bool committed_all = wait_until([&] {
    auto offs = group_offsets("stream-dp", "stream");
    seen.clear();
    for (const auto& [p, o] : offs)
      seen += " p" + std::to_string(p) + "=" + std::to_string(o.first) + "/" + std::to_string(o.second);
    if (offs.size() != kPartitions) return false;
    for (const auto& [p, o] : offs)
      if (o.first != o.second && !(o.second == 0 && o.first == -1)) return false;
    return true;
  }, std::chrono::seconds(30));
  if (!committed_all) {
    done = true;
    checker.join();
    FAIL() << "committed/end:" << seen << "\n" << last.output();
  }
  // Open one sync: its partition's committed offset must stop at its BEGIN_SYNC.
  auto before = group_offsets("stream-dp", "stream");
  kcat_produce("stream", {{"sg0", begin("sg0")}, {"sg0", add("sg0", "late.test")}});
  int part = -1;
  ASSERT_TRUE(wait_until([&] {
    for (const auto& [p, o] : group_offsets("stream-dp", "stream"))
      if (o.second == before[p].second + 2) part = p;
    return part >= 0;
  }));
  const long begin_offset = before[part].second;
  // The consumer commits while idle (every 5 s); the watermark holds at BEGIN.
  last.signal(SIGTERM);
  EXPECT_EQ(last.wait(), 0) << last.output();
  auto after = group_offsets("stream-dp", "stream");
  EXPECT_EQ(after[part].first, begin_offset) << "committed past an open sync";
  done = true;
  checker.join();
  EXPECT_GT(checks.load(), 0);
  EXPECT_EQ(partial.load(), 0) << "a lookup saw a partial sync";
}

}  // namespace
}  // namespace policysync
