// Ethernet frames carrying DNS queries, built byte by byte: the demo's
// traffic and the tests' (no DPDK). Sources are 10.<src_net>.0.<src_last> or
// 2001:db8:<src_net>::<src_last>; the destination is a resolver on port 53,
// over UDP or TCP (one segment: the 2-byte length, then the message), behind
// any stack of VLAN tags and IPv6 extension headers.
//
// Example:
//   std::vector<uint8_t> f = dns::dns_frame({.ipv6 = true}, dns::question("www.github.com"));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dns {

struct FrameSpec {
  bool ipv6 = false;
  bool vlan = false;         // one 802.1Q tag
  int outer_tags = 0;        // 802.1ad (QinQ) service tags before it
  int ext_headers = 0;       // IPv6: destination-options headers (8 bytes each)
  uint8_t ip_proto = 17;     // UDP; 6: TCP
  int tcp_length_delta = 0;  // TCP: added to the 2-byte length (a split message)
  uint16_t dport = 53;
  uint8_t flags_hi = 0x01;  // QR=0, OPCODE=0, RD=1
  uint16_t qdcount = 1;
  uint16_t frag = 0;     // IPv4 flags + fragment offset
  uint8_t src_last = 7;  // last byte of the source address
  uint8_t src_net = 0;   // its network (see above)
};

inline void put16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
  v[at] = static_cast<uint8_t>(x >> 8);
  v[at + 1] = static_cast<uint8_t>(x);
}

// `question` is the QNAME in wire format followed by whatever the case needs
// (normally QTYPE and QCLASS).
inline std::vector<uint8_t> dns_frame(const FrameSpec& s, const std::vector<uint8_t>& question) {
  std::vector<uint8_t> f(12, 0x02);  // destination and source MAC
  auto push16 = [&](uint16_t x) {
    f.push_back(static_cast<uint8_t>(x >> 8));
    f.push_back(static_cast<uint8_t>(x));
  };
  for (int i = 0; i < s.outer_tags; ++i) {
    push16(0x88a8);
    push16(static_cast<uint16_t>(100 + i));
  }
  if (s.vlan || s.outer_tags > 0) {
    push16(0x8100);
    push16(42);
  }
  push16(s.ipv6 ? 0x86dd : 0x0800);
  const size_t ip = f.size();
  const size_t dns_len = 12 + question.size();
  const bool tcp = s.ip_proto == 6;
  const size_t l4_len = tcp ? 20 + 2 + dns_len : 8 + dns_len;
  const size_t ext_len = s.ipv6 ? 8 * static_cast<size_t>(s.ext_headers) : 0;
  if (s.ipv6) {
    f.resize(ip + 40, 0);
    f[ip] = 0x60;
    put16(f, ip + 4, static_cast<uint16_t>(ext_len + l4_len));
    f[ip + 6] = s.ext_headers > 0 ? 60 : s.ip_proto;
    f[ip + 7] = 64;
    f[ip + 8] = 0x20;  // 2001:db8:src_net::src_last
    f[ip + 9] = 0x01;
    f[ip + 10] = 0x0d;
    f[ip + 11] = 0xb8;
    f[ip + 13] = s.src_net;
    f[ip + 23] = s.src_last;
    f[ip + 39] = 1;
    for (int i = 0; i < s.ext_headers; ++i) {  // destination options, PadN
      const size_t h = f.size();
      f.resize(h + 8, 0);
      f[h] = i + 1 < s.ext_headers ? 60 : s.ip_proto;
      f[h + 2] = 1;  // PadN, 4 bytes of padding
      f[h + 3] = 4;
    }
  } else {
    f.resize(ip + 20, 0);
    f[ip] = 0x45;
    put16(f, ip + 2, static_cast<uint16_t>(20 + l4_len));
    put16(f, ip + 6, s.frag);
    f[ip + 8] = 64;
    f[ip + 9] = s.ip_proto;
    f[ip + 12] = 10;  // 10.src_net.0.src_last
    f[ip + 13] = s.src_net;
    f[ip + 15] = s.src_last;
    f[ip + 16] = 10;
    f[ip + 19] = 53;
  }
  const size_t l4 = f.size();
  if (tcp) {
    f.resize(l4 + 22, 0);
    put16(f, l4, 40000);
    put16(f, l4 + 2, s.dport);
    f[l4 + 7] = 1;      // sequence number
    f[l4 + 12] = 0x50;  // data offset: 5 words
    f[l4 + 13] = 0x18;  // PSH, ACK
    put16(f, l4 + 14, 65535);
    put16(f, l4 + 20, static_cast<uint16_t>(static_cast<int>(dns_len) + s.tcp_length_delta));
  } else {
    f.resize(l4 + 8, 0);
    put16(f, l4, 40000);
    put16(f, l4 + 2, s.dport);
    put16(f, l4 + 4, static_cast<uint16_t>(l4_len));
  }
  const size_t dns = f.size();
  f.resize(dns + 12, 0);
  put16(f, dns, 0x1234);
  f[dns + 2] = s.flags_hi;
  put16(f, dns + 4, s.qdcount);
  f.insert(f.end(), question.begin(), question.end());
  return f;
}

// QNAME for a dotted name, then QTYPE A and QCLASS IN.
inline std::vector<uint8_t> question(std::string_view dotted) {
  std::vector<uint8_t> q;
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    q.push_back(static_cast<uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  return q;
}

}  // namespace dns
