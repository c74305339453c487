// kafka_consumer: the policy consumer daemon (SPEC §8).
//   kafka_consumer --demo
//   kafka_consumer BROKERS TOPIC [MALICIOUS_TOPIC] [options]
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "demo.h"
#include "policysync/admin_server.h"
#include "policysync/consumer.h"
#include "systemd_notify.h"
#include "workers.h"

namespace {

const char kUsage[] =
    "usage: kafka_consumer --demo [-v]\n"
    "       kafka_consumer BROKERS TOPIC [MALICIOUS_TOPIC] [options]\n"
    "\n"
    "Consumes policy messages (SPEC §2) from TOPIC and keeps the domain tables in\n"
    "memory for data-plane workers. Reads every assigned partition from the\n"
    "beginning; commits each partition's safe watermark (SPEC §5.2).\n"
    "\n"
    "  --demo                  run the seed's scenario on an embedded broker, then exit\n"
    "  -X key=value            librdkafka property (repeatable; security settings too)\n"
    "  --config FILE           librdkafka property file (key=value lines, # comments)\n"
    "  --group ID              consumer group id (default policysync-<hostname>); without\n"
    "                          --shared-group it only names the committed offsets\n"
    "                          (monitoring): every partition is assigned, no membership\n"
    "  --shared-group          sharded shape: subscribe as a member of --group and share\n"
    "                          the partitions with its other members\n"
    "  --instance-id ID        with --shared-group: static membership (group.instance.id),\n"
    "                          a restarted instance takes its partitions back at once\n"
    "  --on-invalid=abort|skip an invalid entry aborts its group's open sync (default)\n"
    "                          or is dropped alone\n"
    "  --dlq-topic T           copy invalid messages to T, reason and source in headers\n"
    "  --status-topic T        publish this instance's status (applied offsets, refused\n"
    "                          syncs) to the compacted topic T (SPEC 9; policyctl status)\n"
    "  --instance-name N       its key there (default: the --group; sharded:\n"
    "                          GROUP/INSTANCE_ID, else GROUP@HOSTNAME)\n"
    "  --status-interval S     a status record at least every S s (default 30)\n"
    "  --max-message-bytes N   larger messages are invalid (default 65536)\n"
    "  --max-entries-per-group N  (default 16777216)\n"
    "  --max-groups N          (default 1048576)\n"
    "  --max-open-syncs N      (default 65536)\n"
    "  --malicious-threshold N minimum confidence of a malicious entry (default 0)\n"
    "  --stats-interval S      a stats line every S seconds (default 30, 0 = never)\n"
    "  --metrics-port P        serve /metrics /healthz /readyz /lookup on P\n"
    "  --metrics-bind ADDR     address for --metrics-port (default 127.0.0.1)\n"
    "  --state-dir DIR         keep a snapshot in DIR/policy.snapshot (DIR created 0700 if\n"
    "                          missing; exit 2 if it cannot be written): restored at start\n"
    "                          (partitions resume at its offsets), rewritten after syncs\n"
    "                          and at shutdown; a bad snapshot is reported and ignored\n"
    "  --snapshot-interval S   at most one snapshot every S seconds (default 10)\n"
    "  --workers N             run N simulated worker threads looking names up\n"
    "  --queries FILE          their names: \"domain\" or \"group,domain\" lines\n"
    "  --worker-group G        group for names without one (default enterprise_a)\n"
    "  -v, --verbose           one line per message, in the seed's format\n"
    "  -h, --help              this text\n"
    "\n"
    "SIGINT/SIGTERM: stop polling, commit, leave the group, exit 0. A second\n"
    "signal exits at once.\n";

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};

void on_signal(int) {
  if (g_signals.fetch_add(1) >= 1) _exit(130);  // the second signal: now
  g_stop.store(true);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "kafka_consumer: %s\n", message.c_str());
  return 2;
}

