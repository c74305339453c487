#include "kafka/producer.h"

namespace policysync::kafka {

void Producer::on_dr(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  if (m->err && self->first_error_ == RD_KAFKA_RESP_ERR_NO_ERROR) self->first_error_ = m->err;
  if (!m->err) {
    self->last_topic_ = rd_kafka_topic_name(m->rkt);
    self->last_partition_ = m->partition;
    self->last_offset_ = m->offset;
  }
  if (self->on_delivery_) self->on_delivery_(m->_private, m->err);
}

Status Producer::create(const std::string& brokers, const Properties& props,
                        std::unique_ptr<Producer>* out, DeliveryFn on_delivery) {
  Properties all = {{"bootstrap.servers", brokers},
                    {"enable.idempotence", "true"},
                    {"linger.ms", "5"},
                    {"message.timeout.ms", "30000"}};
  all.insert(all.end(), props.begin(), props.end());
  rd_kafka_conf_t* conf = nullptr;
  Status s = make_conf(all, &conf);
  if (!s.ok()) return s;
  std::unique_ptr<Producer> p(new Producer());
  p->on_delivery_ = std::move(on_delivery);
  rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
  rd_kafka_conf_set_opaque(conf, p.get());
  char err[512];
  p->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!p->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status(Reason::kConfig, "producer", err);
  }
  *out = std::move(p);
  return Status();
}

Producer::~Producer() {
  if (rk_) {
    rd_kafka_flush(rk_, 5000);
    rd_kafka_destroy(rk_);
  }
}

Status Producer::send(const std::string& topic, const std::string& key, const std::string& value,
                      const Headers& headers, void* opaque) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [k, v] : headers)
      rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
  }
  // Back-pressure: serve deliveries until there is room, within
  // queue_full_wait_ms_ (a control loop must not wait on the broker long).
  for (int waited = 0;; waited += 10) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status();  // headers now owned by librdkafka
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
        (queue_full_wait_ms_ < 0 || waited < queue_full_wait_ms_)) {
      rd_kafka_poll(rk_, 10);
      continue;
    }
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    return Status(Reason::kKafka, "produce", topic + ": " + rd_kafka_err2str(err));
  }
}

void Producer::purge(int timeout_ms) {
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  (void)rd_kafka_flush(rk_, timeout_ms);  // serves the purged messages' reports
}

Status Producer::flush(int timeout_ms) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status(Reason::kKafka, "produce", std::string("flush: ") + rd_kafka_err2str(err));
  if (first_error_ != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status(Reason::kKafka, "produce",
                  std::string("delivery failed: ") + rd_kafka_err2str(first_error_));
  return Status();
}

}  // namespace policysync::kafka
