// Typed policy messages (SPEC §2) and the verdict vocabulary they share.
//
// A `Message` is what one Kafka record becomes after parsing; see
// message_parser.h. The PM keys group messages by `group_id`.
//
// Example:
//   Message m;  // {"type":"ADD_DOMAIN","group_id":"g","domain":"a.com","action":"allow"}
//   if (m.type == MessageType::kAddDomain) (void)store.apply(m);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "policysync/domain_name.h"
#include "policysync/status.h"

namespace policysync {

enum class MessageType : uint8_t {
  kBeginSync,
  kAddDomain,
  kRemoveDomain,
  kSyncComplete,
  kAddMalicious,
  kRemoveMalicious,
  kAddGroup,
  kRemoveGroup,
};

// The wire name, e.g. "BEGIN_SYNC".
std::string_view message_type_name(MessageType t);

// What a lookup answers. kNone: no rule matched (the group's default applies).
enum class Action : uint8_t { kNone = 0, kWhitelist, kBlacklist, kAllow, kMalicious };

// Lower-case name, e.g. "whitelist".
std::string_view action_name(Action a);

// Checks a group_id (SPEC §2): 1-255 bytes of valid UTF-8 with no control
// (C0, DEL, C1), format (Cf), line/paragraph separator, surrogate or
// noncharacter code point, and no white space at either end. The parser and
// the snapshot loader both call it; an error names the code point and offset.
Status check_group_id(std::string_view group_id);

struct Message {
  MessageType type = MessageType::kAddGroup;
  bool type_known = false;  // `type` was read (also on a failed parse)
  std::string group_id;     // empty for the malicious types
  PolicyName domain;        // normalised (ADD/REMOVE_DOMAIN, ADD/REMOVE_MALICIOUS)
  Action action = Action::kNone;
  uint32_t category = 0;
  uint32_t port_mask = 0;    // 0 = all ports
  uint8_t confidence = 100;  // ADD_MALICIOUS, 0-100
  bool has_count = false;    // SYNC_COMPLETE
  uint64_t count = 0;
  // Not from the JSON: the Kafka record's timestamp (CreateTime or
  // LogAppendTime, ms since the epoch; -1 unknown), set by the consumer. A
  // SYNC_COMPLETE keeps it in the generation it publishes (GroupVersion).
  int64_t timestamp_ms = -1;
};

}  // namespace policysync
