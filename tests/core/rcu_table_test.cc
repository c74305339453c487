// RcuTable on its own: upsert/erase/rebuild, tombstone reuse, both kinds per
// key, and agreement with std::unordered_map over a random operation stream.
#include "core/rcu_table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/domain_hash.h"

namespace policysync::detail {
namespace {

using Table = RcuTable<uint32_t, DomainHash>;

uint32_t get(const Table& t, const std::string& k, unsigned kind = 0) {
  const char* r = t.find_one(k, domain_hash(k), kind);
  return r ? Table::Record(r).value() : 0;
}

TEST(RcuTableTest, UpsertFindErase) {
  auto tp = Table::create(16);
  Table& t = *tp;
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
  auto tp = Table::create(16);
  Table& t = *tp;
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
  auto tp = Table::create(8);  // two chunks: 14 slots
  Table& t = *tp;
  int inserted = 0;
  for (;; ++inserted) {
    std::string k = "k" + std::to_string(inserted) + ".net";
    if (t.upsert(k, domain_hash(k), 0, static_cast<uint32_t>(inserted)) == Table::Put::kFull) break;
  }
  EXPECT_EQ(inserted, 10) << "load factor 0.75 of 14 slots";
  auto bigger = t.rebuilt(t.size() + 1);
  EXPECT_GE(bigger->capacity(), 2 * t.size());
  for (int i = 0; i < inserted; ++i)
    EXPECT_EQ(get(*bigger, "k" + std::to_string(i) + ".net"), static_cast<uint32_t>(i));
}

TEST(RcuTableTest, AgreesWithUnorderedMapOnRandomOps) {
  std::mt19937_64 rng(42);
  auto t = Table::create(8);
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

// Both implementations of the suffix hash (the portable one and the AES-NI
// one the process picks when the CPU has it) keep the same contract.
using SuffixHashFn = void (*)(const char*, int, int, const uint8_t*, uint64_t*);
struct HashImpl {
  const char* name;
  SuffixHashFn fn;
  bool available;
};

void PrintTo(const HashImpl& h, std::ostream* os) { *os << h.name; }

class SuffixHashTest : public ::testing::TestWithParam<HashImpl> {
 protected:
  void SetUp() override {
    if (!GetParam().available) GTEST_SKIP() << GetParam().name << ": not on this CPU";
  }
  // Every suffix hash of `name`, with `pad` as the 16 bytes after it.
  std::vector<uint64_t> hashes(std::string_view name, char pad = 0) const {
    char buf[kMaxHashedName + 1 + kHashPadding];
    std::memset(buf, pad, sizeof(buf));
    std::memcpy(buf, name.data(), name.size());
    uint8_t starts[kMaxSplitLabels];
    int labels = 0;
    starts[labels++] = 0;
    for (size_t i = 0; i < name.size(); ++i)
      if (name[i] == '.') starts[labels++] = static_cast<uint8_t>(i + 1);
    std::vector<uint64_t> h(static_cast<size_t>(labels));
    GetParam().fn(buf, static_cast<int>(name.size()), labels, starts, h.data());
    return h;
  }
  uint64_t whole(std::string_view name, char pad = 0) const { return hashes(name, pad)[0]; }
};

TEST_P(SuffixHashTest, EachSuffixHashesAsTheWholeSuffixWould) {
  const std::vector<uint64_t> h = hashes("a.bb.example.com");
  ASSERT_EQ(h.size(), 4u);
  const char* suffixes[] = {"a.bb.example.com", "bb.example.com", "example.com", "com"};
  for (size_t k = 0; k < h.size(); ++k) EXPECT_EQ(h[k], whole(suffixes[k])) << suffixes[k];
}

TEST_P(SuffixHashTest, BoundariesLengthAndEveryByteCount) {
  using namespace std::string_view_literals;
  EXPECT_NE(whole("ab.c"), whole("a.bc")) << "label boundaries are part of the hash";
  EXPECT_NE(whole("abcdefgh.x"), whole("abcdefgh\0.x"sv)) << "length is part of the hash";
  EXPECT_NE(whole("x"), whole("x\0"sv));
  // Labels of 1..63 bytes: changing any one byte changes the hash, and what
  // lies past the name (the padding) never does.
  for (int len = 1; len <= 63; ++len) {
    std::string label(static_cast<size_t>(len), 'q');
    const std::string name = label + ".example.com";
    const uint64_t h = whole(name);
    EXPECT_EQ(whole(name, '\xff'), h) << "padding read as part of a " << len << "-byte label";
    for (int at = 0; at < len; ++at) {
      std::string other = name;
      other[static_cast<size_t>(at)] = 'r';
      ASSERT_NE(whole(other), h) << "byte " << at << " of a " << len << "-byte label";
    }
  }
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(61, 'd');
  std::string one_off = longest;
  one_off[200] = 'x';
  EXPECT_NE(whole(longest), whole(one_off));
}

TEST_P(SuffixHashTest, NoCollisionsAmongManyNames) {
  // 64-bit hashes of 300k distinct names: a collision has probability ~2^-29
  // for a good hash; a hash that drops bytes collides at once.
  std::unordered_map<uint64_t, std::string> seen;
  for (int i = 0; i < 300000; ++i) {
    const std::string name =
        "host" + std::to_string(i % 1000) + ".zone" + std::to_string(i / 1000) + ".net";
    const auto [it, fresh] = seen.emplace(whole(name), name);
    ASSERT_TRUE(fresh) << name << " collides with " << it->second;
  }
}

std::vector<HashImpl> hash_impls() {
  std::vector<HashImpl> v{{"portable", hash_suffixes_portable, true}};
#if defined(POLICYSYNC_AES_HASH)
  v.push_back({"aes", hash_suffixes_aes, cpu_has_aes()});
#endif
  return v;
}
INSTANTIATE_TEST_SUITE_P(Impls, SuffixHashTest, ::testing::ValuesIn(hash_impls()),
                         [](const auto& info) { return std::string(info.param.name); });

// suffix_hashes()/domain_hash() use one implementation for the whole process:
// AES-NI when the CPU has it, the portable one otherwise or when
// POLICYSYNC_PORTABLE_HASH=1 (ctest runs the lookup tests both ways).
TEST(DomainHashTest, OneImplementationPerProcess) {
  const char* env = std::getenv("POLICYSYNC_PORTABLE_HASH");
  const bool forced = env && env[0] == '1';
  if (forced) {
    EXPECT_FALSE(aes_hash_enabled());
  } else {
#if defined(POLICYSYNC_AES_HASH)
    EXPECT_EQ(aes_hash_enabled(), __builtin_cpu_supports("aes") != 0);
#endif
  }
  char name[64] = "a.bb.example.com";  // zero padding after the name, as required
  uint8_t starts[kMaxSplitLabels];
  uint64_t got[kMaxSplitLabels], want[kMaxSplitLabels];
  const int labels = suffix_hashes(name, 16, starts, got);
  ASSERT_EQ(labels, 4);
  hash_suffixes_portable(name, 16, labels, starts, want);
#if defined(POLICYSYNC_AES_HASH)
  if (aes_hash_enabled()) hash_suffixes_aes(name, 16, labels, starts, want);
#endif
  for (int k = 0; k < labels; ++k) {
    EXPECT_EQ(got[k], want[k]) << k;
    EXPECT_EQ(got[k], domain_hash(std::string_view(name + starts[k])));
  }
}

}  // namespace
}  // namespace policysync::detail
