// Every table kind of the store, model-checked against a plain std::map
// through the public API (issue 18 item 1: a write was lost when a table grew
// by taking over a shadow that wanted compaction).
//
// Each kind is driven by sequences that cross its growth and compaction
// boundaries: the one that lost a write (grow, erase most, grow again),
// erase-heavy random mixes, rewrite-only runs (garbage without growth) and
// mixed random ones. After every operation the store's count must equal the
// model's; at checkpoints every key of the pool is looked up. The store's
// own growth and compaction counters prove that the boundaries were crossed.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/table_events.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"

namespace policysync {
namespace {

std::string key_of(size_t i) { return "k" + std::to_string(i) + ".model.test"; }

// One table kind as the public API reaches it.
class Kind {
 public:
  virtual ~Kind() = default;
  // Upserts key -> value (a category); false if the store refused it.
  virtual bool add(const std::string& key, uint32_t value) = 0;
  virtual void erase(const std::string& key) = 0;
  // Makes the writes visible (a pending table: its SYNC_COMPLETE).
  virtual void publish() {}
  virtual size_t count() const = 0;  // the store's own count of this table
  // The same count as StoreGauges shows it to any thread.
  virtual size_t gauge() const = 0;
  // The value readers see for key, if any.
  virtual std::optional<uint32_t> find(const std::string& key) = 0;

 protected:
  explicit Kind(StoreLimits limits = {}) : store_(limits), reader_(store_) {}
  ApplyOutcome apply(const Message& m) {
    ApplyOutcome o = store_.apply(m);
    reader_.quiescent();
    return o;
  }
  Message domain_msg(MessageType t, std::string group, const std::string& key, uint32_t value) {
    Message m;
    m.type = t;
    m.group_id = std::move(group);
    m.domain.name = key;
    m.domain.kind = RuleKind::kPlain;
    m.action = Action::kBlacklist;
    m.category = value;
    return m;
  }
  PolicyStore store_;
  Reader reader_;
};

// The malicious feed: ADD_MALICIOUS / REMOVE_MALICIOUS.
class Feed : public Kind {
 public:
  bool add(const std::string& k, uint32_t v) override {
    return apply(domain_msg(MessageType::kAddMalicious, "", k, v)).result == ApplyResult::kApplied;
  }
  void erase(const std::string& k) override {
    EXPECT_EQ(apply(domain_msg(MessageType::kRemoveMalicious, "", k, 0)).result,
              ApplyResult::kApplied);
  }
  size_t count() const override { return store_.malicious_entries(); }
  size_t gauge() const override { return store_.gauges().malicious.load(); }
  std::optional<uint32_t> find(const std::string& k) override {
    const Verdict v = reader_.lookup("nogroup", k);
    if (v.source != MatchSource::kMalicious || v.rule != k) return std::nullopt;
    return v.category;
  }
};

// A synced group's active table under immediate ADD_DOMAIN / REMOVE_DOMAIN.
class Active : public Kind {
 public:
  Active() {
    Message m;
    m.group_id = "g";
    m.type = MessageType::kBeginSync;
    EXPECT_EQ(apply(m).result, ApplyResult::kSyncOpened);
    m.type = MessageType::kSyncComplete;
    EXPECT_EQ(apply(m).result, ApplyResult::kSyncCompleted);
  }
  bool add(const std::string& k, uint32_t v) override {
    return apply(domain_msg(MessageType::kAddDomain, "g", k, v)).result == ApplyResult::kApplied;
  }
  void erase(const std::string& k) override {
    EXPECT_EQ(apply(domain_msg(MessageType::kRemoveDomain, "g", k, 0)).result,
              ApplyResult::kApplied);
  }
  size_t count() const override { return store_.active_entries("g"); }
  size_t gauge() const override { return store_.gauges().entries.load(); }
  std::optional<uint32_t> find(const std::string& k) override {
    const Verdict v = reader_.lookup("g", k);
    if (v.source != MatchSource::kExact) return std::nullopt;
    return v.category;
  }
};

// An open sync's pending table: the same operations buffered, then one
// SYNC_COMPLETE per checkpoint (and a BEGIN_SYNC that replays the model, so
// the next stretch starts from the same state).
class PendingKind : public Kind {
 public:
  PendingKind() { begin(); }
  bool add(const std::string& k, uint32_t v) override {
    const bool ok =
        apply(domain_msg(MessageType::kAddDomain, "g", k, v)).result == ApplyResult::kBuffered;
    if (ok) model_[k] = v;
    return ok;
  }
  void erase(const std::string& k) override {
    EXPECT_EQ(apply(domain_msg(MessageType::kRemoveDomain, "g", k, 0)).result,
              ApplyResult::kApplied);
    model_.erase(k);
  }
  void publish() override {
    Message m;
    m.group_id = "g";
    m.type = MessageType::kSyncComplete;
    ASSERT_EQ(apply(m).result, ApplyResult::kSyncCompleted);
    begin();
    // The next stretch of operations runs in a new sync that starts with
    // the model's entries (as a PM resending the group would).
    for (const auto& [k, v] : model_)
      ASSERT_EQ(apply(domain_msg(MessageType::kAddDomain, "g", k, v)).result,
                ApplyResult::kBuffered);
  }
  size_t count() const override { return published_ ? store_.active_entries("g") : SIZE_MAX; }
  size_t gauge() const override { return published_ ? store_.gauges().entries.load() : SIZE_MAX; }
  std::optional<uint32_t> find(const std::string& k) override {
    const Verdict v = reader_.lookup("g", k);
    if (v.source != MatchSource::kExact) return std::nullopt;
    return v.category;
  }
  bool published_ = false;

