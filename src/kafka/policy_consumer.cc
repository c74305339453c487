#include "kafka/policy_consumer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <condition_variable>
#include <cstring>
#include <filesystem>

#include "policysync/snapshot.h"

namespace policysync::kafka {

namespace {

using Clock = std::chrono::steady_clock;

// Kafka errors that no retry will fix: the operator must change something.
bool is_fatal_config_error(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL ||
         err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
}

// Properties a producer does not take (the dead-letter producer gets the rest
// of the operator's properties: security settings above all).
bool consumer_only(const std::string& key) {
  static const char* kKeys[] = {"group.id",
                                "group.instance.id",
                                "auto.offset.reset",
                                "enable.auto.commit",
                                "enable.auto.offset.store",
                                "partition.assignment.strategy",
                                "session.timeout.ms",
                                "heartbeat.interval.ms",
                                "max.poll.interval.ms",
                                "enable.partition.eof",
                                "isolation.level",
                                "auto.commit.interval.ms",
                                "group.protocol.type",
                                "fetch.wait.max.ms",
                                "fetch.min.bytes",
                                "fetch.max.bytes",
                                "max.partition.fetch.bytes",
                                "queued.min.messages",
                                "queued.max.messages.kbytes",
                                "check.crcs"};
  for (const char* k : kKeys)
    if (key == k) return true;
  return false;
}

std::string tp_name(const TopicPartition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition);
}

}  // namespace

Status prepare_state_dir(const std::string& dir) {
  // Created if missing (0700: the policy is nobody else's business), then
  // proven writable, so that a bad --state-dir fails at start, not silently
  // at the first snapshot.
  auto fail = [&](const std::string& why) {
    return Status(Reason::kConfig, "state-dir", "--state-dir " + dir + ": " + why);
  };
  std::error_code ec;
  const bool created = std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ec.message());
  if (created) std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (!std::filesystem::is_directory(dir, ec)) return fail("not a directory");
  const std::string probe = dir + "/.policysync-write-test";
  const int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(std::string("not writable: ") + std::strerror(errno));
  close(fd);
  unlink(probe.c_str());
  return Status();
}

std::string host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "unknown");
  return host;
}

std::string default_group_id() { return "policysync-" + host_name(); }

PolicyConsumer::PolicyConsumer(const ConsumerOptions& o, PolicyStore& store, const Log& log)
    : opt_(o), store_(store), log_(log) {}

Status PolicyConsumer::create(const ConsumerOptions& o, PolicyStore& store, const Log& log,
                              std::unique_ptr<PolicyConsumer>* out) {
  if (!o.state_dir.empty()) {
    Status s = prepare_state_dir(o.state_dir);
    if (!s.ok()) return s;
  }
  std::unique_ptr<PolicyConsumer> c(new PolicyConsumer(o, store, log));
  if (c->opt_.group_id.empty()) c->opt_.group_id = default_group_id();
  PipelineOptions po = o.pipeline;
  po.dead_letter = !o.dlq_topic.empty();
  po.compile_off_thread = true;  // SPEC §5.1: compile_settled() holds records meanwhile
  c->pipeline_ = std::make_unique<Pipeline>(store, c->wm_, po, log);
  c->pipeline_->set_live(false);  // until ready: what is read first is history

  // The seed's settings (SPEC §5.1), then the operator's, which win.
  Properties props = {
      {"bootstrap.servers", o.brokers},
      {"group.id", c->opt_.group_id},
      {"auto.offset.reset", "earliest"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},  // readiness: a partition is caught up at EOF
      // A replay is fetch-bound with librdkafka's defaults: its fetcher fills
      // the queue to queued.min.messages (100,000) faster than records are
      // applied, then backs off fetch.queue.backoff.ms (1 s) each time, and
      // the control loop waits. 1M records from Kafka 4.4.0 on loopback: ready
      // after 7.1 s with the defaults, 1.45 s with these (kcat reads them in
      // 1.0 s). The queue stays bounded by queued.max.messages.kbytes (64 MiB).
      {"queued.min.messages", "1000000"},
      {"fetch.queue.backoff.ms", "1"},
  };
  if (!o.instance_id.empty()) {
    if (!o.shared_group)
      return Status(Reason::kConfig, "instance-id",
                    "static membership (--instance-id) needs the sharded shape (--shared-group)");
    props.emplace_back("group.instance.id", o.instance_id);
  }
  props.insert(props.end(), o.properties.begin(), o.properties.end());
  // Partitions added to a topic later are picked up within this interval
  // (the broadcast shape's metadata refresh; librdkafka's own default).
  int refresh_ms = 300000;
  for (const auto& [k, v] : props)
    if (k == "topic.metadata.refresh.interval.ms") refresh_ms = std::max(100, std::atoi(v.c_str()));
  rd_kafka_conf_t* conf = nullptr;
  Status s = make_conf(props, &conf);
  if (!s.ok()) return s;
  rd_kafka_conf_set_opaque(conf, c.get());
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);  // always registered (seed)
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
  char err[512];
  c->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!c->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status(Reason::kConfig, "consumer", err);
  }
  rd_kafka_poll_set_consumer(c->rk_);
  // A failure from here on: the handle goes, nothing is committed or written.
  auto abandon = [&](Status why) {
    rd_kafka_destroy_flags(c->rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    c->rk_ = nullptr;
    return why;
  };

  if (!o.dlq_topic.empty()) {
    Properties dp;
    for (const auto& [k, v] : o.properties)
      if (!consumer_only(k)) dp.emplace_back(k, v);
    PolicyConsumer* self = c.get();
    s = Producer::create(o.brokers, dp, &c->dlq_, [self](void* opaque, rd_kafka_resp_err_t e) {
      auto* where = static_cast<std::pair<TopicPartition, int64_t>*>(opaque);
      if (e) {
        self->log_.error("dead-letter copy of " + coordinates(where->first, where->second) +
                         " failed: " + rd_kafka_err2str(e) + "; its offset is released anyway");
      }
      self->pipeline_->dlq_done(where->first, where->second, e == RD_KAFKA_RESP_ERR_NO_ERROR);
      self->dirty_ = true;
      delete where;
    });
    if (!s.ok()) return abandon(s);
    c->dlq_->set_queue_full_wait(100);  // the control loop never waits longer
  }

  if (!o.status_topic.empty()) {
    // The record's key. Broadcast: group_id, which names one instance's
    // offsets. Sharded: every member shares group_id, so a member is
    // group_id/group.instance.id, else group_id@host (two members on one
    // host then need --instance-name).
    c->status_instance_ = !o.instance_name.empty() ? o.instance_name
                          : !o.shared_group        ? c->opt_.group_id
                          : !o.instance_id.empty() ? c->opt_.group_id + "/" + o.instance_id
                                                   : c->opt_.group_id + "@" + host_name();
    log.info("status: publishing to " + o.status_topic + " as " + c->status_instance_);
    Properties sp;
    for (const auto& [k, v] : o.properties)
      if (!consumer_only(k)) sp.emplace_back(k, v);
    s = StatusPublisher::create(o.brokers, sp, o.status_topic, o.status_interval_s, log,
                                &c->status_);
    if (!s.ok()) return abandon(s);
  }

  if (!o.state_dir.empty()) c->restore_snapshot();

  std::vector<std::string> topics = {o.topic};
  if (!o.malicious_topic.empty()) topics.push_back(o.malicious_topic);
  if (o.shared_group) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(2);
    for (const std::string& t : topics)
      rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) return abandon(Status(Reason::kKafka, "subscribe", rd_kafka_err2str(e)));
  } else {
    // Broadcast (SPEC §5.6): assign every partition, no group membership, so
    // a restart never waits out a dead predecessor's session.
    c->watcher_ =
        std::make_unique<PartitionWatcher>(c->rk_, topics, refresh_ms, c->gauges_.restored.load());
  }
  log.info("consumer started: brokers=" + o.brokers + " topic=" + o.topic +
           (o.malicious_topic.empty() ? "" : " malicious_topic=" + o.malicious_topic) +
           " group.id=" + c->opt_.group_id +
           (o.shared_group
                ? " shape=sharded" + (o.instance_id.empty() ? std::string()
                                                            : " group.instance.id=" + o.instance_id)
                : " shape=broadcast") +
           " librdkafka=" + rd_kafka_version_str());
  c->last_commit_ = c->last_stats_ = c->last_gauges_ = c->last_snapshot_ = Clock::now();
  *out = std::move(c);
  return Status();
}

