// The DPDK program itself (examples/dpdk_dns_filter/dns_filter.cc): runs
// `dns_filter --demo` (EAL with --no-huge --no-pci, net_pcap ports, the
// embedded Kafka cluster) and checks what its ports wrote: the queries a
// sync blocks pass before its SYNC_COMPLETE and are dropped after, the
// output pcaps hold exactly the packets that should pass, in order, and the
// hostile packets are counted by reason.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <policysync/embedded_cluster.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../child_process.h"
#include "demo_traffic.h"
#include "worker.h"

namespace {

using Frames = std::vector<std::vector<uint8_t>>;

Frames read_pcap(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  EXPECT_NE(p, nullptr) << path << ": " << err;
  Frames out;
  if (!p) return out;
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(p, &h, &data) == 1) out.emplace_back(data, data + h->caplen);
  pcap_close(p);
  return out;
}

// What should leave the filter under policy generation `gen`.
Frames expected(int gen) {
  Frames out;
  for (const auto& q : dns::demo::queries())
    if (!dns::demo::blocked(q, gen)) out.push_back(q.frame);
  const Frames hostile = dns::demo::hostile();
  for (int i = 0; i < dns::demo::kHostileForwarded; ++i) out.push_back(hostile[i]);  // not DNS
  return out;
}

struct Outcome {
  int status = -1;
  std::string output;
};

Outcome run(const std::string& cmd) {
  Outcome r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  r.status = pclose(p);
  return r;
}

TEST(DnsFilterDemoTest, SyncBoundaryExactOutputAndHostileCounts) {
  char tmpl[] = "/tmp/dns_filter_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/not/made/yet";  // --dir is created
  const Outcome r = run(std::string(DNS_FILTER_BIN) + " --demo --dir " + dir);
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.output;

  const Frames before = read_pcap(dir + "/before.pcap");
  const Frames after = read_pcap(dir + "/after.pcap");
  EXPECT_EQ(before, expected(1)) << "sync 2 open: only generation 1's rules apply\n" << r.output;
  EXPECT_EQ(after, expected(2)) << "sync 2 complete\n" << r.output;
  EXPECT_LT(after.size(), before.size()) << "the second sync blocks more names";

  // Each pass's counters line: every packet once, each hostile one by reason.
  const std::string per_pass =
      std::to_string(dns::demo::queries().size() + dns::demo::hostile().size());
  const std::string hostile =
      "not_dns=3 truncated_l2l3=0 truncated_l4=0 truncated_header=1 not_query=0 qdcount=1 "
      "bad_name=1 truncated_question=0 too_deep=1 tcp_split=1";
  for (const char* pass : {"before SYNC_COMPLETE: ", "after SYNC_COMPLETE: "}) {
    const size_t at = r.output.find(pass + ("packets=" + per_pass));
    ASSERT_NE(at, std::string::npos) << pass << "\n" << r.output;
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    EXPECT_NE(line.find(hostile), std::string::npos) << line;
  }
  std::filesystem::remove_all(tmpl);
}

// The production path (no --demo): the policy comes from a Kafka cluster (the
// embedded one, over TCP), the workers hold the ports until it is ready, the
// main lcore prints a stats line a second, SIGTERM ends it with exit 0.
TEST(DnsFilterServeTest, FiltersWithThePolicyFromKafkaOnceReadyAndStopsOnSigterm) {
  std::unique_ptr<policysync::EmbeddedCluster> cluster;
  std::unique_ptr<policysync::Publisher> pm;
  ASSERT_TRUE(policysync::EmbeddedCluster::create(&cluster).ok());
  ASSERT_TRUE(cluster->create_topic("policy", 1).ok());
  ASSERT_TRUE(policysync::Publisher::create(cluster->bootstraps(), {}, &pm).ok());
  for (const char* g : {"enterprise_a", "enterprise_b"}) {
    ASSERT_TRUE(
        pm->send("policy", g, std::string(R"({"type":"BEGIN_SYNC","group_id":")") + g + "\"}")
            .ok());
    for (const auto& r : dns::demo::kFirstSync) {
      if (std::string(r.group) != g) continue;
      ASSERT_TRUE(pm->send("policy", g,
                           std::string(R"({"type":"ADD_DOMAIN","group_id":")") + g +
                               R"(","domain":")" + r.domain + R"(","action":"blacklist"})")
                      .ok());
    }
    ASSERT_TRUE(
        pm->send("policy", g, std::string(R"({"type":"SYNC_COMPLETE","group_id":")") + g + "\"}")
            .ok());
  }
  ASSERT_TRUE(pm->send("policy", "feed",
                       std::string(R"({"type":"ADD_MALICIOUS","domain":")") +
                           dns::demo::kMalicious + R"(","category":7})")
                  .ok());
  ASSERT_TRUE(pm->flush(std::chrono::seconds(10)).ok());

  char tmpl[] = "/tmp/dns_filter_serve.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/groups.conf") << dns::demo::kGroupsConf;
  Frames queries;
  for (const auto& q : dns::demo::queries()) queries.push_back(q.frame);
  std::string error;
  ASSERT_TRUE(dns::write_frames(dir + "/in.pcap", queries, &error)) << error;

  std::vector<std::string> args(dns_filter::kNoHardwareEal);
  args.insert(args.end(), {"--lcores", "0@0,1@0", "--log-level", "*:warning", "--vdev",
                           "net_pcap0,rx_pcap=" + dir + "/in.pcap,tx_pcap=" + dir + "/out.pcap",
                           "--", "--brokers", cluster->bootstraps(), "--topic", "policy",
                           "--groups", dir + "/groups.conf"});
  policysync::testing::Child filter(DNS_FILTER_BIN, args, dir + "/filter.log");
  ASSERT_GT(filter.pid(), 0);
  // A stats line that counts every query, with the policy ready.
  const std::string packets = "packets=" + std::to_string(queries.size()) + " ";
  const auto stats_line_seen = [&] {
    std::istringstream out(filter.output());
    for (std::string line; std::getline(out, line);)
      if (line.find(packets) != std::string::npos && line.find("policy ready") != std::string::npos)
        return true;
    return false;
  };
  ASSERT_TRUE(policysync::testing::wait_until(stats_line_seen, std::chrono::seconds(60)))
      << filter.output();
  filter.signal(SIGTERM);
  EXPECT_EQ(filter.wait(), 0) << filter.output();
  EXPECT_NE(filter.output().find("dns_filter: policy ready: 1 workers polling their ports"),
            std::string::npos)
      << filter.output();

  Frames want;
  for (const auto& q : dns::demo::queries())
    if (!dns::demo::blocked(q, 1)) want.push_back(q.frame);
  EXPECT_EQ(read_pcap(dir + "/out.pcap"), want) << filter.output();
  std::filesystem::remove_all(dir);
}

}  // namespace
