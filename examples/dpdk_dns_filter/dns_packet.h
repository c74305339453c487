// Parses an Ethernet frame as far as a DNS query's question: Ethernet (any
// stack of up to 8 802.1Q / 802.1ad (QinQ) tags) -> IPv4 (options) or IPv6
// (up to 8 extension headers followed) -> UDP or TCP to port 53 -> DNS header
// (QR=0, OPCODE=QUERY, QDCOUNT=1) -> QNAME, QTYPE, QCLASS. No DPDK, no
// allocation; reads only within [frame, frame + len).
//
// The rule the filter applies to what this returns:
//   kQuery                      classified: dropped if blacklisted or malicious
//   kNotDns (not IP, not UDP    forwarded untouched: not the filter's business
//     or TCP, not to port 53,
//     an IP fragment after the
//     first, a DNS response, a
//     TCP segment to port 53
//     with no payload: SYN,
//     ACK, FIN)
//   every other kind            dropped and counted by reason (fail-closed; the
//                               filter's --on-unparsed=forward fails open): a
//                               packet to port 53 that is not a usable query,
//                               or one whose port cannot be found (kTooDeep)
//
// DNS over TCP (RFC 7766) is judged one segment at a time, without
// reassembly: a segment to port 53 whose payload is exactly one DNS message
// behind its 2-byte length is parsed as a UDP datagram would be. A payload
// that is anything else (a query split across segments, the rest of one, or
// several queries in one segment) is kTcpSplit: stub resolvers send a query
// (under 512 bytes) in one segment, so a split is an odd client or an
// attempt to slip a name past the filter, and it is dropped.
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
  kTruncatedL4,        // UDP or TCP header or length past the IP payload
  kTruncatedHeader,    // fewer than 12 bytes of DNS header
  kNotQuery,           // OPCODE other than QUERY
  kQdCount,            // QDCOUNT != 1
  kBadName,            // QNAME malformed (lengths, pointer, over 255 bytes)
  kTruncatedQuestion,  // QTYPE/QCLASS past the datagram
  kTooDeep,            // over 8 VLAN tags or IPv6 extension headers: no port to go by
  kTcpSplit,           // TCP to port 53, payload not exactly one DNS message
  kCount,
};

inline const char* kind_name(Kind k) {
  static const char* const names[] = {
      "query",   "not_dns",  "truncated_l2l3",     "truncated_l4", "truncated_header", "not_query",
      "qdcount", "bad_name", "truncated_question", "too_deep",     "tcp_split"};
  static_assert(sizeof(names) / sizeof(names[0]) == static_cast<size_t>(Kind::kCount));
  return names[static_cast<int>(k)];
}

struct Packet {
  Kind kind = Kind::kNotDns;
  bool ipv6 = false;
  bool tcp = false;
  uint8_t src[16] = {};            // source address (IPv4 in the first 4 bytes)
  std::span<const uint8_t> qname;  // the QNAME (kQuery only)
  uint16_t qtype = 0;
};

namespace detail {
inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

inline constexpr int kMaxTags = 8;              // VLAN tags followed
inline constexpr int kMaxExtensionHeaders = 8;  // IPv6 extension headers followed

inline bool is_vlan_tag(uint16_t ethertype) {
  return ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100;
}

// IPv6 extension headers (RFC 8200 4.1, IANA's list) that carry a next
// header: hop-by-hop, routing, fragment, destination options, AH, mobility,
// HIP, shim6 and the two experimental ones. ESP (50) hides what follows:
// not parsed, so not DNS as far as the filter can tell.
inline bool is_extension_header(uint8_t next) {
  switch (next) {
    case 0:
    case 43:
    case 44:
    case 60:
    case 51:
    case 135:
    case 139:
    case 140:
    case 253:
    case 254:
      return true;
    default:
      return false;
  }
}
}  // namespace detail

