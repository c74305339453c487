#include "kafka/partition_watcher.h"

#include <chrono>

namespace policysync::kafka {

namespace {
// Each blocking request's timeout: also the longest the destructor waits.
constexpr int kRequestTimeoutMs = 1000;
// While a topic is missing, look again soon rather than after a full interval.
constexpr int kRetryMs = 1000;
}  // namespace

PartitionWatcher::PartitionWatcher(rd_kafka_t* rk, std::vector<std::string> topics, int interval_ms,
                                   bool first_watermarks)
    : rk_(rk),
      topics_(std::move(topics)),
      interval_ms_(interval_ms),
      first_watermarks_(first_watermarks) {
  for (const std::string& topic : topics_) {
    handles_.push_back(rd_kafka_topic_new(rk_, topic.c_str(), nullptr));
    // rd_kafka_last_error() is per thread: read it here, not on the watcher's.
    handle_errors_.push_back(handles_.back() ? "" : rd_kafka_err2str(rd_kafka_last_error()));
  }
  thread_ = std::thread([this] { run(); });
}

PartitionWatcher::~PartitionWatcher() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (rd_kafka_topic_t* rkt : handles_)
    if (rkt) rd_kafka_topic_destroy(rkt);
}

bool PartitionWatcher::latest(uint64_t* seen, Round* out) {
  std::lock_guard<std::mutex> g(mu_);
  if (round_.number <= *seen) return false;
  *out = round_;
  *seen = round_.number;
  return true;
}

PartitionWatcher::Round PartitionWatcher::query(bool watermarks) {
  Round r;
  for (size_t i = 0; i < topics_.size(); ++i) {
    const std::string& topic = topics_[i];
    rd_kafka_topic_t* rkt = handles_[i];
    if (rkt == nullptr) {
      r.errors[topic] = handle_errors_[i];
      continue;
    }
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 0, rkt, &md, kRequestTimeoutMs);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
      const rd_kafka_metadata_topic_t& t = md->topics[0];
      if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt == 0) {
        r.errors[topic] = rd_kafka_err2str(t.err ? t.err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);
      } else {
        std::vector<Partition>& parts = r.topics[topic];
        for (int i = 0; i < t.partition_cnt; ++i) {
          Partition p;
          p.id = t.partitions[i].id;
          if (watermarks &&
              rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p.id, &p.lo, &p.hi,
                                               kRequestTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR)
            p.lo = p.hi = -1;
          parts.push_back(p);
        }
      }
    } else {
      r.errors[topic] = rd_kafka_err2str(e ? e : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);
    }
    if (md) rd_kafka_metadata_destroy(md);
  }
  return r;
}

void PartitionWatcher::run() {
  bool first = true;
  uint64_t number = 0;
  for (;;) {
    // Until a round found every topic, the first round's watermarks are
    // still wanted: a snapshot is checked against them.
    Round r = query(first && first_watermarks_);
    const bool complete = r.errors.empty();
    std::unique_lock<std::mutex> g(mu_);
    if (stop_) return;
    // A round that could not reach the broker at all says nothing new: the
    // partitions known so far stay assigned.
    if (!r.topics.empty() || round_.number == 0 || complete) {
      r.number = ++number;
      round_ = std::move(r);
      first = first && !complete;
    }
    cv_.wait_for(g, std::chrono::milliseconds(complete ? interval_ms_ : kRetryMs),
                 [&] { return stop_; });
    if (stop_) return;
  }
}

}  // namespace policysync::kafka
