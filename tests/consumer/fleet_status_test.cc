// SPEC §9: the status record round-trips through its JSON, and the PM's
// reading of it for one sync (SYNCED / PENDING / NACKED / STALE).
#include "policysync/fleet_status.h"

#include <gtest/gtest.h>

namespace policysync {
namespace {

StatusRecord record() {
  StatusRecord r;
  r.instance = "dp-1";
  r.host = "host \"a\"\n";  // escaped in the JSON
  r.version = "0.1.0";
  r.state = "ready";
  r.unix_ms = 1'000'000;
  r.heartbeat_s = 10;
  r.applied = {{{"policy", 0}, 120}, {{"policy", 1}, 7}};
  r.groups = 3;
  r.entries = 42;
  r.malicious = 5;
  r.rejected = {{"g", "policy/0@100", "policy/0@95", "limit_exceeded: domain: entries", 999}};
  return r;
}

TEST(FleetStatusTest, RoundTripsThroughJson) {
  const StatusRecord r = record();
  StatusRecord back;
  ASSERT_TRUE(decode_status(encode_status(r), &back).ok()) << encode_status(r);
  EXPECT_EQ(back.instance, r.instance);
  EXPECT_EQ(back.host, r.host);
  EXPECT_EQ(back.state, "ready");
  EXPECT_EQ(back.unix_ms, r.unix_ms);
  EXPECT_EQ(back.heartbeat_s, 10);
  ASSERT_EQ(back.applied.size(), 2u);
  EXPECT_EQ(back.applied[1].tp, (TopicPartition{"policy", 1}));
  EXPECT_EQ(back.applied[1].next, 7);
  EXPECT_EQ(back.entries, 42u);
  ASSERT_EQ(back.rejected.size(), 1u);
  EXPECT_EQ(back.rejected[0].at, "policy/0@95");
  EXPECT_EQ(back.rejected[0].reason, r.rejected[0].reason);
}

struct BadCase {
  const char* json;
  Reason reason;
  const char* what;
};

TEST(FleetStatusTest, BadRecordsNameWhatIsWrong) {
  const BadCase cases[] = {
      {"not json", Reason::kBadJson, "status"},
      {"[]", Reason::kWrongType, "status"},
      {R"({"host":"h"})", Reason::kMissingField, "instance"},
      {R"({"instance":1})", Reason::kWrongType, "instance"},
      {R"({"instance":"i","host":"h","version":"v","state":"ready","unix_ms":1,"heartbeat_s":0})",
       Reason::kOutOfRange, "heartbeat_s"},
      {R"({"instance":"i","host":"h","version":"v","state":"ready","unix_ms":1,"heartbeat_s":5,)"
       R"("shape":7})",
       Reason::kWrongType, "shape"},
  };
  for (const BadCase& c : cases) {
    StatusRecord r;
    const Status s = decode_status(c.json, &r);
    EXPECT_EQ(s.reason(), c.reason) << c.json;
    EXPECT_EQ(s.what(), c.what) << c.json;
  }
}

struct ReportCase {
  const char* name;
  int64_t offset;
  int64_t now_ms;
  const char* state;  // of the record
  SyncState want;
  int64_t behind;
};

TEST(FleetStatusTest, ReportsEachStateOfASync) {
  const ReportCase cases[] = {
      {"applied past it", 119, 1'000'500, "ready", SyncState::kSynced, 0},
      {"not there yet", 130, 1'000'500, "ready", SyncState::kPending, 11},
      {"refused", 100, 1'000'500, "ready", SyncState::kNacked, 0},
      {"three heartbeats old", 119, 1'000'000 + 30'001, "ready", SyncState::kStale, 0},
      {"stopped", 119, 1'000'500, "stopped", SyncState::kStale, 0},
      {"still starting", 130, 1'000'500, "starting", SyncState::kPending, 11},
  };
  for (const ReportCase& c : cases) {
    StatusRecord r = record();
    r.state = c.state;
    const SyncReport rep = report_sync(r, {"policy", 0}, c.offset, c.now_ms);
    EXPECT_EQ(sync_state_name(rep.state), sync_state_name(c.want)) << c.name;
    EXPECT_EQ(rep.behind, c.behind) << c.name;
    if (c.want == SyncState::kNacked) {
      EXPECT_NE(rep.reason.find("limit_exceeded"), std::string::npos) << rep.reason;
      EXPECT_NE(rep.reason.find("at policy/0@95"), std::string::npos) << rep.reason;
    }
  }
  // A partition it does not read: pending from the beginning (broadcast:
  // every instance reads every partition, a new one included)...
  EXPECT_EQ(report_sync(record(), {"policy", 5}, 3, 1'000'500).behind, 4);
  // ...but not a sharded member's to apply: another member owns it.
  StatusRecord member = record();
  member.sharded = true;
  EXPECT_EQ(report_sync(member, {"policy", 5}, 3, 1'000'500).state, SyncState::kNotAssigned);
  EXPECT_EQ(report_sync(member, {"policy", 0}, 119, 1'000'500).state, SyncState::kSynced);
  StatusRecord back;
  ASSERT_TRUE(decode_status(encode_status(member), &back).ok());
  EXPECT_TRUE(back.sharded);
}

// The broker's clock, when the topic stamps records (LogAppendTime), ages a
// record instead of the instance's: an instance whose clock runs an hour
// behind is not STALE, one an hour ahead is not forever fresh.
TEST(FleetStatusTest, StalenessUsesTheBrokersTimestampWhenThereIsOne) {
  StatusRecord r = record();
  r.unix_ms = 1'000'000 - 3'600'000;  // its clock an hour behind
  EXPECT_EQ(report_sync(r, {"policy", 0}, 119, 1'000'500).state, SyncState::kStale);
  r.log_append_ms = 1'000'000;
  EXPECT_EQ(report_sync(r, {"policy", 0}, 119, 1'000'500).state, SyncState::kSynced);
  r.unix_ms = 1'000'000 + 3'600'000;  // an hour ahead, but appended 31 s ago
  r.log_append_ms = 1'000'500 - 31'000;
  EXPECT_EQ(report_sync(r, {"policy", 0}, 119, 1'000'500).state, SyncState::kStale);
}

// A reason cut in the middle of a character, or any byte that is not UTF-8,
// must not make the record unreadable (simdjson refuses invalid UTF-8): it
// is replaced, and the record decodes (review of issue 20).
TEST(FleetStatusTest, BytesThatAreNotUtf8AreReplacedNotFatal) {
  StatusRecord r = record();
  const std::string e_acute = "\xC3\xA9";
  r.rejected[0].reason = "action \"a" + e_acute + e_acute.substr(0, 1) + "\" \xFF end";
  StatusRecord back;
  const Status s = decode_status(encode_status(r), &back);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(back.rejected[0].reason, "action \"a" + e_acute + "\xEF\xBF\xBD\" \xEF\xBF\xBD end");
}

TEST(FleetStatusTest, CoordinatesParse) {
  TopicPartition tp;
  int64_t o = 0;
  ASSERT_TRUE(parse_coordinates("a.b-c/12@345", &tp, &o));
  EXPECT_EQ(tp, (TopicPartition{"a.b-c", 12}));
  EXPECT_EQ(o, 345);
  for (const char* bad : {"", "t@1", "t/1", "/1@2", "t/x@2", "t/1@y", "t/-1@2", "t/1@2 "})
    EXPECT_FALSE(parse_coordinates(bad, &tp, &o)) << bad;
}

}  // namespace
}  // namespace policysync
