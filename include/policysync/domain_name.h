// Domain-name normalisation and validation (SPEC §2.1).
//
// Policy domains and queries are normalised the same way: ASCII letters
// lower-cased, one trailing dot removed, non-ASCII names converted to their
// IDNA A-label form with libidn2 ("bücher.de" -> "xn--bcher-kva.de"). The
// result has at most 253 bytes and labels of 1-63 bytes of [a-z0-9-_].
// A policy domain may also be `*.suffix` (strict subdomains of suffix) or hold
// `*` inside a label (a pattern rule, SPEC §4 step 4).
//
// Names from packets arrive in DNS wire format (RFC 1035 §3.1): Reader's
// lookup_wire() takes them as they are; wire_name_length() finds where a
// question's QNAME ends.
//
// Example:
//   policysync::PolicyName n;
//   policysync::Status s = policysync::normalize_policy_domain("*.Example.COM.", &n);
//   // s.ok(), n.name == "example.com", n.kind == policysync::RuleKind::kWildcard
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policysync/status.h"

namespace policysync {

inline constexpr size_t kMaxDomainLength = 253;
inline constexpr size_t kMaxLabelLength = 63;

enum class RuleKind : unsigned char {
  kPlain = 0,     // "example.com": the name and all its subdomains
  kWildcard = 1,  // "*.example.com": strict subdomains only (name stored without "*.")
  kPattern = 2,   // "ads*.example.com": `*` inside a label, matched by Hyperscan
};

struct PolicyName {
  std::string name;  // normalised; for kWildcard without the leading "*."
  RuleKind kind = RuleKind::kPlain;
};

// Normalises a policy domain (control thread; may allocate, calls libidn2).
Status normalize_policy_domain(std::string_view in, PolicyName* out);

// Normalises a query or a malicious-feed name: no `*` allowed. May allocate.
Status normalize_query(std::string_view in, std::string* out);

// Hot-path query normalisation into a caller buffer of at least
// kMaxDomainLength + 2 bytes: lower-cases ASCII, drops one trailing dot and
// checks the character and length rules. Wait-free, no allocation.
// Returns the normalised length, or -1 if the name is invalid or not ASCII
// (convert such names with normalize_query() first).
int normalize_query_ascii(std::string_view in, char* buf);

// DNS wire format, as in a question's QNAME: length-prefixed labels (1-63
// bytes each) ending in a zero byte, at most 255 bytes in all, no compression
// pointer (a question has none).
inline constexpr size_t kMaxWireNameLength = 255;

// Any thread; wait-free, no allocation. The length in bytes (final zero byte
// included) of the wire-format name at the start of `wire`, of which at most
// `len` bytes are read (what follows the name, e.g. QTYPE, is not looked at);
// 0 if the name is malformed: a compression pointer or reserved label type
// (a length byte over 63), a label or the final zero byte past `len`, or a
// name over 255 bytes. The root name ("\0") has length 1.
size_t wire_name_length(const uint8_t* wire, size_t len);

}  // namespace policysync
