// The DNS filter's per-burst classification (examples/dpdk_dns_filter/
// burst_filter.h) against a real PolicyStore, without DPDK: the SYNC_COMPLETE
// boundary, groups by source, hostile packets, and one policy generation per
// group per burst while a writer keeps syncing.
#include "burst_filter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "demo_traffic.h"
#include "dns_frame.h"
#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"

namespace {

using policysync::Action;

// Applies JSON messages to a store (any one thread at a time).
struct Writer {
  explicit Writer(policysync::PolicyStore& s) : store(s) {}
  policysync::PolicyStore& store;
  policysync::MessageParser parser{policysync::ParserLimits{}};
  void apply(const std::string& json) {
    policysync::Message m;
    const policysync::Status s = parser.parse(json.data(), json.size(), &m);
    ASSERT_TRUE(s.ok()) << json << ": " << s.to_string();
    (void)store.apply(m);
  }
  void begin(const std::string& g) { apply(R"({"type":"BEGIN_SYNC","group_id":")" + g + "\"}"); }
  void block(const std::string& g, const std::string& d) {
    apply(R"({"type":"ADD_DOMAIN","group_id":")" + g + R"(","domain":")" + d +
          R"(","action":"blacklist"})");
  }
  void complete(const std::string& g) {
    apply(R"({"type":"SYNC_COMPLETE","group_id":")" + g + "\"}");
  }
};

struct Frames {
  std::vector<std::vector<uint8_t>> frames;
  void add(const std::string& name, uint8_t net, bool v6 = false) {
    dns::FrameSpec s;
    s.src_net = net;
    s.ipv6 = v6;
    frames.push_back(dns::dns_frame(s, dns::question(name)));
  }
};

class BurstFilterTest : public ::testing::Test {
 protected:
  BurstFilterTest() : reader_(store_), filter_(map(), reader_, counters_) {}

  static const dns::GroupMap& map() {
    static const dns::GroupMap m = [] {
      dns::GroupMap g;
      std::string error;
      EXPECT_TRUE(dns::GroupMap::parse(dns::demo::kGroupsConf, "demo", &g, &error)) << error;
      return g;
    }();
    return m;
  }

  std::vector<bool> classify(const std::vector<std::vector<uint8_t>>& frames,
                             policysync::Verdict* verdicts = nullptr) {
    std::vector<const uint8_t*> data;
    std::vector<uint32_t> lens;
    for (const auto& f : frames) {
      data.push_back(f.data());
      lens.push_back(static_cast<uint32_t>(f.size()));
    }
    bool forward[dns::BurstFilter::kMaxBurst];
    filter_.classify(data.data(), lens.data(), frames.size(), forward, verdicts);
    reader_.quiescent();
    return std::vector<bool>(forward, forward + frames.size());
  }

  policysync::PolicyStore store_;
  Writer writer_{store_};
  policysync::Reader reader_;
  dns::FilterCounters counters_;
  dns::BurstFilter filter_;
};

TEST_F(BurstFilterTest, BlockedNamesPassUntilTheirSyncCompletes) {
  writer_.begin("enterprise_a");
  writer_.block("enterprise_a", "tracker.test");
  writer_.complete("enterprise_a");
  Frames f;
  f.add("cdn.video.test", 1);          // enterprise_a, IPv4
  f.add("ads.tracker.test", 1, true);  // enterprise_a, IPv6
  f.add("cdn.video.test", 2);          // enterprise_b
  writer_.begin("enterprise_a");
  writer_.block("enterprise_a", "tracker.test");
  writer_.block("enterprise_a", "video.test");
  EXPECT_EQ(classify(f.frames), (std::vector<bool>{true, false, true})) << "sync still open";
  writer_.complete("enterprise_a");
  EXPECT_EQ(classify(f.frames), (std::vector<bool>{false, false, true})) << "after SYNC_COMPLETE";
  EXPECT_EQ(counters_.verdict(Action::kBlacklist), 3u);
  EXPECT_EQ(counters_.verdict(Action::kNone), 3u);
  EXPECT_EQ(counters_.dropped.load(), 3u);
  EXPECT_EQ(counters_.forwarded.load(), 3u);
  EXPECT_EQ(counters_.bursts.load(), 2u);
}

TEST_F(BurstFilterTest, SourcePrefixChoosesTheGroupAndTheFeedCoversAll) {
  writer_.begin("enterprise_b");
  writer_.block("enterprise_b", "games.test");
  writer_.complete("enterprise_b");
  writer_.apply(R"({"type":"ADD_MALICIOUS","domain":"phish.bad","category":7})");
  Frames f;
  f.add("lobby.games.test", 1);        // enterprise_a: no such rule
  f.add("lobby.games.test", 2, true);  // enterprise_b
  f.add("lobby.games.test", 9);        // guest (the default)
  f.add("login.phish.bad", 1);
  f.add("login.phish.bad", 9, true);
  std::vector<policysync::Verdict> v(5);
  EXPECT_EQ(classify(f.frames, v.data()), (std::vector<bool>{true, false, true, false, false}));
  EXPECT_EQ(v[1].source, policysync::MatchSource::kSuffix);
  EXPECT_EQ(v[3].action, Action::kMalicious);
  EXPECT_EQ(counters_.verdict(Action::kMalicious), 2u);
}