 private:
  void begin() {
    Message m;
    m.group_id = "g";
    m.type = MessageType::kBeginSync;
    const ApplyResult r = apply(m).result;
    EXPECT_TRUE(r == ApplyResult::kSyncOpened || r == ApplyResult::kSyncRestarted);
  }
  std::map<std::string, uint32_t> model_;
};

// The group directory: ADD_GROUP / REMOVE_GROUP; a group's "value" is the
// category of its one rule, written by an immediate ADD_DOMAIN.
class Directory : public Kind {
 public:
  // A group's entry is immutable while the group lives: a "rewrite" removes
  // the group and adds it again (a new record for the same key).
  bool add(const std::string& k, uint32_t v) override {
    if (reader_.find_group(k)) erase(k);
    Message m;
    m.type = MessageType::kAddGroup;
    m.group_id = k;
    if (apply(m).result != ApplyResult::kApplied) return false;
    return apply(domain_msg(MessageType::kAddDomain, k, "rule.test", v)).result ==
           ApplyResult::kApplied;
  }
  void erase(const std::string& k) override {
    Message m;
    m.type = MessageType::kRemoveGroup;
    m.group_id = k;
    EXPECT_EQ(apply(m).result, ApplyResult::kApplied);
  }
  size_t count() const override { return store_.group_count(); }
  size_t gauge() const override {
    EXPECT_EQ(store_.gauges().entries.load(), store_.gauges().groups.load()) << "a rule per group";
    return store_.gauges().groups.load();
  }
  std::optional<uint32_t> find(const std::string& k) override {
    const GroupRef g = reader_.find_group(k);
    if (!g) return std::nullopt;
    const Verdict v = reader_.lookup(g, "rule.test");
    EXPECT_EQ(v.source, MatchSource::kExact) << "group " << k << " lost its rule";
    return v.category;
  }
};

struct Op {
  bool erase;
  size_t key;
  uint32_t value;
};

// The sequences. `n` scales them; every one crosses several growths.
std::vector<Op> lost_write_sequence(size_t) {
  // The reproduction, as reported: 7,000 adds, 4,000 of them erased, 7,000
  // new adds (a shadow taken over while it wanted compaction).
  std::vector<Op> ops;
  for (size_t i = 0; i < 7000; ++i) ops.push_back({false, i, static_cast<uint32_t>(i + 1)});
  for (size_t i = 0; i < 4000; ++i) ops.push_back({true, i, 0});
  for (size_t i = 7000; i < 14000; ++i) ops.push_back({false, i, static_cast<uint32_t>(i + 1)});
  return ops;
}

std::vector<Op> erase_heavy_sequence(size_t n) {
  // The pool widens as it goes, so the table grows while 60% of the
  // operations erase: tombstones and garbage at every size.
  std::vector<Op> ops;
  std::mt19937_64 rng(18);
  for (size_t i = 0; i < 6 * n; ++i) {
    const size_t pool = 16 + i / 3;
    ops.push_back({rng() % 10 < 6, rng() % pool, static_cast<uint32_t>(i + 1)});
  }
  return ops;
}

std::vector<Op> rewrite_only_sequence(size_t n) {
  // A fixed set of keys rewritten over and over: no growth, only garbage.
  std::vector<Op> ops;
  const size_t keys = n / 4;
  for (size_t round = 0; round < 12; ++round)
    for (size_t i = 0; i < keys; ++i)
      ops.push_back({false, i, static_cast<uint32_t>(round * keys + i + 1)});
  return ops;
}

std::vector<Op> mixed_sequence(size_t n) {
  std::vector<Op> ops;
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < 5 * n; ++i) {
    const size_t pool = 16 + i / 2;
    ops.push_back({rng() % 4 == 0, rng() % pool, static_cast<uint32_t>(i + 1)});
  }
  return ops;
}

struct Case {
  const char* kind;
  const char* sequence;
};

std::unique_ptr<Kind> make_kind(const std::string& k) {
  if (k == "feed") return std::make_unique<Feed>();
  if (k == "active") return std::make_unique<Active>();
  if (k == "pending") return std::make_unique<PendingKind>();
  return std::make_unique<Directory>();
}

std::vector<Op> make_sequence(const std::string& s, size_t n) {
  if (s == "lost_write") return lost_write_sequence(n);
  if (s == "erase_heavy") return erase_heavy_sequence(n);
  if (s == "rewrite_only") return rewrite_only_sequence(n);
  return mixed_sequence(n);
}

class TableModelTest : public ::testing::TestWithParam<Case> {};

TEST_P(TableModelTest, HoldsExactlyWhatTheModelHolds) {
  const Case c = GetParam();
  const std::string kind = c.kind;
  // Large enough to pass the shadow-growth threshold of large tables; the
  // directory's entries cost a group each, so it runs smaller.
  const size_t n = kind == "directory" ? 12'000 : 40'000;
  const std::vector<Op> ops = make_sequence(c.sequence, n);
  std::unique_ptr<Kind> t = make_kind(kind);
  auto* pending = dynamic_cast<PendingKind*>(t.get());
  std::map<std::string, uint32_t> model;
  size_t pool = 0;
  for (const Op& op : ops) pool = std::max(pool, op.key + 1);
  const detail::TableEvents before = detail::table_events();

  auto check_all = [&](size_t done) {
    t->publish();
    if (pending) pending->published_ = true;
    ASSERT_EQ(t->count(), model.size()) << "after " << done << " operations";
    ASSERT_EQ(t->gauge(), model.size()) << "gauge after " << done << " operations";
    for (size_t i = 0; i < pool; ++i) {
      const std::string k = key_of(i);
      auto it = model.find(k);
      const std::optional<uint32_t> got = t->find(k);
      if (it == model.end()) {
        ASSERT_FALSE(got.has_value()) << k << " found after " << done << " operations";
      } else {
        ASSERT_TRUE(got.has_value()) << k << " lost after " << done << " operations";
        ASSERT_EQ(*got, it->second) << k << " after " << done << " operations";
      }
    }
    if (pending) pending->published_ = false;
  };

  const size_t checkpoint = ops.size() / 7 + 1;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    const std::string k = key_of(op.key);
    if (op.erase) {
      t->erase(k);
      model.erase(k);
    } else {
      ASSERT_TRUE(t->add(k, op.value)) << k << " refused after " << i << " operations";
      model[k] = op.value;
    }
    if (!pending) {
      ASSERT_EQ(t->count(), model.size()) << "after " << i + 1 << " operations";
      ASSERT_EQ(t->gauge(), model.size()) << "gauge after " << i + 1 << " operations";
    }
    if ((i + 1) % checkpoint == 0) check_all(i + 1);
    if (::testing::Test::HasFatalFailure()) return;
  }
  check_all(ops.size());

  // The boundaries this sequence exists to cross.
  const detail::TableEvents after = detail::table_events();
  if (std::string(c.sequence) == "rewrite_only") {
    EXPECT_GT(after.compactions, before.compactions) << "no compaction";
  } else {
    EXPECT_GT(after.growths, before.growths) << "no growth";
    if (kind != "directory") {
      EXPECT_GT(after.shadow_growths, before.shadow_growths) << "no growth of a large table";
    }
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* k : {"feed", "active", "pending", "directory"})
    for (const char* s : {"lost_write", "erase_heavy", "rewrite_only", "mixed"})
      out.push_back({k, s});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Kinds, TableModelTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.kind) + "_" + i.param.sequence;
                         });

}  // namespace
}  // namespace policysync
