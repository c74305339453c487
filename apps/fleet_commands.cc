// policyctl's fleet commands (SPEC §9): publish-sync (with --wait), status,
// demo-fleet.
#include "fleet_commands.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "policysync/consumer.h"
#include "policysync/domain_name.h"
#include "policysync/embedded_cluster.h"
#include "policysync/fleet.h"
#include "policysync/reader.h"

namespace policysync::apps {

int fail(const std::string& m) {
  std::fprintf(stderr, "policyctl: %s\n", m.c_str());
  return kExitError;
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "12.3s" for a duration in ms.
std::string secs(int64_t ms) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1fs", static_cast<double>(ms) / 1e3);
  return b;
}

int wait_for_fleet(const Properties& props, const std::string& brokers,
                   const std::string& status_topic, const policysync::TopicPartition& tp,
                   int64_t offset, int timeout_s) {
  std::unique_ptr<policysync::StatusReader> reader;
  policysync::Status s = policysync::StatusReader::create(brokers, props, status_topic, &reader);
  if (!s.ok()) return fail(s.detail());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  const std::string sync =
      tp.topic + "/" + std::to_string(tp.partition) + "@" + std::to_string(offset);
  std::printf("waiting up to %d s for every live instance on %s to apply %s\n", timeout_s,
              status_topic.c_str(), sync.c_str());
  for (;;) {
    bool caught_up = false;
    s = reader->poll(std::chrono::milliseconds(250), &caught_up);
    if (!s.ok()) return fail(s.detail());
    std::vector<std::string> pending, nacked, synced;
    const int64_t now = now_unix_ms();
    for (const auto& [name, rec] : reader->latest()) {
      const policysync::SyncReport r = policysync::report_sync(rec, tp, offset, now);
      if (r.state == policysync::SyncState::kPending) pending.push_back(name);
      if (r.state == policysync::SyncState::kSynced) synced.push_back(name);
      if (r.state == policysync::SyncState::kNacked) nacked.push_back(name + ": " + r.reason);
    }
    // An instance whose latest record cannot be read may run anything.
    // ...waited for, unless it is as old as a stale one (three default
    // heartbeats): a record no version of policysync wrote never goes away.
    for (const auto& [name, u] : reader->unreadable())
      if (now - u.unix_ms <= 3 * 30'000)
        pending.push_back(name + " (its status record is unreadable: " + u.why + ")");
    const bool decided = caught_up && pending.empty() && !(synced.empty() && nacked.empty());
    if (decided) {
      for (const auto& n : nacked) std::printf("NACKED %s\n", n.c_str());
      std::printf("%zu SYNCED, %zu NACKED\n", synced.size(), nacked.size());
      return nacked.empty() ? 0 : 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string who;
      for (const auto& n : pending) who += (who.empty() ? "" : ", ") + n;
      std::printf("timed out after %d s: %s\n", timeout_s,
                  pending.empty() ? ("no live instance on the status topic reads " + tp.topic +
                                     "/" + std::to_string(tp.partition))
                                        .c_str()
                                  : ("PENDING " + who).c_str());
      for (const auto& n : nacked) std::printf("NACKED %s\n", n.c_str());
      return 2;
    }
  }
}

// A JSON string: control bytes dropped, and if `s` is not UTF-8 (an
// instance name is a raw Kafka key) every non-ASCII byte shown as '?'.
static std::string json_str(const std::string& s) {
  const bool utf8 = simdjson::validate_utf8(s.data(), s.size());
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += !utf8 && static_cast<unsigned char>(c) >= 0x80 ? '?' : c;
  }
  return o + "\"";
}

int publish_sync(const Properties& props, std::vector<std::string> a) {
  int wait_s = -1;
  std::string status_topic;
  for (size_t i = 4; i < a.size(); ++i) {
    if (a[i] == "--wait") {
      wait_s = 60;
    } else if (a[i].rfind("--wait=", 0) == 0) {
      wait_s = std::atoi(a[i].c_str() + 7);
      if (wait_s <= 0) return fail("--wait=SECONDS needs a positive number");
    } else if (a[i] == "--status-topic" && i + 1 < a.size()) {
      status_topic = a[++i];
    } else {
      return fail("unknown publish-sync option " + a[i]);
    }
  }
  if (a.size() > 4) a.resize(4);
  if (wait_s > 0 && status_topic.empty()) return fail("--wait needs --status-topic T");
  if (a.size() != 4) return fail("publish-sync needs BROKERS TOPIC GROUP FILE");
  const std::string &brokers = a[0], &topic = a[1], &group = a[2], &file = a[3];
  std::ifstream in(file);
  if (!in) return fail("cannot read " + file);
  std::vector<std::string> adds;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    size_t start = 0;
    for (size_t c; (c = line.find(',', start)) != std::string::npos; start = c + 1)
      f.push_back(line.substr(start, c - start));
    f.push_back(line.substr(start));
    const std::string where = file + ":" + std::to_string(n) + ": ";
    if (f.size() < 2 || f.size() > 3) return fail(where + "expected domain,action[,category]");
    policysync::PolicyName name;
    policysync::Status s = policysync::normalize_policy_domain(f[0], &name);
    if (!s.ok()) return fail(where + s.to_string());
    if (f[1] != "whitelist" && f[1] != "blacklist" && f[1] != "allow")
      return fail(where + "action must be whitelist, blacklist or allow");
    std::string cat = f.size() == 3 ? f[2] : "0";
    if (cat.empty() || cat.find_first_not_of("0123456789") != std::string::npos)
      return fail(where + "category must be a decimal number");
    adds.push_back(R"({"type":"ADD_DOMAIN","group_id":")" + group + R"(","domain":")" + f[0] +
                   R"(","action":")" + f[1] + R"(","category":)" + cat + "}");
  }
  std::unique_ptr<policysync::Publisher> p;
  policysync::Status s = policysync::Publisher::create(brokers, props, &p);
  if (!s.ok()) return fail(s.detail());
  s = p->send(topic, group, R"({"type":"BEGIN_SYNC","group_id":")" + group + R"("})");
  for (size_t i = 0; s.ok() && i < adds.size(); ++i) s = p->send(topic, group, adds[i]);
  if (s.ok())
    s = p->send(topic, group,
                R"({"type":"SYNC_COMPLETE","group_id":")" + group + R"(","count":)" +
                    std::to_string(adds.size()) + "}");
  if (s.ok()) s = p->flush(std::chrono::seconds(60));
  if (!s.ok()) return fail(s.detail());
  const std::string at = p->last_delivered();
  std::printf("published sync of %zu domains for group %s to %s (SYNC_COMPLETE at %s)\n",
              adds.size(), group.c_str(), topic.c_str(), at.c_str());
  if (wait_s <= 0) return 0;
  policysync::TopicPartition tp;
  int64_t offset = -1;
  if (!policysync::parse_coordinates(at, &tp, &offset))
    return fail("the SYNC_COMPLETE's coordinates are not known");
  std::fflush(stdout);
  return wait_for_fleet(props, brokers, status_topic, tp, offset, wait_s);
}

