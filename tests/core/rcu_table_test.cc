// RcuTable on its own: upsert/erase/rebuild, tombstone reuse, both kinds per
// key, and agreement with std::unordered_map over a random operation stream.
#include "core/rcu_table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

#include "core/domain_hash.h"

namespace policysync::detail {
namespace {

using Table = RcuTable<uint32_t, DomainHash>;

uint32_t get(const Table& t, const std::string& k, unsigned kind = 0) {
  const char* r = t.find_one(k, domain_hash(k), kind);
  return r ? Table::Record(r).value() : 0;
}

TEST(RcuTableTest, UpsertFindErase) {
  Table t(16);
  EXPECT_EQ(t.upsert("a.com", domain_hash("a.com"), 0, 7), Table::Put::kInserted);
  EXPECT_EQ(t.upsert("a.com", domain_hash("a.com"), 0, 8), Table::Put::kUpdated);
  EXPECT_EQ(get(t, "a.com"), 8u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.erase("a.com", domain_hash("a.com"), 0));
  EXPECT_FALSE(t.erase("a.com", domain_hash("a.com"), 0));
  EXPECT_EQ(get(t, "a.com"), 0u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(RcuTableTest, KindsAreSeparateKeys) {
  Table t(16);
  const uint64_t h = domain_hash("x.com");
  ASSERT_EQ(t.upsert("x.com", h, 0, 1), Table::Put::kInserted);
  ASSERT_EQ(t.upsert("x.com", h, 1, 2), Table::Put::kInserted);
  const char* out[2] = {nullptr, nullptr};
  EXPECT_EQ(t.find("x.com", h, 3u, out), 3u);
  EXPECT_EQ(Table::Record(out[0]).value(), 1u);
  EXPECT_EQ(Table::Record(out[1]).value(), 2u);
  t.erase("x.com", h, 0);
  EXPECT_EQ(t.find("x.com", h, 3u, out), 2u);
}

TEST(RcuTableTest, FullTableAsksForRebuildAndRebuiltKeepsEverything) {
  Table t(8);
  int inserted = 0;
  for (;; ++inserted) {
    std::string k = "k" + std::to_string(inserted) + ".net";
    if (t.upsert(k, domain_hash(k), 0, static_cast<uint32_t>(inserted)) == Table::Put::kFull) break;
  }
  EXPECT_EQ(inserted, 6) << "load factor 0.75 of 8 slots";
  auto bigger = t.rebuilt(t.size() + 1);
  EXPECT_GE(bigger->capacity(), 2 * t.size());
  for (int i = 0; i < inserted; ++i)
    EXPECT_EQ(get(*bigger, "k" + std::to_string(i) + ".net"), static_cast<uint32_t>(i));
}

TEST(RcuTableTest, AgreesWithUnorderedMapOnRandomOps) {
  std::mt19937_64 rng(42);
  auto t = std::make_unique<Table>(8);
  std::unordered_map<std::string, uint32_t> ref;
  for (int op = 0; op < 200000; ++op) {
    std::string k = "d" + std::to_string(rng() % 3000) + ".example";
    const uint64_t h = domain_hash(k);
    if (rng() % 3 == 0) {
      EXPECT_EQ(t->erase(k, h, 0), ref.erase(k) == 1);
    } else {
      const uint32_t v = static_cast<uint32_t>(rng());
      if (t->upsert(k, h, 0, v) == Table::Put::kFull) {
        t = t->rebuilt(t->size() + 1);
        ASSERT_NE(t->upsert(k, h, 0, v), Table::Put::kFull);
      }
      ref[k] = v;
    }
  }
  EXPECT_EQ(t->size(), ref.size());
  for (const auto& [k, v] : ref) ASSERT_EQ(get(*t, k), v) << k;
  size_t seen = 0;
  t->for_each([&](std::string_view k, uint64_t h, unsigned, uint32_t v) {
    ++seen;
    EXPECT_EQ(h, domain_hash(k));
    EXPECT_EQ(ref.at(std::string(k)), v);
  });
  EXPECT_EQ(seen, ref.size());
}

TEST(DomainHashTest, SuffixHashesEqualWholeNameHashes) {
  char name[64] = "a.bb.example.com";  // zero padding after the name, as required
  uint8_t starts[kMaxLabels];
  uint64_t hashes[kMaxLabels];
  const int labels = suffix_hashes(name, 16, starts, hashes);
  ASSERT_EQ(labels, 4);
  const char* suffixes[] = {"a.bb.example.com", "bb.example.com", "example.com", "com"};
  for (int k = 0; k < labels; ++k) {
    EXPECT_EQ(std::string_view(name + starts[k]), suffixes[k]);
    EXPECT_EQ(hashes[k], domain_hash(suffixes[k]));
  }
  EXPECT_NE(domain_hash("ab.c"), domain_hash("a.bc")) << "label boundaries are part of the hash";
  EXPECT_NE(domain_hash("abcdefgh.x"), domain_hash("abcdefgh\0.x")) << "length is part of the hash";
  // Long labels (several 8-byte words) and the 253-byte maximum.
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(61, 'd');
  std::string one_off = longest;
  one_off[200] = 'x';
  EXPECT_NE(domain_hash(longest), domain_hash(one_off));
}

}  // namespace
}  // namespace policysync::detail
