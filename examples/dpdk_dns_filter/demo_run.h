// `dns_filter --demo`: the main lcore's script (dns_filter.cc's header
// comment says what it shows). Kept apart from the filter itself: nothing
// here is needed by a data plane.
//
// Example:
//   std::string dir;
//   std::vector<std::string> eal_args;
//   if (!dns_filter::demo::prepare(&dir, &eal_args)) return 1;
//   ... rte_eal_init, ports, workers ...
//   return dns_filter::demo::run(dir, store, workers);
#pragma once

#include <policysync/consumer.h>
#include <policysync/embedded_cluster.h>
#include <policysync/reader.h>
#include <rte_launch.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "demo_traffic.h"
#include "worker.h"

namespace dns_filter::demo {

inline constexpr const char* kTopic = "policy_updates";

// Control thread, before rte_eal_init. Writes DIR/groups.conf and
// DIR/queries.pcap (DIR: a new directory under /tmp if *dir is empty) and
// the EAL arguments: two net_pcap ports replaying the queries into
// DIR/before.pcap and DIR/after.pcap.
inline bool prepare(std::string* dir, std::vector<std::string>* eal_args) {
  if (dir->empty()) {
    char tmpl[] = "/tmp/dns_filter.XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::perror("dns_filter: mkdtemp");
      return false;
    }
    *dir = tmpl;
  }
  std::error_code ec;
  std::filesystem::create_directories(*dir, ec);  // --dir may name a directory not made yet
  if (ec) {
    std::fprintf(stderr, "dns_filter: cannot create %s: %s\n", dir->c_str(), ec.message().c_str());
    return false;
  }
  std::string error;
  std::ofstream(*dir + "/groups.conf") << dns::demo::kGroupsConf;
  if (!dns::demo::write_pcap(*dir + "/queries.pcap", &error)) {
    std::fprintf(stderr, "dns_filter: %s\n", error.c_str());
    return false;
  }
  const bool two_cpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  *eal_args = {"dns_filter"};
  eal_args->insert(eal_args->end(), kNoHardwareEal.begin(), kNoHardwareEal.end());
  eal_args->insert(
      eal_args->end(),
      {"--lcores", two_cpus ? "0@0,1@1" : "0@0,1@0", "--log-level", "*:warning", "--vdev",
       "net_pcap0,rx_pcap=" + *dir + "/queries.pcap,tx_pcap=" + *dir + "/before.pcap", "--vdev",
       "net_pcap1,rx_pcap=" + *dir + "/queries.pcap,tx_pcap=" + *dir + "/after.pcap"});
  return true;
}

namespace detail {

inline std::string sync_message(const char* type, const std::string& group) {
  return std::string(R"({"type":")") + type + R"(","group_id":")" + group + R"("})";
}

inline std::string add_message(const dns::demo::Rule& r) {
  return std::string(R"({"type":"ADD_DOMAIN","group_id":")") + r.group + R"(","domain":")" +
         r.domain + R"(","action":"blacklist"})";
}

}  // namespace detail

