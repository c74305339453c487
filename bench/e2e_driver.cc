// End-to-end benchmark driver against a real Kafka broker (bench/e2e):
//   e2e_driver BOOTSTRAP
// 1. Cold start (issue 19): 1M immediate ADD_DOMAIN on one partition (topic
//    e2e_cold); the time a PolicyConsumer with its defaults takes from
//    create() to ready(), against the fastest way librdkafka reads the same
//    records (assign, no group, a deep prefetch queue), in the same run.
// 2. Produces 1M ADD_DOMAIN as one sync of one group (topic e2e_one) and 1M
//    spread over 1,000 groups' syncs (topic e2e_many, 4 partitions).
// 3. For each topic, in the same run: (a) that fastest bare consumer, which
//    only touches each payload; (b) PolicyConsumer applying everything until
//    the last SYNC_COMPLETE is visible through the API. Prints msgs/s and b/a.
// 4. Live latency: with the consumer caught up, 20 small syncs; for each,
//    the time from the SYNC_COMPLETE's delivery report to a worker's lookup
//    seeing the new policy.
// 5. With E2E_PROVIDER=1: the provider set (bench/provider.h: 1M groups,
//    ~20M rules on e2e_provider, 4 partitions; 10M malicious on e2e_feed),
//    replayed by a node with no snapshot: time to ready.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "kafka/policy_consumer.h"
#include "kafka/producer.h"
#include "policysync/reader.h"
#include "policysync/snapshot.h"
#include "provider.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace policysync;

volatile uint64_t benchmark_sink;  // the bare consumer's touches end here

double secs(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string add(const std::string& g, size_t i, int category) {
  return R"({"type":"ADD_DOMAIN","group_id":")" + g + R"(","domain":"d)" + std::to_string(i) + "." +
         g + R"(.bench","action":"blacklist","category":)" + std::to_string(category) + "}";
}

void produce(const std::string& brokers, const std::string& topic, int groups, size_t total) {
  std::unique_ptr<kafka::Producer> p;
  Status s = kafka::Producer::create(brokers,
                                     {{"linger.ms", "20"},
                                      {"batch.num.messages", "10000"},
                                      {"queue.buffering.max.messages", "1000000"},
                                      {"compression.codec", "lz4"}},
                                     &p);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    std::exit(1);
  }
  const size_t per = total / static_cast<size_t>(groups);
  const auto t0 = Clock::now();
  for (int gi = 0; gi < groups; ++gi) {
    const std::string g = "bg" + std::to_string(gi);
    (void)p->send(topic, g, R"({"type":"BEGIN_SYNC","group_id":")" + g + R"("})");
    for (size_t i = 0; i < per; ++i) (void)p->send(topic, g, add(g, i, 1));
    (void)p->send(topic, g,
                  R"({"type":"SYNC_COMPLETE","group_id":")" + g + R"(","count":)" +
                      std::to_string(per) + "}");
  }
  s = p->flush(300000);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    std::exit(1);
  }
  std::printf("produced %zu messages to %s (%d groups) in %.1f s\n", total + 2 * groups,
              topic.c_str(), groups, secs(t0));
}

// (a) The baseline: the fastest way librdkafka reads the records (measured:
// assign with no group to join, a prefetch queue deep enough that its
// fetcher never backs off, large fetches), touching each payload.
double bare_consume(const std::string& brokers, const std::string& topic, size_t expected,
                    int partitions, double* from_create_s = nullptr) {
  const auto created = Clock::now();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"bootstrap.servers", brokers},
                                                        {"group.id", "bare-" + topic},
                                                        {"enable.auto.commit", "false"},
                                                        {"queued.min.messages", "1000000"},
                                                        {"fetch.queue.backoff.ms", "1"},
                                                        {"max.partition.fetch.bytes", "16777216"}})
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(t, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, t);
  rd_kafka_topic_partition_list_destroy(t);
  size_t n = 0;
  uint64_t touched = 0;
  Clock::time_point t0;
  while (n < expected) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) {
      if (n == 0) t0 = Clock::now();
      const auto* p = static_cast<const unsigned char*>(m->payload);
      touched += p[0] + p[m->len - 1];
      ++n;
    }
    rd_kafka_message_destroy(m);
  }
  const double rate = static_cast<double>(n) / secs(t0);
  if (from_create_s) *from_create_s = secs(created);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  benchmark_sink = touched;  // keep the touches
  return rate;
}

