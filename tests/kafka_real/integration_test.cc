// Integration tests against a real Apache Kafka broker (KRaft, one node on
// 127.0.0.1) started by the CTest fixture with scripts/kafka/broker. Producers
// are real clients written by others where it matters (kcat); committed
// offsets are read with Kafka's own consumer-groups tool.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../kafka/kafka_test_util.h"
#include "broker_env.h"
#include "real_fixture.h"

namespace policysync {
namespace {

using testing::add;
using testing::begin;
using testing::Broker;
using testing::Child;
using testing::complete;
using testing::consumer_args;
using testing::create_topic;
using testing::free_port;
using testing::group_offsets;
using testing::http_get;
using testing::kBin;
using testing::kcat_produce;
using testing::lookup_action;
using testing::metric;
using testing::ready;
using testing::sh;
using testing::tmp;
using testing::wait_until;

// 1. The seed's scenario end to end, kcat as the PM.
TEST(RealBrokerTest, SeedScenarioWithKcatAsProducer) {
  create_topic("seed", 1);
  const std::string g = "enterprise_a";
  kcat_produce(
      "seed",
      {{g, begin(g)},
       {g, add(g, "google.com", "whitelist")},
       {g, add(g, "facebook.com", "blacklist", 2)},
       {g, add(g, "youtube.com", "blacklist", 2)},
       {g, R"({"type":"REMOVE_DOMAIN","group_id":"enterprise_a","domain":"youtube.com"})"},
       {g, complete(g, 3)},
       {"feed",
        R"({"type":"ADD_MALICIOUS","domain":"c2.evil.net","category":4,"confidence":98})"}});
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
  // Default settings, broadcast shape: no group membership to wait for.
  const auto args = consumer_args("stream", "stream-dp", port);
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
        for (size_t at = body.find("\"category\":"); at != std::string::npos;
             at = body.find("\"category\":", at + 1))
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
      const std::string body = http_get(
          port, "/lookup?group=" + g + "&domain=e" + std::to_string(j) + "." + g + ".test");
      EXPECT_NE(body.find("\"category\":" + std::to_string(kGenerations) + ","), std::string::npos)
          << body;
    }
  // Committed = safe watermarks: with no sync open, the end of each partition.
  std::string seen;
  const bool committed_all = wait_until(
      [&] {
        auto offs = group_offsets("stream-dp", "stream");
        seen.clear();
        for (const auto& [p, o] : offs)
          seen += " p" + std::to_string(p) + "=" + std::to_string(o.first) + "/" +
                  std::to_string(o.second);
        if (offs.size() != kPartitions) return false;
        for (const auto& [p, o] : offs)
          if (o.first != o.second && !(o.second == 0 && o.first == -1)) return false;
        return true;
      },
      std::chrono::seconds(30));
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

// 3. The broker stopped for 30 s mid-stream: lookups keep answering from the
// old tables, the consumer resumes, nothing is lost.
TEST(RealBrokerTest, BrokerStoppedThirtySecondsMidStream) {
  create_topic("outage", 1);
  kcat_produce("outage", {{"g", begin("g")},
                          {"g", add("g", "before.test")},
                          {"g", complete("g", 1)},
                          {"h", begin("h")},
                          {"h", add("h", "h1.test")}});  // h's sync spans the outage
  const int port = free_port();
  Child c(kBin,
          consumer_args("outage", "outage-dp", port, {"--workers", "2", "--worker-group", "g"}),
          tmp("consumer.out"));
  ASSERT_TRUE(wait_until([&] { return ready(port); })) << c.output();
  const Broker& b = Broker::get();
  int st = 0;
  sh(b.script() + " stop " + b.dir, &st);
  ASSERT_EQ(st, 0);
  // Thirty seconds without a broker (the scenario's length, not a wait for
  // anything): every lookup still answers from the tables held.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int answered = 0;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(lookup_action(port, "g", "before.test"), "blacklist");
    ++answered;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(c.running()) << c.output();
  sh(b.script() + " restart " + b.dir, &st);
  ASSERT_EQ(st, 0);
  kcat_produce(
      "outage",
      {{"h", add("h", "h2.test")}, {"h", complete("h", 2)}, {"g", add("g", "after.test")}});
  ASSERT_TRUE(wait_until([&] { return lookup_action(port, "g", "after.test") == "blacklist"; },
                         std::chrono::seconds(60)))
      << c.output();
  EXPECT_EQ(lookup_action(port, "h", "h1.test"), "blacklist") << "the sync begun before the outage";
  EXPECT_EQ(lookup_action(port, "h", "h2.test"), "blacklist");
  EXPECT_EQ(lookup_action(port, "g", "before.test"), "blacklist");
  EXPECT_GT(answered, 50);
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(), 0) << c.output();
}

// Issue 10: after SIGKILL (or SIGTERM) and a restart, with default session
// timeouts (45 s), an instance is ready within seconds: the broadcast shape
// has no membership to wait for; the sharded shape with static membership
// gets its partitions straight back.
struct RestartCase {
  const char* name;
  std::vector<std::string> extra;
  bool state_dir;
  int signal;
};

class RestartTest : public ::testing::TestWithParam<RestartCase> {};

TEST_P(RestartTest, ReadyWithinSecondsAfterRestart) {
  const RestartCase& rc = GetParam();
  const std::string topic = std::string("restart-") + rc.name;
  create_topic(topic, 3);
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 6; ++i) {
    const std::string g = "grp" + std::to_string(i);
    msgs.insert(msgs.end(), {{g, begin(g)}, {g, add(g, g + ".test")}, {g, complete(g, 1)}});
  }
  kcat_produce(topic, msgs);
  const int port = free_port();
  auto args = consumer_args(topic, topic + "-dp", port, rc.extra);
  const std::string dir = tmp(std::string("state-") + rc.name);
  sh("rm -rf '" + dir + "'");
  if (rc.state_dir) {
    args.push_back("--state-dir");
    args.push_back(dir);  // does not exist yet: created
  }
  {
    Child first(kBin, args, tmp(std::string(rc.name) + "-1.out"));
    ASSERT_TRUE(wait_until([&] { return ready(port); }, std::chrono::seconds(60)))
        << first.output();
    first.signal(rc.signal);
    first.wait();
  }
  const auto t0 = std::chrono::steady_clock::now();
  Child second(kBin, args, tmp(std::string(rc.name) + "-2.out"));
  // The default session timeout is 45 s: ready within 5 s means nobody
  // waited for the first instance's session to expire.
  ASSERT_TRUE(wait_until([&] { return ready(port); }, std::chrono::seconds(5))) << second.output();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("time to ready after %s + restart (%s, real broker): %lld ms\n", strsignal(rc.signal),
              rc.name, static_cast<long long>(ms));
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(lookup_action(port, "grp" + std::to_string(i), "grp" + std::to_string(i) + ".test"),
              "blacklist");
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(), 0) << second.output();
}

