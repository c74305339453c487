// Shared by the mock-cluster tests (consumer_mock_test.cc and the files
// beside it): a fixture owning one mock cluster, message builders, and
// in-process consumers polled from the test thread or a thread of their own.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kafka/mock_cluster.h"
#include "kafka/policy_consumer.h"
#include "kafka_test_util.h"
#include "policysync/consumer.h"
#include "policysync/reader.h"

namespace policysync::testing {

inline const std::string kConsumerBin = KAFKA_CONSUMER_BIN;
inline const std::string POLICYCTL_BIN_PATH = POLICYCTL_BIN;

inline std::string begin(const std::string& g) {
  return R"({"type":"BEGIN_SYNC","group_id":")" + g + R"("})";
}
inline std::string add(const std::string& g, const std::string& d) {
  return R"({"type":"ADD_DOMAIN","group_id":")" + g + R"(","domain":")" + d +
         R"(","action":"blacklist"})";
}
inline std::string complete(const std::string& g, int count) {
  return R"({"type":"SYNC_COMPLETE","group_id":")" + g + R"(","count":)" + std::to_string(count) +
         "}";
}

class MockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kafka::MockCluster::create(1, &cluster_).ok());
    brokers_ = cluster_->bootstraps();
  }
  std::string tmp(const std::string& name) const {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& ch : test)
      if (ch == '/') ch = '_';  // parameterised tests: "Name/0"
    return ::testing::TempDir() + "/" + test + "-" + name;
  }
  // Options for a Consumer in this process reading `topic`, without stats lines.
  ConsumerOptions options(const std::string& topic, const Log& log) const {
    ConsumerOptions o;
    o.brokers = brokers_;
    o.topic = topic;
    o.stats_interval_s = 0;
    o.log = &log;
    return o;
  }
  std::unique_ptr<kafka::MockCluster> cluster_;
  std::string brokers_;
};

// A PolicyConsumer with its own store and log. Polled either from the test
// thread (pump) or, where several must run at once, from a thread of its own
// (start/stop); the test then reads only atomics and lookups until stop().
struct Instance {
  PolicyStore store;
  mutable std::mutex mu;
  std::vector<std::string> lines;  // guarded by mu
  Log log{[this](LogLevel, std::string_view m) {
    std::lock_guard<std::mutex> g(mu);
    lines.emplace_back(m);
  }};
  std::unique_ptr<kafka::PolicyConsumer> consumer;
  std::atomic<bool> stop_flag{false};
  std::thread thread;

  // `shared`: the sharded shape (a group member); otherwise broadcast.
  Instance(const std::string& brokers, const std::string& topic, const std::string& group,
           kafka::Properties props = {}, std::string dlq = "", bool shared = false,
           std::string malicious_topic = "") {
    kafka::ConsumerOptions o;
    o.brokers = brokers;
    o.topic = topic;
    o.malicious_topic = std::move(malicious_topic);
    o.group_id = group;
    o.shared_group = shared;
    o.stats_interval_s = 0;
    o.dlq_topic = std::move(dlq);
    o.properties = std::move(props);
    // The mock coordinator holds every rebalance until the session timeout
    // (less a second) has passed, even after an explicit LeaveGroup; a short
    // one keeps these tests quick. The real broker's handover is tested in
    // tests/kafka_real.
    o.properties.emplace_back("session.timeout.ms", "6000");
    Status s = kafka::PolicyConsumer::create(o, store, log, &consumer);
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  ~Instance() { stop(); }
  void start() {
    thread = std::thread([this] {
      Status s = consumer->run(stop_flag);
      EXPECT_TRUE(s.ok()) << s.to_string();
      consumer->close();
    });
  }
  void stop() {
    stop_flag = true;
    if (thread.joinable()) thread.join();
  }
  uint64_t assigned() const { return consumer->gauges().assigned.load(); }
  std::string dump() const {
    std::lock_guard<std::mutex> g(mu);
    std::string out;
    for (const auto& l : lines) out += "  " + l + "\n";
    return out;
  }
  bool logged(const std::string& needle) const {
    std::lock_guard<std::mutex> g(mu);
    for (const auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

// Polls every instance from this thread until `cond` holds (30 s at most).
inline bool pump(const std::vector<Instance*>& all, const std::function<bool()>& cond,
                 std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    for (Instance* i : all)
      if (i->consumer) {
        const Status s = i->consumer->poll_once(10);
        EXPECT_TRUE(s.ok()) << s.to_string();
      }
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
  return true;
}

inline Action lookup(const PolicyStore& store, const std::string& g, const std::string& d) {
  Reader r(store);
  return r.lookup(g, d).action;
}

}  // namespace policysync::testing
