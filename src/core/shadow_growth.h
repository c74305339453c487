// ShadowGrowth<Table>: grows a writer-private RcuTable (an open sync's
// pending table) without ever stopping the writer for a full rehash.
//
// From two thirds of its load limit on (or from the size it was made for,
// expect()), the table gets a shadow twice its size: every upsert and erase
// goes to both, and each upsert also copies a few of the table's slots into
// the shadow (kCopyPerUpsert). The copy reaches the last slot before the
// table fills (a sixteenth of its capacity in upserts, at 16 slots each,
// with a quarter left), so when the table reports kFull the shadow already holds
// every entry and simply takes its place; the old table is freed on the
// call_rcu thread (at once if it is small and unread: release_unread). The
// work is what rebuilt() would do, spread over the
// upserts. If the sync completes first, the table is published as it is and
// the shadow freed the same way: nothing at SYNC_COMPLETE is O(size).
// Published tables (a group's active table under immediate ADD_DOMAINs, the
// malicious feed, the group directory) grow the same way: the shadow, private
// until then, is published in place of the full table (upsert_published).
//
// Example (writer thread; `t` is the pending table):
//   ShadowGrowth<RuleTable> g;
//   if (g.upsert(t, key, domain_hash(key), kind, value) == RuleTable::Put::kKeyTooLong) ...
//                                                      // never O(t->size())
//   g.drop();                                          // before publishing t
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/rcu.h"
#include "core/table_events.h"

namespace policysync::detail {

template <typename Table>
class ShadowGrowth {
 public:
  // Below this capacity a rebuild takes well under a millisecond.
  static constexpr size_t kMinCapacity = 8192;
  static constexpr size_t kCopyPerUpsert = 16;

  ShadowGrowth() = default;
  ShadowGrowth(const ShadowGrowth&) = delete;
  ShadowGrowth& operator=(const ShadowGrowth&) = delete;
  // Frees the shadow where it stands: a Group (and so its Pending) may be
  // destroyed on the call_rcu thread, which must not defer again.
  ~ShadowGrowth() = default;

  using Put = typename Table::Put;

  // Below this size a table nobody reads is freed at once: a free of a few
  // KiB costs less than its deferral (a node, a clock read, a wake-up of the
  // call_rcu thread and a free there, contending for the same arena lock),
  // and takes microseconds at most.
  static constexpr size_t kFreeAtOnceBytes = 16 * 1024;

  // Writer side. Frees `t`, which no reader can reach: at once if it is
  // small, else on the call_rcu thread (a large free can take milliseconds).
  static void release_unread(std::unique_ptr<Table> t) {
    if (t && t->memory_bytes() > kFreeAtOnceBytes) rcu::retire(t.release());
  }

  // Writer side. Inserts or replaces (key, kind) in *t, which nobody else
  // reads; *t may be replaced by a larger table holding the same entries.
  // kInserted or kUpdated, or kKeyTooLong (nothing changed); never kFull.
  template <typename V>
  [[nodiscard]] Put upsert(std::unique_ptr<Table>& t, std::string_view key, uint64_t hash,
                           unsigned kind, const V& v) {
    return step(t.get(), key, hash, kind, v, [&](std::unique_ptr<Table> bigger) {
      release_unread(std::move(t));
      t = std::move(bigger);
      return t.get();
    });
  }

  // Writer side. The same for a published table, which readers reach
  // through `slot`: the larger table replaces it with one release store
  // (pairs with the readers' acquire load of the pointer: a reader that sees
  // it sees its slots and records), the old one is retired through RCU.
  template <typename V>
  [[nodiscard]] Put upsert_published(std::atomic<Table*>& slot, std::string_view key, uint64_t hash,
                                     unsigned kind, const V& v) {
    return upsert_published(slot.load(std::memory_order_relaxed), key, hash, kind, v,
                            [&](Table* bigger) { slot.store(bigger, std::memory_order_release); });
  }

  // Writer side. The same for a table `t` that readers reach some other way:
  // publish(bigger) makes them reach the larger table instead (with a
  // release store); then `t` is retired through RCU.
  template <typename V, typename Publish>
  [[nodiscard]] Put upsert_published(Table* t, std::string_view key, uint64_t hash, unsigned kind,
                                     const V& v, Publish&& publish) {
    return step(t, key, hash, kind, v, [&](std::unique_ptr<Table> bigger) {
      publish(bigger.get());
      rcu::retire(t);
      return bigger.release();
    });
  }

  // Writer side. Applies fn(record) to the record of (key, kind) in `t` and
  // in the shadow, if they hold it: a change made in place (a value readers
  // load atomically) that the shadow must not lose when it takes over.
  template <typename Fn>
  void mutate(const Table& t, std::string_view key, uint64_t hash, unsigned kind, Fn&& fn) {
    if (const char* r = t.find_one(key, hash, kind)) fn(const_cast<char*>(r));
    if (next_)
      if (const char* r = next_->find_one(key, hash, kind)) fn(const_cast<char*>(r));
  }

