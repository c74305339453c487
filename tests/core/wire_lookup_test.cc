// Lookups of names in DNS wire format (Reader::lookup_wire, wire_name_length):
// malformed names are told apart and never read past the given length;
// well-formed ones answer exactly as their dotted form does.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "store_fixture.h"
#include "wire_name.h"

namespace policysync {
namespace {

using testing::StoreTest;
using testing::to_wire;

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// The name copied into a heap block of exactly its size: under ASan, a read
// past the given length is an error, not a silent look at the next byte.
Verdict lookup_exact(const Reader& r, GroupRef g, const std::vector<uint8_t>& wire) {
  std::unique_ptr<uint8_t[]> block(new uint8_t[wire.size() + 1]);
  uint8_t* at = block.get() + 1;  // any alignment
  if (!wire.empty()) std::memcpy(at, wire.data(), wire.size());
  return r.lookup_wire(g, std::span<const uint8_t>(at, wire.size()));
}

struct WireCase {
  const char* name;
  std::string wire;
  size_t length;  // wire_name_length(); 0 = malformed
  MatchSource source;
};

class WireTableTest : public StoreTest, public ::testing::WithParamInterface<WireCase> {};

TEST_P(WireTableTest, MalformedIsToldApart) {
  begin("g");
  add("g", "github.com", "blacklist");
  complete("g");
  const WireCase& c = GetParam();
  const std::vector<uint8_t> w = bytes(c.wire);
  EXPECT_EQ(wire_name_length(w.data(), w.size()), c.length);
  const Verdict v = lookup_exact(reader_, reader_.find_group("g"), w);
  EXPECT_EQ(v.source, c.source) << match_source_name(v.source);
  EXPECT_EQ(v.action, c.source == MatchSource::kExact ? Action::kBlacklist : Action::kNone);
  Verdict b;
  const std::span<const uint8_t> s(w);
  reader_.lookup_wire_batch(reader_.find_group("g"), &s, 1, &b);
  EXPECT_EQ(b.source, v.source);
}

const std::string k63(63, 'a');

INSTANTIATE_TEST_SUITE_P(
    Table, WireTableTest,
    ::testing::Values(
        WireCase{"plain", std::string("\6github\3com\0", 12), 12, MatchSource::kExact},
        WireCase{"upper_case", std::string("\6GitHub\3COM\0", 12), 12, MatchSource::kExact},
        WireCase{"qtype_after", std::string("\6github\3com\0\0\1\0\1", 16), 12,
                 MatchSource::kExact},
        WireCase{"empty_buffer", "", 0, MatchSource::kMalformedName},
        WireCase{"no_final_zero", "\6github\3com", 0, MatchSource::kMalformedName},
        WireCase{"label_overruns", "\6git", 0, MatchSource::kMalformedName},
        WireCase{"pointer", std::string("\6github\xc0\x0c", 9), 0, MatchSource::kMalformedName},
        WireCase{"pointer_first", std::string("\xc0\x0c", 2), 0, MatchSource::kMalformedName},
        WireCase{"reserved_40", std::string("\x40", 1) + std::string(64, 'a') + '\0', 0,
                 MatchSource::kMalformedName},
        WireCase{"reserved_80", std::string("\x80\0", 2), 0, MatchSource::kMalformedName},
        // 255 bytes: three 63-byte labels, one 61-byte label, the zero byte
        WireCase{"max_255",
                 "\x3f" + k63 + "\x3f" + k63 + "\x3f" + k63 + "\x3d" + std::string(61, 'a') +
                     std::string(1, '\0'),
                 255, MatchSource::kNone},
        WireCase{"over_255",
                 "\x3f" + k63 + "\x3f" + k63 + "\x3f" + k63 + "\x3e" + std::string(62, 'a') +
                     std::string(1, '\0'),
                 0, MatchSource::kMalformedName},
        // well formed, but no valid host name
        WireCase{"root", std::string("\0", 1), 1, MatchSource::kInvalidQuery},
        WireCase{"dot_in_label", std::string("\3a.b\3com\0", 9), 9, MatchSource::kInvalidQuery},
        WireCase{"dot_ends_label", std::string("\2a.\0", 4), 4, MatchSource::kInvalidQuery},
        WireCase{"space_in_label", std::string("\3a b\0", 5), 5, MatchSource::kInvalidQuery},
        WireCase{"nul_in_label", std::string("\3a\0b\0", 5), 5, MatchSource::kInvalidQuery},
        WireCase{"high_byte", std::string("\2\xc3\xa9\0", 4), 4, MatchSource::kInvalidQuery}),
    [](const auto& info) { return std::string(info.param.name); });

// Every proper prefix of a well-formed name is malformed (the final zero byte
// or a label lies past the given length), and is read within its length.
TEST_F(StoreTest, EveryTruncationIsMalformed) {
  begin("g");
  add("g", "example.com", "blacklist");
  complete("g");
  const auto w = *to_wire("www.mail.example.com");
  for (size_t len = 0; len < w.size(); ++len) {
    const std::vector<uint8_t> prefix(w.begin(), w.begin() + len);
    EXPECT_EQ(wire_name_length(prefix.data(), prefix.size()), 0u) << len;
    EXPECT_EQ(lookup_exact(reader_, reader_.find_group("g"), prefix).source,
              MatchSource::kMalformedName)
        << len;
  }
  EXPECT_EQ(lookup_exact(reader_, reader_.find_group("g"), w).source, MatchSource::kSuffix);
}

// Differential: random names over the labels of the rules (random case, some
// misses, malicious entries too), single and batch, against the dotted path.
TEST_F(StoreTest, WireAnswersAsDottedOnRandomNames) {
  const char* labels[] = {"www", "mail", "ads", "ads1", "cdn7", "x", "a-b", "_srv", "example"};
  const char* suffixes[] = {"example.com", "mail.example.com", "net", "x.net",
                            "cdn7.net",    "xn--bcher-kva.de", "org", "com"};
  begin("g");
  add("g", "example.com", "allow", 1);
  add("g", "*.example.com", "blacklist", 2);
  add("g", "mail.example.com", "whitelist", 3);
  add("g", "ads*.net", "blacklist", 4);
  add("g", "*.cdn*.net", "blacklist", 5);
  add("g", "Bücher.de", "blacklist", 6);
  complete("g");
  apply(R"({"type":"ADD_MALICIOUS","domain":"x.net","category":7,"confidence":90})");
  std::mt19937 rng(2026);
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) {
    std::string n;
    const int k = static_cast<int>(rng() % 4);  // labels before the suffix
    for (int j = 0; j < k; ++j) n += std::string(labels[rng() % std::size(labels)]) + ".";
    n += suffixes[rng() % std::size(suffixes)];
    for (char& ch : n)
      if (rng() % 4 == 0) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    names.push_back(n);
  }
  std::vector<std::vector<uint8_t>> wires;
  for (const auto& n : names) wires.push_back(*to_wire(n));
  std::vector<std::span<const uint8_t>> spans(wires.begin(), wires.end());
  std::vector<Verdict> batch(spans.size());
  const GroupRef g = reader_.find_group("g");
  reader_.lookup_wire_batch(g, spans.data(), spans.size(), batch.data());
  int hits = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const Verdict d = reader_.lookup(g, names[i]);
    for (const Verdict& w : {reader_.lookup_wire(g, spans[i]), batch[i]}) {
      ASSERT_EQ(w.action, d.action) << names[i];
      ASSERT_EQ(w.source, d.source) << names[i];
      ASSERT_EQ(w.category, d.category) << names[i];
      ASSERT_EQ(w.rule, d.rule) << names[i];
      ASSERT_EQ(w.generation, d.generation) << names[i];
    }
    hits += d.action != Action::kNone;
  }
  // The names exercise every kind of answer, not only misses.
  EXPECT_GT(hits, 1000);
  EXPECT_LT(hits, 4900);
}

}  // namespace
}  // namespace policysync
