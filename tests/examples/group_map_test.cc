// The DNS filter's source-prefix -> group table (examples/dpdk_dns_filter).
#include "group_map.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace {

struct MatchCase {
  const char* source;
  const char* group;  // nullptr: no group
};

class GroupMapMatchTest : public ::testing::TestWithParam<MatchCase> {};

const char* const kConf =
    "# comment line\n"
    "10.0.0.0/8        wide\n"
    "10.1.0.0/16       narrow   # trailing comment\n"
    "10.1.16.0/20      unaligned\n"
    "192.0.2.7         host\n"
    "\n"
    "2001:db8::/32     v6wide\n"
    "2001:db8:1::/48   v6narrow\n"
    "default           fallback\n";

TEST_P(GroupMapMatchTest, LongestPrefixThenDefault) {
  dns::GroupMap map;
  std::string error;
  ASSERT_TRUE(dns::GroupMap::parse(kConf, "groups.conf", &map, &error)) << error;
  const std::string src = GetParam().source;
  uint8_t addr[16] = {};
  const bool v6 = src.find(':') != std::string::npos;
  ASSERT_EQ(inet_pton(v6 ? AF_INET6 : AF_INET, src.c_str(), addr), 1);
  const int g = map.match(v6, addr);
  ASSERT_GE(g, 0) << src;
  EXPECT_EQ(map.groups()[g], GetParam().group) << src;
}

INSTANTIATE_TEST_SUITE_P(
    Table, GroupMapMatchTest,
    ::testing::Values(MatchCase{"10.9.9.9", "wide"}, MatchCase{"10.1.0.1", "narrow"},
                      MatchCase{"10.1.15.255", "narrow"}, MatchCase{"10.1.16.0", "unaligned"},
                      MatchCase{"10.1.31.255", "unaligned"}, MatchCase{"10.1.32.0", "narrow"},
                      MatchCase{"192.0.2.7", "host"}, MatchCase{"192.0.2.8", "fallback"},
                      MatchCase{"11.0.0.1", "fallback"}, MatchCase{"2001:db8:2::1", "v6wide"},
                      MatchCase{"2001:db8:1:ffff::1", "v6narrow"},
                      // An IPv4 prefix never matches an IPv6 source with the same leading bytes.
                      MatchCase{"a01:0101::", "fallback"}, MatchCase{"2001:db9::1", "fallback"}));

TEST(GroupMapTest, NoDefaultMeansNoGroup) {
  dns::GroupMap map;
  std::string error;
  ASSERT_TRUE(dns::GroupMap::parse("10.0.0.0/8 a\n", "g", &map, &error)) << error;
  const uint8_t outside[4] = {11, 0, 0, 1};
  EXPECT_EQ(map.match(false, outside), -1);
}

struct ErrorCase {
  const char* text;
  const char* error;
};

class GroupMapErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(GroupMapErrorTest, NamesTheLineAndWhatIsWrong) {
  dns::GroupMap map;
  std::string error;
  EXPECT_FALSE(dns::GroupMap::parse(GetParam().text, "groups.conf", &map, &error));
  EXPECT_EQ(error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, GroupMapErrorTest,
    ::testing::Values(ErrorCase{"10.0.0.0/8\n", "groups.conf:1: '10.0.0.0/8' names no group"},
                      ErrorCase{"# c\n10.0.0.0/33 a\n", "groups.conf:2: bad prefix '10.0.0.0/33'"},
                      ErrorCase{"10.0.0.0/ a\n", "groups.conf:1: bad prefix '10.0.0.0/'"},
                      ErrorCase{"10.0.0.0/-1 a\n", "groups.conf:1: bad prefix '10.0.0.0/-1'"},
                      ErrorCase{"10.0.0/8 a\n", "groups.conf:1: bad prefix '10.0.0/8'"},
                      ErrorCase{"2001:db8::/129 a\n", "groups.conf:1: bad prefix '2001:db8::/129'"},
                      ErrorCase{"10.0.0.0/8 a b\n",
                                "groups.conf:1: unexpected 'b' after the group"},
                      ErrorCase{"default a\ndefault b\n", "groups.conf:2: a second default"}));

}  // namespace