PolicyConsumer::~PolicyConsumer() { close(); }

void PolicyConsumer::error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<PolicyConsumer*>(opaque);
  const auto e = static_cast<rd_kafka_resp_err_t>(err);
  if (e == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
    self->fatal_ =
        Status(Reason::kKafka, "fatal", std::string(rd_kafka_err2name(orig)) + ": " + buf);
    return;
  }
  if (is_fatal_config_error(e)) {
    if (self->fatal_.ok())
      self->fatal_ = Status(Reason::kKafka, rd_kafka_err2name(e), reason ? reason : "");
    return;
  }
  // Transient (broker down, connection refused, all brokers down): librdkafka
  // retries; workers keep answering from the current tables.
  self->log_.warn(std::string("kafka: ") + rd_kafka_err2name(e) + ": " + (reason ? reason : ""));
}

void PolicyConsumer::rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<PolicyConsumer*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  self->gauges_.rebalances.fetch_add(1, std::memory_order_relaxed);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->on_assign(parts);
    if (cooperative)
      self->log_error("incremental_assign", rd_kafka_incremental_assign(rk, parts));
    else
      rd_kafka_assign(rk, parts);
  } else {
    // Revoked (or an error): commit what is safe, drop open syncs, keep tables.
    self->on_revoke(parts,
                    err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk));
    if (cooperative)
      self->log_error("incremental_unassign", rd_kafka_incremental_unassign(rk, parts));
    else
      rd_kafka_assign(rk, nullptr);
  }
  if (!self->closing_) self->update_readiness();  // no "ready" news while shutting down
}

void PolicyConsumer::log_error(const char* what, rd_kafka_error_t* e) {
  if (e == nullptr) return;
  log_.error(std::string(what) + ": " + rd_kafka_error_string(e));
  rd_kafka_error_destroy(e);
}

void PolicyConsumer::on_assign(rd_kafka_topic_partition_list_t* parts) {
  std::string names;
  for (int i = 0; i < parts->cnt; ++i) {
    TopicPartition tp{parts->elems[i].topic, parts->elems[i].partition};
    // SPEC §5.3: a snapshot's offset, else the beginning (full replay); never
    // the committed offset, which would resume with empty tables.
    const int64_t start = start_offset(tp, nullptr);
    parts->elems[i].offset = start;
    if (start >= 0) {
      wm_.start(tp, start);
      resume_at_[tp] = start;
    }
    caught_up_[tp] = false;
    names += (names.empty() ? "" : " ") + tp_name(tp) +
             (start >= 0 ? "@" + std::to_string(start) + " (snapshot)" : " (from the beginning)");
  }
  gauges_.assigned.store(caught_up_.size(), std::memory_order_relaxed);
  log_.info("assigned " + std::to_string(parts->cnt) + " partitions: " + names);
}