INSTANTIATE_TEST_SUITE_P(Shapes, RestartTest,
                         ::testing::Values(RestartCase{"broadcast", {}, false, SIGKILL},
                                           RestartCase{"broadcast_state_dir", {}, true, SIGKILL},
                                           RestartCase{"sharded_static",
                                                       {"--shared-group", "--instance-id", "dp-1"},
                                                       false,
                                                       SIGKILL},
                                           RestartCase{"broadcast_graceful", {}, true, SIGTERM},
                                           RestartCase{"sharded_static_graceful",
                                                       {"--shared-group", "--instance-id", "dp-2"},
                                                       false,
                                                       SIGTERM}),
                         [](const auto& info) { return std::string(info.param.name); });

// Issue 13.3: SIGTERM while the broker is stopped exits 0 within 5 s and
// writes the final snapshot.
TEST(RealBrokerTest, SigtermWithTheBrokerStoppedExitsPromptly) {
  create_topic("stopped", 1);
  kcat_produce("stopped", {{"g", begin("g")},
                           {"g", add("g", "g.test")},
                           {"g", complete("g", 1)},
                           {"h", add("h", "h.test")}});
  const int port = free_port();
  const std::string dir = tmp("stopped-state");
  sh("rm -rf '" + dir + "'");
  Child c(kBin, consumer_args("stopped", "stopped-dp", port, {"--state-dir", dir}),
          tmp("stopped.out"));
  ASSERT_TRUE(wait_until([&] { return lookup_action(port, "h", "h.test") == "blacklist"; }))
      << c.output();
  const Broker& b = Broker::get();
  int st = 0;
  sh(b.script() + " stop " + b.dir, &st);
  ASSERT_EQ(st, 0);
  const auto t0 = std::chrono::steady_clock::now();
  c.signal(SIGTERM);
  const bool exited = wait_until([&] { return !c.running(); }, std::chrono::seconds(5));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  sh(b.script() + " restart " + b.dir, &st);  // for the tests that follow
  ASSERT_TRUE(exited) << "still running 5 s after SIGTERM\n" << c.output();
  std::printf("exit after SIGTERM with the broker stopped: %lld ms\n", static_cast<long long>(ms));
  EXPECT_EQ(c.wait(), 0) << c.output();
  EXPECT_NE(sh("'" + std::string(POLICYCTL_BIN) + "' snapshot-info '" + dir + "/policy.snapshot'")
                .find("next=4"),
            std::string::npos);
  ASSERT_EQ(st, 0);
}

