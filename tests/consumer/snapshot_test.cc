// SPEC §7: restore + resume equals never having stopped; a bad snapshot is
// rejected whole, never loaded in part, never a crash.
#include "policysync/snapshot.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "policysync/pipeline.h"

namespace policysync {
namespace {

const TopicPartition kP0{"policy", 0}, kP1{"policy", 1};

// A random stream over 4 groups on two partitions: interleaved syncs
// (some with bad entries, count mismatches, restarts), immediate changes,
// patterns, wildcards, the malicious feed, group removal.
std::vector<std::pair<TopicPartition, std::string>> random_stream(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<TopicPartition, std::string>> out;
  auto g = [&](int i) { return "g" + std::to_string(i); };
  auto dom = [&]() {
    static const char* kShapes[] = {"d%u.test", "*.w%u.test", "ads%u*.p.test", "bad..%u",
                                    "x%u.d1.test"};
    char buf[64];
    std::snprintf(buf, sizeof(buf), kShapes[rng() % 5], static_cast<unsigned>(rng() % 12));
    return std::string(buf);
  };
  for (int i = 0; i < n; ++i) {
    const int gi = static_cast<int>(rng() % 4);
    const TopicPartition& tp = gi % 2 ? kP1 : kP0;
    const std::string grp = g(gi);
    switch (rng() % 10) {
      case 0:
        out.push_back({tp, R"({"type":"BEGIN_SYNC","group_id":")" + grp + R"("})"});
        break;
      case 1:
        out.push_back({tp, R"({"type":"SYNC_COMPLETE","group_id":")" + grp + "\"" +
                               (rng() % 4 == 0 ? R"(,"count":3)" : "") + "}"});
        break;
      case 2:
        out.push_back({tp, R"({"type":"REMOVE_DOMAIN","group_id":")" + grp + R"(","domain":")" +
                               dom() + R"("})"});
        break;
      case 3:
        out.push_back({kP0, R"({"type":"ADD_MALICIOUS","domain":"m)" + std::to_string(rng() % 9) +
                                R"(.test","category":3,"confidence":)" +
                                std::to_string(rng() % 101) + "}"});
        break;
      case 4:
        out.push_back({kP0, R"({"type":"REMOVE_MALICIOUS","domain":"m)" +
                                std::to_string(rng() % 9) + R"(.test"})"});
        break;
      case 5:
        if (rng() % 8 == 0)
          out.push_back({tp, R"({"type":"REMOVE_GROUP","group_id":")" + grp + R"("})"});
        break;
      default:
        out.push_back({tp, R"({"type":"ADD_DOMAIN","group_id":")" + grp + R"(","domain":")" +
                               dom() + R"(","action":"blacklist","category":)" +
                               std::to_string(rng() % 5) + "}"});
    }
  }
  return out;
}

struct Consumer {
  PolicyStore store;
  Watermarks wm;
  Log log{[](LogLevel, std::string_view) {}};
  Pipeline pipeline{store, wm, PipelineOptions{}, log};
  std::map<TopicPartition, int64_t> next;

  void feed(const std::pair<TopicPartition, std::string>& m, int64_t offset) {
    HandleResult r = pipeline.handle(m.first, offset, m.second.data(), m.second.size());
    (void)r;
  }
};

TEST(SnapshotPropertyTest, RestoreAndResumeEqualsNeverStopping) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const auto stream = random_stream(seed, 400);
    std::mt19937_64 rng(seed * 7919);
    const size_t cut = rng() % stream.size();
    std::map<TopicPartition, int64_t> offsets;
    std::vector<int64_t> at(stream.size());
    for (size_t i = 0; i < stream.size(); ++i) at[i] = offsets[stream[i].first]++;

    Consumer whole;
    for (size_t i = 0; i < stream.size(); ++i) whole.feed(stream[i], at[i]);

    std::string snap;
    {
      Consumer first;
      for (size_t i = 0; i < cut; ++i) first.feed(stream[i], at[i]);
      snap = encode_snapshot(first.store, first.wm);
    }
    Consumer resumed;
    ASSERT_TRUE(decode_snapshot(snap, &resumed.store, &resumed.wm).ok()) << "seed " << seed;
    for (size_t i = cut; i < stream.size(); ++i) resumed.feed(stream[i], at[i]);

    ASSERT_EQ(canonical_dump(encode_snapshot(resumed.store, resumed.wm)),
              canonical_dump(encode_snapshot(whole.store, whole.wm)))
        << "seed " << seed << " cut " << cut;
    EXPECT_EQ(resumed.wm.safe(kP0), whole.wm.safe(kP0)) << "seed " << seed;
    EXPECT_EQ(resumed.wm.safe(kP1), whole.wm.safe(kP1)) << "seed " << seed;
  }
}

