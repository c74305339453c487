// The demo's world (`dns_filter --demo`): two customer groups, the policy the
// PM publishes, and a pcap of DNS queries from both groups' IPv4 and IPv6
// sources with a few hostile packets mixed in. The tests read the same
// definitions to know which queries must pass.
//
// Example:
//   if (!dns::demo::write_pcap(dir + "/queries.pcap", &error)) die(error);
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "dns_frame.h"

namespace dns {

// Writes Ethernet frames as a pcap file (libpcap), in order.
inline bool write_frames(const std::string& path, const std::vector<std::vector<uint8_t>>& frames,
                         std::string* error) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* out = dead ? pcap_dump_open(dead, path.c_str()) : nullptr;
  if (!out) {
    // libpcap's message names the file already.
    *error = dead ? pcap_geterr(dead) : path + ": pcap_open_dead failed";
    if (dead) pcap_close(dead);
    return false;
  }
  for (const auto& f : frames) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(out), &h, f.data());
  }
  pcap_dump_close(out);
  pcap_close(dead);
  return true;
}

}  // namespace dns

namespace dns::demo {

inline const char* const kGroupsConf =
    "# source prefix -> policy group\n"
    "10.1.0.0/16      enterprise_a\n"
    "2001:db8:1::/48  enterprise_a\n"
    "10.2.0.0/16      enterprise_b\n"
    "2001:db8:2::/48  enterprise_b\n"
    "default          guest\n";

struct Rule {
  const char* group;
  const char* domain;
};
// Generation 1, active before the traffic starts.
inline const std::vector<Rule> kFirstSync = {{"enterprise_a", "tracker.test"},
                                             {"enterprise_b", "games.test"}};
// Generation 2, published while the traffic runs: its rules are forwarded
// until its SYNC_COMPLETE and dropped after (it keeps generation 1's rules).
inline const std::vector<Rule> kSecondSync = {{"enterprise_a", "tracker.test"},
                                              {"enterprise_a", "video.test"},
                                              {"enterprise_b", "games.test"},
                                              {"enterprise_b", "social.test"}};
// The threat feed, for every group.
inline const char* const kMalicious = "phish.bad";

inline const std::vector<const char*> kNames = {
    "www.example.com",    "mail.example.com", "ads.tracker.test", "tracker.test",
    "cdn.video.test",     "video.test",       "lobby.games.test", "www.social.test",
    "login.phish.bad",    "docs.example.org", "WWW.Example.COM",  "api.social.test",
    "pixel.tracker.test", "live.video.test",  "games.test",       "news.example.net"};

// Every query's frame, in the order written: each name from enterprise_a,
// enterprise_b and an unmapped (guest) source, over IPv4 and IPv6, and once
// more over another way in (DNS over TCP, QinQ tags, IPv6 extension
// headers): a client cannot escape its policy by choosing the transport.
struct Query {
  std::vector<uint8_t> frame;
  std::string name;
  std::string group;
};
inline std::vector<Query> queries() {
  std::vector<Query> out;
  const struct {
    uint8_t net;
    const char* group;
  } sources[] = {{1, "enterprise_a"}, {2, "enterprise_b"}, {9, "guest"}};
  const FrameSpec other_ways[] = {
      {.ip_proto = 6},                                                   // TCP
      {.ipv6 = true, .ip_proto = 6},                                     // TCP over IPv6
      {.outer_tags = 1},                                                 // QinQ
      {.ipv6 = true, .outer_tags = 2, .ext_headers = 2, .ip_proto = 6},  // all of them
      {.ipv6 = true, .ext_headers = 3},                                  // extension headers
  };
  size_t way = 0;
  for (const char* name : kNames)
    for (const auto& src : sources) {
      for (bool v6 : {false, true}) {
        FrameSpec s;
        s.ipv6 = v6;
        s.src_net = src.net;
        s.src_last = static_cast<uint8_t>(out.size());
        out.push_back({dns_frame(s, question(name)), name, src.group});
      }
      FrameSpec s = other_ways[way++ % std::size(other_ways)];
      s.src_net = src.net;
      s.src_last = static_cast<uint8_t>(out.size());
      out.push_back({dns_frame(s, question(name)), name, src.group});
    }
  return out;
}

// Whether policy generation `generation` (1 or 2) drops query q: a rule of
// q's group on the name or a parent, or the threat feed, case-insensitive.
inline bool blocked(const Query& q, int generation) {
  auto under = [&](const std::string& rule) {
    std::string name;
    for (char c : q.name) name += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return name == rule || (name.size() > rule.size() &&
                            name.compare(name.size() - rule.size(), rule.size(), rule) == 0 &&
                            name[name.size() - rule.size() - 1] == '.');
  };
  if (under(kMalicious)) return true;
  for (const Rule& r : generation == 1 ? kFirstSync : kSecondSync)
    if (q.group == r.group && under(r.domain)) return true;
  return false;
}

// Packets that are not usable queries: counted by reason (dns_packet.h). The
// first kHostileForwarded are not DNS queries at all (forwarded), the other
// kHostileDropped are to port 53 and unusable (dropped).
inline constexpr int kHostileForwarded = 3;
inline constexpr int kHostileDropped = 5;
inline std::vector<std::vector<uint8_t>> hostile() {
  FrameSpec response;
  response.flags_hi = 0x81;  // QR=1: forwarded, not ours
  FrameSpec two_questions;
  two_questions.qdcount = 2;
  FrameSpec not_dns;
  not_dns.dport = 123;
  const std::vector<uint8_t> pointer = {3, 'w', 'w', 'w', 0xc0, 0x0c, 0, 1, 0, 1};
  std::vector<uint8_t> cut = dns_frame({}, question("www.example.com"));
  cut.resize(14 + 20 + 8 + 6);  // DNS header cut in half, IP and UDP lengths to match
  put16(cut, 14 + 2, 20 + 8 + 6);
  put16(cut, 14 + 20 + 4, 8 + 6);
  // A TCP SYN to port 53: no payload, no query (the handshake passes).
  std::vector<uint8_t> syn = dns_frame({.ip_proto = 6}, question("www.example.com"));
  syn.resize(14 + 20 + 20);
  put16(syn, 14 + 2, 20 + 20);
  syn[14 + 20 + 13] = 0x02;  // SYN
  // DNS over TCP whose length says more than the segment holds: the rest of
  // the query would follow in a second segment.
  FrameSpec split;
  split.ip_proto = 6;
  split.tcp_length_delta = 9;
  FrameSpec deep;  // nine extension headers: past what the parser follows
  deep.ipv6 = true;
  deep.ext_headers = 9;
  return {dns_frame(response, question("www.example.com")),
          dns_frame(not_dns, question("www.example.com")),
          syn,
          dns_frame(two_questions, question("www.example.com")),
          dns_frame({}, pointer),
          cut,
          dns_frame(split, question("phish.bad")),
          dns_frame(deep, question("phish.bad"))};
}

// Writes queries() then hostile() as one pcap.
inline bool write_pcap(const std::string& path, std::string* error) {
  std::vector<std::vector<uint8_t>> frames;
  for (const Query& q : queries()) frames.push_back(q.frame);
  for (const auto& f : hostile()) frames.push_back(f);
  return write_frames(path, frames, error);
}

}  // namespace dns::demo
