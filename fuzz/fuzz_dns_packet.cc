// libFuzzer: the DNS filter example's packet parser and burst classifier.
// Any frame is classified without reading past it; a query's QNAME lies
// inside the frame and is a well-formed wire name of exactly the length
// reported; the burst filter forwards exactly what its rule says (non-DNS,
// and queries no blacklist or feed entry covers; failing open, also every
// packet to port 53 that is not a usable query) and counts every packet.
#include <cstdint>
#include <string>

#include "burst_filter.h"
#include "demo_traffic.h"
#include "dns_packet.h"
#include "policysync/message_parser.h"
#include "policysync/policy_store.h"
#include "policysync/reader.h"

namespace {

// The demo's groups and both of its policy generations' rules, applied once.
struct World {
  policysync::PolicyStore store;
  dns::GroupMap map;
  dns::FilterCounters counters;
  World() {
    std::string error;
    if (!dns::GroupMap::parse(dns::demo::kGroupsConf, "demo", &map, &error)) __builtin_trap();
    policysync::MessageParser parser{policysync::ParserLimits{}};
    auto apply = [&](const std::string& json) {
      policysync::Message m;
      if (!parser.parse(json.data(), json.size(), &m).ok()) __builtin_trap();
      (void)store.apply(m);
    };
    for (const char* g : {"enterprise_a", "enterprise_b"}) {
      apply(std::string(R"({"type":"BEGIN_SYNC","group_id":")") + g + "\"}");
      for (const auto& r : dns::demo::kSecondSync)
        if (std::string(r.group) == g)
          apply(std::string(R"({"type":"ADD_DOMAIN","group_id":")") + g + R"(","domain":")" +
                r.domain + R"(","action":"blacklist"})");
      apply(std::string(R"({"type":"SYNC_COMPLETE","group_id":")") + g + "\"}");
    }
    apply(std::string(R"({"type":"ADD_MALICIOUS","domain":")") + dns::demo::kMalicious +
          R"(","category":1})");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  static policysync::Reader reader(world.store);
  static dns::BurstFilter filter(world.map, reader, world.counters);
  static dns::FilterCounters open_counters;
  static dns::BurstFilter fail_open(world.map, reader, open_counters, /*fail_open=*/true);

  const dns::Packet p = dns::parse(data, size);
  if (static_cast<int>(p.kind) >= static_cast<int>(dns::Kind::kCount)) __builtin_trap();
  if (p.kind == dns::Kind::kQuery) {
    if (p.qname.data() < data || p.qname.data() + p.qname.size() + 4 > data + size)
      __builtin_trap();
    if (policysync::wire_name_length(p.qname.data(), p.qname.size()) != p.qname.size())
      __builtin_trap();
  }

  const uint64_t packets = world.counters.packets.load();
  const uint8_t* frames[1] = {data};
  const uint32_t lens[1] = {static_cast<uint32_t>(size)};
  bool forward[1];
  policysync::Verdict v[1];
  filter.classify(frames, lens, 1, forward, v);
  reader.quiescent();
  const bool blocked = v[0].action == policysync::Action::kBlacklist ||
                       v[0].action == policysync::Action::kMalicious;
  const bool want = p.kind == dns::Kind::kNotDns || (p.kind == dns::Kind::kQuery && !blocked);
  if (forward[0] != want) __builtin_trap();
  if (p.kind != dns::Kind::kQuery && v[0].source != policysync::MatchSource::kNone)
    __builtin_trap();
  bool open_forward[1];
  fail_open.classify(frames, lens, 1, open_forward);
  reader.quiescent();
  if (open_forward[0] != (p.kind != dns::Kind::kQuery || !blocked)) __builtin_trap();
  if (world.counters.packets.load() != packets + 1 ||
      world.counters.packets.load() !=
          world.counters.forwarded.load() + world.counters.dropped.load())
    __builtin_trap();
  return 0;
}
