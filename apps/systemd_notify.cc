#include "systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdio>

namespace policysync::apps {

SystemdNotifier::SystemdNotifier() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
}

void SystemdNotifier::notify(const std::string& state) {
  // Best effort: a failed notification is systemd's problem to report (it
  // times the start out, or restarts on a missed watchdog).
  if (sd_notify(0, state.c_str()) < 0) std::fprintf(stderr, "kafka_consumer: sd_notify failed\n");
}

void SystemdNotifier::tick(bool ready, const std::function<std::string()>& status) {
  const auto now = Clock::now();
  if (ready && !ready_sent_) {
    ready_sent_ = true;
    last_status_ = now;
    notify("READY=1\nSTATUS=" + status());
  } else if (now - last_status_ >= std::chrono::seconds(5)) {
    last_status_ = now;
    notify("STATUS=" + status());
  }
  if (watchdog_usec_ && now - last_ping_ >= std::chrono::microseconds(watchdog_usec_ / 2)) {
    last_ping_ = now;
    notify("WATCHDOG=1");
  }
}

void SystemdNotifier::stopping() {
  notify("STOPPING=1\nSTATUS=stopping: committing, leaving the group");
}

}  // namespace policysync::apps
