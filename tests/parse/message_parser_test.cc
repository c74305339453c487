#include "policysync/message_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

namespace policysync {
namespace {

Status parse(const std::string& json, Message* m, ParserLimits limits = {}) {
  MessageParser p(limits);
  return p.parse(json.data(), json.size(), m);
}

TEST(MessageParserTest, SeedAddDomain) {
  Message m;
  ASSERT_TRUE(parse(R"({"type":"ADD_DOMAIN", "group_id":"enterprise_a",
      "domain":"Blocked.com.","action":"BlackList","category":2})",
                    &m)
                  .ok());
  EXPECT_EQ(m.type, MessageType::kAddDomain);
  EXPECT_EQ(m.group_id, "enterprise_a");
  EXPECT_EQ(m.domain.name, "blocked.com");
  EXPECT_EQ(m.domain.kind, RuleKind::kPlain);
  EXPECT_EQ(m.action, Action::kBlacklist);
  EXPECT_EQ(m.category, 2u);
  EXPECT_EQ(m.port_mask, 0u);
}

TEST(MessageParserTest, SeedMalicious) {
  Message m;
  ASSERT_TRUE(
      parse(R"({"type":"ADD_MALICIOUS","domain":"c2.evil.net","category":4,"confidence":98})", &m)
          .ok());
  EXPECT_EQ(m.type, MessageType::kAddMalicious);
  EXPECT_EQ(m.domain.name, "c2.evil.net");
  EXPECT_EQ(m.category, 4u);
  EXPECT_EQ(m.confidence, 98);
  EXPECT_EQ(m.action, Action::kMalicious);
}

TEST(MessageParserTest, DefaultsAndOptionalFields) {
  Message m;
  ASSERT_TRUE(parse(R"({"type":"ADD_MALICIOUS","domain":"x.net","category":"0x10"})", &m).ok());
  EXPECT_EQ(m.confidence, 100);
  EXPECT_EQ(m.category, 16u);
  ASSERT_TRUE(parse(R"({"type":"SYNC_COMPLETE","group_id":"g","count":"5"})", &m).ok());
  EXPECT_TRUE(m.has_count);
  EXPECT_EQ(m.count, 5u);
  ASSERT_TRUE(parse(R"({"type":"SYNC_COMPLETE","group_id":"g"})", &m).ok());
  EXPECT_FALSE(m.has_count);
}

TEST(MessageParserTest, UnknownFieldsAreIgnored) {
  Message m;
  ASSERT_TRUE(
      parse(R"({"x":[1,{"y":null}],"type":"BEGIN_SYNC","pm":"v2","group_id":"g"})", &m).ok());
  EXPECT_EQ(m.type, MessageType::kBeginSync);
}

TEST(MessageParserTest, NumbersAsStringsAndHex) {
  Message m;
  ASSERT_TRUE(parse(R"({"type":"ADD_DOMAIN","group_id":"g","domain":"a.b","action":"allow",
      "category":"0xFFFFFFFF","port_mask":"443"})",
                    &m)
                  .ok());
  EXPECT_EQ(m.category, 0xFFFFFFFFu);
  EXPECT_EQ(m.port_mask, 443u);
}

struct BadCase {
  const char* name;
  std::string json;
  Reason reason;
  const char* what;
};

class BadMessageTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadMessageTest, RejectsWithReason) {
  const BadCase& c = GetParam();
  Message m;
  Status s = parse(c.json, &m);
  ASSERT_FALSE(s.ok()) << c.json;
  EXPECT_EQ(s.reason(), c.reason) << s.to_string();
  EXPECT_EQ(s.what(), c.what) << s.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadMessageTest,
    ::testing::Values(
        BadCase{"empty", "", Reason::kBadJson, "message"},
        BadCase{"not_object", "[1,2]", Reason::kBadJson, "message"},
        BadCase{"truncated", R"({"type":"BEGIN_SYNC","group_id":"g)", Reason::kBadJson, "message"},
        BadCase{"trailing", R"({"type":"BEGIN_SYNC","group_id":"g"} x)", Reason::kBadJson,
                "message"},
        BadCase{"no_type", R"({"group_id":"g"})", Reason::kMissingField, "type"},
        BadCase{"unknown_type", R"({"type":"DROP_TABLE","group_id":"g"})", Reason::kUnknownType,
                "type"},
        BadCase{"type_not_string", R"({"type":3,"group_id":"g"})", Reason::kWrongType, "type"},
        BadCase{"no_group", R"({"type":"BEGIN_SYNC"})", Reason::kMissingField, "group_id"},
        BadCase{"empty_group", R"({"type":"BEGIN_SYNC","group_id":""})", Reason::kOutOfRange,
                "group_id"},
        BadCase{"long_group",
                R"({"type":"BEGIN_SYNC","group_id":")" + std::string(256, 'g') + "\"}",
                Reason::kOutOfRange, "group_id"},
        BadCase{"control_group", R"({"type":"BEGIN_SYNC","group_id":"a\u0001b"})",
                Reason::kOutOfRange, "group_id"},
        BadCase{"group_not_string", R"({"type":"BEGIN_SYNC","group_id":7})", Reason::kWrongType,
                "group_id"},
        BadCase{"no_domain", R"({"type":"ADD_DOMAIN","group_id":"g","action":"allow"})",
                Reason::kMissingField, "domain"},
        BadCase{"no_action", R"({"type":"ADD_DOMAIN","group_id":"g","domain":"a.com"})",
                Reason::kMissingField, "action"},
        BadCase{"bad_action",
                R"({"type":"ADD_DOMAIN","group_id":"g","domain":"a.com","action":"deny"})",
                Reason::kBadAction, "action"},
        BadCase{"bad_domain",
                R"({"type":"ADD_DOMAIN","group_id":"g","domain":"a..com","action":"allow"})",
                Reason::kBadDomain, "domain"},
        BadCase{
            "long_domain",
            R"({"type":"REMOVE_DOMAIN","group_id":"g","domain":")" + std::string(300, 'a') + "\"}",
            Reason::kBadDomain, "domain"},
        BadCase{"star_in_malicious",
                R"({"type":"ADD_MALICIOUS","domain":"*.evil.net","category":1})",
                Reason::kBadDomain, "domain"},
        BadCase{"no_category", R"({"type":"ADD_MALICIOUS","domain":"evil.net"})",
                Reason::kMissingField, "category"},
        BadCase{"negative", R"({"type":"ADD_MALICIOUS","domain":"e.net","category":-1})",
                Reason::kOutOfRange, "category"},
        BadCase{"too_big", R"({"type":"ADD_MALICIOUS","domain":"e.net","category":4294967296})",
                Reason::kOutOfRange, "category"},
        BadCase{"huge", R"({"type":"ADD_MALICIOUS","domain":"e.net","category":1e400})",
                Reason::kWrongType, "category"},
        BadCase{"float", R"({"type":"ADD_MALICIOUS","domain":"e.net","category":1.5})",
                Reason::kWrongType, "category"},
        BadCase{"confidence_101",
                R"({"type":"ADD_MALICIOUS","domain":"e.net","category":1,"confidence":101})",
                Reason::kOutOfRange, "confidence"},
        BadCase{"bad_hex", R"({"type":"ADD_MALICIOUS","domain":"e.net","category":"0xZZ"})",
                Reason::kWrongType, "category"},
        BadCase{"hex_overflow",
                R"({"type":"ADD_MALICIOUS","domain":"e.net","category":"0x1FFFFFFFF"})",
                Reason::kOutOfRange, "category"},
        BadCase{"bool_count", R"({"type":"SYNC_COMPLETE","group_id":"g","count":true})",
                Reason::kWrongType, "count"},
        BadCase{"duplicate", R"({"type":"BEGIN_SYNC","group_id":"g","group_id":"h"})",
                Reason::kDuplicateField, "group_id"},
        // Invalid JSON inside a known field is bad_json, not wrong_type (issue 13.8).
        BadCase{"domain_nul", R"({"type":"REMOVE_DOMAIN","group_id":"g","domain":nul})",
                Reason::kBadJson, "domain"},
        BadCase{"group_tru", R"({"type":"BEGIN_SYNC","group_id":tru})", Reason::kBadJson,
                "group_id"},
        BadCase{"group_bad_array", R"({"type":"BEGIN_SYNC","group_id":[1,,2]})", Reason::kBadJson,
                "group_id"},
        BadCase{"count_fals", R"({"type":"SYNC_COMPLETE","group_id":"g","count":fals})",
                Reason::kBadJson, "count"},
        BadCase{"group_valid_array", R"({"type":"BEGIN_SYNC","group_id":[1,2]})",
                Reason::kWrongType, "group_id"},
        // group_id must be printable (SPEC §2, issue 13.9).
        BadCase{"group_c1", R"({"type":"BEGIN_SYNC","group_id":"a\u0085b"})", Reason::kOutOfRange,
                "group_id"},
        BadCase{"group_del", R"({"type":"BEGIN_SYNC","group_id":"a\u007fb"})", Reason::kOutOfRange,
                "group_id"},
        BadCase{"group_line_sep", R"({"type":"BEGIN_SYNC","group_id":"a\u2028b"})",
                Reason::kOutOfRange, "group_id"},
        BadCase{"group_para_sep", R"({"type":"BEGIN_SYNC","group_id":"a\u2029b"})",
                Reason::kOutOfRange, "group_id"},
        BadCase{"group_zwsp", R"({"type":"BEGIN_SYNC","group_id":"a\u200bb"})", Reason::kOutOfRange,
                "group_id"},
        BadCase{"group_bom", R"({"type":"BEGIN_SYNC","group_id":"\ufeffg"})", Reason::kOutOfRange,
                "group_id"},
        BadCase{"group_nonchar_ffff", R"({"type":"BEGIN_SYNC","group_id":"a\uffffb"})",
                Reason::kOutOfRange, "group_id"},
        BadCase{"group_nonchar_10ffff", R"({"type":"BEGIN_SYNC","group_id":"a\udbff\udfffb"})",
                Reason::kOutOfRange, "group_id"},
        BadCase{"group_nonchar_fdd0", R"({"type":"BEGIN_SYNC","group_id":"a\ufdd0b"})",
                Reason::kOutOfRange, "group_id"},
        BadCase{"group_lone_space", R"({"type":"BEGIN_SYNC","group_id":" "})", Reason::kOutOfRange,
                "group_id"},
        BadCase{"group_trailing_nbsp", R"({"type":"BEGIN_SYNC","group_id":"g\u00a0"})",
                Reason::kOutOfRange, "group_id"}));

