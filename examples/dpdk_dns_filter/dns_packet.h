// Parses an Ethernet frame as far as a DNS query's question: Ethernet (one
// optional 802.1Q tag) -> IPv4 or IPv6 -> UDP to port 53 -> DNS header
// (QR=0, OPCODE=QUERY, QDCOUNT=1) -> QNAME, QTYPE, QCLASS. No DPDK, no
// allocation; reads only within [frame, frame + len).
//
// The rule the filter applies to what this returns:
//   kQuery                      classified: dropped if blacklisted or malicious
//   kNotDns (not IP, not UDP,   forwarded untouched: not the filter's business
//     not to port 53, an IPv4
//     fragment after the first,
//     a DNS response)
//   every other kind            dropped and counted by reason: a packet to
//                               port 53 that is not a usable query
//
// Example:
//   dns::Packet p = dns::parse(data, len);
//   if (p.kind == dns::Kind::kQuery) reader.lookup_wire(group, p.qname);
#pragma once

#include <policysync/domain_name.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace dns {

enum class Kind : uint8_t {
  kQuery = 0,
  kNotDns,             // forwarded
  kTruncatedL2L3,      // Ethernet/IP header shorter than it says
  kTruncatedUdp,       // UDP header or length past the frame
  kTruncatedHeader,    // fewer than 12 bytes of DNS header
  kNotQuery,           // OPCODE other than QUERY
  kQdCount,            // QDCOUNT != 1
  kBadName,            // QNAME malformed (lengths, pointer, over 255 bytes)
  kTruncatedQuestion,  // QTYPE/QCLASS past the datagram
  kCount,
};

inline const char* kind_name(Kind k) {
  static const char* const names[] = {"query",         "not_dns",          "truncated_l2l3",
                                      "truncated_udp", "truncated_header", "not_query",
                                      "qdcount",       "bad_name",         "truncated_question"};
  return names[static_cast<int>(k)];
}

struct Packet {
  Kind kind = Kind::kNotDns;
  bool ipv6 = false;
  uint8_t src[16] = {};            // source address (IPv4 in the first 4 bytes)
  std::span<const uint8_t> qname;  // the QNAME (kQuery only)
  uint16_t qtype = 0;
};

namespace detail {
inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
}  // namespace detail

inline Packet parse(const uint8_t* frame, size_t len) {
  using detail::be16;
  Packet p;
  size_t off = 14;
  if (len < off) return p.kind = Kind::kTruncatedL2L3, p;
  uint16_t ethertype = be16(frame + 12);
  if (ethertype == 0x8100) {  // one VLAN tag
    if (len < off + 4) return p.kind = Kind::kTruncatedL2L3, p;
    ethertype = be16(frame + 16);
    off += 4;
  }
  size_t l4_len = 0;  // bytes from the UDP header to the IP payload's end
  if (ethertype == 0x0800) {
    if (len < off + 20) return p.kind = Kind::kTruncatedL2L3, p;
    const uint8_t* ip = frame + off;
    if ((ip[0] >> 4) != 4) return p;  // not IPv4 after all: not ours
    const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
    const size_t total = be16(ip + 2);
    if (ihl < 20 || total < ihl || len < off + total) return p.kind = Kind::kTruncatedL2L3, p;
    if (ip[9] != 17) return p;                   // not UDP
    if ((be16(ip + 6) & 0x1fff) != 0) return p;  // a later fragment: no UDP header in it
    std::memcpy(p.src, ip + 12, 4);
    off += ihl;
    l4_len = total - ihl;
  } else if (ethertype == 0x86dd) {
    if (len < off + 40) return p.kind = Kind::kTruncatedL2L3, p;
    const uint8_t* ip = frame + off;
    const size_t payload = be16(ip + 4);
    if (len < off + 40 + payload) return p.kind = Kind::kTruncatedL2L3, p;
    if (ip[6] != 17) return p;  // not UDP (extension headers are not followed)
    p.ipv6 = true;
    std::memcpy(p.src, ip + 8, 16);
    off += 40;
    l4_len = payload;
  } else {
    return p;  // ARP, LLDP, ...: forwarded
  }
  if (l4_len < 8) return p.kind = Kind::kTruncatedUdp, p;
  const uint8_t* udp = frame + off;
  if (be16(udp + 2) != 53) return p;  // not to the DNS port
  const size_t udp_len = be16(udp + 4);
  if (udp_len < 8 || udp_len > l4_len) return p.kind = Kind::kTruncatedUdp, p;
  const uint8_t* dns = udp + 8;
  const size_t dns_len = udp_len - 8;
  if (dns_len < 12) return p.kind = Kind::kTruncatedHeader, p;
  const uint8_t flags = dns[2];
  if (flags & 0x80) return p;  // QR=1: a response, not a query
  if (((flags >> 3) & 0x0f) != 0) return p.kind = Kind::kNotQuery, p;
  if (be16(dns + 4) != 1) return p.kind = Kind::kQdCount, p;
  const uint8_t* q = dns + 12;
  const size_t q_len = dns_len - 12;
  const size_t name_len = policysync::wire_name_length(q, q_len);
  if (name_len == 0) return p.kind = Kind::kBadName, p;
  if (q_len < name_len + 4) return p.kind = Kind::kTruncatedQuestion, p;
  p.kind = Kind::kQuery;
  p.qname = std::span<const uint8_t>(q, name_len);
  p.qtype = be16(q + name_len);
  return p;
}

}  // namespace dns
