// Where policysync writes its one-line events. The default sink writes
// "2026-11-25T08:00:00Z level message" lines to stderr; tests and the demo
// install their own.
//
// Example:
//   policysync::Log log;                       // stderr
//   log.warn("sync aborted: group=g1");
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace policysync {

enum class LogLevel { kTrace, kInfo, kWarn, kError };

class Log {
 public:
  using Sink = std::function<void(LogLevel, std::string_view)>;
  Log();  // stderr, info and above
  explicit Log(Sink sink, LogLevel min = LogLevel::kInfo) : sink_(std::move(sink)), min_(min) {}

  void trace(std::string_view m) const { emit(LogLevel::kTrace, m); }
  void info(std::string_view m) const { emit(LogLevel::kInfo, m); }
  void warn(std::string_view m) const { emit(LogLevel::kWarn, m); }
  void error(std::string_view m) const { emit(LogLevel::kError, m); }
  bool enabled(LogLevel l) const { return l >= min_; }
  void set_min(LogLevel l) { min_ = l; }

 private:
  void emit(LogLevel l, std::string_view m) const {
    if (l >= min_ && sink_) sink_(l, m);
  }
  Sink sink_;
  LogLevel min_ = LogLevel::kInfo;
};

// The default sink: one line on stderr with a UTC timestamp and the level.
void stderr_sink(LogLevel level, std::string_view message);

}  // namespace policysync
