// policyctl demo-fleet (make demo-fleet): SPEC §9 end to end in one process,
// through the public API only. An embedded cluster; three data planes
// (Consumer + PolicyStore each, polled on threads of their own) publishing
// their status, one of them with a limit that makes it refuse the sync; the
// PM publishes a sync and waits for the fleet (publish-sync --wait), then
// prints the status table.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fleet_commands.h"
#include "policysync/consumer.h"
#include "policysync/embedded_cluster.h"
#include "policysync/fleet.h"

namespace policysync::apps {

namespace {

struct Plane {
  PolicyStore store;
  std::unique_ptr<Consumer> consumer;
  std::atomic<bool> stop{false};
  std::thread thread;
  explicit Plane(StoreLimits limits) : store(limits) {}
  ~Plane() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

}  // namespace

int demo_fleet() {
  std::unique_ptr<EmbeddedCluster> cluster;
  if (Status s = EmbeddedCluster::create(&cluster); !s.ok()) return fail(s.to_string());
  const std::string brokers = cluster->bootstraps();
  if (!cluster->create_topic("policy", 1).ok() || !cluster->create_topic("policy.status", 1).ok())
    return fail("cannot create the demo topics");
  std::printf("=== Fleet status (SPEC 9): three data planes, one policy manager ===\n");
  // Warnings only: the refusing plane says why in one line.
  static const Log quiet([](LogLevel l, std::string_view m) {
    if (l >= LogLevel::kWarn) std::fprintf(stderr, "  [plane] %.*s\n", int(m.size()), m.data());
  });
  std::vector<std::unique_ptr<Plane>> planes;
  for (const char* name : {"dp-1", "dp-2", "dp-3"}) {
    StoreLimits limits;
    if (std::string(name) == "dp-3") limits.max_entries_per_group = 2;  // refuses a sync of 3
    auto p = std::make_unique<Plane>(limits);
    ConsumerOptions o;
    o.brokers = brokers;
    o.topic = "policy";
    o.group_id = std::string("demo-") + name;
    o.instance_name = name;
    o.status_topic = "policy.status";
    o.status_interval_s = 1;
    o.stats_interval_s = 0;
    o.log = &quiet;
    if (Status s = Consumer::create(o, p->store, &p->consumer); !s.ok()) return fail(s.to_string());
    Plane* raw = p.get();
    p->thread = std::thread([raw] {
      (void)raw->consumer->run(raw->stop);  // fatal errors end the demo's wait below
      raw->consumer->close();
    });
    std::printf("%s: consuming policy, status to policy.status%s\n", name,
                std::string(name) == "dp-3" ? " (--max-entries-per-group 2)" : "");
    planes.push_back(std::move(p));
  }
  // Every plane ready before the sync (the PM waits for live instances).
  std::unique_ptr<StatusReader> reader;
  if (Status s = StatusReader::create(brokers, {}, "policy.status", &reader); !s.ok())
    return fail(s.to_string());
  for (int i = 0; i < 200; ++i) {
    bool caught_up = false;
    (void)reader->poll(std::chrono::milliseconds(100), &caught_up);
    size_t ready = 0;
    for (const auto& [n, r] : reader->latest()) ready += r.state == "ready";
    if (ready == planes.size()) break;
  }
  const std::string file = "/tmp/policysync-demo-fleet-" + std::to_string(getpid()) + ".csv";
  std::ofstream(file) << "google.com,whitelist\nfacebook.com,blacklist\nyoutube.com,blacklist\n";
  std::printf(
      "\n$ policyctl publish-sync %s policy enterprise_a SYNC.csv --wait=30 "
      "--status-topic policy.status\n",
      brokers.c_str());
  std::fflush(stdout);
  const int rc = publish_sync({}, {brokers, "policy", "enterprise_a", file, "--wait=30",
                                   "--status-topic", "policy.status"});
  std::remove(file.c_str());
  std::printf(
      "exit %d\n\n$ policyctl status %s policy.status --group enterprise_a "
      "--policy-topic policy\n",
      rc, brokers.c_str());
  std::fflush(stdout);
  const int st =
      status({}, {brokers, "policy.status", "--group", "enterprise_a", "--policy-topic", "policy"});
  planes.clear();  // each closes: its last record says "stopped"
  // The demo went as it should: one plane refused (exit 1), the table printed.
  return rc == 1 && st == 0 ? 0 : kExitError;
}

}  // namespace policysync::apps
