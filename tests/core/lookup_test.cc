// SPEC §4: the verdict order and the suffix edge cases.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "store_fixture.h"
#include "wire_name.h"

namespace policysync {
namespace {

using testing::StoreTest;

class LookupTest : public StoreTest {
 protected:
  void SetUp() override {
    begin("g");
    add("g", "example.com", "allow", 1);
    add("g", "*.example.com", "blacklist", 2);
    add("g", "mail.example.com", "whitelist", 3);
    add("g", "deep.sub.example.com", "whitelist", 4);
    add("g", "Bücher.de", "blacklist", 5);
    add("g", "ads*.tracker.net", "blacklist", 6);
    add("g", "ads-*.tracker.net", "allow", 7);  // more specific than ads*
    add("g", "*.cdn*.net", "blacklist", 8);
    add("g", "plain.tracker.net", "whitelist", 9);
    complete("g");
  }
};

struct Case {
  const char* query;
  Action action;
  MatchSource source;
  unsigned category;
  const char* rule;
};

class LookupTableTest : public LookupTest, public ::testing::WithParamInterface<Case> {};

TEST_P(LookupTableTest, Verdict) {
  const Case& c = GetParam();
  Verdict v = lookup("g", c.query);
  EXPECT_EQ(v.action, c.action) << c.query;
  EXPECT_EQ(v.source, c.source) << c.query << " matched " << match_source_name(v.source);
  EXPECT_EQ(v.category, c.category) << c.query;
  EXPECT_EQ(v.rule, c.rule) << c.query;
  // The batch path answers exactly as the single path.
  std::string_view q = c.query;
  Verdict b;
  reader_.lookup_batch(reader_.find_group("g"), &q, 1, &b);
  EXPECT_EQ(b.action, v.action);
  EXPECT_EQ(b.source, v.source);
  EXPECT_EQ(b.rule, v.rule);
  // The same name in DNS wire format, single and batch: the same answer.
  if (const auto wire = testing::to_wire(c.query)) {
    const std::span<const uint8_t> w(*wire);
    for (const Verdict& x : {reader_.lookup_wire(reader_.find_group("g"), w), [&] {
                               Verdict y;
                               reader_.lookup_wire_batch(reader_.find_group("g"), &w, 1, &y);
                               return y;
                             }()}) {
      EXPECT_EQ(x.action, v.action) << c.query;
      EXPECT_EQ(x.source, v.source) << c.query;
      EXPECT_EQ(x.category, v.category) << c.query;
      EXPECT_EQ(x.rule, v.rule) << c.query;
      EXPECT_EQ(x.generation, v.generation) << c.query;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, LookupTableTest,
    ::testing::Values(
        // a plain rule matches the name itself...
        Case{"example.com", Action::kAllow, MatchSource::kExact, 1, "example.com"},
        Case{"EXAMPLE.com.", Action::kAllow, MatchSource::kExact, 1, "example.com"},
        // ...and "*." beats it on strict subdomains
        Case{"www.example.com", Action::kBlacklist, MatchSource::kWildcard, 2, "example.com"},
        Case{"a.b.c.example.com", Action::kBlacklist, MatchSource::kWildcard, 2, "example.com"},
        // exact beats suffix
        Case{"mail.example.com", Action::kWhitelist, MatchSource::kExact, 3, "mail.example.com"},
        // the most specific parent wins
        Case{"x.mail.example.com", Action::kWhitelist, MatchSource::kSuffix, 3, "mail.example.com"},
        Case{"x.deep.sub.example.com", Action::kWhitelist, MatchSource::kSuffix, 4,
             "deep.sub.example.com"},
        Case{"other.sub.example.com", Action::kBlacklist, MatchSource::kWildcard, 2, "example.com"},
        // label boundaries
        Case{"notexample.com", Action::kNone, MatchSource::kNone, 0, ""},
        Case{"example.com.evil", Action::kNone, MatchSource::kNone, 0, ""},
        Case{"com", Action::kNone, MatchSource::kNone, 0, ""},
        // IDN: the rule was given in U-labels, queries arrive as A-labels
        Case{"xn--bcher-kva.de", Action::kBlacklist, MatchSource::kExact, 5, "xn--bcher-kva.de"},
        Case{"www.XN--BCHER-KVA.de", Action::kBlacklist, MatchSource::kSuffix, 5,
             "xn--bcher-kva.de"},
        // patterns, after every suffix rule, most specific pattern first
        Case{"ads1.tracker.net", Action::kBlacklist, MatchSource::kPattern, 6, "ads*.tracker.net"},
        Case{"ads.tracker.net", Action::kBlacklist, MatchSource::kPattern, 6, "ads*.tracker.net"},
        Case{"ads-x.tracker.net", Action::kAllow, MatchSource::kPattern, 7, "ads-*.tracker.net"},
        Case{"ads.x.tracker.net", Action::kNone, MatchSource::kNone, 0,
             ""},  // '*' stays in its label
        Case{"plain.tracker.net", Action::kWhitelist, MatchSource::kExact, 9, "plain.tracker.net"},
        Case{"a.b.cdn7.net", Action::kBlacklist, MatchSource::kPattern, 8, "*.cdn*.net"},
        Case{"cdn7.net", Action::kNone, MatchSource::kNone, 0, ""},
        // bad queries
        Case{"bad..name", Action::kNone, MatchSource::kInvalidQuery, 0, ""},
        Case{"", Action::kNone, MatchSource::kInvalidQuery, 0, ""}));

TEST_F(LookupTest, MaliciousComesFirstAndCoversSubdomains) {
  apply(R"({"type":"ADD_MALICIOUS","domain":"example.com","category":64,"confidence":90})");
  Verdict v = lookup("g", "mail.example.com");
  EXPECT_EQ(v.action, Action::kMalicious);
  EXPECT_EQ(v.source, MatchSource::kMalicious);
  EXPECT_EQ(v.category, 64u);
  EXPECT_EQ(v.confidence, 90);
  EXPECT_EQ(v.rule, "example.com");
  EXPECT_EQ(action("unknown-group", "x.example.com"), Action::kMalicious);
  EXPECT_EQ(action("g", "notexample.com"), Action::kNone);
}

// An empty feed is skipped (RcuTable::maybe_empty): the skip must follow the
// feed as it fills, empties and fills again, single and batched.
TEST_F(LookupTest, FeedIsConsultedAgainOnceItIsNoLongerEmpty) {
  auto both = [&](const char* name) {
    const std::string_view names[] = {name};
    Verdict batch[1];
    reader_.lookup_batch(reader_.find_group("g"), names, 1, batch);
    EXPECT_EQ(batch[0].action, action("g", name)) << name;
    return batch[0].action;
  };
  EXPECT_NE(both("a.bad.test"), Action::kMalicious);
  apply(R"({"type":"ADD_MALICIOUS","domain":"bad.test","category":1,"confidence":100})");
  EXPECT_EQ(both("a.bad.test"), Action::kMalicious);
  apply(R"({"type":"REMOVE_MALICIOUS","domain":"bad.test"})");
  EXPECT_NE(both("a.bad.test"), Action::kMalicious);
  apply(R"({"type":"ADD_MALICIOUS","domain":"bad.test","category":1,"confidence":100})");
  EXPECT_EQ(both("a.bad.test"), Action::kMalicious);
}

class ThresholdTest : public StoreTest {
 protected:
  ThresholdTest() : StoreTest(StoreLimits{1000, 1000, 1000, 50}) {}
};

TEST_F(ThresholdTest, ConfidenceBelowThresholdIsIgnored) {
  add("g", "x.com", "allow");
  apply(R"({"type":"ADD_MALICIOUS","domain":"a.x.com","category":1,"confidence":10})");
  apply(R"({"type":"ADD_MALICIOUS","domain":"x.com","category":2,"confidence":50})");
  Verdict v = lookup("g", "a.x.com");
  EXPECT_EQ(v.action, Action::kMalicious);
  EXPECT_EQ(v.category, 2u) << "the low-confidence entry is skipped, the parent applies";
  apply(R"({"type":"REMOVE_MALICIOUS","domain":"x.com"})");
  EXPECT_EQ(action("g", "a.x.com"), Action::kAllow);
}

TEST_F(StoreTest, UnknownGroupIsNone) {
  EXPECT_EQ(lookup("nope", "a.com").source, MatchSource::kNone);
  EXPECT_FALSE(reader_.find_group("nope"));
}

TEST_F(StoreTest, PortMaskAndCategoryAreReturned) {
  apply(
      R"({"type":"ADD_DOMAIN","group_id":"g","domain":"p.com","action":"blacklist","category":"0x20","port_mask":443})");
  Verdict v = lookup("g", "p.com");
  EXPECT_EQ(v.category, 32u);
  EXPECT_EQ(v.port_mask, 443u);
}

TEST_F(LookupTest, BatchMatchesSingleLookups) {
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) {
    names.push_back("n" + std::to_string(i) + ".example.com");
    names.push_back("ads" + std::to_string(i) + ".tracker.net");
    names.push_back("miss" + std::to_string(i) + ".org");
  }
  // more labels than the batch keeps inline
  names.push_back("a.b.c.d.e.f.g.h.i.j.mail.example.com");
  names.push_back("bad..name");
  std::vector<std::string_view> views(names.begin(), names.end());
  std::vector<Verdict> out(views.size());
  reader_.lookup_batch(reader_.find_group("g"), views.data(), views.size(), out.data());
  for (size_t i = 0; i < views.size(); ++i) {
    Verdict s = lookup("g", views[i]);
    EXPECT_EQ(out[i].action, s.action) << views[i];
    EXPECT_EQ(out[i].source, s.source) << views[i];
    EXPECT_EQ(out[i].rule, s.rule) << views[i];
  }
  EXPECT_EQ(out[names.size() - 2].source, MatchSource::kSuffix);
  // And in wire format ("bad..name" has none: its empty label).
  std::vector<std::vector<uint8_t>> wires;
  std::vector<std::span<const uint8_t>> spans;
  std::vector<Verdict> dotted;
  for (const std::string& n : names)
    if (auto w = testing::to_wire(n)) {
      wires.push_back(std::move(*w));
      dotted.push_back(lookup("g", n));
    }
  for (const auto& w : wires) spans.emplace_back(w);
  std::vector<Verdict> wire_out(spans.size());
  reader_.lookup_wire_batch(reader_.find_group("g"), spans.data(), spans.size(), wire_out.data());
  ASSERT_EQ(spans.size(), names.size() - 1);
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(wire_out[i].action, dotted[i].action) << names[i];
    EXPECT_EQ(wire_out[i].source, dotted[i].source) << names[i];
    EXPECT_EQ(wire_out[i].rule, dotted[i].rule) << names[i];
  }
}

}  // namespace
}  // namespace policysync
