#include "kafka/status_publisher.h"

namespace policysync::kafka {

Status StatusPublisher::create(const std::string& brokers, const Properties& props,
                               const std::string& topic, int interval_s, const Log& log,
                               std::unique_ptr<StatusPublisher>* out) {
  std::unique_ptr<StatusPublisher> sp(new StatusPublisher(topic, log));
  Properties p = props;
  // A record not delivered within a heartbeat is stale anyway: give it up
  // then (librdkafka would retry for 5 minutes), so a missing or unwritable
  // topic is reported within one interval.
  p.emplace_back("message.timeout.ms", std::to_string(std::max(interval_s, 1) * 1000));
  p.emplace_back("linger.ms", "5");
  StatusPublisher* self = sp.get();
  Status s = Producer::create(brokers, p, &sp->producer_, [self](void*, rd_kafka_resp_err_t e) {
    self->result(e == RD_KAFKA_RESP_ERR_NO_ERROR, e ? rd_kafka_err2str(e) : "");
  });
  if (!s.ok()) return s;
  sp->producer_->set_queue_full_wait(0);  // the control loop never waits
  *out = std::move(sp);
  return Status();
}

void StatusPublisher::send(const StatusRecord& r) {
  Status s = producer_->send(topic_, r.instance, encode_status(r));
  if (!s.ok()) result(false, s.detail());
}

void StatusPublisher::flush(int timeout_ms) {
  Status s = producer_->flush(timeout_ms);
  if (!s.ok() && !failing_) result(false, s.detail());
}

void StatusPublisher::result(bool ok, const std::string& why) {
  (ok ? delivered_ : failed_).fetch_add(1, std::memory_order_relaxed);
  if (ok && failing_) log_.info("status topic " + topic_ + ": publishing again");
  if (!ok && !failing_)
    log_.warn("status topic " + topic_ + ": record not delivered (" + why +
              "); policy is still applied, retried at the next record");
  failing_ = !ok;
}

}  // namespace policysync::kafka
