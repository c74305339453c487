// Maps a query's source address to its policy group: a small table of
// IPv4/IPv6 prefixes read from a config file, longest prefix first, and a
// default group. No DPDK; match() allocates nothing.
//
// The file: one "PREFIX GROUP" per line, "default GROUP" once at most, '#'
// comments and blank lines. A source no prefix covers and no default names
// belongs to no group (its queries are looked up against the malicious feed
// only). Example:
//   10.1.0.0/16        enterprise_a
//   2001:db8:a::/48    enterprise_a
//   default            guest
//
//   dns::GroupMap map;
//   std::string error;
//   if (!dns::GroupMap::parse(text, "groups.conf", &map, &error)) die(error);
//   int g = map.match(packet.ipv6, packet.src);  // -1: no group
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace dns {

class GroupMap {
 public:
  // Why a linear scan: a data plane maps a handful of customer prefixes, the
  // scan is over a few cache lines, and it runs once per DNS query beside a
  // hash lookup. DPDK's rte_lpm is the tool once there are thousands.
  static constexpr size_t kMaxPrefixes = 256;

  // Control thread. Replaces *out; false with "NAME:LINE: what" in *error.
  static bool parse(std::string_view text, std::string_view name, GroupMap* out,
                    std::string* error) {
    GroupMap m;
    std::istringstream in{std::string(text)};
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      std::istringstream fields(line);
      std::string prefix, group, extra;
      if (!(fields >> prefix)) continue;
      const auto fail = [&](const std::string& what) {
        *error = std::string(name) + ":" + std::to_string(n) + ": " + what;
        return false;
      };
      if (!(fields >> group)) return fail("'" + prefix + "' names no group");
      if (fields >> extra) return fail("unexpected '" + extra + "' after the group");
      if (prefix == "default") {
        if (m.default_group_ >= 0) return fail("a second default");
        m.default_group_ = m.intern(group);
        continue;
      }
      Prefix p;
      if (!parse_prefix(prefix, &p)) return fail("bad prefix '" + prefix + "'");
      if (m.prefixes_.size() == kMaxPrefixes)
        return fail("more than " + std::to_string(kMaxPrefixes) + " prefixes");
      p.group = m.intern(group);
      m.prefixes_.push_back(p);
    }
    std::stable_sort(m.prefixes_.begin(), m.prefixes_.end(),
                     [](const Prefix& a, const Prefix& b) { return a.bits > b.bits; });
    *out = std::move(m);
    return true;
  }

  // Any thread, wait-free (read-only after parse). The group index of the
  // longest prefix covering `src` (4 bytes if !ipv6, else 16), else the
  // default's, else -1.
  int match(bool ipv6, const uint8_t* src) const {
    for (const Prefix& p : prefixes_)
      if (p.ipv6 == ipv6 && covers(p, src)) return p.group;
    return default_group_;
  }

  const std::vector<std::string>& groups() const { return groups_; }

 private:
  struct Prefix {
    bool ipv6 = false;
    uint8_t addr[16] = {};
    int bits = 0;
    int group = -1;
  };

  static bool parse_prefix(const std::string& text, Prefix* p) {
    const size_t slash = text.find('/');
    const std::string addr = text.substr(0, slash);
    p->ipv6 = addr.find(':') != std::string::npos;
    const int max = p->ipv6 ? 128 : 32;
    p->bits = max;
    if (slash != std::string::npos) {
      const std::string len = text.substr(slash + 1);
      if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos)
        return false;
      p->bits = std::stoi(len);
      if (p->bits > max) return false;
    }
    if (inet_pton(p->ipv6 ? AF_INET6 : AF_INET, addr.c_str(), p->addr) != 1) return false;
    // Host bits cleared, so covers() compares whole bytes plus one mask.
    for (int bit = p->bits; bit < max; ++bit) p->addr[bit / 8] &= ~(0x80 >> (bit % 8));
    return true;
  }

  static bool covers(const Prefix& p, const uint8_t* src) {
    const int whole = p.bits / 8;
    if (std::memcmp(p.addr, src, whole) != 0) return false;
    if (p.bits % 8 == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff00 >> (p.bits % 8));
    return (src[whole] & mask) == p.addr[whole];
  }

  int intern(const std::string& group) {
    const auto it = std::find(groups_.begin(), groups_.end(), group);
    if (it != groups_.end()) return static_cast<int>(it - groups_.begin());
    groups_.push_back(group);
    return static_cast<int>(groups_.size() - 1);
  }

  std::vector<Prefix> prefixes_;
  std::vector<std::string> groups_;  // index = the value match() returns
  int default_group_ = -1;
};

}  // namespace dns
