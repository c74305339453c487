// A snapshot restore is linear for every table kind (issue 19, SPEC §3.1):
// the chunks the writer probes while restoring N entries stay within c * N.
// Counted, not timed: the feed's restore was quadratic (entries arrive sorted
// by hash, and piled into one cluster of a table that grew as they came).
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/rcu_table.h"
#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/snapshot.h"

namespace policysync {
namespace {

constexpr size_t kEntries = 40'000;
// Chunks probed per entry written, at most (a chunk holds seven slots; a
// table at most 3/4 full). Measured 1.01-1.11 on every kind; without the
// presized feed and directory, 440 for 40,000 entries (quadratic).
constexpr double kMaxProbesPerEntry = 2.0;

struct Shape {
  const char* name;
  // Fills `store` through its public API; returns the entries written.
  std::function<size_t(PolicyStore&)> fill;
};

void apply(PolicyStore& store, MessageParser& parser, const std::string& json) {
  Message m;
  ASSERT_TRUE(parser.parse(json.data(), json.size(), &m).ok()) << json;
  const ApplyResult r = store.apply(m).result;
  ASSERT_NE(r, ApplyResult::kRejected) << json;
}

std::string name(size_t i) { return "n" + std::to_string(i) + ".probe.test"; }

size_t fill_feed(PolicyStore& s) {
  MessageParser p;
  for (size_t i = 0; i < kEntries; ++i)
    apply(s, p, R"({"type":"ADD_MALICIOUS","domain":")" + name(i) + R"(","category":1})");
  return kEntries;
}

// One group: its active table, and with `pending` an open sync as large.
size_t fill_group(PolicyStore& s, bool pending) {
  MessageParser p;
  apply(s, p, R"({"type":"BEGIN_SYNC","group_id":"g"})");
  for (size_t i = 0; i < kEntries; ++i)
    apply(s, p,
          R"({"type":"ADD_DOMAIN","group_id":"g","domain":")" +
              std::string(i % 8 == 7 ? "*." : "") + name(i) + R"(","action":"allow"})");
  apply(s, p, R"({"type":"SYNC_COMPLETE","group_id":"g"})");
  if (!pending) return kEntries;
  apply(s, p, R"({"type":"BEGIN_SYNC","group_id":"g"})");
  for (size_t i = 0; i < kEntries; ++i)
    apply(s, p,
          R"({"type":"ADD_DOMAIN","group_id":"g","domain":")" + name(i + kEntries) +
              R"(","action":"allow"})");
  return 2 * kEntries;
}

// Many groups: the directory, and the many small tables.
size_t fill_groups(PolicyStore& s, size_t rules) {
  MessageParser p;
  const size_t groups = kEntries / (rules + 1);
  for (size_t g = 0; g < groups; ++g) {
    const std::string id = "tenant-" + std::to_string(g);
    apply(s, p, R"({"type":"BEGIN_SYNC","group_id":")" + id + R"("})");
    for (size_t j = 0; j < rules; ++j)
      apply(s, p,
            R"({"type":"ADD_DOMAIN","group_id":")" + id + R"(","domain":")" + name(j) +
                R"(","action":"allow"})");
    apply(s, p, R"({"type":"SYNC_COMPLETE","group_id":")" + id + R"("})");
  }
  return groups * (rules + 1);  // a directory entry per group, and its rules
}

class RestoreProbeTest : public ::testing::TestWithParam<Shape> {};

TEST_P(RestoreProbeTest, ProbesGrowLinearlyWithTheEntries) {
  std::string bytes;
  size_t entries = 0;
  {
    PolicyStore source;
    entries = GetParam().fill(source);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    Watermarks wm;
    wm.assign({"policy", 0}, 1);
    bytes = encode_snapshot(source, wm);
  }
  PolicyStore restored;
  Watermarks wm;
  const uint64_t before = detail::t_table_probes;
  const Status s = decode_snapshot(bytes, &restored, &wm);
  const uint64_t probes = detail::t_table_probes - before;
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_LE(static_cast<double>(probes), kMaxProbesPerEntry * static_cast<double>(entries))
      << probes << " chunks probed to restore " << entries << " entries";
  EXPECT_GE(probes, entries) << "every entry written probes at least its home chunk";
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, RestoreProbeTest,
    ::testing::Values(Shape{"feed", fill_feed},
                      Shape{"one_group", [](PolicyStore& s) { return fill_group(s, false); }},
                      Shape{"open_sync", [](PolicyStore& s) { return fill_group(s, true); }},
                      Shape{"directory", [](PolicyStore& s) { return fill_groups(s, 0); }},
                      Shape{"small_groups", [](PolicyStore& s) { return fill_groups(s, 10); }}),
    [](const ::testing::TestParamInfo<Shape>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace policysync
