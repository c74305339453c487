// The record pipeline without Kafka: SPEC §5.2 commits, §6 invalid input.
#include "policysync/pipeline.h"

#include <gtest/gtest.h>
#include <hs/hs_common.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "policysync/reader.h"
#include "policysync/snapshot.h"

namespace policysync {
namespace {

const TopicPartition kTp{"policy", 0};

class PipelineTest : public ::testing::Test {
 protected:
  explicit PipelineTest(PipelineOptions o = {}, StoreLimits limits = {})
      : store_(limits),
        log_([this](LogLevel l, std::string_view m) { lines_.emplace_back(l, std::string(m)); },
             LogLevel::kTrace),
        pipeline_(store_, wm_, o, log_),
        reader_(store_) {}

  HandleResult feed(const std::string& json) {
    HandleResult r = pipeline_.handle(kTp, next_++, json.data(), json.size());
    reader_.quiescent();
    return r;
  }
  // Feeds a record whose result the test checks through what follows (the
  // store, the watermarks, the log), not through its HandleResult; kept in
  // results_ so a failing test can print it.
  void put(const std::string& json) { results_.push_back(feed(json)); }
  // An empty sync of group g whose SYNC_COMPLETE record carries timestamp ts.
  void sync_at(const char* g, int64_t ts) {
    const std::string b = std::string(R"({"type":"BEGIN_SYNC","group_id":")") + g + "\"}";
    const std::string c = std::string(R"({"type":"SYNC_COMPLETE","group_id":")") + g + "\"}";
    EXPECT_FALSE(pipeline_.handle(kTp, next_++, b.data(), b.size()).invalid);
    EXPECT_TRUE(pipeline_.handle(kTp, next_++, c.data(), c.size(), ts).commit);
  }
  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  Action action(const char* group, const char* name) { return reader_.lookup(group, name).action; }
  bool logged(LogLevel level, const std::string& needle) const {
    for (const auto& [l, m] : lines_)
      if (l == level && m.find(needle) != std::string::npos) return true;
    return false;
  }

