// libFuzzer: the domain normalisers. Checks that every accepted name obeys
// SPEC §2.1 and that the hot-path and allocating query normalisers agree.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "policysync/domain_name.h"

static bool obeys_spec(const std::string& n, bool allow_star) {
  if (n.empty() || n.size() > 253) return false;
  size_t label = 0;
  for (char c : n) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    (allow_star && c == '*');
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto copy = std::make_unique<char[]>(size);
  if (size) std::memcpy(copy.get(), data, size);
  std::string_view in(copy.get(), size);

  policysync::PolicyName p;
  if (policysync::normalize_policy_domain(in, &p).ok() && !obeys_spec(p.name, true))
    __builtin_trap();

  std::string q;
  const bool slow_ok = policysync::normalize_query(in, &q).ok();
  if (slow_ok && !obeys_spec(q, false)) __builtin_trap();
  char buf[policysync::kMaxDomainLength + 2];
  const int n = policysync::normalize_query_ascii(in, buf);
  if (n >= 0) {
    // The hot path accepts a subset (ASCII only), and then agrees exactly.
    if (!slow_ok || q != std::string_view(buf, static_cast<size_t>(n))) __builtin_trap();
  }
  return 0;
}