// (b) The policy consumer until the last SYNC_COMPLETE is visible.
double policy_consume(const std::string& brokers, const std::string& topic, int groups,
                      double* visible_after) {
  PolicyStore store;
  Log log([](LogLevel l, std::string_view m) {
    if (l >= LogLevel::kWarn) stderr_sink(l, m);
  });
  kafka::ConsumerOptions o;
  o.brokers = brokers;
  o.topic = topic;
  o.group_id = "policy-" + topic;
  o.stats_interval_s = 0;
  std::unique_ptr<kafka::PolicyConsumer> c;
  Status s = kafka::PolicyConsumer::create(o, store, log, &c);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    std::exit(1);
  }
  Clock::time_point t0;
  bool started = false;
  while (store.counters().syncs_completed.load() < static_cast<uint64_t>(groups)) {
    (void)c->poll_once(100);
    if (!started && c->counters().consumed.load() > 0) {
      started = true;
      t0 = Clock::now();
    }
  }
  const double elapsed = secs(t0);
  // Visible through the API: a worker's lookup finds the last group's rule.
  Reader r(store);
  const std::string last = "bg" + std::to_string(groups - 1);
  if (r.lookup(last, "d0." + last + ".bench").action != Action::kBlacklist)
    std::printf("NOT VISIBLE\n");
  *visible_after = elapsed;
  const double rate = static_cast<double>(c->counters().consumed.load()) / elapsed;
  // Restart from a snapshot instead of a replay (SPEC §7): write this state,
  // then time reading and restoring it into a fresh store.
  const std::string path = "/tmp/policysync-e2e-" + topic + ".snapshot";
  const auto te = Clock::now();
  const std::string bytes = encode_snapshot(store, c->watermarks());
  const double encode_s = secs(te);
  if (!write_snapshot_file(path, bytes).ok()) std::printf("snapshot write failed\n");
  const auto tr = Clock::now();
  std::string in;
  PolicyStore fresh;
  Watermarks wm;
  Status rs = read_snapshot_file(path, &in);
  if (rs.ok()) rs = decode_snapshot(in, &fresh, &wm);
  const double restore_s = secs(tr);
  std::printf(
      "%s: snapshot %.1f MB, encoded in %.0f ms; restart from it %.2f s vs replay %.2f s "
      "(%.1fx)%s\n",
      topic.c_str(), static_cast<double>(bytes.size()) / 1e6, encode_s * 1e3, restore_s, elapsed,
      elapsed / restore_s, rs.ok() ? "" : " RESTORE FAILED");
  std::remove(path.c_str());
  c->close();
  return rate;
}

// Seconds from create() to ready() of a PolicyConsumer with its defaults
// reading `topics` from the beginning (no snapshot).
double time_to_ready(const std::string& brokers, const std::string& topic,
                     const std::string& malicious_topic, uint64_t* consumed) {
  PolicyStore store;
  Log log([](LogLevel l, std::string_view m) {
    if (l >= LogLevel::kWarn) stderr_sink(l, m);
  });
  kafka::ConsumerOptions o;
  o.brokers = brokers;
  o.topic = topic;
  o.malicious_topic = malicious_topic;
  o.group_id = "cold-" + topic;
  o.stats_interval_s = 0;
  const auto t0 = Clock::now();
  std::unique_ptr<kafka::PolicyConsumer> c;
  if (!kafka::PolicyConsumer::create(o, store, log, &c).ok()) std::exit(1);
  while (!c->ready()) (void)c->poll_for(std::chrono::milliseconds(10));
  const double s = secs(t0);
  *consumed = c->counters().consumed.load();
  c->close();
  return s;
}

// 1M immediate ADD_DOMAIN of one group on one partition.
void produce_cold(const std::string& brokers, const std::string& topic, size_t n) {
  std::unique_ptr<kafka::Producer> p;
  if (!kafka::Producer::create(brokers,
                               {{"linger.ms", "20"},
                                {"batch.num.messages", "10000"},
                                {"queue.buffering.max.messages", "1000000"},
                                {"compression.codec", "lz4"}},
                               &p)
           .ok())
    std::exit(1);
  for (size_t i = 0; i < n; ++i) (void)p->send(topic, "g", add("g", i, 3));
  if (!p->flush(300000).ok()) std::exit(1);
}

// The provider set (bench/provider.h) as a PM would publish it: every group's
// sync on `topic` keyed by group, the feed on `feed_topic`.
void produce_provider(const std::string& brokers, const std::string& topic,
                      const std::string& feed_topic, const bench::ProviderSet& set) {
  std::unique_ptr<kafka::Producer> p;
  if (!kafka::Producer::create(brokers,
                               {{"linger.ms", "50"},
                                {"batch.num.messages", "10000"},
                                {"queue.buffering.max.messages", "2000000"},
                                {"compression.codec", "lz4"}},
                               &p)
           .ok())
    std::exit(1);
  const auto t0 = Clock::now();
  for (size_t g = 0; g < set.groups; ++g) {
    const std::string id = bench::ProviderSet::group_id(g);
    (void)p->send(topic, id, R"({"type":"BEGIN_SYNC","group_id":")" + id + R"("})");
    for (uint32_t j = 0; j < set.sizes[g]; ++j)
      (void)p->send(topic, id,
                    R"({"type":"ADD_DOMAIN","group_id":")" + id + R"(","domain":")" +
                        bench::ProviderSet::rule(g, j).domain + R"(","action":"blacklist"})");
    (void)p->send(topic, id,
                  R"({"type":"SYNC_COMPLETE","group_id":")" + id + R"(","count":)" +
                      std::to_string(set.sizes[g]) + "}");
  }
  for (size_t i = 0; i < set.feed; ++i)
    (void)p->send(feed_topic, "feed",
                  R"({"type":"ADD_MALICIOUS","domain":")" + bench::ProviderSet::malicious(i) +
                      R"(","category":4})");
  if (!p->flush(1800000).ok()) std::exit(1);
  std::printf("produced the provider set (%zu groups, %zu rules, %zu malicious) in %.0f s\n",
              set.groups, set.rules, set.feed, secs(t0));
}

