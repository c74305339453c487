#include "policysync/pipeline.h"

#include <chrono>
#include <string>

namespace policysync {

namespace {

void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

std::string shown_domain(const PolicyName& d) {
  return d.kind == RuleKind::kWildcard ? "*." + d.name : d.name;
}

}  // namespace

std::string coordinates(const TopicPartition& tp, int64_t offset) {
  return tp.topic + "/" + std::to_string(tp.partition) + "@" + std::to_string(offset);
}

Pipeline::Pipeline(PolicyStore& store, Watermarks& watermarks, PipelineOptions options,
                   const Log& log)
    : store_(store), wm_(watermarks), opt_(options), log_(log), parser_(options.parser) {}

HandleResult Pipeline::invalid(const TopicPartition& tp, int64_t offset, Status why,
                               const std::string& group, bool counts_as_add) {
  bump(counters_.invalid[static_cast<size_t>(why.reason())]);
  std::string line = "invalid message " + coordinates(tp, offset) + ": " + why.to_string();
  if (!group.empty()) {
    line += " (group=" + group;
    if (!opt_.skip_invalid && store_.abort_sync(group)) {
      line += ", its open sync aborted";
      wm_.refusals().set_cause(group, coordinates(tp, offset),
                               why.to_string());  // NACKed at its end
    }
    // Under skip, SYNC_COMPLETE's count still covers every ADD_DOMAIN the PM
    // sent, valid or not (SPEC §6); the store counted those it refused itself.
    if (opt_.skip_invalid && counts_as_add && store_.note_invalid_add(group))
      line += ", skipped from its open sync";
    line += ")";
  }
  HandleResult r;
  r.invalid = true;
  r.dlq_reason = why.to_string();
  if (opt_.dead_letter) {
    wm_.hold(tp, offset, why.to_string());  // committed once the copy is confirmed (SPEC §5.2)
    bump(counters_.dlq_pending);
    r.copy_to_dlq = true;
    line += "; copying to the dead-letter topic";
  }
  log_.warn(line);
  r.why = std::move(why);
  return r;
}

HandleResult Pipeline::handle(const TopicPartition& tp, int64_t offset, const void* data,
                              size_t len, int64_t timestamp_ms) {
  bump(counters_.consumed);
  if (!wm_.assigned(tp)) wm_.assign(tp, offset);
  if (offset < wm_.next_offset(tp)) return already_applied(tp, offset);
  Status s = parser_.parse(data, len, &msg_);
  if (!s.ok()) {
    const bool add = msg_.type_known && msg_.type == MessageType::kAddDomain;
    const bool complete = msg_.type_known && msg_.type == MessageType::kSyncComplete;
    const bool begin = msg_.type_known && msg_.type == MessageType::kBeginSync;
    const std::string why = complete || begin ? s.to_string() : std::string();
    HandleResult r = invalid(tp, offset, std::move(s), msg_.group_id, add);
    if (begin && !msg_.group_id.empty() && !opt_.skip_invalid) poison_sync(tp, offset, why);
    if (complete) {
      // An invalid SYNC_COMPLETE still ends its sync (SPEC §6): the sync is
      // refused and listed at these coordinates (SPEC §9; "next offset > O"
      // alone would read as applied), and closed, so that commits move past
      // its BEGIN_SYNC. Under --on-invalid=skip the sync stays open.
      const std::string& g = msg_.group_id;
      if (!g.empty() && !opt_.skip_invalid && store_.close_aborted_sync(g)) {
        wm_.sync_closed(g);
        r.commit = true;
      }
      reject(g, coordinates(tp, offset), why);
    }
    wm_.consumed(tp, offset);
    return r;
  }
  msg_.timestamp_ms = timestamp_ms;
  const Message& m = msg_;
  if (opt_.compile_off_thread && m.type == MessageType::kSyncComplete) {
    if (std::unique_ptr<PatternCompile> c = store_.compile_for(m)) {
      deferred_ = m;
      HandleResult r;
      r.compile = std::move(c);
      return r;  // consumed (and counted) once finish_compile() ran
    }
  }
  return conclude(tp, offset, m,
                  m.type == MessageType::kSyncComplete ? store_.apply(m, coordinates(tp, offset))
                                                       : store_.apply(m));
}

void Pipeline::poison_sync(const TopicPartition& tp, int64_t offset, const std::string& why) {
  // An invalid BEGIN_SYNC still starts a sync (SPEC §6): opened and aborted
  // at once, so that its ADD_DOMAINs are dropped until its SYNC_COMPLETE,
  // which is refused with this cause. Without it they went straight into the
  // active policy while the PM was told the sync was refused.
  Message b;
  b.type = MessageType::kBeginSync;
  b.group_id = msg_.group_id;
  const ApplyOutcome o = store_.apply(b);
  if (o.result == ApplyResult::kSyncOpened || o.result == ApplyResult::kSyncRestarted) {
    wm_.sync_opened(tp, b.group_id, offset);
    if (!store_.abort_sync(b.group_id))  // just opened: never expected
      log_.warn("invalid BEGIN_SYNC of group " + b.group_id + ": its sync could not be aborted");
  }
  // Refused (a limit): the store poisoned the group's sync itself, or holds
  // no group to poison. Either way the cause is this message.
  wm_.refusals().set_cause(b.group_id, coordinates(tp, offset), why);
}

HandleResult Pipeline::finish_compile(const TopicPartition& tp, int64_t offset,
                                      std::unique_ptr<PatternCompile> compiled) {
  ApplyOutcome o = store_.apply(deferred_, coordinates(tp, offset), std::move(compiled));
  return conclude(tp, offset, deferred_, std::move(o));
}

HandleResult Pipeline::conclude(const TopicPartition& tp, int64_t offset, const Message& m,
                                ApplyOutcome o) {
  HandleResult r;
  switch (o.result) {
    case ApplyResult::kRejected: {
      const std::string why = o.status.to_string();
      r = invalid(tp, offset, std::move(o.status), m.group_id, /*counts_as_add=*/false);
      // A BEGIN_SYNC refused (open-sync or group limit): its sync is refused
      // as a whole, reported at its SYNC_COMPLETE.
      if (m.type == MessageType::kBeginSync)
        wm_.refusals().set_cause(m.group_id, coordinates(tp, offset), why);
      if (m.type == MessageType::kSyncComplete && !store_.has_open_sync(m.group_id)) {
        // Refused at SYNC_COMPLETE (its patterns cannot be compiled or
        // published): the store closed the sync, the old policy stays. Left
        // open here, commits would stop at its BEGIN_SYNC and every snapshot
        // would fail the restore check (issue 18 item 3).
        wm_.sync_closed(m.group_id);
        r.commit = true;
        wm_.refusals().drop_cause(m.group_id);
        reject(m.group_id, coordinates(tp, offset), why);
      }
      wm_.consumed(tp, offset);
      return r;
    }
    case ApplyResult::kSyncOpened:
      wm_.sync_opened(tp, m.group_id, offset);
      wm_.refusals().drop_cause(m.group_id);
      break;
    case ApplyResult::kSyncRestarted:
      wm_.sync_opened(tp, m.group_id, offset);
      wm_.refusals().drop_cause(m.group_id);
      log_.warn("sync restarted: group=" + m.group_id + " at " + coordinates(tp, offset) +
                " (the open sync was discarded)");
      break;
    case ApplyResult::kSyncCompleted:
      wm_.sync_closed(m.group_id);
      r.commit = true;
      observe_convergence(m.timestamp_ms);
      if (!log_.enabled(LogLevel::kTrace))
        log_.info("sync complete: group=" + m.group_id + " entries=" + std::to_string(o.entries) +
                  " at " + coordinates(tp, offset));
      break;
    case ApplyResult::kSyncCountMismatch:
      wm_.sync_closed(m.group_id);
      r.commit = true;
      reject(m.group_id, coordinates(tp, offset), o.status.to_string());
      log_.warn("sync aborted: group=" + m.group_id + " at " + coordinates(tp, offset) + ": " +
                o.status.detail() + "; the previous policy stays");
      break;
    case ApplyResult::kSyncAbortClosed: {
      wm_.sync_closed(m.group_id);
      r.commit = true;
      // With its cause (kept in snapshots); "aborted" only if a snapshot of
      // an older version lost it.
      reject(m.group_id, coordinates(tp, offset), "aborted");
      log_.warn("sync aborted: group=" + m.group_id + " closed at " + coordinates(tp, offset) +
                " after an invalid message; the previous policy stays");
      break;
    }
    case ApplyResult::kNoOpenSync:
      // Nothing to complete: its BEGIN_SYNC was refused (the cause), invalid,
      // or never read. Listed all the same: the PM asked for a sync at these
      // coordinates, and "next offset > O" alone would read as applied.
      reject(m.group_id, coordinates(tp, offset), "SYNC_COMPLETE without BEGIN_SYNC");
      log_.warn("SYNC_COMPLETE without BEGIN_SYNC: group=" + m.group_id + " at " +
                coordinates(tp, offset) + "; ignored");
      break;
    case ApplyResult::kApplied:
      if (m.type == MessageType::kRemoveGroup) {
        wm_.sync_closed(m.group_id);
        wm_.refusals().drop_cause(m.group_id);
      }
      break;
    case ApplyResult::kBuffered:
    case ApplyResult::kDropped:
      break;
  }
  if (o.result != ApplyResult::kDropped) bump(counters_.applied[static_cast<size_t>(m.type)]);
  if (log_.enabled(LogLevel::kTrace)) trace_applied(m, o);
  wm_.consumed(tp, offset);
  return r;
}

HandleResult Pipeline::already_applied(const TopicPartition& tp, int64_t offset) {
  // Read again after a restart from a snapshot that still held this
  // partition's dead-letter copies in flight (Watermarks::resume_offset):
  // its state is in the snapshot, so only a held record's copy is redone.
  HandleResult r;
  std::string reason;
  if (!opt_.dead_letter || !wm_.held(tp, offset, &reason)) return r;
  bump(counters_.dlq_pending);
  r.copy_to_dlq = true;  // not counted as invalid again: it was, before the restart
  r.dlq_reason = reason;
  log_.warn("invalid message " + coordinates(tp, offset) + ": " + reason +
            "; its dead-letter copy was in flight at the last snapshot: copying it again");
  return r;
}

void Pipeline::trace_applied(const Message& m, const ApplyOutcome& o) const {
  const std::string type = "[" + std::string(message_type_name(m.type)) + "]";
  switch (m.type) {
    case MessageType::kBeginSync:
      log_.trace(type + " group=" + m.group_id + " — building pending table");
      break;
    case MessageType::kAddDomain:
      log_.trace(type + " group=" + m.group_id + " domain=" + shown_domain(m.domain) +
                 " action=" + std::string(action_name(m.action)));
      break;
    case MessageType::kRemoveDomain:
      log_.trace(type + " group=" + m.group_id + " domain=" + shown_domain(m.domain));
      break;
    case MessageType::kSyncComplete:
      if (o.result == ApplyResult::kSyncCompleted)
        log_.trace(type + " group=" + m.group_id + " — " + std::to_string(o.entries) +
                   " domains now active");
      break;
    case MessageType::kAddMalicious:
      log_.trace(type + " domain=" + m.domain.name + " category=" + std::to_string(m.category) +
                 " confidence=" + std::to_string(m.confidence));
      break;
    case MessageType::kRemoveMalicious:
      log_.trace(type + " domain=" + m.domain.name);
      break;
    case MessageType::kAddGroup:
    case MessageType::kRemoveGroup:
      log_.trace(type + " group=" + m.group_id);
      break;
  }
}

void Pipeline::revoke(const TopicPartition& tp) {
  for (const std::string& g : wm_.revoke(tp)) {
    wm_.refusals().drop_cause(g);
    if (!store_.discard_sync(g))  // the watermarks and the store disagree: never expected
      log_.warn("revoked " + tp.topic + "/" + std::to_string(tp.partition) +
                ": no open sync of group " + g + " to discard");
  }
}

void Pipeline::reject(const std::string& group, const std::string& sync,
                      const std::string& reason) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  wm_.refusals().refuse(group, sync, reason, now_ms);
  bump(counters_.syncs_rejected);
}

void Pipeline::observe_convergence(int64_t record_ms) {
  if (record_ms < 0) return;  // no timestamp on the record
  if (!live_) {
    bump(counters_.convergence_replayed);
    return;
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  int64_t ms = now_ms - record_ms;
  if (ms < 0) {  // the producer's clock is ahead of ours
    bump(counters_.convergence_clamped);
    ms = 0;
  }
  size_t b = 0;
  while (b < PipelineCounters::kConvergenceBuckets.size() &&
         static_cast<double>(ms) > PipelineCounters::kConvergenceBuckets[b] * 1000)
    ++b;
  bump(counters_.convergence[b]);
  bump(counters_.convergence_count);
  counters_.convergence_sum_ms.fetch_add(static_cast<uint64_t>(ms), std::memory_order_relaxed);
  counters_.last_convergence_ms.store(static_cast<uint64_t>(ms), std::memory_order_relaxed);
}

void Pipeline::dlq_done(const TopicPartition& tp, int64_t offset, bool delivered) {
  wm_.release(tp, offset);
  counters_.dlq_pending.fetch_sub(1, std::memory_order_relaxed);
  bump(delivered ? counters_.dlq_delivered : counters_.dlq_failed);
}

}  // namespace policysync
