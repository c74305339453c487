// dns_filter: a DPDK DNS filter that embeds policysync.
//
// The main lcore runs the control loop: Consumer::poll() with a 1 ms budget
// and one stats line a second. Each worker lcore polls its ports (one RX and
// one TX queue each), classifies every burst with burst_filter.h (one batch
// lookup per policy group), sends what passes back out of the same port,
// frees the rest, and reports a quiescent state between bursts.
//
//   dns_filter [EAL options] -- --brokers B --topic T --groups FILE
//              [--malicious-topic T] [--state-dir DIR] [-X key=value]...
//              [--before-ready=hold|forward] [--on-unparsed=drop|forward]
//   dns_filter --demo [--dir DIR]
//
// A packet to port 53 that is not a usable query (truncated, malformed, a
// DNS-over-TCP query split across segments, a header chain too deep to find
// its port) is dropped and counted by reason (fail-closed);
// --on-unparsed=forward forwards it instead (fail-open), still counted.
//
// --demo chooses its own EAL options (--no-huge --no-pci -m 1024 --no-shconf,
// two lcores, two net_pcap ports reading DIR/queries.pcap), starts the
// embedded Kafka cluster, publishes a policy, replays the queries once with a
// second sync open (port 0 -> DIR/before.pcap), completes that sync, replays
// them again (port 1 -> DIR/after.pcap), prints the counters of each pass and
// exits 0 if each pass dropped what the policy of the moment says.
#include <policysync/consumer.h>
#include <policysync/embedded_cluster.h>
#include <policysync/policy_store.h>
#include <policysync/reader.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "demo_run.h"
#include "group_map.h"
#include "worker.h"

namespace {

struct AppOptions {
  bool demo = false;
  std::string dir;  // --demo: where the pcaps go
  std::string groups_file;
  bool forward_before_ready = false;  // --before-ready=forward
  bool forward_unparsed = false;      // --on-unparsed=forward
  policysync::ConsumerOptions consumer;
};

int usage() {
  std::fprintf(stderr,
               "usage: dns_filter [EAL options] -- --brokers B --topic T --groups FILE\n"
               "                  [--malicious-topic T] [--state-dir DIR] [-X key=value]...\n"
               "                  [--before-ready=hold|forward] [--on-unparsed=drop|forward]\n"
               "       dns_filter --demo [--dir DIR]\n");
  return 2;
}

bool parse_app_args(int argc, char** argv, AppOptions* o) {
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--demo") {
      o->demo = true;
    } else if (a == "--dir" && has_value) {
      o->dir = argv[++i];
    } else if (a == "--brokers" && has_value) {
      o->consumer.brokers = argv[++i];
    } else if (a == "--topic" && has_value) {
      o->consumer.topic = argv[++i];
    } else if (a == "--malicious-topic" && has_value) {
      o->consumer.malicious_topic = argv[++i];
    } else if (a == "--state-dir" && has_value) {
      o->consumer.state_dir = argv[++i];
    } else if (a == "--before-ready=forward" || a == "--before-ready=hold") {
      o->forward_before_ready = a == "--before-ready=forward";
    } else if (a == "--on-unparsed=forward" || a == "--on-unparsed=drop") {
      o->forward_unparsed = a == "--on-unparsed=forward";
    } else if (a == "--groups" && has_value) {
      o->groups_file = argv[++i];
    } else if (a == "-X" && has_value) {
      if (policysync::Status s = policysync::parse_property(argv[++i], &o->consumer.properties);
          !s.ok()) {
        std::fprintf(stderr, "dns_filter: %s\n", s.to_string().c_str());
        return false;
      }
    } else {
      std::fprintf(stderr, "dns_filter: unknown or incomplete option '%s'\n", a.c_str());
      return false;
    }
  }
  if (o->demo) return true;
  return !o->consumer.brokers.empty() && !o->consumer.topic.empty() && !o->groups_file.empty();
}

