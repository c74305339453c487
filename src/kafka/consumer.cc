// policysync::Consumer (include/policysync/consumer.h): the public face of
// kafka::PolicyConsumer, so that no librdkafka header reaches an embedding
// application.
#include "policysync/consumer.h"

#include "kafka/kafka_config.h"
#include "kafka/policy_consumer.h"

namespace policysync {

struct Consumer::Impl {
  Log default_log;  // stderr, when the caller gives none
  std::unique_ptr<kafka::PolicyConsumer> c;
};

Status Consumer::create(const ConsumerOptions& o, PolicyStore& store,
                        std::unique_ptr<Consumer>* out) {
  if (o.brokers.empty()) return Status(Reason::kConfig, "brokers", "no bootstrap servers given");
  if (o.topic.empty()) return Status(Reason::kConfig, "topic", "no policy topic given");
  if (!o.status_topic.empty() && (o.status_interval_s < 1 || o.status_interval_s > 86400))
    return Status(Reason::kConfig, "status-interval",
                  "the status interval must be 1 to 86400 s (what a status reader accepts)");
  if (o.close_timeout_ms < 0 || o.snapshot_interval_s < 0 || o.stats_interval_s < 0)
    return Status(Reason::kConfig, "options", "negative interval or timeout");
  kafka::ConsumerOptions k;
  k.brokers = o.brokers;
  k.topic = o.topic;
  k.malicious_topic = o.malicious_topic;
  k.group_id = o.group_id;
  k.shared_group = o.shared_group;
  k.instance_id = o.instance_id;
  k.properties = o.properties;
  k.pipeline.skip_invalid = o.skip_invalid;
  k.pipeline.parser.max_message_bytes = o.max_message_bytes;
  k.dlq_topic = o.dlq_topic;
  k.stats_interval_s = o.stats_interval_s;
  k.status_topic = o.status_topic;
  k.instance_name = o.instance_name;
  k.status_interval_s = o.status_interval_s;
  k.state_dir = o.state_dir;
  k.snapshot_interval_s = o.snapshot_interval_s;
  k.close_timeout_ms = o.close_timeout_ms;
  std::unique_ptr<Consumer> c(new Consumer());
  c->impl_ = std::make_unique<Impl>();
  const Log& log = o.log ? *o.log : c->impl_->default_log;
  Status s = kafka::PolicyConsumer::create(k, store, log, &c->impl_->c);
  if (!s.ok()) return s;
  *out = std::move(c);
  return Status();
}

Consumer::~Consumer() = default;  // ~PolicyConsumer closes

Status Consumer::poll(std::chrono::milliseconds budget) { return impl_->c->poll_for(budget); }

Status Consumer::run(const std::atomic<bool>& stop) { return impl_->c->run(stop); }
bool Consumer::ready() const { return impl_->c->ready(); }
void Consumer::close() { impl_->c->close(); }
const PipelineCounters& Consumer::counters() const { return impl_->c->counters(); }
std::string Consumer::metrics_text() const { return impl_->c->metrics_text(); }
std::string Consumer::stats_line() const { return impl_->c->stats_line(); }

ConsumerStatus Consumer::status() const {
  const kafka::ConsumerGauges& g = impl_->c->gauges();
  const StoreGauges& sg = impl_->c->store_gauges();
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  ConsumerStatus s;
  s.ready = impl_->c->ready();
  s.restored = g.restored.load(std::memory_order_relaxed);
  s.assigned_partitions = ld(g.assigned);
  s.groups = ld(sg.groups);
  s.entries = ld(sg.entries);
  s.malicious = ld(sg.malicious);
  s.open_syncs = ld(sg.open_syncs);
  s.commits = ld(g.commits);
  s.commit_failures = ld(g.commit_failures);
  s.snapshots_written = ld(g.snapshots_written);
  s.snapshot_failures = ld(g.snapshot_failures);
  return s;
}

Status parse_property(std::string_view key_value,
                      std::vector<std::pair<std::string, std::string>>* out) {
  return kafka::parse_property(std::string(key_value), out);
}

Status read_property_file(const std::string& path,
                          std::vector<std::pair<std::string, std::string>>* out) {
  return kafka::read_property_file(path, out);
}

}  // namespace policysync