bool PolicyConsumer::snapshot_matches(const PartitionWatcher::Round& round) {
  for (const TopicPartition& tp : wm_.partitions()) {
    auto t = round.topics.find(tp.topic);
    if (t == round.topics.end()) continue;  // a topic no longer read: ignored
    const PartitionWatcher::Partition* p = nullptr;
    for (const auto& x : t->second)
      if (x.id == tp.partition) p = &x;
    std::string why;
    const int64_t next = wm_.next_offset(tp);
    if (p == nullptr)
      why = tp_name(tp) + " no longer exists";
    else if (p->hi >= 0 && next > p->hi)
      why = "its offset " + std::to_string(next) + " of " + tp_name(tp) +
            " is above the partition's end " + std::to_string(p->hi) +
            " (topic deleted and recreated?)";
    if (why.empty()) continue;
    // Not this topic's state: resuming would apply new messages on top of it.
    log_.warn("snapshot discarded, full replay instead: " + why);
    store_.clear();
    wm_ = Watermarks();
    gauges_.restored.store(false, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void PolicyConsumer::on_partitions(const PartitionWatcher::Round& round) {
  for (const auto& [topic, why] : round.errors) {
    if (topic_errors_[topic] == why) continue;
    topic_errors_[topic] = why;
    log_.warn("topic " + topic + " has no partitions to read: " + why + "; looking again");
  }
  for (const auto& [topic, parts] : round.topics) topic_errors_.erase(topic);
  // A restored snapshot is checked against the first round that found every
  // topic it names; until then nothing is assigned. Without one, whatever
  // exists is read at once (a malicious topic created later joins then).
  if (first_round_) {
    if (gauges_.restored.load(std::memory_order_relaxed)) {
      for (const TopicPartition& tp : wm_.partitions())
        if (round.errors.count(tp.topic)) return;
      (void)snapshot_matches(round);
    }
    first_round_ = false;
  }
  std::vector<TopicPartition> added;
  for (const auto& [topic, parts] : round.topics)
    for (const auto& p : parts) {
      TopicPartition tp{topic, p.id};
      if (!caught_up_.count(tp)) added.push_back(tp);
    }
  if (added.empty()) return;
  // rd_kafka_assign() takes the whole assignment: partitions already read
  // continue at their next offset.
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(caught_up_.size() + added.size()));
  for (const auto& [tp, done] : caught_up_) {
    const int64_t next = wm_.next_offset(tp);
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset =
        next >= 0 ? next : start_offset(tp, &round);
  }
  std::string names;
  for (const TopicPartition& tp : added) {
    const int64_t start = start_offset(tp, &round);
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = start;
    if (start >= 0) {
      wm_.start(tp, start);
      resume_at_[tp] = start;
    }
    caught_up_[tp] = false;
    names += (names.empty() ? "" : " ") + tp_name(tp) +
             (start >= 0 ? "@" + std::to_string(start) + " (snapshot)" : " (from the beginning)");
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e) {
    log_.error(std::string("assign: ") + rd_kafka_err2str(e));
    for (const TopicPartition& tp : added) caught_up_.erase(tp);
    return;
  }
  gauges_.assigned.store(caught_up_.size(), std::memory_order_relaxed);
  log_.info("assigned " + std::to_string(added.size()) + " partitions: " + names);
  update_readiness();
}

void PolicyConsumer::on_revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
  std::vector<TopicPartition> tps;
  for (int i = 0; i < parts->cnt; ++i)
    tps.push_back(TopicPartition{parts->elems[i].topic, parts->elems[i].partition});
  // Before the next owner starts (SPEC §5.4); bounded, so that a rebalance
  // with the coordinator gone cannot hold the control loop.
  // At close the watermarks were just committed: not twice.
  if (!lost && !closing_) (void)commit_bounded(tps, 2000);
  std::string names;
  for (const TopicPartition& tp : tps) {
    pipeline_->revoke(tp);
    caught_up_.erase(tp);
    requested_.erase(tp);
    resume_at_.erase(tp);
    names += (names.empty() ? "" : " ") + tp_name(tp);
  }
  gauges_.assigned.store(caught_up_.size(), std::memory_order_relaxed);
  log_.info(std::string(lost ? "lost " : "revoked ") + std::to_string(tps.size()) +
            " partitions: " + names + "; their open syncs discarded, active tables kept");
}

void PolicyConsumer::update_readiness() {
  // Ready (SPEC §5.5): every partition this instance owns, of every topic,
  // caught up, and at least one owned. Broadcast shape: it owns every
  // partition there is, so every topic must also have been found (a feed
  // topic that does not exist yet holds readiness back). Sharded shape: the
  // group decides what it owns; a member may own no partition of a topic
  // (issue 18 item 4). A member that owns nothing at all (an empty
  // assignment: more members than partitions, or an eager rebalance's gap)
  // holds no policy and is not ready.
  bool ready = !caught_up_.empty(), policy_topic = false,
       malicious_topic = opt_.malicious_topic.empty();
  for (const auto& [tp, done] : caught_up_) {
    ready = ready && done;
    policy_topic = policy_topic || tp.topic == opt_.topic;
    malicious_topic = malicious_topic || tp.topic == opt_.malicious_topic;
  }
  if (!opt_.shared_group) ready = ready && policy_topic && malicious_topic;
  // Exact gauges at the moment readiness turns true (not up to a second old).
  if (ready && !gauges_.ready.load(std::memory_order_relaxed)) update_gauges();
  const bool was = gauges_.ready.exchange(ready, std::memory_order_acq_rel);
  pipeline_->set_live(ready);  // syncs replayed while catching up are no convergence
  if (ready && !was && !ever_ready_) {
    ever_ready_ = true;
    log_.info("ready: " + std::to_string(caught_up_.size()) + " partitions caught up");
  } else if (ready && !was) {
    log_.info("ready again: " + std::to_string(caught_up_.size()) + " partitions caught up");
  } else if (!ready && was) {
    log_.info("not ready: catching up on newly assigned partitions");
  }
}

void PolicyConsumer::handle(rd_kafka_message_t* m) {
  // Nothing is applied while a sync's patterns compile (compile_settled).
  assert(!compile_job_.valid());
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      TopicPartition tp{rd_kafka_topic_name(m->rkt), m->partition};
      if (!resume_at_.empty() && reset_below_snapshot(tp, m->offset)) return;
      // An empty partition read to its end: its watermark is that end, so it
      // is committed too and Kafka's consumer-groups tool lists it (in the
      // broadcast shape the tool shows committed partitions only).
      if (wm_.next_offset(tp) < 0 && m->offset >= 0 && caught_up_.count(tp)) {
        wm_.assign(tp, m->offset);
        dirty_ = true;
      }
      auto it = caught_up_.find(tp);
      if (it != caught_up_.end() && !it->second) {
        it->second = true;
        update_readiness();
      }
      return;
    }
    if (is_fatal_config_error(m->err)) {
      if (fatal_.ok())
        fatal_ = Status(Reason::kKafka, rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
      return;
    }
    log_.warn(std::string("kafka: ") + rd_kafka_err2name(m->err) + ": " +
              rd_kafka_message_errstr(m));
    return;
  }
  if (m->rkt != last_rkt_ || m->partition != last_partition_) {
    last_rkt_ = m->rkt;
    last_partition_ = m->partition;
    last_tp_ = TopicPartition{rd_kafka_topic_name(m->rkt), m->partition};
  }
  if (!resume_at_.empty() && reset_below_snapshot(last_tp_, m->offset)) return;
  // CreateTime or LogAppendTime, whichever the topic keeps (SPEC §9's
  // convergence is measured from it); -1 when the record has none.
  rd_kafka_timestamp_type_t ts_type;
  const int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
  HandleResult r = pipeline_->handle(last_tp_, m->offset, m->payload, m->len,
                                     ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts);
  const std::string_view payload(static_cast<const char*>(m->payload), m->len);
  const std::string_view key =
      m->key ? std::string_view(static_cast<const char*>(m->key), m->key_len) : std::string_view();
  if (r.compile) {
    // Its pattern rules compile on a thread of their own (SPEC §5.1: a large
    // set takes seconds); until they are, no record is applied
    // (compile_settled), so the store holds still, and poll() keeps its
    // budget.
    deferred_ = Deferred{last_tp_, m->offset, std::string(payload), std::string(key)};
    compile_job_ = std::async(std::launch::async, [c = std::move(r.compile)]() mutable {
      c->run();
      return std::move(c);
    });
    return;
  }
  after_handle(r, last_tp_, m->offset, payload, key);
}

