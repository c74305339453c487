// SPEC §5.2: the safe watermark.
#include "policysync/watermarks.h"

#include <gtest/gtest.h>

namespace policysync {
namespace {

const TopicPartition kP0{"policy", 0};
const TopicPartition kP1{"policy", 1};

TEST(WatermarksTest, NextOffsetWhenNoSyncIsOpen) {
  Watermarks wm;
  EXPECT_EQ(wm.safe(kP0), -1) << "nothing read yet";
  wm.assign(kP0, 0);
  EXPECT_EQ(wm.safe(kP0), 0);
  wm.consumed(kP0, 0);
  wm.consumed(kP0, 1);
  EXPECT_EQ(wm.safe(kP0), 2);
}

TEST(WatermarksTest, InterleavedSyncsHoldTheLowestBegin) {
  Watermarks wm;
  wm.assign(kP0, 0);
  wm.sync_opened(kP0, "a", 0);
  wm.consumed(kP0, 0);
  wm.consumed(kP0, 1);
  wm.sync_opened(kP0, "b", 2);
  wm.consumed(kP0, 2);
  wm.consumed(kP0, 3);
  EXPECT_EQ(wm.safe(kP0), 0);
  wm.sync_closed("a");  // SYNC_COMPLETE of a at 4: the seed would commit 5 and lose b
  wm.consumed(kP0, 4);
  EXPECT_EQ(wm.safe(kP0), 2);
  wm.sync_closed("b");
  wm.consumed(kP0, 5);
  EXPECT_EQ(wm.safe(kP0), 6);
}

// Issue 18 item 2: reading resumes at a held offset below the next one; the
// next offset stays, so the records between are not applied twice.
TEST(WatermarksTest, StartingBelowTheNextOffsetKeepsIt) {
  Watermarks wm;
  wm.assign(kP0, 104);
  wm.hold(kP0, 102, "bad_domain");
  EXPECT_EQ(wm.resume_offset(kP0), 102);
  wm.start(kP0, wm.resume_offset(kP0));
  EXPECT_EQ(wm.next_offset(kP0), 104);
  wm.start(kP1, 7);  // unknown: starts there
  EXPECT_EQ(wm.next_offset(kP1), 7);
}

TEST(WatermarksTest, RestartMovesTheSyncStart) {
  Watermarks wm;
  wm.assign(kP0, 10);
  wm.sync_opened(kP0, "a", 10);
  wm.consumed(kP0, 10);
  wm.sync_opened(kP0, "a", 11);
  wm.consumed(kP0, 11);
  EXPECT_EQ(wm.safe(kP0), 11);
}

TEST(WatermarksTest, PartitionsAreIndependent) {
  Watermarks wm;
  wm.assign(kP0, 0);
  wm.assign(kP1, 100);
  wm.sync_opened(kP0, "a", 0);
  wm.consumed(kP0, 0);
  wm.consumed(kP1, 100);
  EXPECT_EQ(wm.safe(kP0), 0);
  EXPECT_EQ(wm.safe(kP1), 101);
}

TEST(WatermarksTest, HoldsUntilReleased) {
  Watermarks wm;
  wm.assign(kP0, 0);
  wm.consumed(kP0, 0);
  wm.hold(kP0, 1);
  wm.consumed(kP0, 1);
  wm.consumed(kP0, 2);
  EXPECT_EQ(wm.safe(kP0), 1);
  wm.release(kP0, 1);
  EXPECT_EQ(wm.safe(kP0), 3);
}

TEST(WatermarksTest, RevokeReturnsItsOpenSyncs) {
  Watermarks wm;
  wm.assign(kP0, 0);
  wm.assign(kP1, 0);
  wm.sync_opened(kP0, "a", 0);
  wm.sync_opened(kP1, "b", 0);
  std::vector<std::string> groups = wm.revoke(kP0);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0], "a");
  EXPECT_FALSE(wm.assigned(kP0));
  EXPECT_EQ(wm.open_syncs(), 1u);
}

}  // namespace
}  // namespace policysync