// Issue 13.6: a dead-letter copy still in flight when the snapshot was taken
// is not lost: the restart resumes at its offset, sends that copy again, and
// applies nothing twice.
TEST(SnapshotDeadLetterTest, InFlightCopyIsSentAgainAfterRestart) {
  const std::vector<std::string> msgs = {
      R"({"type":"BEGIN_SYNC","group_id":"g"})",
      R"({"type":"ADD_DOMAIN","group_id":"g","domain":"a.test","action":"allow"})",
      R"({"type":"ADD_DOMAIN","group_id":"h","domain":"bad..test","action":"allow"})",
      R"({"type":"ADD_DOMAIN","group_id":"g","domain":"b.test","action":"allow"})",
      R"({"type":"SYNC_COMPLETE","group_id":"g","count":2})",
      R"({"type":"ADD_DOMAIN","group_id":"h","domain":"c.test","action":"blacklist"})",
  };
  Log quiet{[](LogLevel, std::string_view) {}};
  const PipelineOptions dlq{{}, false, /*dead_letter=*/true};
  std::string snap;
  {
    PolicyStore store;
    Watermarks wm;
    Pipeline p(store, wm, dlq, quiet);
    for (int64_t i = 0; i < 5; ++i) {
      HandleResult r = p.handle(kP0, i, msgs[i].data(), msgs[i].size());
      EXPECT_EQ(r.copy_to_dlq, i == 2);
    }
    EXPECT_EQ(wm.safe(kP0), 2) << "the copy of offset 2 is unconfirmed";
    snap = encode_snapshot(store, wm);  // ... and the process dies here
  }
  PolicyStore store;
  Watermarks wm;
  ASSERT_TRUE(decode_snapshot(snap, &store, &wm).ok());
  EXPECT_EQ(wm.next_offset(kP0), 5);
  EXPECT_EQ(wm.resume_offset(kP0), 2) << "where the restarted consumer reads from";
  Pipeline p(store, wm, dlq, quiet);
  std::vector<int64_t> copies;
  for (int64_t i = 2; i < 6; ++i) {
    HandleResult r = p.handle(kP0, i, msgs[i].data(), msgs[i].size());
    if (r.copy_to_dlq) {
      copies.push_back(i);
      EXPECT_NE(r.dlq_reason.find("bad_domain"), std::string::npos) << r.dlq_reason;
    }
  }
  EXPECT_EQ(copies, std::vector<int64_t>{2});
  EXPECT_EQ(p.counters().invalid[static_cast<size_t>(Reason::kBadDomain)].load(), 0u)
      << "counted before the restart, not again";
  EXPECT_EQ(store.counters().syncs_completed.load(), 0u) << "offsets 3-4 were applied twice";
  EXPECT_EQ(store.active_entries("g"), 2u);
  EXPECT_EQ(store.active_entries("h"), 1u);
  EXPECT_EQ(wm.safe(kP0), 2);
  p.dlq_done(kP0, 2, true);
  EXPECT_EQ(wm.safe(kP0), 6);
}

std::string valid_snapshot() {
  Consumer c;
  const std::vector<std::string> msgs = {
      R"({"type":"BEGIN_SYNC","group_id":"g"})",
      R"({"type":"ADD_DOMAIN","group_id":"g","domain":"a.test","action":"allow"})",
      R"({"type":"SYNC_COMPLETE","group_id":"g"})",
      R"({"type":"BEGIN_SYNC","group_id":"h"})",
      R"({"type":"ADD_DOMAIN","group_id":"h","domain":"*.b.test","action":"blacklist","category":4})",
  };
  for (size_t i = 0; i < msgs.size(); ++i) c.feed({kP0, msgs[i]}, static_cast<int64_t>(i));
  return encode_snapshot(c.store, c.wm);
}

struct Damage {
  const char* name;
  std::string (*apply)(std::string);
  const char* message;
};

class CorruptSnapshotTest : public ::testing::TestWithParam<Damage> {};