// Main lcore. Publishes the policy, replays the queries twice around a
// SYNC_COMPLETE, prints both passes' counters. The exit code.
inline int run(const std::string& dir, policysync::PolicyStore& store,
               std::vector<std::unique_ptr<Worker>>& workers) {
  using dns::demo::kFirstSync;
  using dns::demo::kSecondSync;
  std::unique_ptr<policysync::EmbeddedCluster> cluster;
  std::unique_ptr<policysync::Publisher> pm;
  if (!policysync::EmbeddedCluster::create(&cluster).ok() ||
      !cluster->create_topic(kTopic, 1).ok() ||
      !policysync::Publisher::create(cluster->bootstraps(), {}, &pm).ok()) {
    std::fprintf(stderr, "dns_filter: cannot start the embedded cluster\n");
    return 1;
  }
  policysync::ConsumerOptions o;
  o.brokers = cluster->bootstraps();
  o.topic = kTopic;
  o.stats_interval_s = 0;
  std::unique_ptr<policysync::Consumer> consumer;
  if (policysync::Status s = policysync::Consumer::create(o, store, &consumer); !s.ok()) {
    std::fprintf(stderr, "dns_filter: %s\n", s.to_string().c_str());
    return 1;
  }
  g_enabled_ports.store(0, std::memory_order_relaxed);
  for (auto& w : workers) rte_eal_remote_launch(worker_main, w.get(), w->lcore);

  // The main lcore reads group versions through its own Reader, online only
  // for the check: it is also the writer (Consumer::poll).
  policysync::Reader reader(store);
  reader.offline();
  auto generation = [&](const char* group) {
    reader.online();
    const uint64_t g = reader.version(reader.find_group(group)).generation;
    reader.offline();
    return g;
  };
  // The control loop: poll with a 1 ms budget until `done` (30 s at most).
  auto poll_until = [&](const std::function<bool()>& done, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      if (policysync::Status s = consumer->poll(std::chrono::milliseconds(1)); !s.ok()) {
        std::fprintf(stderr, "dns_filter: fatal: %s\n", s.to_string().c_str());
        return false;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "dns_filter: demo: timed out waiting for %s\n", what);
        return false;
      }
    }
    return true;
  };
  auto publish = [&](const std::string& key, const std::string& value) {
    return pm->send(kTopic, key, value).ok();
  };
  const std::vector<dns::demo::Query> queries = dns::demo::queries();
  const uint64_t per_pass = queries.size() + dns::demo::hostile().size();
  auto expected_drops = [&](int gen) {
    uint64_t n = dns::demo::kHostileDropped;
    for (const auto& q : queries) n += dns::demo::blocked(q, gen);
    return n;
  };
  auto replay = [&](uint16_t port, uint64_t until, const char* what) {
    g_enabled_ports.store(uint64_t{1} << port, std::memory_order_relaxed);
    const bool ok = poll_until([&] { return Totals::of(workers).packets == until; }, what);
    g_enabled_ports.store(0, std::memory_order_relaxed);
    return ok;
  };

  bool ok = true;
  // Generation 1 of both groups and the threat feed.
  for (const char* g : {"enterprise_a", "enterprise_b"}) {
    ok = ok && publish(g, detail::sync_message("BEGIN_SYNC", g));
    for (const auto& r : kFirstSync)
      if (std::string(r.group) == g) ok = ok && publish(g, detail::add_message(r));
    ok = ok && publish(g, detail::sync_message("SYNC_COMPLETE", g));
  }
  ok = ok && publish("feed", std::string(R"({"type":"ADD_MALICIOUS","domain":")") +
                                 dns::demo::kMalicious + R"(","category":7})");
  ok = ok && pm->flush(std::chrono::seconds(10)).ok();
  ok = ok && poll_until(
                 [&] {
                   return consumer->ready() && generation("enterprise_a") == 1 &&
                          generation("enterprise_b") == 1 && store.malicious_entries() == 1;
                 },
                 "the first policy");
  // Generation 2 opened and filled, not completed.
  const auto adds = [&] {
    return consumer->counters()
        .applied[static_cast<size_t>(policysync::MessageType::kAddDomain)]
        .load();
  };
  const uint64_t adds_before = adds();
  for (const char* g : {"enterprise_a", "enterprise_b"}) {
    ok = ok && publish(g, detail::sync_message("BEGIN_SYNC", g));
    for (const auto& r : kSecondSync)
      if (std::string(r.group) == g) ok = ok && publish(g, detail::add_message(r));
  }
  ok = ok && pm->flush(std::chrono::seconds(10)).ok();
  ok = ok && poll_until([&] { return adds() == adds_before + kSecondSync.size(); },
                        "the second sync's ADD_DOMAINs");
  std::printf(
      "dns_filter: sync 2 open (%zu ADD_DOMAIN applied, no SYNC_COMPLETE yet): "
      "replaying %llu packets on port 0\n",
      kSecondSync.size(), static_cast<unsigned long long>(per_pass));
  ok = ok && replay(0, per_pass, "the first pass");
  const Totals before = Totals::of(workers);
  std::printf("dns_filter: before SYNC_COMPLETE: %s\n", before.line().c_str());

  for (const char* g : {"enterprise_a", "enterprise_b"})
    ok = ok && publish(g, detail::sync_message("SYNC_COMPLETE", g));
  ok = ok && pm->flush(std::chrono::seconds(10)).ok();
  ok = ok && poll_until(
                 [&] { return generation("enterprise_a") == 2 && generation("enterprise_b") == 2; },
                 "the second SYNC_COMPLETE");
  std::printf("dns_filter: sync 2 complete: replaying %llu packets on port 1\n",
              static_cast<unsigned long long>(per_pass));
  ok = ok && replay(1, 2 * per_pass, "the second pass");
  const Totals after = Totals::of(workers).since(before);
  std::printf("dns_filter: after SYNC_COMPLETE: %s\n", after.line().c_str());

  g_stop = true;
  rte_eal_mp_wait_lcore();
  consumer->close();
  if (!ok) return 1;
  const uint64_t want_before = expected_drops(1), want_after = expected_drops(2);
  std::printf(
      "dns_filter: dropped %llu of %llu before SYNC_COMPLETE (policy says %llu), "
      "%llu of %llu after (policy says %llu); pcaps in %s\n",
      static_cast<unsigned long long>(before.dropped), static_cast<unsigned long long>(per_pass),
      static_cast<unsigned long long>(want_before), static_cast<unsigned long long>(after.dropped),
      static_cast<unsigned long long>(per_pass), static_cast<unsigned long long>(want_after),
      dir.c_str());
  return before.dropped == want_before && after.dropped == want_after ? 0 : 1;
}

}  // namespace dns_filter::demo
