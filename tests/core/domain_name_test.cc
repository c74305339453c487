#include "policysync/domain_name.h"

#include <gtest/gtest.h>

#include <string>

namespace policysync {
namespace {

struct PolicyCase {
  const char* in;
  bool ok;
  const char* name;
  RuleKind kind;
};

class PolicyDomainTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(PolicyDomainTest, Normalises) {
  const PolicyCase& c = GetParam();
  PolicyName n;
  Status s = normalize_policy_domain(c.in, &n);
  ASSERT_EQ(s.ok(), c.ok) << c.in << " -> " << s.to_string();
  if (!c.ok) {
    EXPECT_EQ(s.reason(), Reason::kBadDomain);
    EXPECT_FALSE(s.detail().empty()) << "an error must say what is wrong";
    return;
  }
  EXPECT_EQ(n.name, c.name);
  EXPECT_EQ(n.kind, c.kind);
}

const std::string k63(63, 'a');
const std::string k64(64, 'a');
// 4 labels of 63 + 3 dots = 255 bytes; 3 of 63 + one of 61 = 253.
const std::string k253 = k63 + "." + k63 + "." + k63 + "." + std::string(61, 'b');
const std::string k254 = k63 + "." + k63 + "." + k63 + "." + std::string(62, 'b');

INSTANTIATE_TEST_SUITE_P(
    Table, PolicyDomainTest,
    ::testing::Values(
        PolicyCase{"example.com", true, "example.com", RuleKind::kPlain},
        PolicyCase{"Example.COM", true, "example.com", RuleKind::kPlain},
        PolicyCase{"example.com.", true, "example.com", RuleKind::kPlain},
        PolicyCase{"example.com..", false, "", RuleKind::kPlain},
        PolicyCase{"*.example.com", true, "example.com", RuleKind::kWildcard},
        PolicyCase{"*.Example.com.", true, "example.com", RuleKind::kWildcard},
        PolicyCase{"ads*.example.com", true, "ads*.example.com", RuleKind::kPattern},
        PolicyCase{"*.ads*.example.com", true, "*.ads*.example.com", RuleKind::kPattern},
        PolicyCase{"bücher.de", true, "xn--bcher-kva.de", RuleKind::kPlain},
        PolicyCase{"BÜCHER.de", true, "xn--bcher-kva.de", RuleKind::kPlain},
        PolicyCase{"*.bücher.de", true, "xn--bcher-kva.de", RuleKind::kWildcard},
        PolicyCase{"under_score.example", true, "under_score.example", RuleKind::kPlain},
        PolicyCase{"", false, "", RuleKind::kPlain}, PolicyCase{".", false, "", RuleKind::kPlain},
        PolicyCase{"a..b", false, "", RuleKind::kPlain},
        PolicyCase{".a.b", false, "", RuleKind::kPlain},
        PolicyCase{"a b.com", false, "", RuleKind::kPlain},
        PolicyCase{"a/b.com", false, "", RuleKind::kPlain},
        PolicyCase{"*.", false, "", RuleKind::kPlain},
        PolicyCase{"\xff\xfe.com", false, "", RuleKind::kPlain}));

TEST(PolicyDomainLengthTest, LabelAndNameLimits) {
  PolicyName n;
  EXPECT_TRUE(normalize_policy_domain(k63 + ".com", &n).ok());
  EXPECT_FALSE(normalize_policy_domain(k64 + ".com", &n).ok());
  EXPECT_TRUE(normalize_policy_domain(k253, &n).ok());
  Status s = normalize_policy_domain(k254, &n);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.detail().find("253"), std::string::npos) << s.to_string();
}

TEST(PolicyDomainErrorTest, NamesTheOffendingCharacterAndOffset) {
  PolicyName n;
  Status s = normalize_policy_domain("good.ba!d.com", &n);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.to_string(), "bad_domain: domain: character '!' (0x21) at offset 7");
}

TEST(QueryTest, StarIsNotAllowedInQueries) {
  std::string out;
  EXPECT_FALSE(normalize_query("*.example.com", &out).ok());
  EXPECT_TRUE(normalize_query("WWW.Example.com.", &out).ok());
  EXPECT_EQ(out, "www.example.com");
}

struct AsciiCase {
  const char* in;
  const char* out;  // nullptr: invalid
};

class QueryAsciiTest : public ::testing::TestWithParam<AsciiCase> {};

TEST_P(QueryAsciiTest, MatchesTheAllocatingNormaliser) {
  const AsciiCase& c = GetParam();
  char buf[kMaxDomainLength + 2];
  int n = normalize_query_ascii(c.in, buf);
  if (c.out == nullptr) {
    EXPECT_EQ(n, -1) << c.in;
    return;
  }
  ASSERT_GE(n, 0) << c.in;
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), c.out);
  std::string slow;
  ASSERT_TRUE(normalize_query(c.in, &slow).ok());
  EXPECT_EQ(slow, c.out);
}

INSTANTIATE_TEST_SUITE_P(
    Table, QueryAsciiTest,
    ::testing::Values(AsciiCase{"WWW.Google.COM", "www.google.com"},
                      AsciiCase{"google.com.", "google.com"}, AsciiCase{"a-b_c.d", "a-b_c.d"},
                      AsciiCase{"google.com..", nullptr}, AsciiCase{"", nullptr},
                      AsciiCase{".", nullptr}, AsciiCase{"a..b", nullptr},
                      AsciiCase{"bücher.de", nullptr}, AsciiCase{"*.a.com", nullptr},
                      AsciiCase{"a\tb.com", nullptr}));

TEST(QueryAsciiLengthTest, Limits) {
  char buf[kMaxDomainLength + 2];
  EXPECT_EQ(normalize_query_ascii(k253, buf), 253);
  EXPECT_EQ(normalize_query_ascii(k253 + ".", buf), 253);
  EXPECT_EQ(normalize_query_ascii(k254, buf), -1);
  EXPECT_EQ(normalize_query_ascii(k64 + ".com", buf), -1);
}

}  // namespace
}  // namespace policysync
