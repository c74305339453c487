// Shared by the store and lookup tests: a store, a parser and a Reader on the
// test thread, with helpers that apply JSON messages and look names up.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"

namespace policysync::testing {

class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(StoreLimits limits = {}) : store_(limits), reader_(store_) {}

  // Parses and applies one message; fails the test on a parse error.
  ApplyResult apply(std::string_view json) {
    Message m;
    Status s = parser_.parse(json.data(), json.size(), &m);
    EXPECT_TRUE(s.ok()) << json << ": " << s.to_string();
    if (!s.ok()) return ApplyResult::kRejected;
    last_ = store_.apply(m);
    reader_.quiescent();  // lets deferred frees run, as a worker would
    return last_.result;
  }

  ApplyResult add(std::string_view group, std::string_view domain, std::string_view action,
                  unsigned category = 0) {
    return apply(R"({"type":"ADD_DOMAIN","group_id":")" + std::string(group) + R"(","domain":")" +
                 std::string(domain) + R"(","action":")" + std::string(action) +
                 R"(","category":)" + std::to_string(category) + "}");
  }
  ApplyResult remove(std::string_view group, std::string_view domain) {
    return apply(R"({"type":"REMOVE_DOMAIN","group_id":")" + std::string(group) +
                 R"(","domain":")" + std::string(domain) + R"("})");
  }
  ApplyResult begin(std::string_view group) {
    return apply(R"({"type":"BEGIN_SYNC","group_id":")" + std::string(group) + R"("})");
  }
  ApplyResult complete(std::string_view group, long count = -1) {
    std::string c = count >= 0 ? R"(,"count":)" + std::to_string(count) : "";
    return apply(R"({"type":"SYNC_COMPLETE","group_id":")" + std::string(group) + "\"" + c + "}");
  }

  Verdict lookup(std::string_view group, std::string_view name) {
    return reader_.lookup(group, name);
  }
  Action action(std::string_view group, std::string_view name) {
    return lookup(group, name).action;
  }

  PolicyStore store_;
  Reader reader_;
  MessageParser parser_;
  ApplyOutcome last_;
};

}  // namespace policysync::testing
