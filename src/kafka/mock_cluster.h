// librdkafka's in-process mock cluster (rdkafka_mock.h): real TCP listeners
// on 127.0.0.1 that speak the Kafka protocol, with fault injection. The
// embedded broker of `kafka_consumer --demo`, and a test tool. It keeps only
// ~5 MiB per partition: not for benchmarks.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>

#include "policysync/status.h"

namespace policysync::kafka {

class MockCluster {
 public:
  static Status create(int brokers, std::unique_ptr<MockCluster>* out);
  ~MockCluster();
  std::string bootstraps() const;
  Status create_topic(const std::string& topic, int partitions);
  Status broker_down(int32_t id);
  Status broker_up(int32_t id);
  rd_kafka_mock_cluster_t* handle() { return mc_; }

 private:
  MockCluster() = default;
  rd_kafka_t* rk_ = nullptr;  // the handle that owns the cluster
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

}  // namespace policysync::kafka