void live_latency(const std::string& brokers) {
  PolicyStore store;
  Log log([](LogLevel l, std::string_view m) {
    if (l >= LogLevel::kWarn) stderr_sink(l, m);
  });
  kafka::ConsumerOptions o;
  o.brokers = brokers;
  o.topic = "e2e_live";
  o.group_id = "policy-live";
  o.stats_interval_s = 0;
  std::unique_ptr<kafka::PolicyConsumer> c;
  if (!kafka::PolicyConsumer::create(o, store, log, &c).ok()) std::exit(1);
  std::atomic<bool> stop{false};
  std::thread poller([&] {
    (void)c->run(stop);
    c->close();
  });
  while (!c->ready()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::atomic<Clock::time_point*> delivered{nullptr};
  Clock::time_point stamp;
  std::unique_ptr<kafka::Producer> p;
  if (!kafka::Producer::create(brokers, {{"linger.ms", "0"}}, &p,
                               [&](void* opaque, rd_kafka_resp_err_t) {
                                 if (opaque) {
                                   stamp = Clock::now();
                                   delivered = &stamp;
                                 }
                               })
           .ok())
    std::exit(1);
  Reader reader(store);
  std::vector<double> ms;
  for (int k = 1; k <= 20; ++k) {
    delivered = nullptr;
    (void)p->send("e2e_live", "live", R"({"type":"BEGIN_SYNC","group_id":"live"})");
    for (int i = 0; i < 10; ++i)
      (void)p->send("e2e_live", "live", add("live", static_cast<size_t>(i), k));
    (void)p->send("e2e_live", "live", R"({"type":"SYNC_COMPLETE","group_id":"live","count":10})",
                  {}, &stamp);
    while (delivered.load() == nullptr) p->poll(1);
    // A worker polling for the new generation (category k).
    while (reader.lookup("live", "d0.live.bench").category != static_cast<uint32_t>(k))
      reader.quiescent();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - stamp).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "live: SYNC_COMPLETE delivered -> visible to a worker: p50 %.2f ms, max %.2f ms (20 syncs)\n",
      ms[ms.size() / 2], ms.back());
  stop = true;
  poller.join();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: e2e_driver BOOTSTRAP (see bench/e2e)\n");
    return 2;
  }
  const std::string brokers = argv[1];
  constexpr size_t kTotal = 1'000'000;
  {
    produce_cold(brokers, "e2e_cold", kTotal);
    double bare_s = 0;
    const double bare = bare_consume(brokers, "e2e_cold", kTotal, 1, &bare_s);
    uint64_t consumed = 0;
    const double ready_s = time_to_ready(brokers, "e2e_cold", "", &consumed);
    std::printf(
        "cold start, 1M immediate ADD_DOMAIN on one partition: kafka_consumer's defaults ready "
        "after %.2f s (%llu records); fastest bare librdkafka read %.2f s from create (%.0f "
        "msg/s); ratio %.2f\n",
        ready_s, static_cast<unsigned long long>(consumed), bare_s, bare, ready_s / bare_s);
  }
  struct Case {
    const char* topic;
    int groups;
  };
  for (const Case& c : {Case{"e2e_one", 1}, Case{"e2e_many", 1000}}) {
    produce(brokers, c.topic, c.groups, kTotal);
    const size_t expected = kTotal + 2 * static_cast<size_t>(c.groups);
    const double a = bare_consume(brokers, c.topic, expected, c.groups == 1 ? 1 : 4);
    double visible = 0;
    const double b = policy_consume(brokers, c.topic, c.groups, &visible);
    std::printf(
        "%s (%d group%s): bare consumer %.0f msg/s, kafka_consumer apply %.0f msg/s, ratio b/a "
        "%.2f; "
        "last SYNC_COMPLETE visible %.2f s after the first message\n",
        c.topic, c.groups, c.groups == 1 ? "" : "s", a, b, b / a, visible);
  }
  live_latency(brokers);
  if (const char* e = std::getenv("E2E_PROVIDER"); e && e[0] == '1') {
    const bench::ProviderSet set(1'000'000, 10'000'000);
    produce_provider(brokers, "e2e_provider", "e2e_feed", set);
    uint64_t consumed = 0;
    const double ready_s = time_to_ready(brokers, "e2e_provider", "e2e_feed", &consumed);
    std::printf(
        "provider set replayed from the broker by a node with no snapshot: ready after %.1f s "
        "(%llu records, %.2f M/s)\n",
        ready_s, static_cast<unsigned long long>(consumed),
        static_cast<double>(consumed) / ready_s / 1e6);
  }
  return 0;
}
