// libFuzzer: the message parser, then the store, on arbitrary payloads.
// The payload is handed over in an allocation of exactly its size, so ASan
// flags any read past it. Each input drives a parse, and valid messages are
// applied to a store and looked up, as the consumer would.
#include <cstdint>
#include <cstring>
#include <memory>

#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static policysync::MessageParser parser(policysync::ParserLimits{4096});
  static policysync::PolicyStore store(policysync::StoreLimits{1000, 100, 100, 0});
  static policysync::Reader reader(store);
  auto copy = std::make_unique<uint8_t[]>(size);
  if (size) std::memcpy(copy.get(), data, size);
  policysync::Message m;
  policysync::Status s = parser.parse(copy.get(), size, &m);
  if (!s.ok()) {
    if (s.to_string().empty()) __builtin_trap();  // every error names a reason
    if (!m.group_id.empty()) (void)store.abort_sync(m.group_id);
    return 0;
  }
  (void)store.apply(m);
  if (!m.domain.name.empty() && m.domain.kind == policysync::RuleKind::kPlain) {
    policysync::Verdict v = reader.lookup(m.group_id, m.domain.name);
    (void)v;
  }
  reader.quiescent();
  return 0;
}