// 4. Two consumers share a group (the sharded shape).
class SharedGroupTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SharedGroupTest, GracefulCloseHandsOverWithinSecondsAndKillWithinSessionTimeout) {
  const std::string topic = std::string("shared-") + (GetParam()[0] == 'r' ? "eager" : "coop");
  const std::string group = topic + "-dp";
  create_topic(topic, 4);
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 8; ++i) {
    const std::string g = "grp" + std::to_string(i);
    msgs.push_back({g, begin(g)});
    msgs.push_back({g, add(g, g + ".test")});
    msgs.push_back({g, complete(g, 1)});
  }
  kcat_produce(topic, msgs);
  const int pa = free_port(), pb = free_port();
  const std::vector<std::string> common = {
      "--shared-group", "-X", std::string("partition.assignment.strategy=") + GetParam(), "-X",
      "session.timeout.ms=45000"};
  Child a(kBin, consumer_args(topic, group, pa, common), tmp("a.out"));
  auto b = std::make_unique<Child>(kBin, consumer_args(topic, group, pb, common), tmp("b.out"));
  ASSERT_TRUE(wait_until([&] {
    return metric(pa, "policysync_assigned_partitions") == 2 &&
           metric(pb, "policysync_assigned_partitions") == 2 && ready(pa) && ready(pb);
  })) << a.output()
      << b->output();
  // Graceful: B leaves the group at once; A owns all four well before the
  // 45 s session timeout would have expired B.
  b->signal(SIGTERM);
  EXPECT_EQ(b->wait(), 0);
  ASSERT_TRUE(
      wait_until([&] { return metric(pa, "policysync_assigned_partitions") == 4 && ready(pa); },
                 std::chrono::seconds(15)))
      << a.output();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(lookup_action(pa, "grp" + std::to_string(i), "grp" + std::to_string(i) + ".test"),
              "blacklist");
  // Killed: B' dies without leaving; A gets its partitions once the (here
  // 10 s) session times out.
  b = std::make_unique<Child>(
      kBin,
      consumer_args(
          topic, group, pb,
          {"--shared-group", "-X", std::string("partition.assignment.strategy=") + GetParam(), "-X",
           "session.timeout.ms=10000"}),
      tmp("b2.out"));
  ASSERT_TRUE(
      wait_until([&] { return metric(pb, "policysync_assigned_partitions") == 2 && ready(pb); },
                 std::chrono::seconds(60)))
      << b->output();
  b->signal(SIGKILL);
  b->wait();
  ASSERT_TRUE(
      wait_until([&] { return metric(pa, "policysync_assigned_partitions") == 4 && ready(pa); },
                 std::chrono::seconds(40)))
      << a.output();
  EXPECT_EQ(metric(pa, "policysync_open_syncs"), 0);
  a.signal(SIGTERM);
  EXPECT_EQ(a.wait(), 0) << a.output();
}