// The DNS message of a datagram (or of one TCP segment's payload), `dns_len`
// bytes at `dns`: its question, or why it is not a usable query.
inline Packet& parse_message(const uint8_t* dns, size_t dns_len, Packet& p) {
  using detail::be16;
  if (dns_len < 12) return p.kind = Kind::kTruncatedHeader, p;
  const uint8_t flags = dns[2];
  if (flags & 0x80) return p.kind = Kind::kNotDns, p;  // QR=1: a response, not a query
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

inline Packet parse(const uint8_t* frame, size_t len) {
  using detail::be16;
  Packet p;
  size_t off = 14;
  if (len < off) return p.kind = Kind::kTruncatedL2L3, p;
  uint16_t ethertype = be16(frame + 12);
  for (int tags = 0; detail::is_vlan_tag(ethertype); ++tags) {  // 802.1Q, QinQ
    if (tags == detail::kMaxTags) return p.kind = Kind::kTooDeep, p;
    if (len < off + 4) return p.kind = Kind::kTruncatedL2L3, p;
    ethertype = be16(frame + off + 2);
    off += 4;
  }
  size_t l4_len = 0;  // bytes from the transport header to the IP payload's end
  uint8_t proto = 0;
  if (ethertype == 0x0800) {
    if (len < off + 20) return p.kind = Kind::kTruncatedL2L3, p;
    const uint8_t* ip = frame + off;
    if ((ip[0] >> 4) != 4) return p;  // not IPv4 after all: not ours
    const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
    const size_t total = be16(ip + 2);
    if (ihl < 20 || total < ihl || len < off + total) return p.kind = Kind::kTruncatedL2L3, p;
    proto = ip[9];
    if ((be16(ip + 6) & 0x1fff) != 0) return p;  // a later fragment: no transport header in it
    std::memcpy(p.src, ip + 12, 4);
    off += ihl;
    l4_len = total - ihl;
  } else if (ethertype == 0x86dd) {
    if (len < off + 40) return p.kind = Kind::kTruncatedL2L3, p;
    const uint8_t* ip = frame + off;
    const size_t end = off + 40 + be16(ip + 4);  // the payload's end
    if (len < end) return p.kind = Kind::kTruncatedL2L3, p;
    p.ipv6 = true;
    std::memcpy(p.src, ip + 8, 16);
    proto = ip[6];
    off += 40;
    for (int n = 0; detail::is_extension_header(proto); ++n) {
      if (n == detail::kMaxExtensionHeaders) return p.kind = Kind::kTooDeep, p;
      if (end < off + 8) return p.kind = Kind::kTruncatedL2L3, p;
      const uint8_t* h = frame + off;
      size_t size = (static_cast<size_t>(h[1]) + 1) * 8;            // RFC 8200
      if (proto == 51) size = (static_cast<size_t>(h[1]) + 2) * 4;  // AH, RFC 4302
      if (proto == 44) {
        size = 8;
        if ((be16(h + 2) & 0xfff8) != 0) return p;  // a later fragment
      }
      if (end < off + size) return p.kind = Kind::kTruncatedL2L3, p;
      proto = h[0];
      off += size;
    }
    l4_len = end - off;
  } else {
    return p;  // ARP, LLDP, ...: forwarded
  }
  const uint8_t* l4 = frame + off;
  if (proto == 17) {
    if (l4_len < 8) return p.kind = Kind::kTruncatedL4, p;
    if (be16(l4 + 2) != 53) return p;  // not to the DNS port
    const size_t udp_len = be16(l4 + 4);
    if (udp_len < 8 || udp_len > l4_len) return p.kind = Kind::kTruncatedL4, p;
    return parse_message(l4 + 8, udp_len - 8, p);
  }
  if (proto == 6) {
    if (l4_len < 20) return p.kind = Kind::kTruncatedL4, p;
    if (be16(l4 + 2) != 53) return p;
    p.tcp = true;
    const size_t data_off = static_cast<size_t>(l4[12] >> 4) * 4;
    if (data_off < 20 || data_off > l4_len) return p.kind = Kind::kTruncatedL4, p;
    const uint8_t* payload = l4 + data_off;
    const size_t payload_len = l4_len - data_off;
    if (payload_len == 0) return p;  // SYN, ACK, FIN: no query in it
    if (payload_len < 2 || be16(payload) + 2u != payload_len) return p.kind = Kind::kTcpSplit, p;
    return parse_message(payload + 2, payload_len - 2, p);
  }
  return p;  // ICMP, ESP, ...: not DNS as far as the filter can tell
}

}  // namespace dns
