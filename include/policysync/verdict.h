// The answer to one lookup (SPEC §4).
//
// Example:
//   policysync::Verdict v = reader.lookup("enterprise_a", "mail.google.com");
//   if (v.action == policysync::Action::kBlacklist) drop_packet();
#pragma once

#include <cstdint>
#include <string_view>

#include "policysync/message.h"

namespace policysync {

// Which rule decided, in the order of SPEC §4.
enum class MatchSource : uint8_t {
  kNone = 0,       // nothing matched (or unknown group)
  kMalicious,      // the malicious table: the query or a parent
  kExact,          // a plain rule equal to the query
  kSuffix,         // a plain rule on a parent domain
  kWildcard,       // a "*.parent" rule (strict subdomains)
  kPattern,        // a Hyperscan pattern rule
  kInvalidQuery,   // the query is not a valid ASCII name (normalize_query() it first)
  kMalformedName,  // lookup_wire(): not a well-formed DNS wire name (wire_name_length())
};

std::string_view match_source_name(MatchSource s);

struct Verdict {
  Action action = Action::kNone;
  MatchSource source = MatchSource::kNone;
  uint8_t confidence = 0;  // malicious verdicts
  uint32_t category = 0;
  uint32_t port_mask = 0;  // 0 = all ports
  // The matching rule's domain (without "*." for kWildcard). Points into
  // RCU-protected memory: valid until the reader's next quiescent state.
  std::string_view rule;
  // The group's policy generation the answer came from: syncs completed for
  // the group when it was published (0: no sync yet, or unknown group).
  // Reader::version() tells which SYNC_COMPLETE made it.
  uint64_t generation = 0;
};

}  // namespace policysync
