// policyctl: the PM side, for operators and tests.
//   policyctl publish-sync BROKERS TOPIC GROUP FILE [--wait[=S] --status-topic T]
//   policyctl status BROKERS STATUS_TOPIC [--sync T/P@O | --group G --policy-topic T] [--json]
//   policyctl send BROKERS TOPIC JSON...              (one message per argument)
//   policyctl lookup HOST:PORT GROUP DOMAIN           (through kafka_consumer's /lookup)
// Options before the command: -X key=value, --config FILE (librdkafka properties).
#include <httplib.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "fleet_commands.h"
#include "policysync/consumer.h"
#include "policysync/domain_name.h"
#include "policysync/embedded_cluster.h"
#include "policysync/fleet.h"
#include "policysync/message.h"
#include "policysync/snapshot.h"

namespace {

using policysync::apps::fail;
using policysync::apps::Properties;
using policysync::apps::publish_sync;
using policysync::apps::status;

const char kUsage[] =
    "usage: policyctl [-X key=value]... [--config FILE] COMMAND ARGS\n"
    "  publish-sync BROKERS TOPIC GROUP FILE [--wait[=SECONDS] --status-topic T]\n"
    "      BEGIN_SYNC, one ADD_DOMAIN per FILE line (domain,action[,category]),\n"
    "      SYNC_COMPLETE with count; keyed by GROUP; waits for delivery. --wait: then\n"
    "      until every live instance on status topic T applied or refused it (default\n"
    "      60 s); exit 0 all SYNCED, 1 one NACKED (named, with its reason), 2 timeout\n"
    "      (PENDING named); STALE and NOT_ASSIGNED (sharded) instances are not waited for\n"
    "  status BROKERS STATUS_TOPIC [--sync TOPIC/PARTITION@OFFSET | --group G\n"
    "         --policy-topic T] [--json]\n"
    "      reads the status topic to its end: a line per instance (state, age of its\n"
    "      last record); with a sync, SYNCED / PENDING / NACKED (reason) / STALE and\n"
    "      how far behind it is\n"
    "  send BROKERS TOPIC JSON...\n"
    "      each JSON argument as one message, keyed by its group_id if it has one\n"
    "  demo-fleet\n"
    "      three data planes on an embedded cluster, one refusing; a sync published\n"
    "      with --wait; the status table\n"
    "  lookup HOST:PORT GROUP DOMAIN\n"
    "      the verdict from kafka_consumer's /lookup endpoint\n"
    "  snapshot-info FILE [--entries]\n"
    "      a snapshot's version, offsets, groups and entry counts; verifies its checksum\n"
    "exit 3 on an error (bad arguments, a broker or topic that cannot be used)\n";

std::string group_of(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  std::string_view g;
  if (p.parse(json).get(doc) || doc["group_id"].get_string().get(g)) return "";
  return std::string(g);
}

int send(const Properties& props, const std::vector<std::string>& a) {
  if (a.size() < 3) return fail("send needs BROKERS TOPIC JSON...");
  std::unique_ptr<policysync::Publisher> p;
  policysync::Status s = policysync::Publisher::create(a[0], props, &p);
  if (!s.ok()) return fail(s.detail());
  for (size_t i = 2; s.ok() && i < a.size(); ++i) s = p->send(a[1], group_of(a[i]), a[i]);
  if (s.ok()) s = p->flush(std::chrono::seconds(60));
  if (!s.ok()) return fail(s.detail());
  std::printf("sent %zu messages to %s\n", a.size() - 2, a[1].c_str());
  return 0;
}

int lookup(const std::vector<std::string>& a) {
  if (a.size() != 3) return fail("lookup needs HOST:PORT GROUP DOMAIN");
  httplib::Client cli("http://" + a[0]);
  cli.set_connection_timeout(5);
  httplib::Params params{{"group", a[1]}, {"domain", a[2]}};
  auto res = cli.Get("/lookup", params, httplib::Headers{});
  if (!res) return fail("cannot reach http://" + a[0] + "/lookup");
  std::fputs(res->body.c_str(), stdout);
  return res->status == 200 ? 0 : 1;
}

int snapshot_info(const std::vector<std::string>& a) {
  if (a.empty() || a.size() > 2) return fail("snapshot-info needs FILE [--entries]");
  std::string bytes;
  policysync::Status s = policysync::read_snapshot_file(a[0], &bytes);
  policysync::SnapshotInfo info;
  if (s.ok()) s = policysync::describe_snapshot(bytes, &info);
  if (!s.ok()) return fail(s.detail());
  std::printf("snapshot %s: version %u, %zu bytes, checksum ok\n", a[0].c_str(), info.version,
              bytes.size());
  for (const auto& o : info.offsets)
    std::printf("offset %s/%d next=%lld\n", o.tp.topic.c_str(), o.tp.partition,
                static_cast<long long>(o.next));
  size_t entries = 0;
  for (const auto& g : info.groups) {
    entries += g.active;
    std::printf("group %s active=%zu%s\n", g.id.c_str(), g.active,
                g.pending ? (" pending=" + std::to_string(g.pending_entries)).c_str() : "");
  }
  std::printf("totals: %zu groups, %zu entries, %zu malicious, %zu open syncs\n",
              info.groups.size(), entries, info.malicious, info.open_syncs);
  if (a.size() == 2 && a[1] == "--entries")
    std::fputs(policysync::canonical_dump(bytes).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Properties props;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-X" && i + 1 < argc) {
      policysync::Status s = policysync::parse_property(argv[++i], &props);
      if (!s.ok()) return fail(s.detail());
    } else if (a == "--config" && i + 1 < argc) {
      policysync::Status s = policysync::read_property_file(argv[++i], &props);
      if (!s.ok()) return fail(s.detail());
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fputs(kUsage, stderr);
    return policysync::apps::kExitError;
  }
  const std::string cmd = argv[i];
  std::vector<std::string> args(argv + i + 1, argv + argc);
  if (cmd == "publish-sync") return publish_sync(props, args);
  if (cmd == "status") return status(props, args);
  if (cmd == "demo-fleet") return policysync::apps::demo_fleet();
  if (cmd == "send") return send(props, args);
  if (cmd == "lookup") return lookup(args);
  if (cmd == "snapshot-info") return snapshot_info(args);
  return fail("unknown command " + cmd + " (see --help)");
}
