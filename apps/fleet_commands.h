// policyctl's fleet commands (SPEC §9; apps/fleet_commands.cc): what the PM
// runs to publish a sync and learn which data planes applied it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "policysync/watermarks.h"

namespace policysync::apps {

using Properties = std::vector<std::pair<std::string, std::string>>;

// policyctl's exit codes: 0 done (all SYNCED), 1 a NACK, 2 a wait that
// timed out, kExitError anything that went wrong (bad arguments, a topic that
// cannot be read): a rollout script must not read an error as a NACK.
inline constexpr int kExitError = 3;

// "policyctl: MESSAGE" on stderr; returns kExitError.
int fail(const std::string& message);
int64_t now_unix_ms();
std::string secs(int64_t ms);  // "12.3s"

// publish-sync BROKERS TOPIC GROUP FILE [--wait[=S] --status-topic T]
int publish_sync(const Properties& props, std::vector<std::string> args);
// Waits until every live instance on `status_topic` applied or refused the
// sync at tp@offset: 0 all SYNCED, 1 one NACKED, 2 timed out (named).
int wait_for_fleet(const Properties& props, const std::string& brokers,
                   const std::string& status_topic, const TopicPartition& tp, int64_t offset,
                   int timeout_s);
// status BROKERS STATUS_TOPIC [--sync T/P@O | --group G --policy-topic T] [--json]
int status(const Properties& props, const std::vector<std::string>& args);
// The embedded fleet (make demo-fleet): returns 0 if it went as it should.
int demo_fleet();

}  // namespace policysync::apps