INSTANTIATE_TEST_SUITE_P(Protocols, SharedGroupTest,
                         ::testing::Values("range", "cooperative-sticky"));

// 5. Security: SASL_SSL with SCRAM-SHA-512 and a CA made by openssl.
struct SecurityCase {
  const char* name;
  bool right_password;
  bool right_ca;
  int exit_code;
  const char* message;
};

class SecurityTest : public ::testing::TestWithParam<SecurityCase> {};

TEST_P(SecurityTest, ConnectsOrFailsWithOneClearLine) {
  const SecurityCase& sc = GetParam();
  const Broker& b = Broker::get();
  create_topic("secure", 1);
  std::string other_ca = tmp("other-ca.pem");
  sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout " + tmp("o.key") +
     " -out " + other_ca + " 2>/dev/null");
  const std::string password = sc.right_password ? b.password : "wrong-" + b.password;
  const int port = free_port();
  Child c(kBin,
          {b.secure_bootstrap, "secure", "--group", "secure-dp", "--metrics-port",
           std::to_string(port), "-X", "security.protocol=SASL_SSL", "-X",
           "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=" + b.user, "-X",
           "sasl.password=" + password, "-X", "ssl.ca.location=" + (sc.right_ca ? b.ca : other_ca)},
          tmp("consumer.out"));
  if (sc.exit_code == 0) {
    kcat_produce("secure",
                 {{"s", begin("s")}, {"s", add("s", "secret.test")}, {"s", complete("s", 1)}});
    ASSERT_TRUE(wait_until([&] {
      return ready(port) && lookup_action(port, "s", "secret.test") == "blacklist";
    })) << c.output();
    c.signal(SIGTERM);
  }
  EXPECT_EQ(c.wait(), sc.exit_code) << c.output();
  const std::string out = c.output();
  EXPECT_NE(out.find(sc.message), std::string::npos) << out;
  EXPECT_EQ(out.find(b.password), std::string::npos) << "the password leaked into the log";
  if (sc.exit_code != 0) {
    // One clear final line, and no retry storm before it.
    size_t finals = 0;
    for (size_t at = out.find("kafka_consumer: fatal:"); at != std::string::npos;
         at = out.find("kafka_consumer: fatal:", at + 1))
      ++finals;
    EXPECT_EQ(finals, 1u) << out;
    size_t failures = 0;
    for (size_t at = out.find("FAIL|"); at != std::string::npos; at = out.find("FAIL|", at + 1))
      ++failures;
    EXPECT_LE(failures, 3u) << out;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SecurityTest,
    ::testing::Values(SecurityCase{"ok", true, true, 0, "ready: 1 partitions caught up"},
                      SecurityCase{"wrong_password", false, true, 1, "_AUTHENTICATION"},
                      SecurityCase{"unknown_ca", true, false, 1, "certificate verify failed"}),
    [](const auto& info) { return std::string(info.param.name); });

