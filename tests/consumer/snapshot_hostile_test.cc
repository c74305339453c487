// Crafted snapshots (issue 13.1, 13.2): a file whose checksum is right but
// whose contents no message could have produced is refused whole, never
// crashes, and never leaves the store half-loaded.
#define XXH_INLINE_ALL
#include <gtest/gtest.h>
#include <hs/hs_common.h>
#include <xxhash.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "policysync/snapshot.h"

namespace policysync {
namespace {

// Writes a body field by field (src/consumer/snapshot_format.h).
struct Body {
  std::string s;
  template <typename T>
  Body& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Body& str16(const std::string& v) {
    put<uint16_t>(static_cast<uint16_t>(v.size()));
    s += v;
    return *this;
  }
  Body& str8(const std::string& v) {
    put<uint8_t>(static_cast<uint8_t>(v.size()));
    s += v;
    return *this;
  }
  // One entry: kind, name, RuleValue {category, port_mask, action, confidence}.
  Body& entry(uint8_t kind, const std::string& name, uint8_t action, uint8_t confidence = 100) {
    put<uint8_t>(kind).str8(name).put<uint32_t>(0).put<uint32_t>(0);
    return put<uint8_t>(action).put<uint8_t>(confidence);
  }
  // The sealed file: a header whose length and checksum match the body, which
  // ends with the hash seed (version 3; 0: none to adopt), then no refused
  // sync and no cause (version 4).
  std::string file() const {
    Body sealed = *this;
    sealed.put<uint64_t>(0).put<uint32_t>(0).put<uint32_t>(0);
    return sealed.seal(kSnapshotVersion);
  }
  // The body as it stands, sealed as `version` (2: no seed at the end).
  std::string seal(uint32_t version) const {
    std::string out("PSYNCSNP", 8);
    const uint32_t reserved = 0;
    const uint64_t len = s.size(), sum = XXH3_64bits(s.data(), s.size());
    out.append(reinterpret_cast<const char*>(&version), 4);
    out.append(reinterpret_cast<const char*>(&reserved), 4);
    out.append(reinterpret_cast<const char*>(&len), 8);
    out.append(reinterpret_cast<const char*>(&sum), 8);
    return out + s;
  }
};

// partition policy/0 at `next` with `holds`, no open syncs, an empty
// malicious table, then `groups` groups follow (the caller writes them).
Body prefix(uint32_t groups, int64_t next = 10, std::vector<int64_t> holds = {}) {
  Body b;
  b.put<uint32_t>(1).str16("policy").put<int32_t>(0).put<int64_t>(next);
  b.put<uint32_t>(static_cast<uint32_t>(holds.size()));
  for (int64_t h : holds) b.put<int64_t>(h).str16("bad_domain: domain: x");
  b.put<uint32_t>(0);  // open syncs
  b.put<uint32_t>(0);  // malicious entries
  return b.put<uint32_t>(groups);
}

// A group with one active plain entry and no open sync.
Body& group(Body& b, const std::string& id, const std::string& name = "ok.test", uint8_t kind = 0,
            uint8_t action = 1) {
  b.str16(id).put<uint64_t>(1).str16("policy/0@2").put<int64_t>(0);  // generation, origin, time
  b.put<uint32_t>(1).entry(kind, name, action);
  return b.put<uint8_t>(0);
}

// A group whose active table holds "a.test" twice, as kinds k1 and k2.
std::string twice(uint8_t k1, uint8_t k2) {
  Body b = prefix(1);
  b.str16("g").put<uint64_t>(1).str16("policy/0@2").put<int64_t>(0);
  b.put<uint32_t>(2).entry(k1, "a.test", 1).entry(k2, "a.test", 1);
  return b.put<uint8_t>(0).file();
}

// A version-4 file of one valid group whose refused syncs and causes are
// written by `tail` (after the hash seed).
template <typename Tail>
std::string refusals_file(Tail tail) {
  Body b = prefix(1);
  group(b, "g");
  b.put<uint64_t>(0);
  tail(b);
  return b.seal(4);
}
Body& refused(Body& b, const std::string& reason) {
  b.str16("g").str16("policy/0@9").str16("policy/0@6").str16(reason);
  return b.put<int64_t>(1);
}

struct Hostile {
  const char* name;
  std::string (*make)();
  const char* message;
};

class HostileSnapshotTest : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostileSnapshotTest, IsRefusedWholeWithAReason) {
  PolicyStore store;
  Watermarks wm;
  Status s = decode_snapshot(GetParam().make(), &store, &wm);
  ASSERT_FALSE(s.ok()) << GetParam().name;
  EXPECT_NE(s.to_string().find(GetParam().message), std::string::npos) << s.to_string();
  EXPECT_EQ(store.group_count(), 0u) << "never loaded in part";
  EXPECT_EQ(store.malicious_entries(), 0u);
  EXPECT_TRUE(wm.partitions().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, HostileSnapshotTest,
    ::testing::Values(
        Hostile{"dots_255",
                [] {
                  Body b = prefix(1);
                  return group(b, "g", std::string(255, '.')).file();
                },
                "invalid name"},
        Hostile{"group_id_65535",
                [] {
                  Body b = prefix(1);
                  return group(b, std::string(65535, 'g')).file();
                },
                "group_id"},
        Hostile{"group_id_300",
                [] {
                  Body b = prefix(1);
                  return group(b, std::string(300, 'g')).file();
                },
                "group_id"},
        Hostile{"group_id_control",
                [] {
                  Body b = prefix(1);
                  return group(b, "a\x01z").file();
                },
                "control character"},
        Hostile{"upper_case_name",
                [] {
                  Body b = prefix(1);
                  return group(b, "g", "OK.test").file();
                },
                "invalid name"},
        Hostile{"star_in_plain_name",
                [] {
                  Body b = prefix(1);
                  return group(b, "g", "a*.test").file();
                },
                "invalid name"},
        Hostile{"action_out_of_range",
                [] {
                  Body b = prefix(1);
                  return group(b, "g", "ok.test", 0, 9).file();
                },
                "action 9"},
        Hostile{"kind_out_of_range",
                [] {
                  Body b = prefix(1);
                  return group(b, "g", "ok.test", 7).file();
                },
                "malformed"},
        Hostile{"duplicate_entry", [] { return twice(0, 0); }, "duplicate entry a.test"},
        Hostile{"duplicate_wildcard", [] { return twice(1, 1); }, "duplicate entry *.a.test"},
        Hostile{"duplicate_group",
                [] {
                  Body b = prefix(2);
                  group(b, "g");
                  return group(b, "g").file();
                },
                "twice"},
        Hostile{"second_group_bad",  // 13.2: the first group is valid
                [] {
                  Body b = prefix(2);
                  group(b, "first");
                  return group(b, "second", "bad..name").file();
                },
                "invalid name"},
        Hostile{"malicious_rule_kind",
                [] {
                  Body b;
                  b.put<uint32_t>(0).put<uint32_t>(0).put<uint32_t>(1).entry(1, "m.test", 4);
                  return b.put<uint32_t>(0).file();
                },
                "malicious"},
        Hostile{"malicious_confidence",
                [] {
                  Body b;
                  b.put<uint32_t>(0).put<uint32_t>(0).put<uint32_t>(1).entry(0, "m.test", 4, 200);
                  return b.put<uint32_t>(0).file();
                },
                "confidence"},
        Hostile{"hold_past_next",
                [] {
                  Body b = prefix(0, 10, {12});
                  return b.file();
                },
                "hold"},
        Hostile{"bad_topic",
                [] {
                  Body b;
                  b.put<uint32_t>(1).str16("pol icy").put<int32_t>(0).put<int64_t>(1);
                  b.put<uint32_t>(0).put<uint32_t>(0).put<uint32_t>(0).put<uint32_t>(0);
                  return b.file();
                },
                "invalid partition"},
        Hostile{"open_sync_without_pending",
                [] {
                  Body b;
                  b.put<uint32_t>(1).str16("policy").put<int32_t>(0).put<int64_t>(5);
                  b.put<uint32_t>(0);
                  b.put<uint32_t>(1).str16("g").str16("policy").put<int32_t>(0).put<int64_t>(2);
                  b.put<uint32_t>(0).put<uint32_t>(1);
                  return group(b, "g").file();
                },
                "without its pending state"},
        Hostile{"unprintable_origin",
                [] {
                  Body b = prefix(1);
                  b.str16("g").put<uint64_t>(1).str16("p/0@1\x07").put<int64_t>(0);
                  b.put<uint32_t>(0).put<uint8_t>(0);
                  return b.file();
                },
                "origin"},
        Hostile{"refused_101",
                [] {
                  return refusals_file([](Body& b) {
                    b.put<uint32_t>(101);
                    for (int i = 0; i < 101; ++i) refused(b, "limit");
                    b.put<uint32_t>(0);
                  });
                },
                "more refused syncs than 100"},
        Hostile{"refused_reason_1025",
                [] {
                  return refusals_file([](Body& b) {
                    b.put<uint32_t>(1);
                    refused(b, std::string(1025, 'r')).put<uint32_t>(0);
                  });
                },
                "over 1024 bytes"},
        Hostile{"cause_bad_group",
                [] {
                  return refusals_file([](Body& b) {
                    b.put<uint32_t>(0).put<uint32_t>(1).str16("a\x01z").str16("p/0@1").str16("x");
                  });
                },
                "cause of a refusal"},
        Hostile{"cause_twice",
                [] {
                  return refusals_file([](Body& b) {
                    b.put<uint32_t>(0).put<uint32_t>(2);
                    b.str16("h").str16("p/0@1").str16("x").str16("h").str16("p/0@2").str16("y");
                  });
                },
                "twice"},
        Hostile{
            "causes_truncated",
            [] { return refusals_file([](Body& b) { b.put<uint32_t>(0).put<uint32_t>(1000); }); },
            "malformed causes"},
        Hostile{"unknown_flags",
                [] {
                  Body b = prefix(1);
                  b.str16("g").put<uint64_t>(0).str16("").put<int64_t>(0);
                  b.put<uint32_t>(0).put<uint8_t>(0x80);
                  return b.file();
                },
                "flags"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(HostileSnapshotTest, ValidCraftedSnapshotLoads) {
  Body b = prefix(2, 10, {3});
  group(b, "first");
  group(b, "second", "ads*.test", 2, 2);
  PolicyStore store;
  Watermarks wm;
  Status s = decode_snapshot(b.file(), &store, &wm);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(store.group_count(), 2u);
  EXPECT_EQ(wm.next_offset({"policy", 0}), 10);
  EXPECT_EQ(wm.resume_offset({"policy", 0}), 3) << "the in-flight dead-letter copy";
}

// Version 3 only appends the writer's hash seed, version 4 the refused
// syncs: files of versions 2 and 3 (written before) still load; a header
// over a body without what its version appends is refused, and so is a
// body followed by anything.
TEST(HostileSnapshotTest, OlderVersionsLoadAndEachVersionNeedsItsTail) {
  Body b = prefix(1);
  group(b, "g");
  struct Case {
    std::string file;
    bool loads;
  };
  Body seeded = b;
  seeded.put<uint64_t>(7);
  Body trailing3 = seeded;
  trailing3.put<uint8_t>(0);
  Body trailing4 = seeded;
  trailing4.put<uint32_t>(0).put<uint32_t>(0).put<uint8_t>(0);
  for (const Case& c :
       {Case{b.seal(2), true}, Case{seeded.seal(3), true}, Case{b.file(), true},
        Case{b.seal(3), false}, Case{trailing3.seal(3), false}, Case{seeded.seal(4), false},
        Case{trailing4.seal(4), false}, Case{b.seal(5), false}, Case{b.seal(1), false}}) {
    PolicyStore store;
    Watermarks wm;
    Status s = decode_snapshot(c.file, &store, &wm);
    EXPECT_EQ(s.ok(), c.loads) << s.to_string();
    EXPECT_EQ(store.group_count(), c.loads ? 1u : 0u);
  }
  SnapshotInfo info;
  ASSERT_TRUE(describe_snapshot(b.seal(2), &info).ok());
  EXPECT_EQ(info.version, 2u);
}

TEST(HostileSnapshotTest, RestoreIntoANonEmptyStoreIsRefused) {
  Body b = prefix(1);
  group(b, "g");
  PolicyStore store;
  Watermarks wm;
  Message m;
  m.type = MessageType::kAddGroup;
  m.group_id = "already";
  ASSERT_EQ(store.apply(m).result, ApplyResult::kApplied);
  EXPECT_FALSE(decode_snapshot(b.file(), &store, &wm).ok());
  EXPECT_EQ(store.group_count(), 1u);
}

// 13.2: a failure while applying (here: no memory for a Hyperscan scratch,
// after every check passed) undoes what was already applied.
void* no_memory(size_t) { return nullptr; }

TEST(HostileSnapshotTest, FailureWhileApplyingLeavesTheStoreEmpty) {
  Body b;
  b.put<uint32_t>(0).put<uint32_t>(0).put<uint32_t>(1).entry(0, "m.test", 4);
  b.put<uint32_t>(2);
  group(b, "first");
  group(b, "second", "ads*.test", 2, 2);
  PolicyStore store;
  Watermarks wm;
  hs_set_scratch_allocator(no_memory, std::free);
  Status s = decode_snapshot(b.file(), &store, &wm);
  hs_set_scratch_allocator(nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.to_string().find("second"), std::string::npos) << s.to_string();
  EXPECT_EQ(store.group_count(), 0u) << "the first group stayed behind";
  EXPECT_EQ(store.malicious_entries(), 0u);
  EXPECT_TRUE(wm.partitions().empty());
  // And the same store takes the snapshot once memory is back.
  ASSERT_TRUE(decode_snapshot(b.file(), &store, &wm).ok());
  EXPECT_EQ(store.group_count(), 2u);
}

// The duplicate check is per kind: "a.test" and "*.a.test" are two rules.
TEST(SnapshotDuplicateTest, TheSameNameAsPlainAndWildcardIsTwoRules) {
  PolicyStore store;
  Watermarks wm;
  const Status s = decode_snapshot(twice(0, 1), &store, &wm);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(store.active_entries("g"), 2u);
}

}  // namespace
}  // namespace policysync
