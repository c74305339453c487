// kafka_consumer as a systemd Type=notify service (issue 21): a socket this
// test owns stands in for systemd's NOTIFY_SOCKET. READY=1 comes only once
// the policy is ready (held back while a topic cannot be read yet),
// WATCHDOG=1 at the rate WATCHDOG_USEC asks for, STOPPING=1 at SIGTERM. And
// the unit file passes `systemd-analyze verify` where the tool exists.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mock_fixture.h"

namespace policysync {
namespace {

using testing::add;
using testing::begin;
using testing::Child;
using testing::complete;
using testing::kConsumerBin;
using testing::MockTest;
using testing::produce;
using testing::wait_until;

// systemd's side: a datagram socket; each sd_notify() is one datagram.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
    unlink(path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << path;
    timeval tv{0, 100'000};  // receive() waits at most 0.1 s
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  // Reads what arrived (waiting up to 0.1 s); appends each datagram.
  void receive(std::vector<std::string>* out) {
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return;
      out->emplace_back(buf, static_cast<size_t>(n));
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

size_t count(const std::vector<std::string>& msgs, const std::string& needle) {
  size_t n = 0;
  for (const auto& m : msgs) n += m.find(needle) != std::string::npos;
  return n;
}

TEST_F(MockTest, ReadyOnlyWhenThePolicyIsWatchdogPingsAndStoppingAtSigterm) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  ASSERT_TRUE(cluster_->create_topic("feed", 1).ok());
  // The feed topic cannot be read yet: not ready, whatever the policy topic.
  rd_kafka_mock_topic_set_error(cluster_->handle(), "feed",
                                RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  produce(brokers_, "policy", "g", {begin("g"), add("g", "g.com"), complete("g", 1)});
  NotifySocket sock(tmp("notify.sock"));
  setenv("NOTIFY_SOCKET", tmp("notify.sock").c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);  // WatchdogSec=0.4: a ping every 0.2 s
  Child c(kConsumerBin,
          {brokers_, "policy", "feed", "--stats-interval", "0", "-X",
           "topic.metadata.refresh.interval.ms=1000"},
          tmp("consumer.out"));
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  std::vector<std::string> msgs;
  // Watchdog pings while it is not ready, and no READY=1.
  ASSERT_TRUE(wait_until([&] {
    sock.receive(&msgs);
    return count(msgs, "WATCHDOG=1") >= 5;
  })) << c.output();
  EXPECT_EQ(count(msgs, "READY=1"), 0u) << "ready while the feed topic cannot be read";
  rd_kafka_mock_topic_set_error(cluster_->handle(), "feed", RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(wait_until([&] {
    sock.receive(&msgs);
    return count(msgs, "READY=1") == 1;
  })) << c.output();
  size_t ready_at = 0;
  while (msgs[ready_at].find("READY=1") == std::string::npos) ++ready_at;
  EXPECT_NE(msgs[ready_at].find("STATUS=stats: consumed=3"), std::string::npos) << msgs[ready_at];
  EXPECT_NE(msgs[ready_at].find("ready=yes"), std::string::npos) << msgs[ready_at];
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(), 0) << c.output();
  sock.receive(&msgs);
  EXPECT_EQ(count(msgs, "STOPPING=1"), 1u);
  EXPECT_EQ(count(msgs, "READY=1"), 1u) << "READY=1 once";
}

// READY=1 is held back while a partition is still replaying: it comes with
// every record applied (issue 21 item 3), not at assignment.
TEST_F(MockTest, ReadyOnlyOnceThePartitionIsReplayed) {
  ASSERT_TRUE(cluster_->create_topic("policy", 1).ok());
  constexpr int kAdds = 20'000;
  std::vector<std::string> records;
  for (int i = 0; i < kAdds; ++i) records.push_back(add("g", "n" + std::to_string(i) + ".test"));
  produce(brokers_, "policy", "g", records);
  NotifySocket sock(tmp("notify.sock"));
  setenv("NOTIFY_SOCKET", tmp("notify.sock").c_str(), 1);
  Child c(kConsumerBin, {brokers_, "policy", "--stats-interval", "0"}, tmp("consumer.out"));
  unsetenv("NOTIFY_SOCKET");
  std::vector<std::string> msgs;
  ASSERT_TRUE(wait_until([&] {
    sock.receive(&msgs);
    return count(msgs, "READY=1") == 1;
  })) << c.output();
  size_t ready_at = 0;
  while (msgs[ready_at].find("READY=1") == std::string::npos) ++ready_at;
  EXPECT_NE(msgs[ready_at].find("STATUS=stats: consumed=" + std::to_string(kAdds) + " "),
            std::string::npos)
      << msgs[ready_at];
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait(), 0) << c.output();
}

TEST(UnitFileTest, SystemdAnalyzeVerifiesIt) {
  if (std::system("command -v systemd-analyze >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no systemd-analyze here";
  // The unit as installed, ExecStart pointing at this build's binary (verify
  // checks that it exists and is executable).
  std::ifstream in(std::string(POLICYSYNC_SOURCE_DIR) + "/packaging/policysync.service");
  std::string unit((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(unit.empty());
  const std::string from = "/usr/bin/kafka_consumer";
  ASSERT_NE(unit.find(from), std::string::npos);
  unit.replace(unit.find(from), from.size(), kConsumerBin);
  const std::string path = ::testing::TempDir() + "/policysync.service";
  std::ofstream(path) << unit;
  const std::string cmd = "systemd-analyze verify '" + path + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[1024];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  const int st = pclose(p);
  // The EnvironmentFile lives in /etc only once the package is installed.
  std::string lines;
  std::istringstream is(out);
  for (std::string l; std::getline(is, l);)
    if (l.find("policysync.conf") == std::string::npos &&
        l.find("/etc/policysync") == std::string::npos)
      lines += l + "\n";
  EXPECT_EQ(WEXITSTATUS(st), 0) << out;
  EXPECT_EQ(lines, "") << out;
}

}  // namespace
}  // namespace policysync