void PolicyConsumer::after_handle(const HandleResult& r, const TopicPartition& tp, int64_t offset,
                                  std::string_view payload, std::string_view key) {
  dirty_ = true;
  if (r.copy_to_dlq && dlq_) {
    auto* where = new std::pair<TopicPartition, int64_t>(tp, offset);
    Status s = dlq_->send(opt_.dlq_topic, std::string(key), std::string(payload),
                          {{"policysync-reason", r.dlq_reason},
                           {"policysync-source-topic", tp.topic},
                           {"policysync-source-partition", std::to_string(tp.partition)},
                           {"policysync-source-offset", std::to_string(offset)}},
                          where);
    if (!s.ok()) {
      log_.error("dead-letter copy of " + coordinates(tp, offset) + ": " + s.to_string());
      pipeline_->dlq_done(tp, offset, false);
      delete where;
    }
  }
  if (r.commit) snapshot_due_ = true;
  unsnapshotted_ = true;
  if (r.commit) {
    // SPEC §5.2: commit at SYNC_COMPLETE, synchronously. While replaying a
    // backlog (not ready yet) at most every 200 ms: a restart replays from the
    // beginning anyway (§5.3), so those commits only serve monitoring, and one
    // round trip per sync halved replay speed over 1,000 groups.
    if (ready() || Clock::now() - last_commit_ >= std::chrono::milliseconds(200))
      commit(assigned_partitions());
  }
}

bool PolicyConsumer::compile_settled(Clock::time_point deadline) {
  if (!compile_job_.valid()) return true;
  if (deadline == Clock::time_point::max())
    compile_job_.wait();
  else if (compile_job_.wait_until(deadline) != std::future_status::ready)
    return false;
  HandleResult r = pipeline_->finish_compile(deferred_.tp, deferred_.offset, compile_job_.get());
  after_handle(r, deferred_.tp, deferred_.offset, deferred_.payload, deferred_.key);
  deferred_ = Deferred();
  return true;
}

rd_kafka_topic_partition_list_t* PolicyConsumer::commit_list(
    const std::vector<TopicPartition>& tps) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(tps.size()));
  for (const TopicPartition& tp : tps) {
    const int64_t safe = wm_.safe(tp);
    auto it = requested_.find(tp);
    if (safe < 0 || (it != requested_.end() && it->second == safe)) continue;
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = safe;
    requested_[tp] = safe;
  }
  last_commit_ = Clock::now();
  dirty_ = false;
  return list;
}

void PolicyConsumer::commit(const std::vector<TopicPartition>& tps) {
  rd_kafka_topic_partition_list_t* list = commit_list(tps);
  if (list->cnt > 0) {
    // async = 1: the result arrives through commit_cb on a later poll. The
    // control loop never blocks on the broker (a synchronous commit had no
    // timeout: with the coordinator gone it never returned).
    const rd_kafka_resp_err_t e = rd_kafka_commit(rk_, list, 1);
    if (e) commit_done(e, list);
  }
  rd_kafka_topic_partition_list_destroy(list);
}

bool PolicyConsumer::commit_bounded(const std::vector<TopicPartition>& tps, int timeout_ms) {
  rd_kafka_topic_partition_list_t* list = commit_list(tps);
  if (list->cnt == 0) {
    rd_kafka_topic_partition_list_destroy(list);
    return true;
  }
  // The result goes to a queue of its own, polled here: polling the consumer
  // queue instead (from a rebalance callback, too) would dispatch records.
  struct Wait {
    PolicyConsumer* self;
    bool done = false;
  } wait{this};
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
  const rd_kafka_resp_err_t e = rd_kafka_commit_queue(
      rk_, list, q,
      [](rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
         void* opaque) {
        auto* w = static_cast<Wait*>(opaque);
        w->self->commit_done(err, offsets);
        w->done = true;
      },
      &wait);
  if (e) {
    commit_done(e, list);
  } else {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!wait.done && Clock::now() < deadline) rd_kafka_queue_poll_callback(q, 50);
  }
  // A result arriving later finds its queue gone: librdkafka drops it without
  // a callback, so `wait` is never touched after this returns.
  rd_kafka_queue_destroy(q);
  bool ok = e == RD_KAFKA_RESP_ERR_NO_ERROR && wait.done && last_commit_ok_;
  if (!e && !wait.done) {
    gauges_.commit_failures.fetch_add(1, std::memory_order_relaxed);
    log_.warn("commit not confirmed within " + std::to_string(timeout_ms) + " ms; giving up on it");
    for (int i = 0; i < list->cnt; ++i)
      requested_.erase(TopicPartition{list->elems[i].topic, list->elems[i].partition});
    ok = false;
  }
  rd_kafka_topic_partition_list_destroy(list);
  return ok;
}

void PolicyConsumer::commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  static_cast<PolicyConsumer*>(opaque)->commit_done(err, offsets);
}

void PolicyConsumer::commit_done(rd_kafka_resp_err_t err,
                                 const rd_kafka_topic_partition_list_t* offsets) {
  last_commit_ok_ = true;
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing was to be committed
  bool failed = err != RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; offsets && i < offsets->cnt; ++i) {
    const rd_kafka_topic_partition_t& e = offsets->elems[i];
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && e.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    failed = true;
    // Sent again at the next commit point.
    auto it = requested_.find(TopicPartition{e.topic, e.partition});
    if (it != requested_.end() && it->second == e.offset) requested_.erase(it);
  }
  if (failed) {
    last_commit_ok_ = false;
    gauges_.commit_failures.fetch_add(1, std::memory_order_relaxed);
    log_.warn(std::string("commit failed (retried at the next commit point): ") +
              rd_kafka_err2str(err ? err : RD_KAFKA_RESP_ERR__FAIL));
    dirty_ = true;
  } else {
    gauges_.commits.fetch_add(1, std::memory_order_relaxed);
  }
}

void PolicyConsumer::commit_all() { (void)commit_bounded(assigned_partitions(), 10000); }

