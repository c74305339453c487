// A small librdkafka producer for policy messages (policyctl, the demo, the
// dead-letter copies): idempotent, keyed, delivery confirmed.
//
// Example:
//   std::unique_ptr<Producer> p;
//   Status s = Producer::create("localhost:9092", {}, &p);
//   s = p->send("policy_updates", "enterprise_a", R"({"type":"BEGIN_SYNC",...})");
//   s = p->flush(10000);   // every message delivered, or the first failure
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kafka/kafka_config.h"
#include "policysync/status.h"

namespace policysync::kafka {

class Producer {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  // Called on the thread that calls poll()/flush() for every delivery report.
  using DeliveryFn = std::function<void(void* opaque, rd_kafka_resp_err_t err)>;

  static Status create(const std::string& brokers, const Properties& props,
                       std::unique_ptr<Producer>* out, DeliveryFn on_delivery = nullptr);
  ~Producer();

  // How long send() may wait for room in a full queue: -1 (default) waits
  // as long as it takes (policyctl publishing a big sync); the consumer's
  // dead-letter producer sets a bound, since its caller is a control loop.
  void set_queue_full_wait(int ms) { queue_full_wait_ms_ = ms; }
  // Enqueues one message. `opaque` comes back in the delivery report.
  Status send(const std::string& topic, const std::string& key, const std::string& value,
              const Headers& headers = {}, void* opaque = nullptr);
  // Serves delivery reports.
  void poll(int timeout_ms) { rd_kafka_poll(rk_, timeout_ms); }
  // Waits for every enqueued message; the first delivery failure, if any.
  Status flush(int timeout_ms);
  // Gives up on every message not yet delivered: each gets its delivery
  // report (RD_KAFKA_RESP_ERR__PURGE_*), served here within `timeout_ms`.
  void purge(int timeout_ms);

  rd_kafka_t* handle() { return rk_; }
  // Where the last message delivered so far landed (false: none yet).
  bool last_delivered(std::string* topic, int32_t* partition, int64_t* offset) const {
    if (last_offset_ < 0) return false;
    *topic = last_topic_;
    *partition = last_partition_;
    *offset = last_offset_;
    return true;
  }

 private:
  Producer() = default;
  static void on_dr(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  rd_kafka_t* rk_ = nullptr;
  DeliveryFn on_delivery_;
  rd_kafka_resp_err_t first_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  int queue_full_wait_ms_ = -1;
  std::string last_topic_;
  int32_t last_partition_ = -1;
  int64_t last_offset_ = -1;
};

}  // namespace policysync::kafka
