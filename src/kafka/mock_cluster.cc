#include "kafka/mock_cluster.h"

namespace policysync::kafka {

Status MockCluster::create(int brokers, std::unique_ptr<MockCluster>* out) {
  std::unique_ptr<MockCluster> m(new MockCluster());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  // A producer handle nobody produces with: it only hosts the cluster.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  m->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!m->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status(Reason::kKafka, "mock", err);
  }
  m->mc_ = rd_kafka_mock_cluster_new(m->rk_, brokers);
  if (!m->mc_) return Status(Reason::kKafka, "mock", "rd_kafka_mock_cluster_new failed");
  *out = std::move(m);
  return Status();
}

MockCluster::~MockCluster() {
  if (mc_) rd_kafka_mock_cluster_destroy(mc_);
  if (rk_) rd_kafka_destroy(rk_);
}

std::string MockCluster::bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mc_); }

Status MockCluster::create_topic(const std::string& topic, int partitions) {
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc_, topic.c_str(), partitions, 1);
  return e ? Status(Reason::kKafka, "mock", rd_kafka_err2str(e)) : Status();
}

Status MockCluster::broker_down(int32_t id) {
  rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_down(mc_, id);
  return e ? Status(Reason::kKafka, "mock", rd_kafka_err2str(e)) : Status();
}

Status MockCluster::broker_up(int32_t id) {
  rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_up(mc_, id);
  return e ? Status(Reason::kKafka, "mock", rd_kafka_err2str(e)) : Status();
}

}  // namespace policysync::kafka
