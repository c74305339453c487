// policysync::EmbeddedCluster and Publisher (include/policysync/embedded_cluster.h):
// public faces of kafka::MockCluster and kafka::Producer.
#include "policysync/embedded_cluster.h"

#include "kafka/mock_cluster.h"
#include "kafka/producer.h"

namespace policysync {

struct EmbeddedCluster::Impl {
  std::unique_ptr<kafka::MockCluster> mock;
};

Status EmbeddedCluster::create(std::unique_ptr<EmbeddedCluster>* out, int brokers) {
  std::unique_ptr<EmbeddedCluster> c(new EmbeddedCluster());
  c->impl_ = std::make_unique<Impl>();
  Status s = kafka::MockCluster::create(brokers, &c->impl_->mock);
  if (!s.ok()) return s;
  *out = std::move(c);
  return Status();
}

EmbeddedCluster::~EmbeddedCluster() = default;
std::string EmbeddedCluster::bootstraps() const { return impl_->mock->bootstraps(); }
Status EmbeddedCluster::create_topic(const std::string& topic, int partitions) {
  return impl_->mock->create_topic(topic, partitions);
}

struct Publisher::Impl {
  std::unique_ptr<kafka::Producer> producer;
};

Status Publisher::create(const std::string& brokers,
                         const std::vector<std::pair<std::string, std::string>>& properties,
                         std::unique_ptr<Publisher>* out) {
  std::unique_ptr<Publisher> p(new Publisher());
  p->impl_ = std::make_unique<Impl>();
  Status s = kafka::Producer::create(brokers, properties, &p->impl_->producer);
  if (!s.ok()) return s;
  *out = std::move(p);
  return Status();
}

Publisher::~Publisher() = default;

Status Publisher::send(const std::string& topic, const std::string& key, const std::string& value) {
  return impl_->producer->send(topic, key, value);
}

Status Publisher::flush(std::chrono::milliseconds timeout) {
  return impl_->producer->flush(static_cast<int>(timeout.count()));
}

std::string Publisher::last_delivered() const {
  std::string topic;
  int32_t partition;
  int64_t offset;
  if (!impl_->producer->last_delivered(&topic, &partition, &offset)) return "";
  return topic + "/" + std::to_string(partition) + "@" + std::to_string(offset);
}

}  // namespace policysync
