// The smallest data plane: one control thread applies a sync, two workers
// look names up in a loop, reporting quiescent states between bursts.
// Build: part of the CMake build (examples/). Run: ./minimal_worker
#include <policysync/message_parser.h>
#include <policysync/policy_store.h>
#include <policysync/reader.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

int main() {
  policysync::PolicyStore store;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> blocked{0};

  auto worker = [&] {
    policysync::Reader reader(store);  // registers this thread with RCU
    const std::string_view burst[] = {"ads.tracker.example", "www.example.org", "Example.ORG."};
    policysync::Verdict v[3];
    while (!stop.load(std::memory_order_relaxed)) {
      reader.lookup_batch(reader.find_group("enterprise_a"), burst, 3, v);
      for (const auto& x : v)
        if (x.action == policysync::Action::kBlacklist)
          blocked.fetch_add(1, std::memory_order_relaxed);
      reader.quiescent();  // between bursts: lets the writer reclaim old tables
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) workers.emplace_back(worker);

  const char* msgs[] = {
      R"({"type":"BEGIN_SYNC","group_id":"enterprise_a"})",
      R"({"type":"ADD_DOMAIN","group_id":"enterprise_a","domain":"tracker.example","action":"blacklist","category":2})",
      R"({"type":"ADD_DOMAIN","group_id":"enterprise_a","domain":"example.org","action":"allow"})",
      R"({"type":"SYNC_COMPLETE","group_id":"enterprise_a","count":2})",
  };
  policysync::MessageParser parser;
  policysync::Message m;
  for (const char* raw : msgs) {
    policysync::Status s = parser.parse(raw, std::strlen(raw), &m);
    if (!s.ok()) {
      std::fprintf(stderr, "invalid message: %s\n", s.to_string().c_str());
      return 1;
    }
    policysync::ApplyOutcome o = store.apply(m);
    std::printf("%-13s -> %s\n", std::string(policysync::message_type_name(m.type)).c_str(),
                std::string(policysync::apply_result_name(o.result)).c_str());
  }
  while (blocked.load() < 1000) std::this_thread::yield();
  stop = true;
  for (auto& t : workers) t.join();
  std::printf("workers saw ads.tracker.example blocked %llu+ times\n",
              static_cast<unsigned long long>(blocked.load()));
  return 0;
}
