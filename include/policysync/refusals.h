// Refusals: the syncs this instance refused (SPEC §6, §9) and why, kept with
// the watermarks so that a snapshot carries them across a restart: "next
// offset of P > O" tells the PM that a sync at P@O was applied *or* refused,
// and only this list tells which. Kafka-free; consumer thread only.
//
// Example:
//   Refusals r;
//   r.set_cause("g", "policy/0@6", "limit_exceeded: ...");   // its BEGIN_SYNC refused
//   r.refuse("g", "policy/0@9", "aborted", unix_ms);         // at its SYNC_COMPLETE
//   r.list().back().at;                                      // "policy/0@6"
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace policysync {

// A sync this instance refused (SPEC §6: aborted by an invalid entry, a
// count mismatch, a limit, a pattern set that does not compile, a
// BEGIN_SYNC refused by the open-sync limit, a SYNC_COMPLETE that is invalid
// or has no sync to complete).
struct Rejection {
  std::string group;
  std::string sync;  // "topic/partition@offset" of its SYNC_COMPLETE
  std::string at;    // of the message that refused it (== sync if that one)
  std::string reason;
  int64_t unix_ms = 0;  // when it was refused
};

class Refusals {
 public:
  static constexpr size_t kMax = 100;       // the list keeps the last kMax
  static constexpr size_t kMaxText = 1024;  // a reason or coordinate is cut there

  // Why a group's open sync will be refused at its SYNC_COMPLETE: the
  // message that aborted it.
  struct Cause {
    std::string at;
    std::string reason;
  };

  // Lists a refusal (the oldest goes beyond kMax); one of the same sync
  // listed before is replaced.
  void add(Rejection r);
  // Lists the refusal of `group`'s sync completed at `sync`: with its cause
  // if one was set (which is then forgotten), else `reason` at `sync`.
  void refuse(const std::string& group, const std::string& sync, const std::string& reason,
              int64_t unix_ms);
  void set_cause(const std::string& group, std::string at, std::string reason);
  bool has_cause(std::string_view group) const { return causes_.count(group) != 0; }
  void drop_cause(std::string_view group);

  const std::deque<Rejection>& list() const { return list_; }
  const std::map<std::string, Cause, std::less<>>& causes() const { return causes_; }

 private:
  std::deque<Rejection> list_;
  std::map<std::string, Cause, std::less<>> causes_;  // by group
};

}  // namespace policysync
