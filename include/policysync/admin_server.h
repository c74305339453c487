// The operator's HTTP endpoints (cpp-httplib from Debian, not hand-written):
//   GET /metrics  Prometheus text: the stats line's figures
//   GET /healthz  200 while the process serves
//   GET /readyz   200 only once every assigned partition is caught up (SPEC §5.5)
//   GET /lookup?group=G&domain=D   the verdict as JSON, with its policy generation
//   GET /groups?cursor=C&limit=L    every group's generation and last sync, paginated
// Bound to 127.0.0.1 by default. Served by two threads of its own; each
// /lookup registers a Reader for the request.
//
// Example:
//   std::unique_ptr<AdminServer> http;
//   Status s = AdminServer::start("127.0.0.1", 9090, handlers, log, &http);
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "policysync/log.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"
#include "policysync/status.h"
#include "policysync/verdict.h"

namespace httplib {
class Server;
}

namespace policysync {

struct AdminHandlers {
  std::function<bool()> ready;
  std::function<std::string()> metrics;
  const PolicyStore* store = nullptr;
};

class AdminServer {
 public:
  // Binds and starts serving; port 0 picks a free port (see port()).
  static Status start(const std::string& bind, int port, AdminHandlers handlers, const Log& log,
                      std::unique_ptr<AdminServer>* out);
  ~AdminServer();
  int port() const { return port_; }

 private:
  AdminServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_done_{false};  // the listener returned (bind lost, or stopped)
  int port_ = 0;
};

// The /lookup body: {"group":..,"domain":..,"action":..,"category":..,
// "port_mask":..,"confidence":..,"source":..,"rule":..}.
std::string verdict_json(std::string_view group, std::string_view domain, const Verdict& v);

// One /groups entry: {"group":..,"generation":..,"last_sync":{"origin":..,"time":..}|null}.
std::string group_version_json(const GroupVersion& v);

// /metrics aggregates over every group that stay a few lines with a million
// groups: how many last synced over 1 h / 1 d / 7 d ago, how many never.
std::string group_age_metrics(const PolicyStore& store, int64_t now_unix_ms);

}  // namespace policysync