// 6. A corpus of bad input through kcat: the consumer survives, state is as
// SPEC §6 says, the dead-letter topic holds each bad message with its reason.
TEST(RealBrokerTest, BadInputCorpusThroughKcat) {
  create_topic("dirty", 1);
  create_topic("dirty.dlq", 1);
  const std::string big(70000, 'x');
  const std::vector<std::pair<std::string, std::string>> msgs = {
      {"g", begin("g")},                                                  // 0
      {"g", add("g", "good.test")},                                       // 1
      {"g", complete("g", 1)},                                            // 2: g = {good}
      {"g", R"({"type":"ADD_DOMAIN","group_id":"g","domain":"x.test")"},  // 3 truncated
      {"g", R"({"type":"ADD_DOMAIN","group_id":"g","domain":7,"action":"allow"})"},  // 4 wrong type
      {"g", R"({"type":"EXPLODE","group_id":"g"})"},     // 5 unknown type
      {"g", add("g", "bad..test")},                      // 6 invalid domain
      {"g", add("g", std::string(300, 'a') + ".test")},  // 7 over-long
      {"g", R"({"type":"ADD_DOMAIN","group_id":"g","domain":"big.test","action":"allow","pad":")" +
                big + "\"}"},            // 8 too large
      {"g", complete("g", 0)},           // 9 without BEGIN: warning only
      {"g", begin("g")},                 // 10
      {"g", begin("g")},                 // 11 nested: restarts
      {"g", add("g", "mismatch.test")},  // 12
      {"g", complete("g", 5)},           // 13 count mismatch: aborted
      {"g", begin("g")},                 // 14
      {"g", add("g", "poisoned.test")},  // 15
      {"g", add("g", "bad..again")},     // 16 aborts the sync
      {"g", complete("g", 2)},           // 17 closes it, no swap
      {"m", R"({"type":"ADD_MALICIOUS","domain":"evil.test","category":"0x10"})"},  // 18 fine
  };
  kcat_produce("dirty", msgs, "-X message.max.bytes=200000");
  const int port = free_port();
  Child c(kBin, consumer_args("dirty", "dirty-dp", port, {"--dlq-topic", "dirty.dlq"}),
          tmp("consumer.out"));
  ASSERT_TRUE(wait_until([&] {
    return ready(port) && lookup_action(port, "g", "evil.test") == "malicious";
  })) << c.output();
  EXPECT_EQ(lookup_action(port, "g", "good.test"), "blacklist") << "the last good policy stays";
  for (const char* d : {"mismatch.test", "poisoned.test", "x.test", "big.test"})
    EXPECT_EQ(lookup_action(port, "g", d), "none") << d;
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(), 0) << c.output();
  const std::string out = c.output();
  for (const char* line :
       {"invalid message dirty/0@3: bad_json", "invalid message dirty/0@4: wrong_type",
        "invalid message dirty/0@5: unknown_type", "invalid message dirty/0@6: bad_domain",
        "invalid message dirty/0@7: bad_domain", "invalid message dirty/0@8: too_large",
        "SYNC_COMPLETE without BEGIN_SYNC: group=g at dirty/0@9",
        "sync restarted: group=g at dirty/0@11", "sync aborted: group=g at dirty/0@13",
        "invalid message dirty/0@16: bad_domain"})
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
  // The dead-letter copies, read with kcat: reason and source offset in headers.
  const std::string dlq =
      sh("kcat -C -b " + Broker::get().bootstrap +
         " -t dirty.dlq -e -q -f '%h\\n' -X fetch.message.max.bytes=200000 2>/dev/null");
  for (const char* want :
       {"policysync-source-offset=3", "policysync-source-offset=4", "policysync-source-offset=5",
        "policysync-source-offset=6", "policysync-source-offset=7", "policysync-source-offset=8",
        "policysync-source-offset=16", "policysync-reason=too_large"})
    EXPECT_NE(dlq.find(want), std::string::npos) << want << "\n" << dlq;
  // Every offset, the invalid ones included, committed once handled.
  EXPECT_EQ(group_offsets("dirty-dp", "dirty")[0].first, 19);
}

