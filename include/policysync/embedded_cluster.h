// EmbeddedCluster and Publisher: the provisioning side in a box, for demos
// and tests of an embedding application (`kafka_consumer --demo` runs on
// them). EmbeddedCluster is librdkafka's in-process mock cluster: real TCP
// listeners on 127.0.0.1 speaking the Kafka protocol, no broker to install;
// it keeps only ~5 MiB per partition, so it is no benchmark target.
// Publisher is an idempotent producer that confirms every delivery.
//
// Example:
//   std::unique_ptr<policysync::EmbeddedCluster> cluster;
//   if (!policysync::EmbeddedCluster::create(&cluster).ok()) return 1;
//   (void)cluster->create_topic("policy_updates", 1);
//   std::unique_ptr<policysync::Publisher> pm;
//   if (!policysync::Publisher::create(cluster->bootstraps(), {}, &pm).ok()) return 1;
//   (void)pm->send("policy_updates", "g", R"({"type":"BEGIN_SYNC","group_id":"g"})");
//   (void)pm->flush(std::chrono::seconds(10));
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policysync/status.h"

namespace policysync {

class EmbeddedCluster {
 public:
  [[nodiscard]] static Status create(std::unique_ptr<EmbeddedCluster>* out, int brokers = 1);
  ~EmbeddedCluster();
  // "127.0.0.1:PORT,...": the bootstrap.servers of a consumer or publisher.
  std::string bootstraps() const;
  [[nodiscard]] Status create_topic(const std::string& topic, int partitions);

 private:
  EmbeddedCluster() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Publisher {
 public:
  // `properties`: librdkafka producer properties (security settings...).
  [[nodiscard]] static Status create(
      const std::string& brokers,
      const std::vector<std::pair<std::string, std::string>>& properties,
      std::unique_ptr<Publisher>* out);
  ~Publisher();  // waits up to 5 s for what was sent
  // Enqueues one message keyed by `key` (the PM keys group messages by group_id).
  [[nodiscard]] Status send(const std::string& topic, const std::string& key,
                            const std::string& value);
  // Waits until every message sent so far is delivered; the first failure.
  [[nodiscard]] Status flush(std::chrono::milliseconds timeout);
  // Where the last message delivered so far landed: "topic/partition@offset"
  // (after a flush, the last one sent; empty if none was delivered). A PM
  // waits for the fleet to apply a SYNC_COMPLETE by these coordinates
  // (fleet.h).
  std::string last_delivered() const;

 private:
  Publisher() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace policysync
