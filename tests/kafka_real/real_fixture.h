// Shared by the real-broker tests (integration_test.cc, fleet_test.cc): the
// consumer program's arguments, message builders, kcat as a producer, and
// the consumer's HTTP endpoints.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "../kafka/kafka_test_util.h"
#include "broker_env.h"

namespace policysync::testing {

inline const std::string kBin = KAFKA_CONSUMER_BIN;

inline std::string tmp(const std::string& name) {
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : test)
    if (c == '/') c = '_';  // parameterised tests: "Name/0"
  return ::testing::TempDir() + "/" + test + "-" + name;
}

// Produces "key|json" lines with kcat, a client nobody here wrote.
inline void kcat_produce(const std::string& topic,
                         const std::vector<std::pair<std::string, std::string>>& msgs,
                         const std::string& extra = "") {
  const std::string file = tmp("kcat.in");
  {
    std::ofstream out(file);
    for (const auto& [k, v] : msgs) out << k << "|" << v << "\n";
  }
  int st = 0;
  const std::string out =
      sh("kcat -P -b " + Broker::get().bootstrap + " -t " + topic +
             " -K '|' -X enable.idempotence=true " + extra + " -l " + file + " 2>&1",
         &st);
  ASSERT_EQ(st, 0) << out;
}

inline std::string begin(const std::string& g) {
  return R"({"type":"BEGIN_SYNC","group_id":")" + g + R"("})";
}
inline std::string add(const std::string& g, const std::string& d,
                       const std::string& action = "blacklist", int category = 0) {
  return R"({"type":"ADD_DOMAIN","group_id":")" + g + R"(","domain":")" + d + R"(","action":")" +
         action + R"(","category":)" + std::to_string(category) + "}";
}
inline std::string complete(const std::string& g, int count) {
  return R"({"type":"SYNC_COMPLETE","group_id":")" + g + R"(","count":)" + std::to_string(count) +
         "}";
}

inline bool ready(int port) {
  int st = 0;
  http_get(port, "/readyz", &st);
  return st == 200;
}

inline long metric(int port, const std::string& name) {
  const std::string body = http_get(port, "/metrics");
  const size_t at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stol(body.substr(at + name.size() + 2));
}

inline std::vector<std::string> consumer_args(const std::string& topic, const std::string& group,
                                              int port, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {
      Broker::get().bootstrap, topic, "--group", group, "--metrics-port", std::to_string(port),
      "--stats-interval",      "0"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace policysync::testing