std::vector<TopicPartition> PolicyConsumer::assigned_partitions() const {
  // Only what this instance reads: a restored snapshot may name partitions
  // another member owns now (sharded shape); their stale offsets must never
  // be committed over that member's.
  std::vector<TopicPartition> out;
  out.reserve(caught_up_.size());
  for (const auto& [tp, done] : caught_up_) out.push_back(tp);
  return out;
}

void PolicyConsumer::update_gauges() {
  gauges_.oldest_open_sync_ms.store(
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(wm_.oldest_open_age(Clock::now()))
              .count()),
      std::memory_order_relaxed);
  // Lag from what the consumer already knows: each partition's end as its
  // last fetch saw it (a cached value: no request) less the next offset.
  std::map<std::string, int64_t> lag;
  for (const auto& [tp, done] : caught_up_) {
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(rk_, tp.topic.c_str(), tp.partition, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
      continue;
    const int64_t next = wm_.next_offset(tp);
    lag[tp_name(tp)] = std::max<int64_t>(0, hi - (next >= 0 ? next : lo));
  }
  std::lock_guard<std::mutex> g(lag_mu_);
  lag_ = std::move(lag);
}

void PolicyConsumer::publish_status(Clock::time_point now, const char* forced_state) {
  if (!status_) return;
  const uint64_t news = store_.counters().syncs_completed.load(std::memory_order_relaxed) +
                        pipeline_->counters().syncs_rejected.load(std::memory_order_relaxed);
  const int ready_now = ready() ? 1 : 0;
  const auto since = now - last_status_;
  if (!forced_state && status_ready_ == ready_now &&
      !(news != status_news_ && since >= std::chrono::seconds(1)) &&
      since < std::chrono::seconds(opt_.status_interval_s))
    return;
  StatusRecord r;
  r.instance = status_instance_;
  r.host = host_name();
  r.sharded = opt_.shared_group;
  r.version = POLICYSYNC_VERSION;
  r.state = forced_state ? forced_state : ready_now ? "ready" : "starting";
  r.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  r.heartbeat_s = opt_.status_interval_s;
  for (const auto& [tp, done] : caught_up_)
    if (tp.topic == opt_.topic) r.applied.push_back({tp, wm_.next_offset(tp)});
  const StoreGauges& g = store_.gauges();
  r.groups = g.groups.load(std::memory_order_relaxed);
  r.entries = g.entries.load(std::memory_order_relaxed);
  r.malicious = g.malicious.load(std::memory_order_relaxed);
  r.rejected.assign(pipeline_->rejections().begin(), pipeline_->rejections().end());
  status_->send(r);
  last_status_ = now;
  status_news_ = news;
  status_ready_ = ready_now;
}

void PolicyConsumer::periodic() {
  const auto now = Clock::now();
  // A round may revoke partitions (their open syncs discarded): not while a
  // snapshot is being encoded from the store.
  // Nor while a sync's patterns compile (its record is not applied yet).
  const bool encoding = !snapshot_settled(now) || !compile_settled(now);
  if (watcher_ && !encoding) {
    PartitionWatcher::Round round;
    if (watcher_->latest(&watcher_round_, &round)) on_partitions(round);
  }
  publish_status(now, nullptr);
  if (now - last_gauges_ >= std::chrono::seconds(1)) {
    update_gauges();
    last_gauges_ = now;
  }
  if (dirty_ && now - last_commit_ >= std::chrono::milliseconds(opt_.idle_commit_ms))
    commit(assigned_partitions());
  // Debounced: at most one snapshot per snapshot_interval_s, after a sync.
  // Also once caught up and idle with changes not yet in a snapshot
  // (immediate operations, an open sync), so a restart replays little.
  if (!encoding && (snapshot_due_ || (unsnapshotted_ && idle_)) && !opt_.state_dir.empty() &&
      now - last_snapshot_ >= std::chrono::seconds(opt_.snapshot_interval_s))
    write_snapshot(/*wait=*/false);
  if (opt_.stats_interval_s > 0 &&
      now - last_stats_ >= std::chrono::seconds(opt_.stats_interval_s)) {
    update_gauges();
    log_.info(stats_line());
    last_stats_ = now;
  }
}

Status PolicyConsumer::poll_once(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (!snapshot_settled(deadline) || !compile_settled(deadline)) return poll_tail();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  rd_kafka_message_t* m =
      rd_kafka_consumer_poll(rk_, static_cast<int>(std::max<int64_t>(left.count(), 0)));
  idle_ = m == nullptr;
  if (m) {
    handle(m);
    rd_kafka_message_destroy(m);
  }
  return poll_tail();
}

Status PolicyConsumer::poll_tail() {
  if (dlq_) dlq_->poll(0);
  if (status_) status_->poll();
  periodic();
  return fatal_;
}

Status PolicyConsumer::poll_for(std::chrono::milliseconds budget) {
  // Budget 0: a 0.1 ms slice of records already fetched, never a wait.
  const auto slice = budget.count() > 0 ? std::chrono::duration_cast<Clock::duration>(budget)
                                        : std::chrono::microseconds(100);
  const auto deadline = Clock::now() + slice;
  // Records wait in librdkafka's queue while a snapshot encodes or a sync's
  // patterns compile.
  if (!snapshot_settled(deadline) || !compile_settled(deadline)) return poll_tail();
  bool handled = false;
  for (;;) {
    int wait_ms = 0;
    if (!handled && budget.count() > 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = static_cast<int>(left > 0 ? left : 0);
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
    if (m == nullptr) break;
    handle(m);
    rd_kafka_message_destroy(m);
    handled = true;
    if (!fatal_.ok() || Clock::now() >= deadline) break;
    // A SYNC_COMPLETE whose patterns compile: no record after it is applied
    // before it (the records already fetched wait); within the budget only.
    if (!compile_settled(deadline)) break;
  }
  idle_ = !handled;
  return poll_tail();
}

Status PolicyConsumer::run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    Status s = poll_once(100);
    if (!s.ok()) return s;
  }
  return Status();
}