TEST_F(BurstFilterTest, HostilePacketsAreCountedByReasonNeverClassified) {
  const auto hostile = dns::demo::hostile();
  EXPECT_EQ(classify(hostile),
            (std::vector<bool>{true, true, true, false, false, false, false, false}));
  EXPECT_EQ(counters_.kind(dns::Kind::kNotDns), 3u);
  EXPECT_EQ(counters_.kind(dns::Kind::kQdCount), 1u);
  EXPECT_EQ(counters_.kind(dns::Kind::kBadName), 1u);
  EXPECT_EQ(counters_.kind(dns::Kind::kTruncatedHeader), 1u);
  EXPECT_EQ(counters_.kind(dns::Kind::kTcpSplit), 1u);
  EXPECT_EQ(counters_.kind(dns::Kind::kTooDeep), 1u);
  EXPECT_EQ(counters_.dropped.load(), static_cast<uint64_t>(dns::demo::kHostileDropped));
  for (size_t a = 0; a < dns::FilterCounters::kActions; ++a)
    EXPECT_EQ(counters_.verdicts[a].load(), 0u) << "no lookup for a non-query";
}

// Issue 18 item 7: a blocked name is dropped whichever way it comes in, and
// what cannot be parsed is dropped unless the filter fails open.
TEST_F(BurstFilterTest, EveryWayInIsJudgedAndOnlyFailOpenForwardsTheUnparsed) {
  writer_.begin("enterprise_a");
  writer_.block("enterprise_a", "tracker.test");
  writer_.complete("enterprise_a");
  std::vector<std::vector<uint8_t>> frames;
  for (dns::FrameSpec s :
       {dns::FrameSpec{.ip_proto = 6}, dns::FrameSpec{.ipv6 = true, .ip_proto = 6},
        dns::FrameSpec{.outer_tags = 2}, dns::FrameSpec{.ipv6 = true, .ext_headers = 5},
        dns::FrameSpec{.ipv6 = true, .outer_tags = 1, .ext_headers = 2, .ip_proto = 6}}) {
    s.src_net = 1;  // enterprise_a
    frames.push_back(dns::dns_frame(s, dns::question("ads.tracker.test")));
  }
  EXPECT_EQ(classify(frames), std::vector<bool>(frames.size(), false));
  EXPECT_EQ(counters_.verdict(Action::kBlacklist), frames.size());

  dns::FilterCounters open_counters;
  dns::BurstFilter fail_open(map(), reader_, open_counters, /*fail_open=*/true);
  const auto hostile = dns::demo::hostile();
  std::vector<const uint8_t*> data;
  std::vector<uint32_t> lens;
  for (const auto& f : hostile) {
    data.push_back(f.data());
    lens.push_back(static_cast<uint32_t>(f.size()));
  }
  bool forward[dns::BurstFilter::kMaxBurst];
  fail_open.classify(data.data(), lens.data(), hostile.size(), forward);
  EXPECT_EQ(std::vector<bool>(forward, forward + hostile.size()),
            std::vector<bool>(hostile.size(), true));
  EXPECT_EQ(open_counters.kind(dns::Kind::kTcpSplit), 1u) << "counted all the same";
  EXPECT_EQ(open_counters.kind(dns::Kind::kTooDeep), 1u);
}

TEST_F(BurstFilterTest, NamesNoRuleCanMatchAreForwardedAndCounted) {
  Frames f;
  f.frames.push_back(dns::dns_frame({}, {0, 0, 2, 0, 1}));  // the root: ". NS"
  f.add("under_score.example", 1);
  f.frames.push_back(dns::dns_frame({}, {3, 'a', '*', 'b', 0, 0, 1, 0, 1}));
  EXPECT_EQ(classify(f.frames), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(counters_.unmatchable.load(), 2u) << "the root and 'a*b'";
}

// A writer completes sync after sync while this thread classifies bursts of
// one group's queries: every burst must be answered by one generation, and
// by exactly that generation's rules. Sync k blocks n0.test .. n<k%32>.test.
TEST_F(BurstFilterTest, NoBurstIsClassifiedAgainstAMixOfGenerations) {
  constexpr int kSyncs = 300;
  Frames f;
  for (int i = 0; i < 32; ++i) f.add("n" + std::to_string(i) + ".test", 1, i % 2 == 1);
  std::atomic<bool> done{false};
  std::atomic<size_t> bursts_done{0};
  std::thread writer([&] {
    Writer w(store_);
    for (int k = 1; k <= kSyncs; ++k) {
      // Interleaves with the bursts however the threads are scheduled, but
      // never runs ahead of them: a sync only after a burst that ended since
      // the last one (gating on a burst count alone let a reader scheduled
      // first run 300 bursts, after which every sync came at once and the
      // bursts saw one change: a flake under ctest -j2).
      const size_t seen = bursts_done.load();
      while (bursts_done.load() == seen) std::this_thread::yield();
      w.begin("enterprise_a");
      for (int i = 0; i <= k % 32; ++i) w.block("enterprise_a", "n" + std::to_string(i) + ".test");
      w.complete("enterprise_a");
    }
    done = true;
  });
  std::vector<policysync::Verdict> v(32);
  size_t bursts = 0, changed_mid_run = 0;
  uint64_t last = 0;
  while (!done.load()) {
    const std::vector<bool> forward = classify(f.frames, v.data());
    const uint64_t gen = v[0].generation;
    bursts_done = ++bursts;
    changed_mid_run += gen != last;
    last = gen;
    for (int i = 0; i < 32; ++i) {
      ASSERT_EQ(v[i].generation, gen) << "burst " << bursts << " query " << i;
      const bool blocked = gen > 0 && i <= static_cast<int>(gen % 32);
      ASSERT_EQ(forward[i], !blocked) << "generation " << gen << " query n" << i << ".test";
    }
  }
  writer.join();
  EXPECT_GT(changed_mid_run, 1u) << "the bursts saw the policy change (" << bursts << " bursts)";
}

}  // namespace