  // Writer side. Removes (key, kind) from t and from the shadow; returns
  // whether t held it.
  bool erase(Table& t, std::string_view key, uint64_t hash, unsigned kind) {
    const bool erased = t.erase(key, hash, kind);
    if (next_) next_->erase(key, hash, kind);
    return erased;
  }

  // Writer side. The table was sized for `entries` (a resync as large as the
  // last, a restore): no shadow is started until it holds more than that
  // many, so a table that is filled to what it was sized for is never
  // copied. Past it the shadow starts as usual (the table must be sized with
  // room for that: 1/8 of its slots, see Pending).
  void expect(size_t entries) { expected_ = entries; }

  // Writer side. Gives the shadow up (freed after a grace period, off this
  // thread): before the table is published whole, discarded or replaced.
  void drop() {
    rcu::retire(next_.release());
    cursor_ = 0;
  }

  // How the table grew so far: by taking over a complete shadow (O(1) on
  // the writer), by finishing an incomplete one, or by a full rebuild.
  struct Stats {
    uint64_t shadow_swaps = 0;
    uint64_t finished_copies = 0;
    uint64_t rebuilds = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  // install(bigger) puts the larger table in t's place and returns it.
  template <typename V, typename Install>
  Put step(Table* t, std::string_view key, uint64_t hash, unsigned kind, const V& v,
           Install&& install) {
    Put p = t->upsert(key, hash, kind, v);
    if (p == Put::kFull) {
      std::unique_ptr<Table> bigger = grown(*t);
      p = bigger->upsert(key, hash, kind, v);
      if (p == Put::kFull) {
        // The shadow took the table's place with the garbage of every
        // rewrite and erase mirrored into it, and wants compaction itself
        // (issue 18: this write was dropped). A rebuilt table holds no
        // garbage and is at most half full: it takes the entry.
        std::unique_ptr<Table> compact = bigger->rebuilt(bigger->size() + 1);
        rcu::retire(bigger.release());  // nobody reads it: only the free moves off the writer
        bigger = std::move(compact);
        note_table_event(&TableEventCounters::compactions);
        ++stats_.rebuilds;
        p = bigger->upsert(key, hash, kind, v);
      }
      assert(p == Put::kInserted || p == Put::kUpdated);
      if (p != Put::kInserted && p != Put::kUpdated) {
        rcu::retire(bigger.release());  // t still holds every entry: nothing is lost
        return p;
      }
      bigger->adopt_extra(*t);  // what the owner keeps in t's header goes along
      t = install(std::move(bigger));
    } else if (p == Put::kKeyTooLong) {
      return p;
    } else if (next_ && next_->upsert(key, hash, kind, v) == Put::kFull) {
      drop();  // the shadow wants compaction (rewritten entries): a rebuild will do it
    }
    // Two thirds of the load limit, and past what the table was sized for
    // (a resync exactly as large as the last must not make a shadow on its
    // last ADD, only to drop it at SYNC_COMPLETE): the shadow starts.
    if (!next_ && t->capacity() >= kMinCapacity && t->used_slots() * 3 >= t->max_used() * 2 &&
        t->used_slots() > expected_) {
      next_ = Table::create(t->capacity() * 2, t->live_bytes() + t->live_bytes() / 2);
      note_table_event(&TableEventCounters::shadow_starts);
      cursor_ = 0;
    }
    if (next_ && cursor_ < t->capacity()) {
      cursor_ = t->copy_into(*next_, cursor_, kCopyPerUpsert);
      if (cursor_ == SIZE_MAX) drop();
    }
    return p;
  }

  // The table to replace a full (or compaction-wanting) t: normally the
  // complete shadow; else the shadow finished, else a rebuild.
  std::unique_ptr<Table> grown(const Table& t) {
    note_table_event(t.used_slots() + 1 > t.max_used() ? &TableEventCounters::growths
                                                       : &TableEventCounters::compactions);
    if (next_ && cursor_ < t.capacity()) {
      cursor_ = t.copy_into(*next_, cursor_, SIZE_MAX);
      if (cursor_ != SIZE_MAX) ++stats_.finished_copies;
    }
    std::unique_ptr<Table> bigger;
    if (next_ && cursor_ != SIZE_MAX) {
      bigger = std::move(next_);
      ++stats_.shadow_swaps;
      note_table_event(&TableEventCounters::shadow_growths);
    } else {
      drop();
      bigger = t.rebuilt(t.size() + 1);
      ++stats_.rebuilds;
    }
    cursor_ = 0;
    return bigger;
  }

  std::unique_ptr<Table> next_;
  size_t cursor_ = 0;
  size_t expected_ = 0;
  Stats stats_;
};

}  // namespace policysync::detail
