// The DPDK program itself (examples/dpdk_dns_filter/dns_filter.cc): runs
// `dns_filter --demo` (EAL with --no-huge --no-pci, net_pcap ports, the
// embedded Kafka cluster) and checks what its ports wrote: the queries a
// sync blocks pass before its SYNC_COMPLETE and are dropped after, the
// output pcaps hold exactly the packets that should pass, in order, and the
// hostile packets are counted by reason.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "demo_traffic.h"

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
  out.push_back(hostile[0]);  // the DNS response
  out.push_back(hostile[1]);  // not DNS
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
  const std::string dir = tmpl;
  const Outcome r = run(std::string(DNS_FILTER_BIN) + " --demo --dir " + dir);
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.output;

  const Frames before = read_pcap(dir + "/before.pcap");
  const Frames after = read_pcap(dir + "/after.pcap");
  EXPECT_EQ(before, expected(1)) << "sync 2 open: only generation 1's rules apply\n" << r.output;
  EXPECT_EQ(after, expected(2)) << "sync 2 complete\n" << r.output;
  EXPECT_LT(after.size(), before.size()) << "the second sync blocks more names";

  // Each pass's counters line: every packet once, each hostile one by reason.
  const std::string per_pass = std::to_string(dns::demo::queries().size() + 5);
  const std::string hostile =
      "not_dns=2 truncated_l2l3=0 truncated_udp=0 truncated_header=1 not_query=0 qdcount=1 "
      "bad_name=1 truncated_question=0";
  for (const char* pass : {"before SYNC_COMPLETE: ", "after SYNC_COMPLETE: "}) {
    const size_t at = r.output.find(pass + ("packets=" + per_pass));
    ASSERT_NE(at, std::string::npos) << pass << "\n" << r.output;
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    EXPECT_NE(line.find(hostile), std::string::npos) << line;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