  PolicyStore store_;
  Watermarks wm_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
  Log log_;
  Pipeline pipeline_;
  Reader reader_;
  int64_t next_ = 0;
  std::vector<HandleResult> results_;
};

#define BEGIN(g) R"({"type":"BEGIN_SYNC","group_id":")" g R"("})"
#define ADD(g, d) \
  R"({"type":"ADD_DOMAIN","group_id":")" g R"(","domain":")" d R"(","action":"blacklist"})"
#define COMPLETE(g) R"({"type":"SYNC_COMPLETE","group_id":")" g R"("})"

TEST_F(PipelineTest, CommitsAtTheSafeWatermarkOfInterleavedSyncs) {
  EXPECT_FALSE(feed(BEGIN("a")).commit);  // 0
  put(ADD("a", "a.com"));                 // 1
  put(BEGIN("b"));                        // 2
  put(ADD("b", "b.com"));                 // 3
  HandleResult r = feed(COMPLETE("a"));   // 4
  EXPECT_TRUE(r.commit);
  EXPECT_EQ(wm_.safe(kTp), 2) << "b's sync is open from offset 2";
  EXPECT_EQ(action("a", "a.com"), Action::kBlacklist);
  EXPECT_EQ(action("b", "b.com"), Action::kNone);
  EXPECT_TRUE(feed(COMPLETE("b")).commit);  // 5
  EXPECT_EQ(wm_.safe(kTp), 6);
}

TEST_F(PipelineTest, InvalidEntryAbortsTheSyncByDefault) {
  put(BEGIN("a"));
  put(ADD("a", "keep.com"));
  put(COMPLETE("a"));
  put(BEGIN("a"));
  put(ADD("a", "new.com"));
  HandleResult r = feed(ADD("a", "bad..com"));
  EXPECT_TRUE(r.invalid);
  EXPECT_EQ(r.why.reason(), Reason::kBadDomain);
  EXPECT_FALSE(r.copy_to_dlq);
  put(ADD("a", "later.com"));
  EXPECT_TRUE(feed(COMPLETE("a")).commit);
  EXPECT_EQ(action("a", "keep.com"), Action::kBlacklist) << "old policy stays";
  EXPECT_EQ(action("a", "new.com"), Action::kNone);
  EXPECT_EQ(action("a", "later.com"), Action::kNone);
  EXPECT_TRUE(logged(LogLevel::kWarn, "invalid message policy/0@5: bad_domain"));
  EXPECT_TRUE(logged(LogLevel::kWarn, "its open sync aborted"));
  EXPECT_TRUE(logged(LogLevel::kWarn, "sync aborted: group=a closed at policy/0@7"));
  EXPECT_EQ(pipeline_.counters().invalid[static_cast<size_t>(Reason::kBadDomain)].load(), 1u);
  EXPECT_EQ(wm_.safe(kTp), 8);
}

TEST_F(PipelineTest, EveryKindOfBadInputIsCountedByReasonAndLoggedOnce) {
  const std::pair<std::string, Reason> cases[] = {
      {"{not json", Reason::kBadJson},
      {R"({"type":"NOPE","group_id":"g"})", Reason::kUnknownType},
      {R"({"type":"ADD_DOMAIN","group_id":"g","domain":"x.com"})", Reason::kMissingField},
      {R"({"type":"ADD_MALICIOUS","domain":"x.com","category":"abc"})", Reason::kWrongType},
      {R"({"type":"ADD_MALICIOUS","domain":"x.com","category":1,"confidence":200})",
       Reason::kOutOfRange},
  };
  for (const auto& [json, reason] : cases) {
    const size_t before = lines_.size();
    HandleResult r = feed(json);
    EXPECT_TRUE(r.invalid) << json;
    EXPECT_EQ(r.why.reason(), reason) << json;
    EXPECT_EQ(pipeline_.counters().invalid[static_cast<size_t>(reason)].load(), 1u) << json;
    EXPECT_EQ(lines_.size(), before + 1) << "one line per invalid message: " << json;
  }
  EXPECT_EQ(store_.group_count(), 0u) << "no invalid message changes state";
}

void* failing_malloc(size_t) { return nullptr; }

// Issue 18 item 3: a SYNC_COMPLETE the store refuses (its patterns cannot be
// published: here no Hyperscan scratch can be allocated) closes the sync in
// the watermarks too. Left open there, commits stopped at its BEGIN_SYNC and
// every later snapshot failed the restore check.
TEST_F(PipelineTest, RefusedSyncCompleteClosesTheSyncInTheWatermarks) {
  put(BEGIN("g"));                    // 0
  put(ADD("g", "ads*.example.com"));  // 1
  hs_set_scratch_allocator(failing_malloc, std::free);
  const HandleResult r = feed(COMPLETE("g"));  // 2
  hs_set_scratch_allocator(nullptr, nullptr);
  ASSERT_TRUE(r.invalid);
  EXPECT_EQ(r.why.reason(), Reason::kBadPattern);
  EXPECT_FALSE(store_.has_open_sync("g"));
  EXPECT_EQ(wm_.open_syncs(), 0u);
  EXPECT_EQ(wm_.safe(kTp), 3) << "the commit is held at the BEGIN_SYNC of a closed sync";
  EXPECT_TRUE(r.commit) << "a closed sync is a commit point";
  // The state is a snapshot the restore check accepts.
  PolicyStore restored;
  Watermarks wm;
  const Status s = decode_snapshot(encode_snapshot(store_, wm_), &restored, &wm);
  EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(wm.next_offset(kTp), 3);
}

// SPEC §9: a sync's convergence from its record's timestamp; a timestamp
// ahead of this clock (skew) counts as 0 and is counted; none: not measured.
TEST_F(PipelineTest, ConvergenceIsMeasuredFromTheRecordTimestamp) {
  const int64_t now = now_ms();
  auto sync = [&](const char* g, int64_t ts) { sync_at(g, ts); };
  const PipelineCounters& c = pipeline_.counters();
  sync("a", now - 2500);  // 2.5 s ago: the le=3 bucket
  EXPECT_EQ(c.convergence_count.load(), 1u);
  EXPECT_EQ(c.convergence[3].load(), 1u);
  EXPECT_GE(c.last_convergence_ms.load(), 2500u);
  sync("b", now + 60'000);  // a minute in the future
  EXPECT_EQ(c.convergence_clamped.load(), 1u);
  EXPECT_EQ(c.convergence[0].load(), 1u);
  sync("c", -1);  // no timestamp
  EXPECT_EQ(c.convergence_count.load(), 2u);
  EXPECT_EQ(reader_.version(reader_.find_group("a")).record_unix_ms, now - 2500);
}

// SPEC §9: every way a sync is refused is listed, with its SYNC_COMPLETE's
// coordinates, the message that refused it and why; the last 100.
TEST_F(PipelineTest, RefusedSyncsAreListedWithWhereAndWhy) {
  put(BEGIN("a"));                                              // 0
  put(ADD("a", "bad..com"));                                    // 1: invalid, aborts a's sync
  put(COMPLETE("a"));                                           // 2
  put(BEGIN("b"));                                              // 3
  put(ADD("b", "b.com"));                                       // 4
  put(R"({"type":"SYNC_COMPLETE","group_id":"b","count":5})");  // 5: count mismatch
  ASSERT_EQ(pipeline_.rejections().size(), 2u);
  const Rejection& a = pipeline_.rejections()[0];
  EXPECT_EQ(a.group, "a");
  EXPECT_EQ(a.sync, "policy/0@2");
  EXPECT_EQ(a.at, "policy/0@1");
  EXPECT_NE(a.reason.find("bad_domain"), std::string::npos) << a.reason;
  const Rejection& b = pipeline_.rejections()[1];
  EXPECT_EQ(b.sync, "policy/0@5");
  EXPECT_EQ(b.at, "policy/0@5");
  EXPECT_NE(b.reason.find("count 5 but 1"), std::string::npos) << b.reason;
  for (int i = 0; i < 120; ++i) {
    put(BEGIN("c"));
    put(R"({"type":"SYNC_COMPLETE","group_id":"c","count":3})");
  }
  EXPECT_EQ(pipeline_.rejections().size(), Pipeline::kMaxRejections);
  EXPECT_EQ(pipeline_.rejections().front().group, "c") << "the oldest went first";
  EXPECT_EQ(pipeline_.counters().syncs_rejected.load(), 122u);
}

TEST_F(PipelineTest, CompleteWithoutBeginIsAWarningAndARefusal) {
  HandleResult r = feed(COMPLETE("g"));  // 0
  EXPECT_FALSE(r.invalid);
  EXPECT_FALSE(r.commit);
  EXPECT_TRUE(logged(LogLevel::kWarn, "SYNC_COMPLETE without BEGIN_SYNC: group=g"));
  // The PM asked for a sync at policy/0@0; nothing was applied: a NACK, not
  // an ACK read from "next offset > 0" (review of issue 20).
  ASSERT_EQ(pipeline_.rejections().size(), 1u);
  EXPECT_EQ(pipeline_.rejections()[0].sync, "policy/0@0");
  EXPECT_EQ(pipeline_.rejections()[0].reason, "SYNC_COMPLETE without BEGIN_SYNC");
}

// An invalid SYNC_COMPLETE ends its sync (SPEC §6) and is listed at its own
// coordinates (SPEC §9): before, its cause was dropped by the next
// BEGIN_SYNC and the sync read as applied; the open sync also held commits.
TEST_F(PipelineTest, AnInvalidSyncCompleteIsRefusedAndClosesItsSync) {
  put(BEGIN("g"));                                                                   // 0
  put(ADD("g", "a.com"));                                                            // 1
  HandleResult r = feed(R"({"type":"SYNC_COMPLETE","group_id":"g","count":true})");  // 2
  EXPECT_TRUE(r.invalid);
  EXPECT_TRUE(r.commit) << "its sync is closed: a commit point";
  EXPECT_FALSE(store_.has_open_sync("g"));
  EXPECT_EQ(wm_.open_syncs(), 0u);
  EXPECT_EQ(wm_.safe(kTp), 3);
  EXPECT_EQ(action("g", "a.com"), Action::kNone) << "nothing of it applied";
  put(BEGIN("g"));  // 3: a new sync, not a restart
  EXPECT_FALSE(logged(LogLevel::kWarn, "sync restarted"));
  ASSERT_EQ(pipeline_.rejections().size(), 1u);
  const Rejection& x = pipeline_.rejections()[0];
  EXPECT_EQ(x.group, "g");
  EXPECT_EQ(x.sync, "policy/0@2");
  EXPECT_EQ(x.at, "policy/0@2");
  EXPECT_NE(x.reason.find("count"), std::string::npos) << x.reason;
}

// An invalid BEGIN_SYNC still starts its sync, poisoned (SPEC §6): its
// ADD_DOMAINs never reach the active policy and its SYNC_COMPLETE is refused
// with the BEGIN_SYNC as the cause (second review of issue 20: the adds went
// straight into the active table while the PM was told "refused").
TEST_F(PipelineTest, AnInvalidBeginSyncOpensAPoisonedSync) {
  put(BEGIN("g"));                                                             // 0
  put(ADD("g", "old.com"));                                                    // 1
  put(COMPLETE("g"));                                                          // 2
  EXPECT_TRUE(feed(R"({"type":"BEGIN_SYNC","group_id":"g","x":[})").invalid);  // 3
  EXPECT_TRUE(store_.has_open_sync("g"));
  put(ADD("g", "new.com"));              // 4: dropped
  HandleResult r = feed(COMPLETE("g"));  // 5
  EXPECT_TRUE(r.commit);
  EXPECT_EQ(action("g", "new.com"), Action::kNone) << "nothing of the poisoned sync applied";
  EXPECT_EQ(action("g", "old.com"), Action::kBlacklist) << "the old policy stays";
  EXPECT_EQ(wm_.open_syncs(), 0u);
  ASSERT_EQ(pipeline_.rejections().size(), 1u);
  EXPECT_EQ(pipeline_.rejections()[0].sync, "policy/0@5");
  EXPECT_EQ(pipeline_.rejections()[0].at, "policy/0@3");
}

// A sync refused twice (its partition read again after it came back to this
// member) is listed once, so repeats never push other refusals out.
TEST(RefusalsTest, TheSameSyncRefusedAgainIsListedOnce) {
  Refusals r;
  r.refuse("a", "policy/0@9", "count", 1);
  r.refuse("b", "policy/0@12", "count", 2);
  r.refuse("a", "policy/0@9", "count", 3);
  ASSERT_EQ(r.list().size(), 2u);
  EXPECT_EQ(r.list()[0].sync, "policy/0@12");
  EXPECT_EQ(r.list()[1].unix_ms, 3);
}

// What a restart from a snapshot knows: the refused syncs and the cause of
// an aborted sync still open (review of issue 20: both lived in the
// pipeline only, and a NACK read as SYNCED after a restart).
TEST_F(PipelineTest, RefusalsAndCausesSurviveARestartFromTheSnapshot) {
  put(BEGIN("a"));                                              // 0
  put(R"({"type":"SYNC_COMPLETE","group_id":"a","count":4})");  // 1: refused (count)
  put(BEGIN("b"));                                              // 2
  put(ADD("b", "bad..com"));                                    // 3: aborts b's sync
  PolicyStore store;
  Watermarks wm;
  const Status s = decode_snapshot(encode_snapshot(store_, wm_), &store, &wm);
  ASSERT_TRUE(s.ok()) << s.to_string();
  Pipeline after(store, wm, PipelineOptions{}, log_);
  ASSERT_EQ(after.rejections().size(), 1u);
  EXPECT_EQ(after.rejections()[0].sync, "policy/0@1");
  EXPECT_NE(after.rejections()[0].reason.find("count 4 but 0"), std::string::npos);
  const std::string c = COMPLETE("b");
  EXPECT_TRUE(after.handle(kTp, 4, c.data(), c.size()).commit);
  ASSERT_EQ(after.rejections().size(), 2u);
  const Rejection& b = after.rejections()[1];
  EXPECT_EQ(b.sync, "policy/0@4");
  EXPECT_EQ(b.at, "policy/0@3") << "the cause, not \"aborted\"";
  EXPECT_NE(b.reason.find("bad_domain"), std::string::npos) << b.reason;
}

// SPEC §9: convergence is news, not history: syncs replayed while the
// consumer catches up are counted apart (review of issue 20: a restart
// without a snapshot filled the +Inf bucket with last week's syncs).
TEST_F(PipelineTest, ReplayedSyncsAreNotMeasuredForConvergence) {
  const int64_t now = now_ms();
  auto sync = [&](const char* g, int64_t ts) { sync_at(g, ts); };
  const PipelineCounters& c = pipeline_.counters();
  pipeline_.set_live(false);
  sync("old", now - 7 * 86'400'000);
  EXPECT_EQ(c.convergence_count.load(), 0u);
  EXPECT_EQ(c.convergence_replayed.load(), 1u);
  pipeline_.set_live(true);
  sync("new", now - 200);
  EXPECT_EQ(c.convergence_count.load(), 1u);
  EXPECT_EQ(c.convergence_replayed.load(), 1u);
}

TEST_F(PipelineTest, RevocationDiscardsOpenSyncsAndKeepsActiveTables) {
  put(BEGIN("a"));
  put(ADD("a", "old.com"));
  put(COMPLETE("a"));
  put(BEGIN("a"));
  put(ADD("a", "new.com"));
  pipeline_.revoke(kTp);
  EXPECT_FALSE(store_.has_open_sync("a"));
  EXPECT_EQ(action("a", "old.com"), Action::kBlacklist) << "stale beats empty";
  EXPECT_FALSE(wm_.assigned(kTp));
}

TEST_F(PipelineTest, TraceLinesAreTheSeeds) {
  put(BEGIN("enterprise_a"));
  put(R"({"type":"ADD_DOMAIN","group_id":"enterprise_a","domain":"google.com","action":"whitelist"})");
  put(R"({"type":"REMOVE_DOMAIN","group_id":"enterprise_a","domain":"google.com"})");
  put(R"({"type":"ADD_DOMAIN","group_id":"enterprise_a","domain":"facebook.com","action":"blacklist"})");
  put(COMPLETE("enterprise_a"));
  std::vector<std::string> trace;
  for (const auto& [l, m] : lines_)
    if (l == LogLevel::kTrace) trace.push_back(m);
  const std::vector<std::string> want = {
      "[BEGIN_SYNC] group=enterprise_a — building pending table",
      "[ADD_DOMAIN] group=enterprise_a domain=google.com action=whitelist",
      "[REMOVE_DOMAIN] group=enterprise_a domain=google.com",
      "[ADD_DOMAIN] group=enterprise_a domain=facebook.com action=blacklist",
      "[SYNC_COMPLETE] group=enterprise_a — 1 domains now active",
  };
  EXPECT_EQ(trace, want);
}

class SkipPipelineTest : public PipelineTest {
 protected:
  SkipPipelineTest() : PipelineTest(PipelineOptions{{}, /*skip_invalid=*/true, false}) {}
};

TEST_F(SkipPipelineTest, SkipKeepsTheSyncAndDropsOnlyTheBadEntry) {
  put(BEGIN("a"));
  put(ADD("a", "good.com"));
  EXPECT_TRUE(feed(ADD("a", "bad..com")).invalid);
  put(ADD("a", "also-good.com"));
  put(COMPLETE("a"));
  EXPECT_EQ(action("a", "good.com"), Action::kBlacklist);
  EXPECT_EQ(action("a", "also-good.com"), Action::kBlacklist);
}

// Issue 13.5: under skip, `count` compares against every ADD_DOMAIN received
// for the group, valid or not; under abort the sync is aborted either way.
struct CountCase {
  bool skip;
  const char* complete;  // the SYNC_COMPLETE sent after 2 good ADDs and 1 bad one
  Action good;           // what good.com resolves to afterwards
};

class CountPipelineTest : public ::testing::TestWithParam<CountCase> {};

TEST_P(CountPipelineTest, InvalidAddsCountTowardsCountUnderSkip) {
  const CountCase& c = GetParam();
  PolicyStore store;
  Watermarks wm;
  Log log([](LogLevel, std::string_view) {}, LogLevel::kInfo);
  Pipeline p(store, wm, PipelineOptions{{}, c.skip, false}, log);
  Reader reader(store);
  int64_t off = 0;
  auto feed = [&](const std::string& json) {
    (void)p.handle(kTp, off++, json.data(), json.size());
    reader.quiescent();
  };
  feed(BEGIN("a"));
  feed(ADD("a", "good.com"));
  feed(ADD("a", "bad..com"));                                                // bad domain
  feed(R"({"type":"ADD_DOMAIN","action":"allow","group_id":"a","x":nul})");  // bad JSON
  feed(ADD("a", "good2.com"));
  feed(c.complete);
  EXPECT_EQ(reader.lookup("a", "good.com").action, c.good) << c.complete;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CountPipelineTest,
    ::testing::Values(
        CountCase{true, R"({"type":"SYNC_COMPLETE","group_id":"a","count":4})", Action::kBlacklist},
        CountCase{true, R"({"type":"SYNC_COMPLETE","group_id":"a","count":2})", Action::kNone},
        CountCase{true, R"({"type":"SYNC_COMPLETE","group_id":"a"})", Action::kBlacklist},
        CountCase{false, R"({"type":"SYNC_COMPLETE","group_id":"a","count":4})", Action::kNone},
        CountCase{false, R"({"type":"SYNC_COMPLETE","group_id":"a","count":2})", Action::kNone},
        CountCase{false, R"({"type":"SYNC_COMPLETE","group_id":"a"})", Action::kNone}));

class DlqPipelineTest : public PipelineTest {
 protected:
  DlqPipelineTest() : PipelineTest(PipelineOptions{{}, false, /*dead_letter=*/true}) {}
};

TEST_F(DlqPipelineTest, InvalidOffsetIsCommittedOnlyAfterItsCopyIsConfirmed) {
  put(ADD("a", "x.com"));                     // 0
  HandleResult r = feed(ADD("a", "bad..x"));  // 1
  EXPECT_TRUE(r.copy_to_dlq);
  put(ADD("a", "y.com"));  // 2
  EXPECT_EQ(wm_.safe(kTp), 1);
  pipeline_.dlq_done(kTp, 1, true);
  EXPECT_EQ(wm_.safe(kTp), 3);
  EXPECT_EQ(pipeline_.counters().dlq_delivered.load(), 1u);
}

class LimitPipelineTest : public PipelineTest {
 protected:
  LimitPipelineTest() : PipelineTest(PipelineOptions{}, StoreLimits{2, 10, 10, 0}) {}
};

TEST_F(LimitPipelineTest, LimitViolationIsInvalidAndAbortsTheSync) {
  put(BEGIN("a"));
  put(ADD("a", "one.com"));
  put(ADD("a", "two.com"));
  HandleResult r = feed(ADD("a", "three.com"));
  EXPECT_TRUE(r.invalid);
  EXPECT_EQ(r.why.reason(), Reason::kLimitExceeded);
  put(COMPLETE("a"));
  EXPECT_EQ(action("a", "one.com"), Action::kNone);
  EXPECT_TRUE(logged(LogLevel::kWarn, "limit_exceeded"));
}

}  // namespace
}  // namespace policysync
