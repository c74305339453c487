// kafka_consumer --demo (SPEC §8): an embedded Kafka-protocol cluster
// (librdkafka's mock), the seed's messages published by a real producer and
// consumed by the same PolicyConsumer the daemon runs; then a measurement of
// what the BEGIN_SYNC/SYNC_COMPLETE protocol prevents.
#include "demo.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "policysync/consumer.h"
#include "policysync/embedded_cluster.h"
#include "policysync/reader.h"

namespace policysync::apps {

namespace {

constexpr const char* kTopic = "policy_updates";
constexpr int kProtocolEntries = 4000;
constexpr int kBatch = 32;

std::string add(const std::string& group, const std::string& domain, const char* action,
                int category = 0) {
  return R"({"type":"ADD_DOMAIN","group_id":")" + group + R"(","domain":")" + domain +
         R"(","action":")" + action + R"(","category":)" + std::to_string(category) + "}";
}
std::string typed(const char* type, const std::string& group) {
  return std::string(R"({"type":")") + type + R"(","group_id":")" + group + R"("})";
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Polls until `done()` or the deadline; false on timeout or a fatal error.
bool poll_until(Consumer& c, const std::function<bool()>& done, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    Status s = c.poll(std::chrono::milliseconds(50));
    if (!s.ok()) {
      std::fprintf(stderr, "demo: %s\n", s.to_string().c_str());
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
  return true;
}

// Worker threads look up bursts of names of `group` that the policy being
// applied contains; a burst that finds some but not all of them saw a
// partial policy.
struct PartialCounter {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> partial{0};
  std::vector<std::thread> threads;

  PartialCounter(const PolicyStore& store, const std::string& group) {
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([this, &store, group, t] {
        Reader reader(store);
        std::vector<std::string> names;
        for (int i = 0; i < kBatch; ++i)
          names.push_back("d" + std::to_string((i * 131 + t * 17) % kProtocolEntries) +
                          ".protocol.test");
        std::vector<std::string_view> views(names.begin(), names.end());
        Verdict out[kBatch];
        while (!stop.load(std::memory_order_relaxed)) {
          reader.lookup_batch(reader.find_group(group), views.data(), views.size(), out);
          int found = 0;
          for (const Verdict& v : out) found += v.action != Action::kNone;
          batches.fetch_add(1, std::memory_order_relaxed);
          if (found > 0 && found < kBatch) partial.fetch_add(1, std::memory_order_relaxed);
          reader.quiescent();
        }
      });
    }
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

}  // namespace

int run_demo(bool verbose) {
  std::printf("=== Module 20: Kafka Consumer (Policy Sync) ===\n");
  std::fflush(stdout);
  std::unique_ptr<EmbeddedCluster> cluster;
  Status s = EmbeddedCluster::create(&cluster);
  if (s.ok()) s = cluster->create_topic(kTopic, 1);
  if (!s.ok()) {
    std::fprintf(stderr, "demo: embedded cluster: %s\n", s.to_string().c_str());
    return 1;
  }
  std::unique_ptr<Publisher> producer;
  s = Publisher::create(cluster->bootstraps(), {}, &producer);
  if (!s.ok()) {
    std::fprintf(stderr, "demo: producer: %s\n", s.to_string().c_str());
    return 1;
  }
  const std::string g = "enterprise_a";
  const std::vector<std::string> seed = {
      typed("BEGIN_SYNC", g),
      add(g, "google.com", "whitelist"),
      add(g, "facebook.com", "blacklist", 2),
      add(g, "youtube.com", "blacklist", 2),
      add(g, "tracker.com", "blacklist", 8),
      add(g, "github.com", "allow"),
      add(g, "*.ads.example", "blacklist", 16),
      R"({"type":"REMOVE_DOMAIN","group_id":"enterprise_a","domain":"youtube.com"})",
      R"({"type":"SYNC_COMPLETE","group_id":"enterprise_a","count":6})",
      R"({"type":"ADD_MALICIOUS","domain":"c2.evil.net","category":4,"confidence":98})",
  };
  for (const std::string& m : seed) {
    s = producer->send(kTopic, m.find("group_id") != std::string::npos ? g : "", m);
    if (!s.ok()) break;
  }
  if (s.ok()) s = producer->flush(std::chrono::seconds(10));
  if (!s.ok()) {
    std::fprintf(stderr, "demo: publish: %s\n", s.to_string().c_str());
    return 1;
  }

  // The seed's lines are the pipeline's trace lines; everything else goes to
  // stderr only with -v.
  Log log(
      [verbose](LogLevel level, std::string_view m) {
        if (level == LogLevel::kTrace) {
          std::printf("%.*s\n", static_cast<int>(m.size()), m.data());
          std::fflush(stdout);
        } else if (verbose || level >= LogLevel::kWarn) {
          stderr_sink(level, m);
        }
      },
      LogLevel::kTrace);
  PolicyStore store;
  ConsumerOptions opt;
  opt.log = &log;
  opt.brokers = cluster->bootstraps();
  opt.topic = kTopic;
  opt.group_id = "policysync-demo";
  opt.stats_interval_s = 0;
  opt.properties = {{"session.timeout.ms", "6000"}, {"log_level", "3"}};
  std::unique_ptr<Consumer> consumer;
  s = Consumer::create(opt, store, &consumer);
  if (!s.ok()) {
    std::fprintf(stderr, "demo: consumer: %s\n", s.to_string().c_str());
    return 1;
  }
  const auto seed_done = [&] {
    return consumer->ready() &&
           consumer->counters().consumed.load() >= static_cast<uint64_t>(seed.size());
  };
  if (!poll_until(*consumer, seed_done, 60)) {
    std::fprintf(stderr, "demo: the seed's messages did not arrive within 60 s\n");
    return 1;
  }

  std::printf("Policy lookup verification:\n");
  {
    Reader reader(store);
    const std::pair<const char*, const char*> checks[] = {
        {"google.com", ""},     {"facebook.com", ""},   {"youtube.com", "(removed)"},
        {"www.github.com", ""}, {"x1.ads.example", ""}, {"c2.evil.net", ""},
        {"example.org", ""}};
    for (const auto& [name, note] : checks) {
      const Verdict v = reader.lookup(g, name);
      std::string shown =
          v.action == Action::kNone ? "NOT FOUND" : upper(std::string(action_name(v.action)));
      if (*note)
        shown += std::string(" ") + note;
      else if (v.source == MatchSource::kSuffix || v.source == MatchSource::kWildcard)
        shown += " (" + std::string(match_source_name(v.source)) + " rule " +
                 (v.source == MatchSource::kWildcard ? "*." : "") + std::string(v.rule) + ")";
      else if (v.source == MatchSource::kMalicious)
        shown += " (category " + std::to_string(v.category) + ", confidence " +
                 std::to_string(v.confidence) + ")";
      std::printf("[%s] %s → %s\n", g.c_str(), name, shown.c_str());
    }
  }

  // What the protocol prevents, measured: workers look up while one policy
  // of kProtocolEntries names is applied (a) message by message, (b) as a sync.
  std::printf("\nThe SYNC_COMPLETE protocol — why it matters (%d domains, 2 worker threads):\n",
              kProtocolEntries);
  log.set_min(LogLevel::kInfo);  // no line per message from here on
  struct Run {
    const char* label;
    std::string group;
    bool sync;
  };
  const Run runs[] = {{"WITHOUT SYNC_COMPLETE (naive immediate apply)", "naive_b", false},
                      {"WITH SYNC_COMPLETE (buffered apply, one atomic swap)", "synced_c", true}};
  uint64_t synced_partial = 0;
  for (const Run& run : runs) {
    std::vector<std::string> msgs;
    if (run.sync) msgs.push_back(typed("BEGIN_SYNC", run.group));
    for (int i = 0; i < kProtocolEntries; ++i)
      msgs.push_back(add(run.group, "d" + std::to_string(i) + ".protocol.test", "blacklist"));
    if (run.sync)
      msgs.push_back(R"({"type":"SYNC_COMPLETE","group_id":")" + run.group + R"(","count":)" +
                     std::to_string(kProtocolEntries) + "}");
    for (const std::string& m : msgs) (void)producer->send(kTopic, run.group, m);
    s = producer->flush(std::chrono::seconds(10));
    if (!s.ok()) {
      std::fprintf(stderr, "demo: publish: %s\n", s.to_string().c_str());
      return 1;
    }
    PartialCounter counter(store, run.group);
    const uint64_t target = consumer->counters().consumed.load() + msgs.size();
    const bool ok = poll_until(
        *consumer, [&] { return consumer->counters().consumed.load() >= target; }, 60);
    // Let the workers see the final state for a few more bursts.
    const uint64_t seen = counter.batches.load();
    while (counter.batches.load() < seen + 100) std::this_thread::yield();
    counter.finish();
    if (!ok) {
      std::fprintf(stderr, "demo: the protocol run did not complete within 60 s\n");
      return 1;
    }
    std::printf("  %-52s %llu of %llu lookup bursts saw a partial policy\n", run.label,
                static_cast<unsigned long long>(counter.partial.load()),
                static_cast<unsigned long long>(counter.batches.load()));
    if (run.sync) synced_partial = counter.partial.load();
  }
  std::printf("Workers only ever see either the full old policy or the full new policy.\n");
  consumer->close();
  if (synced_partial != 0) {
    std::fprintf(stderr, "demo: BUG: a worker saw a partial synced policy\n");
    return 1;
  }
  return 0;
}

}  // namespace policysync::apps
