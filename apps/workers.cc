#include "workers.h"

#include <fstream>
#include <random>

#include "policysync/reader.h"

namespace policysync::apps {

Workers::Workers(const PolicyStore& store, int n, std::vector<Query> queries)
    : queries_(std::move(queries)) {
  for (int t = 0; t < n; ++t) {
    threads_.emplace_back([this, &store, t] {
      Reader reader(store);
      size_t i = static_cast<size_t>(t) * 7919 % queries_.size();
      uint64_t local = 0;
      while (!stop_.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 32; ++k) {
          const Query& q = queries_[i];
          (void)reader.lookup(q.group, q.domain);
          if (++i == queries_.size()) i = 0;
        }
        local += 32;
        if ((local & 1023) == 0) lookups_.fetch_add(1024, std::memory_order_relaxed);
        reader.quiescent();
      }
    });
  }
}

Workers::~Workers() {
  stop_.store(true);
  for (auto& t : threads_) t.join();
}

std::vector<Query> read_queries(const std::string& path, const std::string& group,
                                std::string* error) {
  std::ifstream in(path);
  std::vector<Query> out;
  if (!in) {
    *error = "cannot read " + path;
    return out;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t comma = line.find(',');
    if (comma == std::string::npos)
      out.push_back({group, line});
    else
      out.push_back({line.substr(0, comma), line.substr(comma + 1)});
  }
  if (out.empty()) *error = path + " holds no queries";
  return out;
}

std::vector<Query> synthetic_queries(const std::string& group, size_t n) {
  static const char* kTlds[] = {"com", "net", "org", "de", "io"};
  std::mt19937_64 rng(1);
  std::vector<Query> out;
  for (size_t i = 0; i < n; ++i) {
    std::string d;
    const int labels = 1 + static_cast<int>(rng() % 3);
    for (int l = 0; l < labels; ++l) d += "n" + std::to_string(rng() % 100000) + ".";
    out.push_back({group, d + kTlds[rng() % 5]});
  }
  return out;
}

}  // namespace policysync::apps