// SPEC §7 on the real broker: kill -9, restart with the same state dir: ready
// with the right state, reading only what followed the snapshot.
TEST(RealBrokerTest, RestartFromSnapshotAfterKill) {
  create_topic("snapped", 1);
  std::vector<std::pair<std::string, std::string>> msgs = {{"a", begin("a")}};
  for (int i = 0; i < 500; ++i) msgs.push_back({"a", add("a", "a" + std::to_string(i) + ".test")});
  msgs.push_back({"a", complete("a", 500)});
  msgs.push_back({"b", begin("b")});
  msgs.push_back({"b", add("b", "b1.test")});  // offsets 0..503; b stays open
  kcat_produce("snapped", msgs);
  const std::string dir = tmp("state");
  sh("rm -rf '" + dir + "' && mkdir -p '" + dir + "'");
  const int port = free_port();
  const auto args = consumer_args("snapped", "snapped-dp", port,
                                  {"--state-dir", dir, "--snapshot-interval", "0"});
  {
    Child c(kBin, args, tmp("run1.out"));
    ASSERT_TRUE(wait_until([&] {
      return ready(port) &&
             sh("'" + std::string(POLICYCTL_BIN) + "' snapshot-info '" + dir + "/policy.snapshot'")
                     .find("next=504") != std::string::npos;
    })) << c.output();
    c.signal(SIGKILL);
    c.wait();
  }
  kcat_produce("snapped", {{"b", add("b", "b2.test")}, {"b", complete("b", 2)}});
  Child c(kBin, args, tmp("run2.out"));
  ASSERT_TRUE(wait_until([&] {
    return ready(port) && lookup_action(port, "b", "b2.test") == "blacklist";
  })) << c.output();
  EXPECT_EQ(lookup_action(port, "a", "a499.test"), "blacklist");
  EXPECT_EQ(lookup_action(port, "b", "b1.test"), "blacklist")
      << "the open sync came back from the snapshot";
  EXPECT_EQ(metric(port, "policysync_messages_consumed_total"), 2)
      << "only what followed the snapshot";
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(), 0) << c.output();
  EXPECT_NE(c.output().find("snapped/0@504 (snapshot)"), std::string::npos) << c.output();
}

// SPEC §7: a snapshot whose offset retention has deleted is reported and
// that partition is replayed from the beginning instead.
TEST(RealBrokerTest, SnapshotBelowTheLogStartFallsBackToReplay) {
  create_topic("retained", 1);
  kcat_produce("retained",
               {{"a", begin("a")}, {"a", add("a", "old.test")}, {"a", complete("a", 1)}});
  const std::string dir = tmp("state");
  sh("rm -rf '" + dir + "' && mkdir -p '" + dir + "'");
  const int port = free_port();
  const auto args = consumer_args("retained", "retained-dp", port, {"--state-dir", dir});
  {
    Child c(kBin, args, tmp("run1.out"));
    ASSERT_TRUE(wait_until([&] { return ready(port); })) << c.output();
    c.signal(SIGTERM);  // graceful: the snapshot says next=3
    ASSERT_EQ(c.wait(), 0) << c.output();
  }
  // A new sync arrives, then retention deletes everything before offset 4.
  kcat_produce("retained",
               {{"a", begin("a")}, {"a", add("a", "new.test")}, {"a", complete("a", 1)}});
  const std::string json = tmp("delete.json");
  {
    std::ofstream f(json);
    f << R"({"partitions":[{"topic":"retained","partition":0,"offset":4}],"version":1})";
  }
  testing::kafka_tool("org.apache.kafka.tools.DeleteRecordsCommand --bootstrap-server " +
                      Broker::get().bootstrap + " --offset-json-file " + json);
  Child c(kBin, args, tmp("run2.out"));
  ASSERT_TRUE(wait_until([&] { return ready(port); })) << c.output();
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(), 0);
  EXPECT_NE(c.output().find(
                "snapshot offset 3 of retained/0 is below the log start 4: replaying it from the "
                "beginning"),
            std::string::npos)
      << c.output();
}

}  // namespace
}  // namespace policysync