TEST_P(CorruptSnapshotTest, IsRejectedWholeWithAClearReason) {
  const std::string bytes = GetParam().apply(valid_snapshot());
  PolicyStore store;
  Watermarks wm;
  Status s = decode_snapshot(bytes, &store, &wm);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.to_string().find(GetParam().message), std::string::npos) << s.to_string();
  EXPECT_EQ(store.group_count(), 0u) << "never loaded in part";
  EXPECT_TRUE(wm.partitions().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, CorruptSnapshotTest,
    ::testing::Values(
        Damage{"empty", [](std::string) { return std::string(); }, "empty file"},
        Damage{"header_only", [](std::string s) { return s.substr(0, 20); }, "truncated header"},
        Damage{"truncated", [](std::string s) { return s.substr(0, s.size() - 1); }, "truncated"},
        Damage{"bad_magic",
               [](std::string s) {
                 s[0] = 'X';
                 return s;
               },
               "bad magic"},
        Damage{"wrong_version",
               [](std::string s) {
                 s[8] = 9;
                 return s;
               },
               "version 9"},
        Damage{"flipped_body_bit",
               [](std::string s) {
                 s[s.size() / 2] ^= 0x10;
                 return s;
               },
               "checksum mismatch"},
        Damage{"flipped_last_bit",
               [](std::string s) {
                 s.back() ^= 0x01;
                 return s;
               },
               "checksum mismatch"},
        Damage{"flipped_checksum",
               [](std::string s) {
                 s[24] ^= 0x01;
                 return s;
               },
               "checksum mismatch"},
        Damage{"extra_byte", [](std::string s) { return s + "x"; }, "truncated"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SnapshotFileTest, WriteReadAndDescribe) {
  const std::string path = ::testing::TempDir() + "/snap-ok";
  ASSERT_TRUE(write_snapshot_file(path, valid_snapshot()).ok());
  std::string bytes;
  ASSERT_TRUE(read_snapshot_file(path, &bytes).ok());
  SnapshotInfo info;
  ASSERT_TRUE(describe_snapshot(bytes, &info).ok());
  EXPECT_EQ(info.offsets.size(), 1u);
  EXPECT_EQ(info.offsets[0].next, 5);
  EXPECT_EQ(info.groups.size(), 2u);
  EXPECT_EQ(info.open_syncs, 1u);
}

TEST(SnapshotFileTest, DirectoryOrMissingFileIsReported) {
  std::string bytes;
  const std::string dir = ::testing::TempDir() + "/snap-dir";
  mkdir(dir.c_str(), 0755);
  EXPECT_NE(read_snapshot_file(dir, &bytes).to_string().find("not a regular file"),
            std::string::npos);
  EXPECT_NE(read_snapshot_file(dir + "/none", &bytes).to_string().find("No such file"),
            std::string::npos);
}

TEST(SnapshotFileTest, FailedWriteLeavesThePreviousSnapshotValid) {
  const std::string path = ::testing::TempDir() + "/snap-keep";
  const std::string first = valid_snapshot();
  ASSERT_TRUE(write_snapshot_file(path, first).ok());
  // A file-size limit below the snapshot's size: the write fails (EFBIG).
  signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 64;
  setrlimit(RLIMIT_FSIZE, &small);
  Status s = write_snapshot_file(path, first + std::string());
  setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.reason(), Reason::kIo);
  std::string bytes;
  ASSERT_TRUE(read_snapshot_file(path, &bytes).ok()) << "the old snapshot is untouched";
  EXPECT_EQ(bytes, first);
  // An unwritable directory is reported, not fatal.
  EXPECT_FALSE(write_snapshot_file("/proc/policysync-no/snap", first).ok());
}

// A snapshot of `n` entries whose categories are all `category`.
std::string sized_snapshot(int n, int category) {
  Consumer c;
  int64_t off = 0;
  const std::string begin = R"({"type":"BEGIN_SYNC","group_id":"g"})";
  c.feed({kP0, begin}, off++);
  for (int i = 0; i < n; ++i) {
    const std::string m = R"({"type":"ADD_DOMAIN","group_id":"g","domain":"d)" + std::to_string(i) +
                          R"(.test","action":"allow","category":)" + std::to_string(category) + "}";
    c.feed({kP0, m}, off++);
  }
  c.feed({kP0, R"({"type":"SYNC_COMPLETE","group_id":"g"})"}, off++);
  return encode_snapshot(c.store, c.wm);
}

TEST(SnapshotFileTest, KilledMidWriteLeavesAWholeSnapshot) {
  const std::string path = ::testing::TempDir() + "/snap-kill";
  const std::string tmp = path + ".tmp";
  // Two different snapshots of a few MB; a child rewrites them in turns.
  const std::string a = sized_snapshot(100000, 1), b = sized_snapshot(100000, 2);
  ASSERT_TRUE(write_snapshot_file(path, a).ok());
  int mid_write = 0;
  for (int round = 0; round < 8; ++round) {
    unlink(tmp.c_str());
    const pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0;; ++i) (void)write_snapshot_file(path, i % 2 ? a : b);
    }
    // Kill it while it is inside a write: once the temporary file exists
    // (bounded spin: a condition, not a sleep).
    struct stat sb {};
    for (int spins = 0; spins < 10000000 && stat(tmp.c_str(), &sb) != 0; ++spins) sched_yield();
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    mid_write += stat(tmp.c_str(), &sb) == 0;
    std::string bytes;
    ASSERT_TRUE(read_snapshot_file(path, &bytes).ok()) << "round " << round;
    EXPECT_TRUE(bytes == a || bytes == b) << "round " << round;
  }
  EXPECT_GT(mid_write, 0) << "no kill landed inside a write";
}

TEST(SnapshotFileTest, FullDiskIsReportedAndThePreviousSnapshotStays) {
  // A 64 KiB tmpfs: a small snapshot fits, a large one does not.
  const std::string dir = ::testing::TempDir() + "/snap-tinyfs";
  mkdir(dir.c_str(), 0755);
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  const std::string path = dir + "/policy.snapshot";
  const std::string small = valid_snapshot();
  ASSERT_TRUE(write_snapshot_file(path, small).ok());
  Status s = write_snapshot_file(path, sized_snapshot(20000, 1));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.to_string().find("No space left on device"), std::string::npos) << s.to_string();
  std::string bytes;
  EXPECT_TRUE(read_snapshot_file(path, &bytes).ok());
  EXPECT_EQ(bytes, small);
  struct stat sb {};
  EXPECT_NE(stat((path + ".tmp").c_str(), &sb), 0) << "the partial temporary file is removed";
  umount(dir.c_str());
}

}  // namespace
}  // namespace policysync