void PolicyConsumer::close() {
  if (closed_ || rk_ == nullptr) return;
  closed_ = true;
  const auto deadline = Clock::now() + std::chrono::milliseconds(opt_.close_timeout_ms);
  auto left_ms = [&] {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(ms > 0 ? ms : 0);
  };
  if (dlq_) {
    // Deliveries release their holds; copies still in flight stay held in
    // the snapshot and are sent again after a restart.
    Status s = dlq_->flush(std::min(1000, left_ms()));
    if (!s.ok()) log_.warn("dead-letter flush: " + s.to_string());
  }
  // A sync whose patterns are compiling is finished first (it was read).
  // Without a deadline both wait for their job, so neither can say "not yet".
  [[maybe_unused]] const bool compiled = compile_settled(Clock::time_point::max());
  assert(compiled);
  // The snapshot first: it needs no broker (SPEC §8).
  [[maybe_unused]] const bool encoded = snapshot_settled(Clock::time_point::max());
  assert(encoded);
  if (!opt_.state_dir.empty() && fatal_.ok()) write_snapshot(/*wait=*/true);
  const bool confirmed =
      fatal_.ok() && commit_bounded(assigned_partitions(), std::max(left_ms() / 2, 1));
  if (status_ && fatal_.ok()) {  // SPEC §9: a clean stop says so
    publish_status(Clock::now(), "stopped");
    status_->flush(std::min(1000, left_ms()));
  }
  closing_ = true;
  close_consumer(deadline, confirmed);
  if (dlq_) {
    dlq_->purge(200);
    dlq_.reset();
  }
  // What was not delivered by now never will be; not reset here: metrics
  // (any thread) read its counters until the consumer is destroyed.
  if (status_) status_->purge(200);
  log_.info("consumer closed");
}