// Main lcore, non-demo: the control loop until SIGINT/SIGTERM.
int serve(AppOptions& app, policysync::PolicyStore& store,
          std::vector<std::unique_ptr<dns_filter::Worker>>& workers) {
  using namespace dns_filter;
  std::unique_ptr<policysync::Consumer> consumer;
  app.consumer.stats_interval_s = 0;  // the filter's stats line covers the consumer's state
  policysync::Status s = policysync::Consumer::create(app.consumer, store, &consumer);
  if (!s.ok()) {
    std::fprintf(stderr, "dns_filter: %s\n", s.to_string().c_str());
    return 2;
  }
  // Until the policy is ready (SPEC §5.5) the workers leave the ports alone
  // (packets wait in the RX rings; a NIC drops what overflows), so that no
  // query is judged against a half-read policy; --before-ready=forward
  // polls them from the start instead (fail-open).
  g_enabled_ports.store(app.forward_before_ready ? ~0ull : 0, std::memory_order_relaxed);
  bool serving = app.forward_before_ready;
  for (auto& w : workers) rte_eal_remote_launch(worker_main, w.get(), w->lcore);
  int rc = 0;
  auto next_stats = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!g_stop.load()) {
    s = consumer->poll(std::chrono::milliseconds(1));
    if (!s.ok()) {
      std::fprintf(stderr, "dns_filter: fatal: %s\n", s.to_string().c_str());
      rc = 1;
      break;
    }
    if (!serving && consumer->ready()) {
      serving = true;
      g_enabled_ports.store(~0ull, std::memory_order_relaxed);
      std::printf("dns_filter: policy ready: %zu workers polling their ports\n", workers.size());
    }
    if (std::chrono::steady_clock::now() >= next_stats) {
      next_stats += std::chrono::seconds(1);
      std::printf("dns_filter: %s | policy %s\n", Totals::of(workers).line().c_str(),
                  consumer->ready() ? "ready" : "catching up");
      std::fflush(stdout);
    }
  }
  g_stop = true;
  rte_eal_mp_wait_lcore();
  consumer->close();
  return rc;
}

bool read_group_map(const std::string& path, dns::GroupMap* map) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    std::fprintf(stderr, "dns_filter: cannot read %s\n", path.c_str());
    return false;
  }
  std::string error;
  if (!dns::GroupMap::parse(text.str(), path, map, &error)) {
    std::fprintf(stderr, "dns_filter: %s\n", error.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dns_filter;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per event, in order with stderr
  AppOptions app;
  std::vector<std::string> eal_args;
  if (argc >= 2 && std::string(argv[1]) == "--demo") {
    if (!parse_app_args(argc - 1, argv + 1, &app)) return usage();
    if (!demo::prepare(&app.dir, &eal_args)) return 1;
    app.groups_file = app.dir + "/groups.conf";
  } else {
    int sep = 1;
    while (sep < argc && std::string(argv[sep]) != "--") ++sep;
    if (sep == argc) return usage();
    eal_args.assign(argv, argv + sep);
    if (!parse_app_args(argc - sep - 1, argv + sep + 1, &app) || app.demo) return usage();
  }
  dns::GroupMap map;
  if (!read_group_map(app.groups_file, &map)) return 1;

  std::vector<char*> eal_argv;
  for (auto& a : eal_args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "dns_filter: EAL: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });

  // One pool for every port: 8191 mbufs of 2 KiB (RX rings hold 1024 each).
  rte_mempool* pool = rte_pktmbuf_pool_create("dns_filter", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              rte_socket_id());
  std::vector<uint16_t> ports;
  uint16_t port = 0;
  RTE_ETH_FOREACH_DEV(port) ports.push_back(port);
  std::vector<std::unique_ptr<Worker>> workers;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    workers.push_back(std::make_unique<Worker>());
    workers.back()->lcore = lcore;
  }
  int rc = 1;
  std::string error;
  if (!pool) {
    std::fprintf(stderr, "dns_filter: mbuf pool: %s\n", rte_strerror(rte_errno));
  } else if (ports.empty() || workers.empty()) {
    std::fprintf(stderr, "dns_filter: needs a port (--vdev) and a worker lcore (-l 0-1)\n");
  } else {
    bool started = true;
    for (size_t i = 0; i < ports.size() && started; ++i) {
      started = start_port(ports[i], pool, &error);
      workers[i % workers.size()]->ports.push_back(ports[i]);  // round robin
    }
    if (!started) std::fprintf(stderr, "dns_filter: %s\n", error.c_str());
    policysync::PolicyStore store;  // the application owns the tables
    g_shared = {&store, &map, app.forward_unparsed};
    if (started) rc = app.demo ? demo::run(app.dir, store, workers) : serve(app, store, workers);
    for (uint16_t p : ports) {
      (void)rte_eth_dev_stop(p);  // net_pcap closes its TX file here
      (void)rte_eth_dev_close(p);
    }
  }
  rte_eal_cleanup();
  return rc;
}
