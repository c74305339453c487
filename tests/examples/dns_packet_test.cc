// The DNS filter example's packet parser (examples/dpdk_dns_filter/dns_packet.h):
// every kind of frame is classified by the documented rule, and never read
// past its length.
#include "dns_packet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "dns_frame.h"

namespace policysync {
namespace {

using dns::dns_frame;
using dns::FrameSpec;
using dns::question;

// The frame in a heap block of exactly its size (ASan flags an over-read),
// kept alive as long as the packet that points into it.
struct Parsed {
  std::unique_ptr<uint8_t[]> frame;
  dns::Packet p;
};
Parsed parse_exact(const std::vector<uint8_t>& f) {
  Parsed r{std::unique_ptr<uint8_t[]>(new uint8_t[f.size() ? f.size() : 1]), {}};
  if (!f.empty()) std::memcpy(r.frame.get(), f.data(), f.size());
  r.p = dns::parse(r.frame.get(), f.size());
  return r;
}

struct FrameCase {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  dns::Kind kind;
};

class DnsPacketTest : public ::testing::TestWithParam<FrameCase> {};

TEST_P(DnsPacketTest, Classified) {
  const FrameCase& c = GetParam();
  const Parsed parsed = parse_exact(c.make());
  const dns::Packet& p = parsed.p;
  EXPECT_STREQ(dns::kind_name(p.kind), dns::kind_name(c.kind));
  if (p.kind == dns::Kind::kQuery) {
    const auto q = question("www.github.com");
    ASSERT_EQ(p.qname.size(), q.size() - 4);
    EXPECT_EQ(std::memcmp(p.qname.data(), q.data(), p.qname.size()), 0);
    EXPECT_EQ(p.qtype, 1);
    EXPECT_EQ(p.src[p.ipv6 ? 15 : 3], 7);
  }
}

std::vector<uint8_t> frame(FrameSpec s = {}) { return dns_frame(s, question("www.github.com")); }
std::vector<uint8_t> cut(std::vector<uint8_t> f, size_t n) {
  f.resize(f.size() - n);
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DnsPacketTest,
    ::testing::Values(
        FrameCase{"ipv4", [] { return frame(); }, dns::Kind::kQuery},
        FrameCase{"ipv6", [] { return frame({.ipv6 = true}); }, dns::Kind::kQuery},
        FrameCase{"vlan", [] { return frame({.vlan = true}); }, dns::Kind::kQuery},
        FrameCase{"vlan_ipv6", [] { return frame({.ipv6 = true, .vlan = true}); },
                  dns::Kind::kQuery},
        // other ways in (issue 18 item 7): parsed, so judged
        FrameCase{"tcp", [] { return frame({.ip_proto = 6}); }, dns::Kind::kQuery},
        FrameCase{"tcp_ipv6", [] { return frame({.ipv6 = true, .ip_proto = 6}); },
                  dns::Kind::kQuery},
        FrameCase{"qinq", [] { return frame({.outer_tags = 1}); }, dns::Kind::kQuery},
        FrameCase{"qinq_stacked", [] { return frame({.outer_tags = 7}); }, dns::Kind::kQuery},
        FrameCase{"ipv6_extension_headers", [] { return frame({.ipv6 = true, .ext_headers = 8}); },
                  dns::Kind::kQuery},
        FrameCase{
            "tcp_behind_everything",
            [] { return frame({.ipv6 = true, .outer_tags = 3, .ext_headers = 4, .ip_proto = 6}); },
            dns::Kind::kQuery},
        FrameCase{"ipv6_hop_by_hop_and_ah",
                  [] {
                    // hop-by-hop (8 bytes) -> AH (12 bytes: length 1) -> UDP
                    auto f = frame({.ipv6 = true});
                    const size_t ip = 14, l4 = ip + 40;
                    std::vector<uint8_t> ext = {51, 0, 1, 4, 0, 0, 0, 0,  // hop-by-hop, PadN
                                                17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // AH
                    f.insert(f.begin() + static_cast<long>(l4), ext.begin(), ext.end());
                    f[ip + 6] = 0;
                    dns::put16(f, ip + 4, static_cast<uint16_t>(f.size() - l4));
                    return f;
                  },
                  dns::Kind::kQuery},
        // not the filter's business: forwarded
        FrameCase{"tcp_port_80", [] { return frame({.ip_proto = 6, .dport = 80}); },
                  dns::Kind::kNotDns},
        FrameCase{"tcp_syn",
                  [] {
                    auto f = frame({.ip_proto = 6});
                    f.resize(14 + 20 + 20);
                    dns::put16(f, 14 + 2, 40);
                    return f;
                  },
                  dns::Kind::kNotDns},
        FrameCase{"ipv6_later_fragment",
                  [] {
                    auto f = frame({.ipv6 = true});
                    const size_t ip = 14, l4 = ip + 40;
                    const std::vector<uint8_t> frag = {17, 0, 0x05, 0xa8,
                                                       0,  0, 0,    1};  // offset 181
                    f.insert(f.begin() + static_cast<long>(l4), frag.begin(), frag.end());
                    f[ip + 6] = 44;
                    dns::put16(f, ip + 4, static_cast<uint16_t>(f.size() - l4));
                    return f;
                  },
                  dns::Kind::kNotDns},
        FrameCase{"icmp", [] { return frame({.ip_proto = 1}); }, dns::Kind::kNotDns},
        FrameCase{"port_80", [] { return frame({.dport = 80}); }, dns::Kind::kNotDns},
        FrameCase{"response", [] { return frame({.flags_hi = 0x81}); }, dns::Kind::kNotDns},
        FrameCase{"later_fragment", [] { return frame({.frag = 185}); }, dns::Kind::kNotDns},
        FrameCase{"arp",
                  [] {
                    auto f = frame();
                    f[12] = 0x08, f[13] = 0x06;
                    return f;
                  },
                  dns::Kind::kNotDns},
        // to port 53, but no usable query: dropped
        FrameCase{"empty", [] { return std::vector<uint8_t>(); }, dns::Kind::kTruncatedL2L3},
        FrameCase{"ipv4_header_missing", [] { return cut(frame(), frame().size() - 14); },
                  dns::Kind::kTruncatedL2L3},
        FrameCase{"ip_total_past_frame", [] { return cut(frame(), 1); }, dns::Kind::kTruncatedL2L3},
        FrameCase{"ipv6_payload_past_frame", [] { return cut(frame({.ipv6 = true}), 1); },
                  dns::Kind::kTruncatedL2L3},
        FrameCase{"ihl_below_5",
                  [] {
                    auto f = frame();
                    f[14] = 0x44;
                    return f;
                  },
                  dns::Kind::kTruncatedL2L3},
        FrameCase{"udp_len_past_ip",
                  [] {
                    auto f = frame();
                    dns::put16(f, 14 + 20 + 4, 2000);
                    return f;
                  },
                  dns::Kind::kTruncatedL4},
        // other ways in that cannot be parsed: dropped (fail-closed)
        FrameCase{"tcp_split_query", [] { return frame({.ip_proto = 6, .tcp_length_delta = 5}); },
                  dns::Kind::kTcpSplit},
        FrameCase{"tcp_two_queries_in_one_segment",
                  [] { return frame({.ip_proto = 6, .tcp_length_delta = -4}); },
                  dns::Kind::kTcpSplit},
        FrameCase{"tcp_one_payload_byte",
                  [] {
                    auto f = frame({.ip_proto = 6});
                    f.resize(14 + 20 + 20 + 1);
                    dns::put16(f, 14 + 2, 41);
                    return f;
                  },
                  dns::Kind::kTcpSplit},
        FrameCase{"tcp_data_offset_past_segment",
                  [] {
                    auto f = frame({.ip_proto = 6});
                    f[14 + 20 + 12] = 0xf0;  // 60 bytes of header
                    f.resize(14 + 20 + 40);
                    dns::put16(f, 14 + 2, 60);
                    return f;
                  },
                  dns::Kind::kTruncatedL4},
        FrameCase{"nine_vlan_tags", [] { return frame({.outer_tags = 8}); }, dns::Kind::kTooDeep},
        FrameCase{"nine_extension_headers", [] { return frame({.ipv6 = true, .ext_headers = 9}); },
                  dns::Kind::kTooDeep},
        FrameCase{"extension_header_past_payload",
                  [] {
                    auto f = frame({.ipv6 = true, .ext_headers = 1});
                    f[14 + 40 + 1] = 200;  // 1608 bytes long
                    return f;
                  },
                  dns::Kind::kTruncatedL2L3},
        FrameCase{"dns_header_short",
                  [] { return dns_frame({}, {}); } /* 12-byte header, no question */,
                  dns::Kind::kBadName},
        FrameCase{"opcode_status", [] { return frame({.flags_hi = 0x10}); }, dns::Kind::kNotQuery},
        FrameCase{"qdcount_0", [] { return frame({.qdcount = 0}); }, dns::Kind::kQdCount},
        FrameCase{"qdcount_2", [] { return frame({.qdcount = 2}); }, dns::Kind::kQdCount},
        FrameCase{"pointer_in_question",
                  [] {
                    return dns_frame({}, {3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1, 0, 1});
                  },
                  dns::Kind::kBadName},
        FrameCase{"label_past_datagram",
                  [] {
                    return dns_frame({}, {9, 'a', 'b'});
                  },
                  dns::Kind::kBadName},
        FrameCase{"no_qtype",
                  [] {
                    return dns_frame({}, {1, 'a', 0, 0});
                  },
                  dns::Kind::kTruncatedQuestion}),
    [](const auto& info) { return std::string(info.param.name); });

// A header shorter than 12 bytes: the UDP length says so.
TEST(DnsPacket, ShortDnsHeader) {
  auto f = dns_frame({}, {});
  f.resize(f.size() - 4);             // 8 of 12 header bytes
  dns::put16(f, 14 + 2, 20 + 8 + 8);  // IPv4 total length
  dns::put16(f, 14 + 20 + 4, 8 + 8);  // UDP length
  EXPECT_EQ(parse_exact(f).p.kind, dns::Kind::kTruncatedHeader);
}

// Every proper prefix of a valid query frame is refused, never read past.
TEST(DnsPacket, EveryTruncationIsRefused) {
  for (const FrameSpec& s :
       {FrameSpec{}, FrameSpec{.ipv6 = true},
        FrameSpec{.ipv6 = true, .outer_tags = 2, .ext_headers = 3, .ip_proto = 6},
        FrameSpec{.ip_proto = 6}}) {
    const auto f = frame(s);
    for (size_t n = 0; n < f.size(); ++n) {
      const std::vector<uint8_t> prefix(f.begin(), f.begin() + n);
      EXPECT_NE(parse_exact(prefix).p.kind, dns::Kind::kQuery) << n;
    }
  }
}

}  // namespace
}  // namespace policysync