void PolicyConsumer::close_consumer(Clock::time_point deadline, bool broker_answers) {
  bool closed = false;
  if (broker_answers) {
    // Leaves the group at once (no session.timeout.ms wait for the others);
    // the final revocation goes through rebalance_cb, served from `q`.
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
    rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_, q);
    closed = e == nullptr;
    if (e) log_error("consumer close", e);
    while (closed && !rd_kafka_consumer_closed(rk_)) {
      if (Clock::now() >= deadline) {
        closed = false;
        log_.warn("leaving the group timed out after " + std::to_string(opt_.close_timeout_ms) +
                  " ms; exiting without it");
        break;
      }
      // The close queue also receives forwarded records, on which
      // rd_kafka_queue_poll_callback() asserts; as events they are dropped
      // here, and the final revocation (a REBALANCE event: the callback is
      // not called in this mode) goes to rebalance_cb by hand.
      if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 50)) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
          rebalance_cb(rk_, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev),
                       this);
        rd_kafka_event_destroy(ev);
      }
    }
    rd_kafka_queue_destroy(q);
  } else {
    // The coordinator did not answer the final commit: leaving the group
    // would wait for it. The group notices at its session timeout.
    log_.warn("the broker did not answer the final commit: exiting without leaving the group");
  }
  // rd_kafka_destroy() waits for requests still in flight (a commit to an
  // unreachable coordinator: up to socket.timeout.ms, 60 s by default). It
  // runs on a thread of its own; past the deadline close() returns and lets
  // it finish in the background. No callback of ours can run there: they are
  // all served by our own polls, and none is left.
  struct Done {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  std::thread([rk = rk_, closed, done, watcher = std::move(watcher_)]() mutable {
    watcher.reset();  // joins its thread (one metadata request at most) before rk goes
    rd_kafka_destroy_flags(rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    std::lock_guard<std::mutex> g(done->mu);
    done->done = true;
    done->cv.notify_all();
  }).detach();
  rk_ = nullptr;
  std::unique_lock<std::mutex> g(done->mu);
  // At least half a second for a clean termination, whatever is left.
  const auto until = std::max(deadline, Clock::now() + std::chrono::milliseconds(500));
  if (!done->cv.wait_until(g, until, [&] { return done->done; }))
    log_.warn(
        "librdkafka still shutting down (requests to an unreachable broker in flight); "
        "not waiting for it");
}

void PolicyConsumer::restore_snapshot() {
  const std::string path = snapshot_path();
  std::string bytes;
  Status s = read_snapshot_file(path, &bytes);
  if (s.ok()) s = decode_snapshot(bytes, &store_, &wm_);
  if (!s.ok()) {
    // A missing snapshot is the normal first start; a bad one is news.
    if (s.detail().find("No such file") == std::string::npos)
      log_.warn("snapshot ignored, full replay instead: " + s.detail());
    return;
  }
  gauges_.restored.store(true, std::memory_order_relaxed);
  std::string offsets;
  for (const TopicPartition& tp : wm_.partitions())
    offsets += " " + tp_name(tp) + "@" + std::to_string(wm_.next_offset(tp));
  log_.info("snapshot restored from " + path + ": " + std::to_string(store_.group_count()) +
            " groups, " + std::to_string(store_.total_entries()) + " entries, " +
            std::to_string(store_.malicious_entries()) + " malicious, " +
            std::to_string(store_.open_syncs()) + " open syncs; offsets" + offsets);
}

bool PolicyConsumer::reset_below_snapshot(const TopicPartition& tp, int64_t offset) {
  auto it = resume_at_.find(tp);
  if (it == resume_at_.end()) return false;
  const int64_t expected = it->second;
  resume_at_.erase(it);
  if (offset < 0 || offset >= expected) return false;
  // librdkafka reset the offset (auto.offset.reset=earliest): the records
  // from here on are not the ones the snapshot applied, and skipping them as
  // "already applied" would lose them (issue 18 item 5). Which groups came
  // from this partition is not known, so the whole snapshot goes.
  log_.warn("offset reset on " + tp_name(tp) + ": reading resumed at " + std::to_string(offset) +
            ", below the snapshot's " + std::to_string(expected) +
            " (topic deleted and created again?): snapshot discarded, every assigned partition "
            "replayed from the beginning");
  store_.clear();
  wm_ = Watermarks();
  resume_at_.clear();
  requested_.clear();
  gauges_.restored.store(false, std::memory_order_relaxed);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(caught_up_.size()));
  for (auto& [p, done] : caught_up_) {
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    done = false;
  }
  // Waits for the fetchers: no record fetched before the seek may reach the
  // emptied store (it would set a partition's next offset past the records
  // before it).
  rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_, list, 5000);
  for (int i = 0; e == nullptr && i < list->cnt; ++i)
    if (list->elems[i].err)
      e = rd_kafka_error_new(list->elems[i].err, "seek of %s/%d: %s", list->elems[i].topic,
                             static_cast<int>(list->elems[i].partition),
                             rd_kafka_err2str(list->elems[i].err));
  rd_kafka_topic_partition_list_destroy(list);
  if (e != nullptr) {
    // Records of the dropped state could follow: stop rather than skip any.
    fatal_ = Status(Reason::kKafka, "seek",
                    std::string("rewinding after an offset reset: ") + rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
  update_readiness();
  return true;
}

int64_t PolicyConsumer::start_offset(const TopicPartition& tp,
                                     const PartitionWatcher::Round* round) {
  if (opt_.start_positions) return opt_.start_positions->start_offset(tp);
  if (!gauges_.restored.load(std::memory_order_relaxed)) return RD_KAFKA_OFFSET_BEGINNING;
  // The lowest offset whose side effects are not durable yet: a dead-letter
  // copy in flight at the snapshot is sent again (Pipeline::already_applied).
  const int64_t next = wm_.resume_offset(tp);
  if (next < 0) return RD_KAFKA_OFFSET_BEGINNING;  // not in the snapshot
  int64_t lo = -1, hi = -1;
  bool known = false;
  if (round != nullptr) {  // broadcast: the watcher queried them, off this thread
    auto t = round->topics.find(tp.topic);
    if (t != round->topics.end())
      for (const auto& p : t->second)
        if (p.id == tp.partition && p.lo >= 0) {
          lo = p.lo;
          hi = p.hi;
          known = true;
        }
  }
  if (!known)  // sharded: inside the rebalance callback, so briefly
    known = rd_kafka_query_watermark_offsets(rk_, tp.topic.c_str(), tp.partition, &lo, &hi, 1000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR;
  if (known && next < lo) {
    // Retention deleted what the snapshot needs: replay what is left.
    log_.warn("snapshot offset " + std::to_string(next) + " of " + tp_name(tp) +
              " is below the log start " + std::to_string(lo) +
              ": replaying it from the beginning");
    return RD_KAFKA_OFFSET_BEGINNING;
  }
  return next;
}

void (*g_before_snapshot_encode_for_test)() = nullptr;

void PolicyConsumer::write_snapshot(bool wait) {
  (void)snapshot_settled(Clock::time_point::max());  // one at a time
  snapshot_due_ = unsnapshotted_ = false;
  last_snapshot_ = Clock::now();
  // Encoding reads the store, O(entries): 0.3 s at 1M entries, 4 s at 10M
  // (docs/PERFORMANCE.md). Off this thread, so that poll() keeps returning
  // within its budget; the store holds still meanwhile because poll() applies
  // nothing until the job is done (snapshot_settled), which makes the
  // snapshot exactly the state at this offset. The watermarks are copied
  // here: commits, dead-letter deliveries and assignments go on changing
  // wm_ meanwhile, none of them the store.
  auto job = [this, wm = wm_] {
    if (g_before_snapshot_encode_for_test) g_before_snapshot_encode_for_test();
    const std::string bytes = encode_snapshot(store_, wm);
    Status s = write_snapshot_file(snapshot_path(), bytes);
    if (s.ok()) {
      gauges_.snapshots_written.fetch_add(1, std::memory_order_relaxed);
      gauges_.last_snapshot_bytes.store(bytes.size(), std::memory_order_relaxed);
    } else {
      gauges_.snapshot_failures.fetch_add(1, std::memory_order_relaxed);
      log_.error("snapshot not written (still serving; retried after the next sync): " +
                 s.detail());
    }
  };
  if (wait)
    job();
  else
    snapshot_job_ = std::async(std::launch::async, std::move(job));
}

bool PolicyConsumer::snapshot_settled(Clock::time_point deadline) {
  if (!snapshot_job_.valid()) return true;
  if (deadline == Clock::time_point::max())
    snapshot_job_.wait();
  else if (snapshot_job_.wait_until(deadline) != std::future_status::ready)
    return false;
  snapshot_job_.get();  // the job's reads of the store happen before any later write
  return true;
}

std::map<std::string, int64_t> PolicyConsumer::lag() const {
  std::lock_guard<std::mutex> g(lag_mu_);
  return lag_;
}

std::string PolicyConsumer::stats_line() const {
  const PipelineCounters& c = pipeline_->counters();
  const StoreCounters& sc = store_.counters();
  auto v = [](const std::atomic<uint64_t>& a) {
    return std::to_string(a.load(std::memory_order_relaxed));
  };
  uint64_t applied = 0;
  for (const auto& a : c.applied) applied += a.load(std::memory_order_relaxed);
  std::string invalid;
  uint64_t invalid_total = 0;
  for (size_t r = 0; r < c.invalid.size(); ++r) {
    const uint64_t n = c.invalid[r].load(std::memory_order_relaxed);
    if (n == 0) continue;
    invalid_total += n;
    invalid += (invalid.empty() ? "" : ",") + std::string(reason_name(static_cast<Reason>(r))) +
               "=" + std::to_string(n);
  }
  std::string by_type;
  for (size_t t = 0; t < c.applied.size(); ++t) {
    const uint64_t n = c.applied[t].load(std::memory_order_relaxed);
    if (n)
      by_type += (by_type.empty() ? "" : ",") +
                 std::string(message_type_name(static_cast<MessageType>(t))) + "=" +
                 std::to_string(n);
  }
  std::string lags;
  for (const auto& [name, l] : lag())
    lags += (lags.empty() ? "" : ",") + name + ":" + std::to_string(l);
  return "stats: consumed=" + v(c.consumed) + " applied=" + std::to_string(applied) +
         (by_type.empty() ? "" : " (" + by_type + ")") +
         " invalid=" + std::to_string(invalid_total) +
         (invalid.empty() ? "" : " (" + invalid + ")") +
         " syncs_completed=" + v(sc.syncs_completed) + " syncs_aborted=" + v(sc.syncs_aborted) +
         " syncs_restarted=" + v(sc.syncs_restarted) + " groups=" + v(store_.gauges().groups) +
         " entries=" + v(store_.gauges().entries) + " malicious=" + v(store_.gauges().malicious) +
         " last_swap_us=" + std::to_string(sc.last_swap_ns.load(std::memory_order_relaxed) / 1000) +
         " last_reclaim_ms=" + std::to_string(PolicyStore::last_reclaim_delay_ns() / 1000000) +
         " snapshots=" + v(gauges_.snapshots_written) +
         " snapshot_failures=" + v(gauges_.snapshot_failures) +
         " lag=" + (lags.empty() ? "-" : lags) + " ready=" + (ready() ? "yes" : "no");
}

std::string PolicyConsumer::metrics_text() const {
  const PipelineCounters& c = pipeline_->counters();
  const StoreCounters& sc = store_.counters();
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto line = [&](const std::string& name, uint64_t v) {
    out += name + " " + std::to_string(v) + "\n";
  };
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  metric("policysync_messages_consumed_total", "counter", "Records read from Kafka.");
  line("policysync_messages_consumed_total", ld(c.consumed));
  metric("policysync_messages_applied_total", "counter", "Valid messages applied, by type.");
  for (size_t t = 0; t < c.applied.size(); ++t)
    line("policysync_messages_applied_total{type=\"" +
             std::string(message_type_name(static_cast<MessageType>(t))) + "\"}",
         ld(c.applied[t]));
  metric("policysync_messages_invalid_total", "counter", "Invalid messages rejected, by reason.");
  for (size_t r = 1; r < c.invalid.size(); ++r)
    line("policysync_messages_invalid_total{reason=\"" +
             std::string(reason_name(static_cast<Reason>(r))) + "\"}",
         ld(c.invalid[r]));
  metric("policysync_syncs_total", "counter", "Syncs by result.");
  line("policysync_syncs_total{result=\"completed\"}", ld(sc.syncs_completed));
  line("policysync_syncs_total{result=\"aborted\"}", ld(sc.syncs_aborted));
  line("policysync_syncs_total{result=\"restarted\"}", ld(sc.syncs_restarted));
  line("policysync_syncs_total{result=\"discarded\"}", ld(sc.syncs_discarded));
  line("policysync_syncs_total{result=\"complete_without_begin\"}", ld(sc.complete_without_begin));
  metric("policysync_dead_letter_total", "counter", "Dead-letter copies by outcome.");
  line("policysync_dead_letter_total{outcome=\"delivered\"}", ld(c.dlq_delivered));
  line("policysync_dead_letter_total{outcome=\"failed\"}", ld(c.dlq_failed));
  metric("policysync_sync_convergence_seconds", "histogram",
         "From a SYNC_COMPLETE record's timestamp to its policy being active (SPEC 9).");
  {
    uint64_t cumulative = 0;
    for (size_t b = 0; b < PipelineCounters::kConvergenceBuckets.size(); ++b) {
      cumulative += ld(c.convergence[b]);
      char le[16];
      std::snprintf(le, sizeof(le), "%g", PipelineCounters::kConvergenceBuckets[b]);
      line(std::string("policysync_sync_convergence_seconds_bucket{le=\"") + le + "\"}",
           cumulative);
    }
    cumulative += ld(c.convergence.back());
    line("policysync_sync_convergence_seconds_bucket{le=\"+Inf\"}", cumulative);
    out += "policysync_sync_convergence_seconds_sum " +
           std::to_string(static_cast<double>(ld(c.convergence_sum_ms)) / 1e3) + "\n";
    line("policysync_sync_convergence_seconds_count", ld(c.convergence_count));
  }
  metric("policysync_sync_convergence_clamped_total", "counter",
         "Convergences measured negative (the producer's clock ahead of ours), counted as 0.");
  line("policysync_sync_convergence_clamped_total", ld(c.convergence_clamped));
  metric("policysync_sync_convergence_replayed_total", "counter",
         "Syncs completed while catching up (replayed history): not measured for convergence.");
  line("policysync_sync_convergence_replayed_total", ld(c.convergence_replayed));
  metric("policysync_syncs_rejected_total", "counter",
         "Syncs refused (listed in the status record's rejected syncs).");
  line("policysync_syncs_rejected_total", ld(c.syncs_rejected));
  if (status_) {
    metric("policysync_status_records_total", "counter",
           "Status records (SPEC 9) by outcome: delivered, or failed (not delivered).");
    line("policysync_status_records_total{outcome=\"delivered\"}", status_->delivered());
    line("policysync_status_records_total{outcome=\"failed\"}", status_->failed());
  }
  metric("policysync_groups", "gauge", "Groups held.");
  line("policysync_groups", ld(store_.gauges().groups));
  metric("policysync_entries", "gauge", "Active rules over all groups.");
  line("policysync_entries", ld(store_.gauges().entries));
  metric("policysync_malicious_entries", "gauge", "Entries in the malicious table.");
  line("policysync_malicious_entries", ld(store_.gauges().malicious));
  metric("policysync_open_syncs", "gauge", "Syncs begun and not yet complete.");
  line("policysync_open_syncs", ld(store_.gauges().open_syncs));
  metric("policysync_last_swap_seconds", "gauge", "Writer time of the last SYNC_COMPLETE.");
  out += "policysync_last_swap_seconds " +
         std::to_string(static_cast<double>(ld(sc.last_swap_ns)) / 1e9) + "\n";
  metric("policysync_last_reclaim_delay_seconds", "gauge",
         "Grace period + queueing of the last reclaimed table.");
  out += "policysync_last_reclaim_delay_seconds " +
         std::to_string(static_cast<double>(PolicyStore::last_reclaim_delay_ns()) / 1e9) + "\n";
  metric("policysync_commits_total", "counter", "Offset commits confirmed by the broker.");
  line("policysync_commits_total", ld(gauges_.commits));
  metric("policysync_commit_failures_total", "counter",
         "Offset commits failed or not confirmed in time (retried at the next commit point).");
  line("policysync_commit_failures_total", ld(gauges_.commit_failures));
  metric("policysync_oldest_open_sync_age_seconds", "gauge",
         "How long the oldest open sync has waited for its SYNC_COMPLETE (0: none open).");
  out += "policysync_oldest_open_sync_age_seconds " +
         std::to_string(static_cast<double>(ld(gauges_.oldest_open_sync_ms)) / 1e3) + "\n";
  metric("policysync_assigned_partitions", "gauge", "Partitions this instance owns.");
  line("policysync_assigned_partitions", ld(gauges_.assigned));
  metric("policysync_snapshots_total", "counter", "Snapshots written / failed.");
  line("policysync_snapshots_total{outcome=\"written\"}", ld(gauges_.snapshots_written));
  line("policysync_snapshots_total{outcome=\"failed\"}", ld(gauges_.snapshot_failures));
  metric("policysync_ready", "gauge", "1 once every assigned partition is caught up (SPEC 5.5).");
  line("policysync_ready", ready() ? 1 : 0);
  metric("policysync_partition_lag", "gauge",
         "Messages between the next offset to apply and the partition's end, per partition.");
  for (const auto& [name, l] : lag()) {
    const size_t slash = name.rfind('/');
    out += "policysync_partition_lag{topic=\"" + name.substr(0, slash) + "\",partition=\"" +
           name.substr(slash + 1) + "\"} " + std::to_string(l) + "\n";
  }
  return out;
}

}  // namespace policysync::kafka
