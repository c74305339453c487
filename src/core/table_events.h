// Process-wide counts of the store's table replacements, for tests that must
// prove a sequence crossed a growth or compaction boundary (and for nothing
// on a hot path: one relaxed increment per replacement).
#pragma once

#include <atomic>
#include <cstdint>

namespace policysync::detail {

struct TableEvents {
  uint64_t growths = 0;         // a table replaced by a larger one (load limit reached)
  uint64_t compactions = 0;     // a table rebuilt to drop its garbage (rewritten/erased records)
  uint64_t shadow_growths = 0;  // a large table replaced by its complete shadow, O(1)
  uint64_t shadow_starts = 0;   // a shadow made for a table about to grow
};

struct TableEventCounters {
  // Relaxed: plain event counts, read by tests after the writer's work is done
  // (on the same thread); nothing is ordered by them.
  std::atomic<uint64_t> growths{0};
  std::atomic<uint64_t> compactions{0};
  std::atomic<uint64_t> shadow_growths{0};
  std::atomic<uint64_t> shadow_starts{0};
};

inline TableEventCounters g_table_events;

inline void note_table_event(std::atomic<uint64_t> TableEventCounters::*which) {
  (g_table_events.*which).fetch_add(1, std::memory_order_relaxed);
}

inline TableEvents table_events() {
  return {g_table_events.growths.load(std::memory_order_relaxed),
          g_table_events.compactions.load(std::memory_order_relaxed),
          g_table_events.shadow_growths.load(std::memory_order_relaxed),
          g_table_events.shadow_starts.load(std::memory_order_relaxed)};
}

}  // namespace policysync::detail
