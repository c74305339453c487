#include "match/pattern_set.h"

#include <gtest/gtest.h>

#include <cstring>

namespace policysync::detail {
namespace {

TEST(PatternSetTest, RegexTranslation) {
  EXPECT_EQ(PatternSet::to_regex("ads*.x.com"), "^ads[a-z0-9_\\-]*\\.x\\.com$");
  EXPECT_EQ(PatternSet::to_regex("*.c*.net"), "^(?:[a-z0-9_\\-]+\\.)+c[a-z0-9_\\-]*\\.net$");
  EXPECT_EQ(PatternSet::to_regex("a-*.b"), "^a\\-[a-z0-9_\\-]*\\.b$");
}

struct MatchCase {
  const char* name;
  const char* rule;  // nullptr: no match
};

class PatternMatchTest : public ::testing::TestWithParam<MatchCase> {
 protected:
  static void SetUpTestSuite() {
    std::vector<PatternRule> rules = {
        {"ads*.x.com", {}}, {"ads-eu*.x.com", {}}, {"*.cdn*.net", {}}, {"t*k*.org", {}}};
    ASSERT_TRUE(PatternSet::compile(rules, &set_).ok());
    ASSERT_EQ(hs_alloc_scratch(set_->database(), &scratch_), HS_SUCCESS);
  }
  static void TearDownTestSuite() {
    hs_free_scratch(scratch_);
    set_.reset();
  }
  static std::unique_ptr<PatternSet> set_;
  static hs_scratch_t* scratch_;
};
std::unique_ptr<PatternSet> PatternMatchTest::set_;
hs_scratch_t* PatternMatchTest::scratch_ = nullptr;

TEST_P(PatternMatchTest, BestRule) {
  const MatchCase& c = GetParam();
  const int i = set_->match(c.name, static_cast<int>(std::strlen(c.name)), scratch_);
  if (c.rule == nullptr) {
    EXPECT_EQ(i, -1) << c.name << " matched " << set_->rule(i).pattern;
  } else {
    ASSERT_GE(i, 0) << c.name;
    EXPECT_EQ(set_->rule(i).pattern, c.rule);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PatternMatchTest,
    ::testing::Values(MatchCase{"ads.x.com", "ads*.x.com"}, MatchCase{"ads123.x.com", "ads*.x.com"},
                      MatchCase{"ads-eu1.x.com", "ads-eu*.x.com"},
                      MatchCase{"ads.y.x.com", nullptr}, MatchCase{"xads.x.com", nullptr},
                      MatchCase{"a.cdn1.net", "*.cdn*.net"}, MatchCase{"a.b.cdn.net", "*.cdn*.net"},
                      MatchCase{"cdn1.net", nullptr}, MatchCase{"tracker.org", "t*k*.org"},
                      MatchCase{"tk.org", "t*k*.org"}));

TEST(PatternSetTest, EmptySetMatchesNothing) {
  std::unique_ptr<PatternSet> set;
  ASSERT_TRUE(PatternSet::compile({}, &set).ok());
  EXPECT_EQ(set->match("a.com", 5, nullptr), -1);
}

}  // namespace
}  // namespace policysync::detail