// Malformed JSON as the value of an unknown field (JSONTestSuite-style
// n_ cases): the whole message must be valid JSON (SPEC §2, issue 13.8).
class MalformedUnknownFieldTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MalformedUnknownFieldTest, IsBadJson) {
  const std::string json =
      std::string(R"({"type":"ADD_GROUP","group_id":"g","x":)") + GetParam() + "}";
  Message m;
  Status s = parse(json, &m);
  ASSERT_FALSE(s.ok()) << json;
  EXPECT_EQ(s.reason(), Reason::kBadJson) << json << " -> " << s.to_string();
  EXPECT_EQ(m.group_id, "g") << "the group is still named, so its sync can be aborted";
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedUnknownFieldTest,
                         ::testing::Values("nul", "tru", "fals", "NaN", "-Infinity", "[1,,2]",
                                           "[1,]", "[,1]", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}",
                                           "{1:1}", "01", "1.", ".5", "-", "1e", "0x10", "+1",
                                           "'x'", "\"\\x\"", "\"\\u12\"", "[\"a\"", "[[[]]",
                                           "{\"a\":[}", "]", "truex", "nullx", "[1 2]", "1.5e",
                                           "--1"));

TEST(MessageParserTest, ValidJsonInUnknownFieldsIsAccepted) {
  for (const char* v : {"null", "true", "false", "-0.5e-3", "1E+2", R"("\u00e9\n")",
                        R"([1,[2,{"a":[]}],{}])", R"({"a":{"b":{"c":null}}})"}) {
    const std::string json = std::string(R"({"type":"ADD_GROUP","group_id":"g","x":)") + v + "}";
    Message m;
    EXPECT_TRUE(parse(json, &m).ok()) << json;
  }
}

TEST(MessageParserTest, DeepNestingIsRefusedNotOverflowed) {
  const std::string json = std::string(R"({"type":"ADD_GROUP","group_id":"g","x":)") +
                           std::string(500, '[') + std::string(500, ']') + "}";
  Message m;
  EXPECT_EQ(parse(json, &m).reason(), Reason::kBadJson);
}

TEST(MessageParserTest, PrintableGroupIdsAreAccepted) {
  for (const char* g : {"enterprise_a", "Zürich office", "東京", "a b", "g-1.2/3", "😀"}) {
    const std::string json = std::string(R"({"type":"ADD_GROUP","group_id":")") + g + "\"}";
    Message m;
    ASSERT_TRUE(parse(json, &m).ok()) << g;
    EXPECT_EQ(m.group_id, g);
  }
}

// count is a u64 (SPEC §2); number strings may carry any number of leading
// zeros (issue 13, minor).
TEST(MessageParserTest, CountIsU64AndLeadingZerosAreAccepted) {
  Message m;
  ASSERT_TRUE(parse(R"({"type":"SYNC_COMPLETE","group_id":"g","count":4294967296})", &m).ok());
  EXPECT_EQ(m.count, 4294967296u);
  ASSERT_TRUE(
      parse(R"({"type":"SYNC_COMPLETE","group_id":"g","count":18446744073709551615})", &m).ok());
  EXPECT_EQ(m.count, UINT64_MAX);
  ASSERT_TRUE(
      parse(R"({"type":"SYNC_COMPLETE","group_id":"g","count":"000000000000000000001"})", &m).ok());
  EXPECT_EQ(m.count, 1u);
  ASSERT_TRUE(
      parse(R"({"type":"ADD_MALICIOUS","domain":"e.net","category":"0x0000000000000000000001"})",
            &m)
          .ok());
  EXPECT_EQ(m.category, 1u);
  EXPECT_EQ(parse(R"({"type":"SYNC_COMPLETE","group_id":"g","count":"18446744073709551616"})", &m)
                .reason(),
            Reason::kOutOfRange);
}