bool parse_size(const char* s, size_t* out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') return false;
  *out = static_cast<size_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace policysync;
  std::vector<std::string> positional;
  ConsumerOptions opt;
  StoreLimits limits;
  std::string metrics_bind = "127.0.0.1", queries_file, worker_group = "enterprise_a";
  int metrics_port = -1, workers = 0;
  bool demo = false, verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    const size_t eq = a.find('=');
    const bool has_inline = a.rfind("--", 0) == 0 && eq != std::string::npos;
    if (has_inline) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto next = [&](std::string* out) {
      if (has_inline) {
        *out = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    size_t n = 0;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--demo") {
      demo = true;
    } else if (a == "-v" || a == "--verbose") {
      verbose = true;
    } else if (a == "-X") {
      if (!next(&v)) return fail("-X needs key=value");
      Status s = parse_property(v, &opt.properties);
      if (!s.ok()) return fail(s.detail());
    } else if (a == "--config") {
      if (!next(&v)) return fail("--config needs a file");
      Status s = read_property_file(v, &opt.properties);
      if (!s.ok()) return fail(s.detail());
    } else if (a == "--group") {
      if (!next(&opt.group_id)) return fail("--group needs an id");
    } else if (a == "--shared-group") {
      opt.shared_group = true;
    } else if (a == "--instance-id") {
      if (!next(&opt.instance_id) || opt.instance_id.empty())
        return fail("--instance-id needs an id");
    } else if (a == "--on-invalid") {
      if (!next(&v) || (v != "abort" && v != "skip"))
        return fail("--on-invalid takes abort or skip");
      opt.skip_invalid = v == "skip";
    } else if (a == "--dlq-topic") {
      if (!next(&opt.dlq_topic)) return fail("--dlq-topic needs a topic");
    } else if (a == "--status-topic") {
      if (!next(&opt.status_topic) || opt.status_topic.empty())
        return fail("--status-topic needs a topic");
    } else if (a == "--instance-name") {
      if (!next(&opt.instance_name) || opt.instance_name.empty())
        return fail("--instance-name needs a name");
    } else if (a == "--max-message-bytes" || a == "--max-entries-per-group" ||
               a == "--max-groups" || a == "--max-open-syncs" || a == "--malicious-threshold" ||
               a == "--stats-interval" || a == "--metrics-port" || a == "--workers" ||
               a == "--snapshot-interval" || a == "--status-interval") {
      if (!next(&v) || !parse_size(v.c_str(), &n)) return fail(a + " needs a number");
      if (a == "--max-message-bytes")
        opt.max_message_bytes = n;
      else if (a == "--max-entries-per-group")
        limits.max_entries_per_group = n;
      else if (a == "--max-groups")
        limits.max_groups = n;
      else if (a == "--max-open-syncs")
        limits.max_open_syncs = n;
      else if (a == "--malicious-threshold") {
        if (n > 100) return fail("--malicious-threshold is 0-100");
        limits.malicious_threshold = static_cast<uint8_t>(n);
      } else if (a == "--stats-interval")
        opt.stats_interval_s = static_cast<int>(n);
      else if (a == "--snapshot-interval")
        opt.snapshot_interval_s = static_cast<int>(n);
      else if (a == "--status-interval") {
        if (n < 1 || n > 86400) return fail("--status-interval is 1-86400 s");
        opt.status_interval_s = static_cast<int>(n);
      } else if (a == "--metrics-port") {
        if (n > 65535) return fail("--metrics-port is 0-65535");
        metrics_port = static_cast<int>(n);
      } else if (a == "--workers")
        workers = static_cast<int>(n);
    } else if (a == "--state-dir") {
      if (!next(&opt.state_dir)) return fail("--state-dir needs a directory");
    } else if (a == "--metrics-bind") {
      if (!next(&metrics_bind)) return fail("--metrics-bind needs an address");
    } else if (a == "--queries") {
      if (!next(&queries_file)) return fail("--queries needs a file");
    } else if (a == "--worker-group") {
      if (!next(&worker_group)) return fail("--worker-group needs a group");
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option " + a + " (see --help)");
    } else {
      positional.push_back(a);
    }
  }
  if (demo) return apps::run_demo(verbose);
  if (positional.size() < 2 || positional.size() > 3)
    return fail("need BROKERS TOPIC [MALICIOUS_TOPIC] (see --help)");
  opt.brokers = positional[0];
  opt.topic = positional[1];
  if (positional.size() == 3) opt.malicious_topic = positional[2];
  if (!opt.instance_id.empty() && !opt.shared_group)
    return fail("--instance-id needs --shared-group (static membership is for the sharded shape)");

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  Log log(stderr_sink, verbose ? LogLevel::kTrace : LogLevel::kInfo);
  PolicyStore store(limits);

  std::unique_ptr<apps::Workers> pool;
  if (workers > 0) {
    std::string error;
    std::vector<apps::Query> queries = queries_file.empty()
                                           ? apps::synthetic_queries(worker_group, 100000)
                                           : apps::read_queries(queries_file, worker_group, &error);
    if (queries.empty()) return fail(error);
    pool = std::make_unique<apps::Workers>(store, workers, std::move(queries));
  }
  opt.log = &log;
  std::unique_ptr<Consumer> consumer;
  Status s = Consumer::create(opt, store, &consumer);
  if (!s.ok()) return fail(s.detail().empty() ? s.to_string() : s.detail());

  std::unique_ptr<AdminServer> http;
  if (metrics_port >= 0) {
    AdminHandlers h;
    Consumer* c = consumer.get();
    h.ready = [c] { return c->ready(); };
    h.metrics = [c] { return c->metrics_text(); };
    h.store = &store;
    s = AdminServer::start(metrics_bind, metrics_port, h, log, &http);
    if (!s.ok()) return fail(s.detail());
  }

  uint64_t last_lookups = 0;
  auto last = std::chrono::steady_clock::now();
  apps::SystemdNotifier notify;  // Type=notify (packaging/policysync.service)
  while (!g_stop.load()) {
    s = consumer->poll(std::chrono::milliseconds(notify.watchdog_enabled() ? 50 : 100));
    if (!s.ok()) break;
    notify.tick(consumer->ready(), [&] { return consumer->stats_line(); });
    if (pool && opt.stats_interval_s > 0 &&
        std::chrono::steady_clock::now() - last >= std::chrono::seconds(opt.stats_interval_s)) {
      const auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - last).count();
      const uint64_t l = pool->lookups();
      log.info("workers: " + std::to_string(workers) + " threads, " +
               std::to_string(static_cast<uint64_t>((l - last_lookups) / secs)) + " lookups/s");
      last_lookups = l;
      last = now;
    }
  }
  http.reset();
  pool.reset();
  if (!s.ok()) {
    // Fatal: one clear line, non-zero exit, no retry storm.
    log.error("fatal: " + s.to_string());
    consumer->close();
    std::fprintf(stderr, "kafka_consumer: fatal: %s\n", s.to_string().c_str());
    return 1;
  }
  log.info("signal received: committing and leaving the group");
  notify.stopping();
  consumer->close();
  return 0;
}
