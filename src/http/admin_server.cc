#include "http/admin_server.h"

#include <httplib.h>

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
         ",\"rule\":" + (v.source == MatchSource::kNone ? "null" : json_string(rule)) + "}";
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
    res.set_content(h.metrics ? h.metrics() : "", "text/plain; version=0.0.4");
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
  s->thread_ = std::thread([raw] { raw->listen_after_bind(); });
  log.info("http: serving /metrics /healthz /readyz /lookup on " + bind + ":" +
           std::to_string(s->port_));
  *out = std::move(s);
  return Status();
}

AdminServer::~AdminServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace policysync
