// Simulated data-plane workers for kafka_consumer (--workers) and the demo:
// threads that hold a Reader and look names up in bursts of 32.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "policysync/policy_store.h"

namespace policysync::apps {

struct Query {
  std::string group;
  std::string domain;
};

class Workers {
 public:
  // Starts `n` threads cycling through `queries` (not empty).
  Workers(const PolicyStore& store, int n, std::vector<Query> queries);
  ~Workers();  // stops and joins
  uint64_t lookups() const { return lookups_.load(std::memory_order_relaxed); }

 private:
  std::vector<Query> queries_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> lookups_{0};
  std::vector<std::thread> threads_;
};

// Queries from a file of "domain" or "group,domain" lines; `group` for the
// former. Empty on a read error (the message says why).
std::vector<Query> read_queries(const std::string& path, const std::string& group,
                                std::string* error);
// `n` random names of 2-4 labels in `group`.
std::vector<Query> synthetic_queries(const std::string& group, size_t n);

}  // namespace policysync::apps
