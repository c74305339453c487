// StatusPublisher: an instance's status record (SPEC §9, fleet_status.h) on
// the status topic, through an idempotent producer of its own. It never
// blocks its caller, the control loop: a record is queued (a full queue
// drops it, counted) and its delivery report served by poll(); a failure is
// logged once, and once more when publishing works again, and counted.
// Publishing never changes what is applied.
//
// Example (PolicyConsumer's control loop):
//   std::unique_ptr<StatusPublisher> sp;
//   Status s = StatusPublisher::create(brokers, props, "policy.status", log, &sp);
//   if (s.ok()) sp->send(record);       // then sp->poll() in each loop turn
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "kafka/kafka_config.h"
#include "kafka/producer.h"
#include "policysync/fleet_status.h"
#include "policysync/log.h"

namespace policysync::kafka {

class StatusPublisher {
 public:
  // `props`: the operator's producer properties (security settings).
  static Status create(const std::string& brokers, const Properties& props,
                       const std::string& topic, int interval_s, const Log& log,
                       std::unique_ptr<StatusPublisher>* out);

  // Control thread, non-blocking: queues `r`, keyed by its instance.
  void send(const StatusRecord& r);
  // Control thread: serves delivery reports.
  void poll() { producer_->poll(0); }
  // Control thread (close): waits up to `timeout_ms` for what was sent.
  void flush(int timeout_ms);
  // Control thread (close): drops what was not delivered, so that the
  // producer's destruction does not wait for an unreachable broker.
  void purge(int timeout_ms) { producer_->purge(timeout_ms); }

  // Any thread: records delivered / not delivered (refused, timed out, dropped).
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  StatusPublisher(std::string topic, const Log& log) : topic_(std::move(topic)), log_(log) {}
  void result(bool ok, const std::string& why);

  std::string topic_;
  const Log& log_;
  bool failing_ = false;  // the last outcome was a failure (logged once)
  // Relaxed: statistics read by metrics; nothing is published through them.
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
  // Last: destroyed first, so that the delivery reports its destructor
  // serves still find the members above.
  std::unique_ptr<Producer> producer_;
};

}  // namespace policysync::kafka
