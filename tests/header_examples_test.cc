// Every public header's example, compiled (and run where it needs no
// broker): a header example that describes an API that does not exist fails
// the build. Each block below is the header's text, with the variables it
// assumes declared around it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "policysync/admin_server.h"
#include "policysync/consumer.h"
#include "policysync/domain_name.h"
#include "policysync/embedded_cluster.h"
#include "policysync/fleet.h"
#include "policysync/fleet_status.h"
#include "policysync/log.h"
#include "policysync/message.h"
#include "policysync/message_parser.h"
#include "policysync/pipeline.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"
#include "policysync/snapshot.h"
#include "policysync/status.h"
#include "policysync/verdict.h"
#include "policysync/watermarks.h"

namespace policysync {
namespace {

bool commit_called = false;
void commit_watermark() { commit_called = true; }
void commit(int64_t) {}
void produce_copy(const std::string&) {}
void drop_packet() {}
void serve_other_modules() {}
void alert(const std::string&, const std::string&) {}

TEST(HeaderExamples, DomainName) {
  // domain_name.h
  policysync::PolicyName n;
  policysync::Status s = policysync::normalize_policy_domain("*.Example.COM.", &n);
  // s.ok(), n.name == "example.com", n.kind == policysync::RuleKind::kWildcard
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(n.name, "example.com");
  EXPECT_EQ(n.kind, policysync::RuleKind::kWildcard);
}

TEST(HeaderExamples, ParserStoreReaderVerdictStatusMessageLog) {
  const std::string json = R"({"type":"ADD_DOMAIN","group_id":"enterprise_a",)"
                           R"("domain":"mail.google.com","action":"blacklist"})";
  const char* payload = json.data();
  const size_t len = json.size();
  const char* data = payload;
  // message_parser.h
  policysync::MessageParser parser;
  policysync::Message msg;
  policysync::Status s = parser.parse(payload, len, &msg);
  if (!s.ok()) { /* count s.reason(); msg.group_id may name the group */
  }
  ASSERT_TRUE(s.ok());
  // status.h
  {
    policysync::Status s = parser.parse(data, len, &msg);
    if (!s.ok()) std::fprintf(stderr, "invalid: %s\n", s.to_string().c_str());
  }
  // policy_store.h
  policysync::PolicyStore store;
  policysync::ApplyOutcome o = store.apply(msg);  // control thread
  if (o.result == policysync::ApplyResult::kSyncCompleted) commit_watermark();
  {
    const std::string_view origin = "policy/0@7";
    if (auto c = store.compile_for(msg)) {
      std::thread([&] { c->run(); }).join();  // or a future polled later
      o = store.apply(msg, origin, std::move(c));
    }
  }
  // message.h
  {
    Message m = msg;  // {"type":"ADD_DOMAIN","group_id":"g","domain":"a.com","action":"allow"}
    if (m.type == MessageType::kAddDomain) (void)store.apply(m);
  }
  // reader.h
  const std::string_view names[] = {"mail.google.com", "example.org"};
  const size_t n = 2;
  policysync::Verdict verdicts[2];
  int rounds = 0;
  auto running = [&] { return rounds++ < 2; };
  policysync::Reader reader(store);
  while (running()) {
    auto g = reader.find_group("enterprise_a");
    reader.lookup_batch(g, names, n, verdicts);  // wait-free
    reader.quiescent();                          // between bursts
  }
  EXPECT_EQ(verdicts[0].action, Action::kBlacklist);
  // verdict.h
  policysync::Verdict v = reader.lookup("enterprise_a", "mail.google.com");
  if (v.action == policysync::Action::kBlacklist) drop_packet();
  EXPECT_EQ(v.action, Action::kBlacklist);
  // log.h
  policysync::Log log;  // stderr
  log.warn("sync aborted: group=g1");
}

TEST(HeaderExamples, WatermarksPipelineSnapshot) {
  // watermarks.h
  Watermarks wm;
  wm.assign({"policy", 0}, 0);
  wm.sync_opened({"policy", 0}, "g1", 10);  // BEGIN_SYNC at offset 10
  wm.consumed({"policy", 0}, 11);
  EXPECT_EQ(wm.safe({"policy", 0}), 10);  // 10, not 12
  // pipeline.h
  PolicyStore store;
  Watermarks watermarks;
  Log log;
  Pipeline pipeline(store, watermarks, PipelineOptions{}, log);
  const TopicPartition tp{"policy", 0};
  const int64_t offset = 0;
  const std::string json = R"({"type":"ADD_GROUP","group_id":"g"})";
  const char* payload = json.data();
  const size_t len = json.size();
  HandleResult r = pipeline.handle(tp, offset, payload, len);
  if (r.copy_to_dlq) produce_copy(r.dlq_reason);  // then pipeline.dlq_done()
  if (r.commit) commit(watermarks.safe(tp));
  // snapshot.h
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/policy.snapshot";
  std::string bytes = encode_snapshot(store, watermarks);  // control thread
  Status s = write_snapshot_file(dir + "/policy.snapshot", bytes);
  ASSERT_TRUE(s.ok());
  PolicyStore fresh_store;
  Watermarks fresh_watermarks;
  std::string in;
  Status rs = read_snapshot_file(path, &in);
  if (rs.ok()) rs = decode_snapshot(in, &fresh_store, &fresh_watermarks);
  EXPECT_TRUE(rs.ok()) << rs.to_string();
  EXPECT_EQ(fresh_store.group_count(), 1u);
}

TEST(HeaderExamples, Refusals) {
  // refusals.h
  const int64_t unix_ms = 1;
  Refusals r;
  r.set_cause("g", "policy/0@6", "limit_exceeded: ...");  // its BEGIN_SYNC refused
  r.refuse("g", "policy/0@9", "aborted", unix_ms);        // at its SYNC_COMPLETE
  EXPECT_EQ(r.list().back().at, "policy/0@6");
  EXPECT_FALSE(r.has_cause("g"));
}

TEST(HeaderExamples, FleetStatusAndFleet) {
  StatusRecord rec;
  rec.instance = "dp-1";
  rec.state = "ready";
  rec.unix_ms = 1000;
  rec.applied = {{{"policy", 0}, 5000}};
  const std::string value = encode_status(rec);
  const int64_t now_unix_ms = 2000;
  bool checked = false;
  // fleet_status.h
  policysync::StatusRecord r;
  if (policysync::decode_status(value, &r).ok()) {
    policysync::SyncReport s = policysync::report_sync(r, {"policy", 0}, 1234, now_unix_ms);
    if (s.state == policysync::SyncState::kNacked) alert(r.instance, s.reason);
    checked = s.state == policysync::SyncState::kSynced;
  }
  EXPECT_TRUE(checked);
  // fleet.h (on the embedded cluster, its status topic empty)
  std::unique_ptr<EmbeddedCluster> cluster;
  ASSERT_TRUE(EmbeddedCluster::create(&cluster).ok());
  ASSERT_TRUE(cluster->create_topic("policy.status", 1).ok());
  const std::string brokers = cluster->bootstraps();
  auto fleet = [&]() -> int {
    std::unique_ptr<policysync::StatusReader> r;
    if (!policysync::StatusReader::create(brokers, {}, "policy.status", &r).ok()) return 2;
    bool caught_up = false;
    while (!caught_up)
      if (!r->poll(std::chrono::milliseconds(100), &caught_up).ok()) return 2;
    for ([[maybe_unused]] const auto& [name, rec] : r->latest()) {
      /* report_sync(rec, tp, offset, now) */
    }
    return 0;
  };
  EXPECT_EQ(fleet(), 0);
}

TEST(HeaderExamples, EmbeddedClusterAndAdminServer) {
  auto embedded = []() -> int {
    // embedded_cluster.h
    std::unique_ptr<policysync::EmbeddedCluster> cluster;
    if (!policysync::EmbeddedCluster::create(&cluster).ok()) return 1;
    (void)cluster->create_topic("policy_updates", 1);
    std::unique_ptr<policysync::Publisher> pm;
    if (!policysync::Publisher::create(cluster->bootstraps(), {}, &pm).ok()) return 1;
    (void)pm->send("policy_updates", "g", R"({"type":"BEGIN_SYNC","group_id":"g"})");
    (void)pm->flush(std::chrono::seconds(10));
    return 0;
  };
  EXPECT_EQ(embedded(), 0);
  // admin_server.h (port 0: any free port, as 9090 may be taken here)
  AdminHandlers handlers;
  PolicyStore store;
  handlers.store = &store;
  Log log;
  std::unique_ptr<AdminServer> http;
  Status s = AdminServer::start("127.0.0.1", 0, handlers, log, &http);
  EXPECT_TRUE(s.ok()) << s.to_string();
}

// consumer.h: compiled, not run (it names a broker that is not here).
[[maybe_unused]] int consumer_example(const std::atomic<bool>& stop) {
  auto running = [&] { return !stop.load(); };
  policysync::PolicyStore store;  // the application owns it
  policysync::ConsumerOptions o;
  o.brokers = "kafka1:9092";
  o.topic = "policy_updates";
  std::unique_ptr<policysync::Consumer> consumer;
  if (!policysync::Consumer::create(o, store, &consumer).ok()) return 1;
  while (running()) {
    (void)consumer->poll(std::chrono::milliseconds(1));  // bounded step
    serve_other_modules();
  }
  consumer->close();  // snapshot, commit, leave
  return 0;
}

}  // namespace
}  // namespace policysync
