// A data plane that embeds policysync: the process owns the PolicyStore, its
// main loop polls a Consumer with a small budget between its other work, and
// worker threads look names up with one Reader each, reporting a quiescent
// state between bursts. It prints what the workers see as syncs arrive.
//
//   embedded_consumer --demo                 an embedded cluster, a PM publishing
//                                            three syncs, then exit 0
//   embedded_consumer BROKERS TOPIC          a real cluster, until SIGINT
#include <policysync/consumer.h>
#include <policysync/embedded_cluster.h>
#include <policysync/policy_store.h>
#include <policysync/reader.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

std::string sync_message(const char* type, int generation) {
  return std::string(R"({"type":")") + type + R"(","group_id":"enterprise_a")" +
         (generation ? R"(,"count":1)" : "") + "}";
}

// The PM side of --demo: generation k blocks "gen<k>.example".
void publish_generation(policysync::Publisher& pm, const std::string& topic, int k) {
  (void)pm.send(topic, "enterprise_a", sync_message("BEGIN_SYNC", 0));
  (void)pm.send(topic, "enterprise_a",
                R"({"type":"ADD_DOMAIN","group_id":"enterprise_a","domain":"gen)" +
                    std::to_string(k) + R"(.example","action":"blacklist"})");
  (void)pm.send(topic, "enterprise_a", sync_message("SYNC_COMPLETE", k));
  (void)pm.flush(std::chrono::seconds(10));
}

}  // namespace

int main(int argc, char** argv) {
  const bool demo = argc == 2 && std::string(argv[1]) == "--demo";
  if (!demo && argc != 3) {
    std::fprintf(stderr, "usage: embedded_consumer --demo | BROKERS TOPIC\n");
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });

  std::unique_ptr<policysync::EmbeddedCluster> cluster;
  std::unique_ptr<policysync::Publisher> pm;
  policysync::ConsumerOptions options;
  options.topic = demo ? "policy_updates" : argv[2];
  if (demo) {
    if (!policysync::EmbeddedCluster::create(&cluster).ok() ||
        !cluster->create_topic(options.topic, 1).ok() ||
        !policysync::Publisher::create(cluster->bootstraps(), {}, &pm).ok()) {
      std::fprintf(stderr, "embedded_consumer: cannot start the embedded cluster\n");
      return 1;
    }
    options.brokers = cluster->bootstraps();
  } else {
    options.brokers = argv[1];
  }
  options.stats_interval_s = 0;

  // The application owns the tables; the consumer only writes into them.
  policysync::PolicyStore store;
  std::unique_ptr<policysync::Consumer> consumer;
  policysync::Status s = policysync::Consumer::create(options, store, &consumer);
  if (!s.ok()) {
    std::fprintf(stderr, "embedded_consumer: %s\n", s.to_string().c_str());
    return 2;
  }

  // Workers: one Reader each, created on the worker's own thread.
  std::atomic<uint64_t> seen_generation{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w)
    workers.emplace_back([&] {
      policysync::Reader reader(store);
      while (!g_stop.load(std::memory_order_relaxed)) {
        const uint64_t gen = seen_generation.load(std::memory_order_relaxed);
        const std::string name = "gen" + std::to_string(gen + 1) + ".example";
        const policysync::Verdict v = reader.lookup("enterprise_a", name);
        if (v.action == policysync::Action::kBlacklist && v.generation == gen + 1) {
          uint64_t expected = gen;
          if (seen_generation.compare_exchange_strong(expected, gen + 1))
            std::printf("worker: %s -> %s (policy generation %llu)\n", name.c_str(),
                        std::string(policysync::action_name(v.action)).c_str(),
                        static_cast<unsigned long long>(v.generation));
        }
        reader.quiescent();  // between bursts: lets the writer reclaim old tables
      }
      reader.offline();
    });

  // The main loop: the consumer gets a 1 ms slice, then the application's own
  // work (here: publishing the next generation once the previous one is seen).
  int published = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!g_stop.load()) {
    s = consumer->poll(std::chrono::milliseconds(1));
    if (!s.ok()) {
      std::fprintf(stderr, "embedded_consumer: fatal: %s\n", s.to_string().c_str());
      break;
    }
    if (!demo) continue;
    if (static_cast<int>(seen_generation.load()) == published) {
      if (published == 3) break;
      publish_generation(*pm, options.topic, ++published);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "embedded_consumer: generation %d never arrived\n", published);
      s = policysync::Status(policysync::Reason::kKafka, "demo", "timeout");
      break;
    }
  }
  g_stop = true;
  for (auto& t : workers) t.join();
  consumer->close();
  if (demo && s.ok()) std::printf("embedded_consumer: %d syncs seen by the workers\n", published);
  return s.ok() ? 0 : 1;
}
