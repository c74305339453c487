// libFuzzer: DNS wire-format names (wire_name_length, the reader's wire
// parser). Checks them against a reference written here from RFC 1035 §3.1:
// the same length or the same refusal, and for a usable name exactly the
// prepared query (bytes, labels, hashes) the dotted form gives. Input is the
// fuzzer's buffer as is, so ASan flags any read past its length.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "core/prepared_query.h"
#include "policysync/domain_name.h"

namespace {

struct Reference {
  size_t length = 0;   // 0 = malformed
  std::string dotted;  // the labels joined by '.', bytes as they are
  bool dot_in_label = false;
};

Reference reference(const uint8_t* data, size_t size) {
  Reference r;
  size_t pos = 0;
  while (true) {
    if (pos >= size) return {};
    const size_t len = data[pos];
    if (len == 0) break;
    if ((len & 0xc0) != 0) return {};  // pointer or reserved label type
    if (pos + 1 + len > size) return {};
    if (!r.dotted.empty() || pos != 0) r.dotted += '.';
    for (size_t i = 0; i < len; ++i) {
      const char c = static_cast<char>(data[pos + 1 + i]);
      if (c == '.') r.dot_in_label = true;
      r.dotted += c;
    }
    pos += 1 + len;
  }
  if (pos + 1 > 255) return {};
  r.length = pos + 1;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Reference ref = reference(data, size);
  if (policysync::wire_name_length(data, size) != ref.length) __builtin_trap();

  policysync::detail::PreparedQuery wire;
  const int prepared = wire.prepare_wire(data, size);
  if ((prepared < 0) != (ref.length == 0)) __builtin_trap();
  if (prepared < 0) return 0;

  policysync::detail::PreparedQuery dotted;
  const bool dotted_ok = !ref.dotted.empty() && !ref.dot_in_label && dotted.prepare(ref.dotted);
  if ((prepared == 1) != dotted_ok) __builtin_trap();
  if (prepared == 1) {
    if (wire.n != dotted.n || wire.labels != dotted.labels) __builtin_trap();
    if (std::memcmp(wire.name, dotted.name, static_cast<size_t>(wire.n)) != 0) __builtin_trap();
    for (int k = 0; k < wire.labels; ++k)
      if (wire.starts[k] != dotted.starts[k] || wire.hashes[k] != dotted.hashes[k])
        __builtin_trap();
  }
  return 0;
}