// An escaped key after the faulty field still names the group (issue 13, minor).
TEST(MessageParserTest, EscapedGroupKeyIsRecoveredAfterAFault) {
  Message m;
  Status s =
      parse(R"({"type":"ADD_DOMAIN","domain":"a..b","action":"allow","\u0067roup_id":"g5"})", &m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(m.group_id, "g5");
  EXPECT_TRUE(m.type_known);
  EXPECT_EQ(m.type, MessageType::kAddDomain);
  // The type is recovered too when the fault comes before it.
  s = parse(R"({"group_id":"g6","domain":"a..b","type":"ADD_DOMAIN","action":"allow"})", &m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(m.group_id, "g6");
  EXPECT_TRUE(m.type_known);
  EXPECT_EQ(m.type, MessageType::kAddDomain);
}

TEST(MessageParserTest, TooLargeIsRejectedBeforeParsing) {
  Message m;
  std::string json =
      R"({"type":"BEGIN_SYNC","group_id":"g","pad":")" + std::string(200, 'x') + "\"}";
  Status s = parse(json, &m, ParserLimits{100});
  EXPECT_EQ(s.reason(), Reason::kTooLarge);
  EXPECT_NE(s.detail().find("limit 100"), std::string::npos) << s.to_string();
}

TEST(MessageParserTest, FailedMessageStillNamesItsGroup) {
  Message m;
  Status s = parse(R"({"type":"ADD_DOMAIN","domain":"a..b","action":"allow","group_id":"g7"})", &m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(m.group_id, "g7");
  s = parse(R"({"type":"ADD_DOMAIN","group_id":"g8","action":"nope","domain":"a.b"})", &m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(m.group_id, "g8");
  s = parse(R"({"type":"ADD_DOMAIN","group_id":"g9","action":"allow"})", &m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(m.group_id, "g9");
}

// A value shown in a reason is cut at 40 bytes, before a character rather
// than inside one: a reason goes into status records, whose JSON must stay
// UTF-8 (review of issue 20: "a" and 20 "é" were cut after byte 40).
TEST(MessageParserTest, ShownValuesAreCutBetweenCharacters) {
  std::string accents;
  for (int i = 0; i < 20; ++i) accents += "\xC3\xA9";  // é
  for (const std::string field : {"type", "action"}) {
    const std::string json =
        field == "type"
            ? R"({"group_id":"g","type":"a)" + accents + "\"}"
            : R"({"type":"ADD_DOMAIN","group_id":"g","domain":"a.b","action":"a)" + accents + "\"}";
    Message m;
    const Status s = parse(json, &m);
    ASSERT_FALSE(s.ok()) << field;
    const std::string why = s.to_string();
    const size_t q = why.find("\"a");
    ASSERT_NE(q, std::string::npos) << why;
    const std::string shown = why.substr(q + 1, why.find('"', q + 1) - q - 1);
    EXPECT_EQ(shown, "a" + accents.substr(0, 38)) << field << ": 39 bytes, whole characters";
  }
}

TEST(MessageParserTest, NeverReadsPastThePayload) {
  // The payload sits at the very end of its own allocation (ASan catches an
  // overread); the bytes after it in a bigger buffer must not change the result.
  const std::string json = R"({"type":"BEGIN_SYNC","group_id":"g"})";
  auto exact = std::make_unique<char[]>(json.size());
  std::memcpy(exact.get(), json.data(), json.size());
  MessageParser p;
  Message m;
  ASSERT_TRUE(p.parse(exact.get(), json.size(), &m).ok());
  // Truncated by one byte: the closing brace lies outside the payload.
  std::string padded = json + "}}}}";
  EXPECT_EQ(p.parse(padded.data(), json.size() - 1, &m).reason(), Reason::kBadJson);
}

TEST(MessageParserTest, ParserIsReusableAcrossSizes) {
  MessageParser p;
  Message m;
  std::string big =
      R"({"type":"BEGIN_SYNC","group_id":"g","pad":")" + std::string(5000, 'x') + "\"}";
  ASSERT_TRUE(p.parse(big.data(), big.size(), &m).ok());
  std::string small = R"({"type":"ADD_GROUP","group_id":"h"})";
  ASSERT_TRUE(p.parse(small.data(), small.size(), &m).ok());
  EXPECT_EQ(m.type, MessageType::kAddGroup);
  EXPECT_EQ(m.group_id, "h");
}

}  // namespace
}  // namespace policysync
