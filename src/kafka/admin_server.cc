#include "policysync/admin_server.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "policysync/domain_name.h"
#include "policysync/reader.h"

namespace policysync {

namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string verdict_json(std::string_view group, std::string_view domain, const Verdict& v) {
  std::string rule(v.rule);
  if (v.source == MatchSource::kWildcard) rule = "*." + rule;
  return "{\"group\":" + json_string(group) + ",\"domain\":" + json_string(domain) +
         ",\"action\":" + json_string(action_name(v.action)) +
         ",\"category\":" + std::to_string(v.category) +
         ",\"port_mask\":" + std::to_string(v.port_mask) +
         ",\"confidence\":" + std::to_string(v.confidence) +
         ",\"source\":" + json_string(match_source_name(v.source)) +
         ",\"rule\":" + (v.source == MatchSource::kNone ? "null" : json_string(rule)) +
         ",\"generation\":" + std::to_string(v.generation) + "}";
}

std::string group_version_json(const GroupVersion& v) {
  std::string out = "{\"group\":" + json_string(v.group) +
                    ",\"generation\":" + std::to_string(v.generation) + ",\"last_sync\":";
  if (v.generation == 0) return out + "null}";
  char when[32] = "";
  const time_t secs = static_cast<time_t>(v.synced_unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  // Convergence (SPEC §9): from the SYNC_COMPLETE record's timestamp to the
  // swap; null when the record carried none (or the generation was restored).
  const std::string convergence =
      v.record_unix_ms < 0
          ? "null"
          : std::to_string(std::max<int64_t>(0, v.synced_unix_ms - v.record_unix_ms));
  return out + "{\"origin\":" + json_string(v.origin) + ",\"time\":" + json_string(when) +
         ",\"convergence_ms\":" + convergence + "}}";
}

std::string group_age_metrics(const PolicyStore& store, int64_t now_unix_ms) {
  static constexpr std::pair<const char*, int64_t> kAges[] = {
      {"1h", 3600'000}, {"1d", 86400'000}, {"7d", 7 * 86400'000LL}};
  uint64_t older[3] = {0, 0, 0}, never = 0;
  {
    Reader reader(store);
    uint64_t cursor = 0;
    do {
      cursor = reader.for_each_group(cursor, 4096, [&](const GroupVersion& v) {
        if (v.generation == 0) {
          ++never;
          return;
        }
        for (int i = 0; i < 3; ++i) older[i] += now_unix_ms - v.synced_unix_ms > kAges[i].second;
      });
      reader.quiescent();  // a million groups never hold a grace period up
    } while (cursor != 0);
  }
  std::string out =
      "# HELP policysync_groups_synced_before Groups whose last SYNC_COMPLETE is older than "
      "`age`.\n# TYPE policysync_groups_synced_before gauge\n";
  for (int i = 0; i < 3; ++i)
    out += std::string("policysync_groups_synced_before{age=\"") + kAges[i].first + "\"} " +
           std::to_string(older[i]) + "\n";
  out +=
      "# HELP policysync_groups_never_synced Groups without any completed sync.\n"
      "# TYPE policysync_groups_never_synced gauge\npolicysync_groups_never_synced " +
      std::to_string(never) + "\n";
  return out;
}

Status AdminServer::start(const std::string& bind, int port, AdminHandlers h, const Log& log,
                          std::unique_ptr<AdminServer>* out) {
  std::unique_ptr<AdminServer> s(new AdminServer());
  s->server_ = std::make_unique<httplib::Server>();
  httplib::Server& svr = *s->server_;
  svr.new_task_queue = [] { return new httplib::ThreadPool(2); };
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  svr.Get("/readyz", [h](const httplib::Request&, httplib::Response& res) {
    const bool ready = h.ready && h.ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready: catching up\n", "text/plain");
  });
  svr.Get("/metrics", [h](const httplib::Request&, httplib::Response& res) {
    std::string body = h.metrics ? h.metrics() : "";
    if (h.store) {
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      body += group_age_metrics(*h.store, now);
    }
    res.set_content(body, "text/plain; version=0.0.4");
  });
  // Every group's policy generation, a page at a time (Envoy's version_info):
  // /groups?cursor=C&limit=L; "next_cursor" is null on the last page.
  svr.Get("/groups", [h](const httplib::Request& req, httplib::Response& res) {
    uint64_t cursor = 0;
    size_t limit = 100;
    if (req.has_param("cursor"))
      cursor = std::strtoull(req.get_param_value("cursor").c_str(), nullptr, 10);
    if (req.has_param("limit"))
      limit =
          std::min<size_t>(1000, std::strtoull(req.get_param_value("limit").c_str(), nullptr, 10));
    std::string body = "{\"groups\":[";
    bool first = true;
    uint64_t next;
    {
      Reader reader(*h.store);
      // Slots, not groups, bound one page: scan until `limit` groups or the end.
      size_t found = 0;
      next = cursor;
      do {
        next = reader.for_each_group(next, limit - found, [&](const GroupVersion& v) {
          body += (first ? "" : ",") + group_version_json(v);
          first = false;
          ++found;
        });
      } while (next != 0 && found < limit);
    }
    body += "],\"next_cursor\":" + (next == 0 ? std::string("null") : std::to_string(next)) + "}";
    res.set_content(body + "\n", "application/json");
  });
  // One domain: a verdict object. Several (domain=a&domain=b...): an array,
  // looked up as one batch, so every verdict comes from one generation of the
  // group's policy.
  svr.Get("/lookup", [h](const httplib::Request& req, httplib::Response& res) {
    const std::string group = req.get_param_value("group");
    const size_t n = req.get_param_value_count("domain");
    if (group.empty() || n == 0) {
      res.status = 400;
      res.set_content("{\"error\":\"need group and domain parameters\"}\n", "application/json");
      return;
    }
    std::vector<std::string> names(n);
    for (size_t i = 0; i < n; ++i) {
      Status ns = normalize_query(req.get_param_value("domain", i), &names[i]);
      if (!ns.ok()) {
        res.status = 400;
        res.set_content("{\"error\":\"" + ns.to_string() + "\"}\n", "application/json");
        return;
      }
    }
    std::vector<std::string_view> views(names.begin(), names.end());
    std::vector<Verdict> verdicts(n);
    std::string body;
    {
      Reader reader(*h.store);  // this request's RCU registration
      reader.lookup_batch(reader.find_group(group), views.data(), n, verdicts.data());
      // Verdict::rule points into RCU-protected memory: format before the
      // Reader goes away.
      if (n == 1) {
        body = verdict_json(group, names[0], verdicts[0]);
      } else {
        body = "[";
        for (size_t i = 0; i < n; ++i)
          body += (i ? "," : "") + verdict_json(group, names[i], verdicts[i]);
        body += "]";
      }
    }
    res.set_content(body + "\n", "application/json");
  });
  if (port == 0) {
    s->port_ = svr.bind_to_any_port(bind.c_str());
    if (s->port_ < 0) return Status(Reason::kIo, "metrics", "cannot bind " + bind);
  } else {
    if (!svr.bind_to_port(bind.c_str(), port))
      return Status(Reason::kIo, "metrics",
                    "cannot bind " + bind + ":" + std::to_string(port) + " (in use?)");
    s->port_ = port;
  }
  httplib::Server* raw = &svr;
  std::atomic<bool>* done = &s->listen_done_;
  s->thread_ = std::thread([raw, done] {
    raw->listen_after_bind();
    done->store(true);
  });
  log.info("http: serving /metrics /healthz /readyz /lookup /groups on " + bind + ":" +
           std::to_string(s->port_));
  *out = std::move(s);
  return Status();
}

AdminServer::~AdminServer() {
  // A stop() before the listener thread reached its accept loop would be
  // lost (cpp-httplib 0.11 has no wait_until_ready): wait for it to run.
  // Found by the header example test, which stops a server just started.
  if (server_ && thread_.joinable())
    while (!server_->is_running() && !listen_done_.load()) std::this_thread::yield();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace policysync
