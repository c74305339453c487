#include "policysync/log.h"

#include <cstdio>
#include <ctime>

namespace policysync {

Log::Log() : sink_(stderr_sink) {}

void stderr_sink(LogLevel level, std::string_view message) {
  static const char* kNames[] = {"trace", "info", "warn", "error"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s %s %.*s\n", ts, kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace policysync