int status(const Properties& props, const std::vector<std::string>& a) {
  if (a.size() < 2) return fail("status needs BROKERS STATUS_TOPIC");
  std::string sync, group, policy_topic;
  bool json = false;
  for (size_t i = 2; i < a.size(); ++i) {
    if (a[i] == "--sync" && i + 1 < a.size())
      sync = a[++i];
    else if (a[i] == "--group" && i + 1 < a.size())
      group = a[++i];
    else if (a[i] == "--policy-topic" && i + 1 < a.size())
      policy_topic = a[++i];
    else if (a[i] == "--json")
      json = true;
    else
      return fail("unknown status option " + a[i]);
  }
  policysync::TopicPartition tp;
  int64_t offset = -1;
  if (!sync.empty() && !policysync::parse_coordinates(sync, &tp, &offset))
    return fail("--sync takes TOPIC/PARTITION@OFFSET, not " + sync);
  if (!group.empty() != !policy_topic.empty())
    return fail("--group and --policy-topic go together");
  if (!group.empty()) {
    policysync::Status s = policysync::find_last_sync(a[0], props, policy_topic, group,
                                                      std::chrono::seconds(60), &tp, &offset);
    if (!s.ok()) return fail(s.detail());
    sync = tp.topic + "/" + std::to_string(tp.partition) + "@" + std::to_string(offset);
  }
  std::unique_ptr<policysync::StatusReader> reader;
  policysync::Status s = policysync::StatusReader::create(a[0], props, a[1], &reader);
  if (!s.ok()) return fail(s.detail());
  bool caught_up = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!caught_up) {
    s = reader->poll(std::chrono::milliseconds(200), &caught_up);
    if (!s.ok()) return fail(s.detail());
    if (std::chrono::steady_clock::now() > deadline)
      return fail(a[1] + " not read to its end within 30 s");
  }
  const int64_t now = now_unix_ms();
  std::string out = json ? "[" : "";
  for (const auto& [name, rec] : reader->latest()) {
    std::string verdict, reason;
    int64_t behind = 0;
    const policysync::SyncReport r = policysync::report_sync(rec, tp, offset, now);
    if (!sync.empty()) {
      verdict = std::string(policysync::sync_state_name(r.state));
      reason = r.reason;
      behind = r.behind;
    } else if (r.state == policysync::SyncState::kStale) {
      verdict = "STALE";
    }
    if (json) {
      if (out.size() > 1) out += ",";
      out += "{\"instance\":" + json_str(name) + ",\"host\":" + json_str(rec.host) +
             ",\"state\":" + json_str(rec.state) + ",\"age_ms\":" + std::to_string(r.age_ms) +
             ",\"groups\":" + std::to_string(rec.groups) +
             ",\"entries\":" + std::to_string(rec.entries) +
             ",\"rejected\":" + std::to_string(rec.rejected.size());
      if (!sync.empty())
        out += ",\"sync\":" + json_str(sync) + ",\"verdict\":" + json_str(verdict) +
               ",\"behind\":" + std::to_string(behind) + ",\"reason\":" + json_str(reason);
      out += "}";
    } else {
      std::string line = name + "  " + rec.state + (verdict.empty() ? "" : "  " + verdict);
      if (r.state == policysync::SyncState::kPending && !sync.empty())
        line += "  behind=" + std::to_string(behind);
      line += "  age=" + secs(r.age_ms) + "  groups=" + std::to_string(rec.groups) +
              " entries=" + std::to_string(rec.entries);
      if (!reason.empty()) line += "  (" + reason + ")";
      out += line + "\n";
    }
  }
  for (const auto& [name, u] : reader->unreadable()) {
    const int64_t age_ms = now > u.unix_ms ? now - u.unix_ms : 0;
    if (json) {
      if (out.size() > 1) out += ",";
      out += "{\"instance\":" + json_str(name) +
             ",\"state\":\"unreadable\",\"age_ms\":" + std::to_string(age_ms) +
             ",\"reason\":" + json_str(u.why) + "}";
    } else {
      out += name + "  UNREADABLE  age=" + secs(age_ms) + "  (" + u.why + ")\n";
    }
  }
  if (json) out += "]\n";
  if (!json && out.empty()) out = "no instance on " + a[1] + "\n";
  if (!json && !sync.empty()) out = "sync " + sync + ":\n" + out;
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace policysync::apps
