// What kafka_consumer tells systemd when it runs as policysync.service
// (Type=notify), through libsystemd's sd_notify: READY=1 once the policy is
// ready (SPEC §5.5: every owned partition caught up), never before; STATUS=
// the stats line; WATCHDOG=1 from the poll loop at half the WatchdogSec= the
// unit sets (a loop that stops polling is restarted); STOPPING=1 when a
// signal asks it to stop. Outside systemd (no NOTIFY_SOCKET) it does nothing.
//
// Example (the control loop):
//   apps::SystemdNotifier notify;
//   while (!stop) {
//     (void)consumer->poll(std::chrono::milliseconds(100));
//     notify.tick(consumer->ready(), [&] { return consumer->stats_line(); });
//   }
//   notify.stopping();
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace policysync::apps {

class SystemdNotifier {
 public:
  SystemdNotifier();
  // Control loop, every turn: READY=1 the first time `ready` is true (with a
  // STATUS=), the watchdog ping when it is due, STATUS= every 5 s.
  void tick(bool ready, const std::function<std::string()>& status);
  void stopping();
  bool watchdog_enabled() const { return watchdog_usec_ != 0; }

 private:
  using Clock = std::chrono::steady_clock;
  void notify(const std::string& state);
  bool ready_sent_ = false;
  uint64_t watchdog_usec_ = 0;
  Clock::time_point last_ping_{}, last_status_{};
};

}  // namespace policysync::apps
