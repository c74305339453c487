// policysync::StatusReader and find_last_sync (include/policysync/fleet.h).
#include "policysync/fleet.h"

#include <librdkafka/rdkafka.h>

#include <map>
#include <set>

#include "kafka/kafka_config.h"
#include "policysync/message_parser.h"

namespace policysync {

namespace {

using Clock = std::chrono::steady_clock;

// A consumer assigned every partition of `topic` from the beginning, with
// end-of-partition events; no group membership, nothing committed.
Status open_topic(const std::string& brokers, const kafka::Properties& properties,
                  const std::string& topic, rd_kafka_t** out, std::set<int32_t>* partitions) {
  kafka::Properties props = {{"bootstrap.servers", brokers},
                             {"group.id", "policysync-fleet-reader"},
                             {"enable.auto.commit", "false"},
                             {"enable.partition.eof", "true"},
                             {"auto.offset.reset", "earliest"}};
  props.insert(props.end(), properties.begin(), properties.end());
  rd_kafka_conf_t* conf = nullptr;
  Status s = kafka::make_conf(props, &conf);
  if (!s.ok()) return s;
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return Status(Reason::kConfig, "consumer", err);
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err)
    e = md->topics[0].err;
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt == 0)
    e = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return Status(Reason::kKafka, "topic", topic + ": " + rd_kafka_err2str(e));
  }
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    const int32_t p = md->topics[0].partitions[i].id;
    partitions->insert(p);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  e = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e) {
    rd_kafka_destroy(rk);
    return Status(Reason::kKafka, "assign", rd_kafka_err2str(e));
  }
  *out = rk;
  return Status();
}

bool fatal(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR__SSL ||
         e == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED || e == RD_KAFKA_RESP_ERR__FATAL;
}

// Reads records until `deadline`, handing each to fn(msg); tracks which
// partitions reached their end. Returns a fatal error if one comes.
template <typename Fn>
Status read_until(rd_kafka_t* rk, Clock::time_point deadline, std::set<int32_t>* not_at_end,
                  Fn&& fn) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Status();
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, static_cast<int>(left.count()));
    if (!m) return Status();
    Status s;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      not_at_end->erase(m->partition);
    else if (m->err && fatal(m->err))
      s = Status(Reason::kKafka, "consume", rd_kafka_message_errstr(m));
    else if (!m->err)
      fn(m);
    rd_kafka_message_destroy(m);
    if (!s.ok()) return s;
  }
}

}  // namespace

struct StatusReader::Impl {
  rd_kafka_t* rk = nullptr;
  std::set<int32_t> not_at_end;
};

Status StatusReader::create(const std::string& brokers,
                            const std::vector<std::pair<std::string, std::string>>& properties,
                            const std::string& status_topic, std::unique_ptr<StatusReader>* out) {
  std::unique_ptr<StatusReader> r(new StatusReader());
  r->impl_ = std::make_unique<Impl>();
  Status s = open_topic(brokers, properties, status_topic, &r->impl_->rk, &r->impl_->not_at_end);
  if (!s.ok()) return s;
  *out = std::move(r);
  return Status();
}

StatusReader::~StatusReader() {
  if (impl_ && impl_->rk) {
    rd_kafka_consumer_close(impl_->rk);
    rd_kafka_destroy(impl_->rk);
  }
}

Status StatusReader::poll(std::chrono::milliseconds budget, bool* caught_up) {
  Status s =
      read_until(impl_->rk, Clock::now() + budget, &impl_->not_at_end, [&](rd_kafka_message_t* m) {
        const std::string key(static_cast<const char*>(m->key), m->key_len);
        latest_.erase(key);
        unreadable_.erase(key);
        if (m->payload == nullptr) return;  // a tombstone: the instance is gone
        StatusRecord r;
        rd_kafka_timestamp_type_t type;
        const int64_t ts = rd_kafka_message_timestamp(m, &type);
        Status d = decode_status({static_cast<const char*>(m->payload), m->len}, &r);
        if (!d.ok()) {
          unreadable_[key] = Unreadable{d.to_string(), ts};
          return;
        }
        if (type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME) r.log_append_ms = ts;
        latest_[key] = std::move(r);
      });
  *caught_up = impl_->not_at_end.empty();
  return s;
}

Status find_last_sync(const std::string& brokers,
                      const std::vector<std::pair<std::string, std::string>>& properties,
                      const std::string& policy_topic, const std::string& group,
                      std::chrono::milliseconds timeout, TopicPartition* tp, int64_t* offset) {
  rd_kafka_t* rk = nullptr;
  std::set<int32_t> not_at_end;
  Status s = open_topic(brokers, properties, policy_topic, &rk, &not_at_end);
  if (!s.ok()) return s;
  MessageParser parser{ParserLimits{}};
  Message msg;
  // Per partition, its last SYNC_COMPLETE of the group (offset, timestamp).
  std::map<int32_t, std::pair<int64_t, int64_t>> last;
  const auto deadline = Clock::now() + timeout;
  while (s.ok() && !not_at_end.empty() && Clock::now() < deadline)
    s = read_until(rk, std::min(deadline, Clock::now() + std::chrono::milliseconds(200)),
                   &not_at_end, [&](rd_kafka_message_t* m) {
                     if (!parser.parse(m->payload, m->len, &msg).ok() ||
                         msg.type != MessageType::kSyncComplete || msg.group_id != group)
                       return;
                     // Read in offset order: the partition's last so far.
                     last[m->partition] = {m->offset, rd_kafka_message_timestamp(m, nullptr)};
                   });
  const bool complete = not_at_end.empty();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (!s.ok()) return s;
  if (!complete)
    return Status(
        Reason::kKafka, "policy-topic",
        policy_topic + " not read to its end within " + std::to_string(timeout.count()) + " ms");
  if (last.empty())
    return Status(Reason::kMissingField, "group",
                  "no SYNC_COMPLETE of group " + group + " on " + policy_topic);
  // The latest of the partitions' lasts (more than one only when the group's
  // key moved as partitions were added).
  auto best = last.begin();
  for (auto it = last.begin(); it != last.end(); ++it)
    if (it->second.second > best->second.second) best = it;
  tp->topic = policy_topic;
  tp->partition = best->first;
  *offset = best->second.first;
  return Status();
}

}  // namespace policysync
