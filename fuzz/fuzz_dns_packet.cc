// libFuzzer: the DNS filter example's packet parser. Any frame is classified
// without reading past it; a query's QNAME lies inside the frame and is a
// well-formed wire name of exactly the length reported.
#include <cstdint>

#include "dns_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const dns::Packet p = dns::parse(data, size);
  if (static_cast<int>(p.kind) >= static_cast<int>(dns::Kind::kCount)) __builtin_trap();
  if (p.kind == dns::Kind::kQuery) {
    if (p.qname.data() < data || p.qname.data() + p.qname.size() + 4 > data + size)
      __builtin_trap();
    if (policysync::wire_name_length(p.qname.data(), p.qname.size()) != p.qname.size())
      __builtin_trap();
  }
  return 0;
}
