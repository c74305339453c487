// RcuTable<V>: a single-writer, multi-reader open-addressing hash table whose
// readers are wait-free and whose writer updates entries in place.
//
// Why hand-written: the lookup path needs (1) no lock, allocation or system
// call, (2) in-place O(1) upserts and removals visible to concurrent readers
// (SPEC §3, immediate operations), (3) about 50 bytes per entry at 1M entries,
// and (4) lookups by precomputed hash so that every parent suffix of a query is
// hashed in one pass and prefetched together. liburcu's cds_lfht gives (1)-(2)
// but costs a malloc'd node and a pointer chase per entry; rte_hash gives none
// of (2) without its own RCU mode and needs ~135 bytes per entry here.
//
// Layout. A slot is one 64-bit word: 0 = empty, 1 = tombstone, otherwise
// [tag:15][kind:1][record pointer:48]. A record is [V][len:u8][key], aligned
// for V (so pointers in V stay visible to LeakSanitizer), in an arena of chunks that never move.
// Records are immutable once published: an upsert writes a new record and swaps the slot; the old
// record stays in the arena (counted as garbage) until the table is rebuilt. Probing is linear.
//
// Concurrency. Readers: load slots with acquire (pairs with the writer's
// release store of the slot; without it a reader could see the pointer before
// the record bytes). Writer: one thread only. A table never grows in place: when
// upsert() reports kFull, the owner builds rebuilt() and publishes it with an
// atomic pointer swap, retiring this one through RCU.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "core/big_alloc.h"

namespace policysync::detail {

// What RcuTable::upsert() did (the same for every table type).
enum class TablePut { kInserted, kUpdated, kFull, kKeyTooLong };

// Hash: a stateless type with `static uint64_t hash(std::string_view key)`,
// the same function the callers use to compute the `hash` arguments.
template <typename V, typename Hash>
class RcuTable {
  static_assert(std::is_trivially_copyable_v<V>);

 public:
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTomb = 1;
  static constexpr uint64_t kPtrMask = (uint64_t{1} << 48) - 1;
  static constexpr int kKinds = 2;

  // A published record. Valid until the reader's next quiescent state.
  class Record {
   public:
    explicit Record(const char* p) : p_(p) {}
    std::string_view key() const {
      return {p_ + sizeof(V) + 1, static_cast<unsigned char>(p_[sizeof(V)])};
    }
    V value() const {
      V v;
      std::memcpy(&v, p_, sizeof(V));
      return v;
    }

   private:
    const char* p_;
  };

  explicit RcuTable(size_t capacity, size_t arena_hint = 0)
      : cap_(capacity < 8 ? 8 : capacity),
        slots_(big_alloc<std::atomic<uint64_t>>(cap_)),
        filter_mask_(filter_words(cap_) - 1),
        filter_(big_alloc<std::atomic<uint64_t>>(filter_mask_ + 1)),
        chunk_size_(arena_hint > kMinChunk ? arena_hint : kMinChunk) {
    // big_alloc zero-fills: every slot starts kEmpty (0).
  }

  // Reader side, wait-free. Hints the CPU to fetch the first slot for `hash`.
  void prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[index(hash)]); }
  // Reader side, wait-free. Hints the CPU to fetch the filter word for `hash`.
  void prefetch_filter(uint64_t hash) const { __builtin_prefetch(&filter_[filter_word(hash)]); }

  // Reader side, wait-free. False: no key with this hash is in the table.
  // A blocked Bloom filter (two bits in one 64-bit word, ~8 bits per slot)
  // that keeps most absent names - every parent suffix of a query that is not
  // a rule - away from the slot array: an L2/L3 read instead of a DRAM miss.
  // Relaxed: the writer sets the bits before it publishes the slot (release);
  // a reader that sees a bit clear is ordered before that insert, which is
  // allowed (an immediate operation is visible within a grace period).
  bool maybe_contains(uint64_t hash) const {
    const uint64_t w = filter_[filter_word(hash)].load(std::memory_order_relaxed);
    const uint64_t bits = filter_bits(hash);
    return (w & bits) == bits;
  }

  // Reader side, wait-free. Finds `key` of each kind in `want` (bit per kind)
  // and stores the records found in out[kind]. Returns the bits found.
  unsigned find(std::string_view key, uint64_t hash, unsigned want, const char** out) const {
    if (!maybe_contains(hash)) return 0;
    const uint64_t tag = tag_of(hash);
    unsigned found = 0;
    for (size_t i = index(hash);; i = (i + 1 == cap_) ? 0 : i + 1) {
      // Acquire pairs with the release store in put_slot(): the record's bytes
      // are visible before its pointer.
      const uint64_t s = slots_[i].load(std::memory_order_acquire);
      if (s == kEmpty) return found;
      if (s == kTomb || (s >> 49) != tag) continue;
      const unsigned kind = static_cast<unsigned>((s >> 48) & 1);
      if (!(want & (1u << kind)) || (found & (1u << kind))) continue;
      const char* rec = reinterpret_cast<const char*>(s & kPtrMask);
      if (same_key(rec, key)) {
        out[kind] = rec;
        found |= 1u << kind;
        if (found == want) return found;
      }
    }
  }

  const char* find_one(std::string_view key, uint64_t hash, unsigned kind = 0) const {
    const char* out[kKinds] = {nullptr, nullptr};
    find(key, hash, 1u << kind, out);
    return out[kind];
  }

  using Put = TablePut;
  static constexpr size_t kMaxKey = 255;  // a record stores the length in one byte

  // Writer side. Inserts or replaces (key, kind). kFull: nothing changed; the
  // owner must publish rebuilt(size() + 1) and retry there. kKeyTooLong:
  // nothing changed (callers validate first; this is the table's own guard).
  Put upsert(std::string_view key, uint64_t hash, unsigned kind, const V& v) {
    assert(kind < kKinds);
    if (key.size() > kMaxKey) return Put::kKeyTooLong;
    if (garbage_bytes_ > 4096 && garbage_bytes_ > live_bytes_) return Put::kFull;  // compact
    size_t first_free = SIZE_MAX;
    const size_t slot = locate(key, hash, kind, &first_free);
    if (slot != SIZE_MAX) {
      const uint64_t old = slots_[slot].load(std::memory_order_relaxed);
      const char* rec = write_record(key, v);
      put_slot(slot, hash, kind, rec);
      garbage_bytes_ += record_size(key_len(reinterpret_cast<const char*>(old & kPtrMask)));
      return Put::kUpdated;
    }
    const bool reuses_tomb = slots_[first_free].load(std::memory_order_relaxed) == kTomb;
    if (!reuses_tomb && (used_ + 1) * 4 > cap_ * 3) return Put::kFull;  // load factor 0.75
    const char* rec = write_record(key, v);
    // Relaxed: put_slot's release store publishes it (see maybe_contains).
    filter_[filter_word(hash)].fetch_or(filter_bits(hash), std::memory_order_relaxed);
    put_slot(first_free, hash, kind, rec);
    if (reuses_tomb)
      --tombs_;
    else
      ++used_;
    ++live_;
    // Relaxed: a reader that sees 0 skips the table (maybe_empty), as one
    // ordered before this insert would; one that sees it non-zero searches
    // with acquire loads of the slots as always.
    live_hint_.store(live_, std::memory_order_relaxed);
    live_bytes_ += record_size(key.size());
    return Put::kInserted;
  }

  // Writer side. Removes (key, kind); returns whether it was present.
  bool erase(std::string_view key, uint64_t hash, unsigned kind) {
    size_t first_free;
    const size_t slot = locate(key, hash, kind, &first_free);
    if (slot == SIZE_MAX) return false;
    const char* rec =
        reinterpret_cast<const char*>(slots_[slot].load(std::memory_order_relaxed) & kPtrMask);
    // Release: orders nothing new, but keeps every slot store a release store
    // so readers' acquire loads always pair with one.
    slots_[slot].store(kTomb, std::memory_order_release);
    const size_t sz = record_size(key_len(rec));
    garbage_bytes_ += sz;
    live_bytes_ -= sz;
    --live_;
    live_hint_.store(live_, std::memory_order_relaxed);  // as in upsert()
    ++tombs_;
    return true;
  }

  // Writer side. A fresh table holding this one's live records, sized for at
  // least `min_entries` at load <= 0.5. O(size()).
  std::unique_ptr<RcuTable> rebuilt(size_t min_entries) const {
    const size_t n = min_entries > live_ ? min_entries : live_;
    auto t = std::make_unique<RcuTable>(n * 2 + 8, live_bytes_ + live_bytes_ / 8 + 4096);
    for_each([&](std::string_view key, uint64_t hash, unsigned kind, const V& v) {
      Put p = t->upsert(key, hash, kind, v);
      assert(p == Put::kInserted);
      (void)p;
    });
    return t;
  }

  // Writer side. Copies the live records of slots [from, from + max) into
  // `to` unless `to` already holds the key (a newer write went there too).
  // Returns the slot after the last one looked at (capacity() at the end),
  // or SIZE_MAX if `to` refused a record (full: the copy cannot go on).
  size_t copy_into(RcuTable& to, size_t from, size_t max) const {
    size_t i = from;
    for (; i < cap_ && i - from < max; ++i) {
      const uint64_t s = slots_[i].load(std::memory_order_relaxed);
      if (s == kEmpty || s == kTomb) continue;
      const Record r(reinterpret_cast<const char*>(s & kPtrMask));
      const std::string_view key = r.key();
      const uint64_t hash = Hash::hash(key);
      const unsigned kind = static_cast<unsigned>((s >> 48) & 1);
      if (to.find_one(key, hash, kind)) continue;
      if (to.upsert(key, hash, kind, r.value()) != Put::kInserted) return SIZE_MAX;
    }
    return i;
  }

  // Reader side, wait-free. Visits the live records in slots [from, from +
  // max): fn(key, value). Returns the slot after the last one looked at
  // (capacity() once the end is reached).
  template <typename Fn>
  size_t scan(size_t from, size_t max, Fn&& fn) const {
    size_t i = from;
    for (; i < cap_ && i - from < max; ++i) {
      // Acquire pairs with put_slot()'s release store, as in find().
      const uint64_t s = slots_[i].load(std::memory_order_acquire);
      if (s == kEmpty || s == kTomb) continue;
      Record r(reinterpret_cast<const char*>(s & kPtrMask));
      fn(r.key(), r.value());
    }
    return i;
  }

  // Writer side. Visits every live record: fn(key, hash, kind, value).
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for_each_record([&](std::string_view key, unsigned kind, const V& v) {
      fn(key, Hash::hash(key), kind, v);
    });
  }

  // Writer side (or a thread the writer waits for). Visits every live record
  // in slot order without hashing its key: fn(key, kind, value). The slots
  // are read in order but the records they point to are scattered, so each
  // record is fetched kAhead slots before it is read (a snapshot encode of 1M
  // entries waited on one cache miss per entry without it).
  template <typename Fn>
  void for_each_record(Fn&& fn) const {
    constexpr size_t kAhead = 16;
    for (size_t i = 0; i < cap_; ++i) {
      if (i + kAhead < cap_) {
        const uint64_t a = slots_[i + kAhead].load(std::memory_order_relaxed);
        if (a > kTomb) __builtin_prefetch(reinterpret_cast<const char*>(a & kPtrMask));
      }
      const uint64_t s = slots_[i].load(std::memory_order_relaxed);
      if (s == kEmpty || s == kTomb) continue;
      Record r(reinterpret_cast<const char*>(s & kPtrMask));
      fn(r.key(), static_cast<unsigned>((s >> 48) & 1), r.value());
    }
  }

  // Reader side, wait-free. True: the table held nothing a moment ago, so a
  // lookup may skip it (an empty malicious feed then costs nothing).
  bool maybe_empty() const { return live_hint_.load(std::memory_order_relaxed) == 0; }

  size_t size() const { return live_; }
  size_t live_bytes() const { return live_bytes_; }  // records: value, length byte, key
  size_t used_slots() const { return used_; }        // live + tombstones
  size_t capacity() const { return cap_; }
  // upsert() reports kFull once used_slots() would pass this.
  size_t max_used() const { return cap_ * 3 / 4; }
  size_t memory_bytes() const {
    return (cap_ + filter_mask_ + 1) * sizeof(uint64_t) + arena_bytes_;
  }

 private:
  static constexpr size_t kMinChunk = 64 * 1024;
  static size_t record_size(size_t key_len) {
    const size_t a = alignof(V);
    return (sizeof(V) + 1 + key_len + a - 1) / a * a;
  }
  static size_t key_len(const char* rec) { return static_cast<unsigned char>(rec[sizeof(V)]); }
  static bool same_key(const char* rec, std::string_view key) {
    return key_len(rec) == key.size() &&
           std::memcmp(rec + sizeof(V) + 1, key.data(), key.size()) == 0;
  }
  size_t index(uint64_t hash) const {
    return static_cast<size_t>((static_cast<uint64_t>(static_cast<uint32_t>(hash)) * cap_) >> 32);
  }
  static uint64_t tag_of(uint64_t hash) { return hash >> 49; }
  static size_t filter_words(size_t cap) {  // a power of two >= cap / 8
    size_t w = 1;
    while (w * 8 < cap) w <<= 1;
    return w;
  }
  // The word: the top bits of hash bits 0..31, as the slot index takes them
  // (so entries inserted in slot order, as a restore does, fill the filter
  // front to back too: one pass instead of a cache miss per entry); the two
  // bits: hash bits 32..43, independent of both the word and the tag (49..63).
  size_t filter_word(uint64_t hash) const {
    return static_cast<size_t>(
        (static_cast<uint64_t>(static_cast<uint32_t>(hash)) * (filter_mask_ + 1)) >> 32);
  }
  static uint64_t filter_bits(uint64_t hash) {
    return (uint64_t{1} << ((hash >> 32) & 63)) | (uint64_t{1} << ((hash >> 38) & 63));
  }

  // Slot holding (key, kind), or SIZE_MAX; *first_free = first empty or tomb.
  size_t locate(std::string_view key, uint64_t hash, unsigned kind, size_t* first_free) const {
    const uint64_t tag = tag_of(hash);
    *first_free = SIZE_MAX;
    for (size_t i = index(hash);; i = (i + 1 == cap_) ? 0 : i + 1) {
      const uint64_t s = slots_[i].load(std::memory_order_relaxed);
      if (s == kEmpty) {
        if (*first_free == SIZE_MAX) *first_free = i;
        return SIZE_MAX;
      }
      if (s == kTomb) {
        if (*first_free == SIZE_MAX) *first_free = i;
        continue;
      }
      if ((s >> 49) != tag || ((s >> 48) & 1) != kind) continue;
      if (same_key(reinterpret_cast<const char*>(s & kPtrMask), key)) return i;
    }
  }

  void put_slot(size_t i, uint64_t hash, unsigned kind, const char* rec) {
    const uint64_t p = reinterpret_cast<uint64_t>(rec);
    assert((p & ~kPtrMask) == 0 && p > kTomb);
    // Release pairs with the readers' acquire load in find(): publishes the
    // record bytes written by write_record() before the pointer.
    slots_[i].store((tag_of(hash) << 49) | (uint64_t{kind} << 48) | p, std::memory_order_release);
  }

  const char* write_record(std::string_view key, const V& v) {
    const size_t need = record_size(key.size());
    if (chunks_.empty() || chunk_used_ + need > chunk_cap_) {
      chunk_cap_ = chunks_.empty() ? chunk_size_ : kMinChunk * 4;
      if (chunk_cap_ < need) chunk_cap_ = need;        // never write past a chunk
      chunks_.push_back(big_alloc<char>(chunk_cap_));  // 16-byte aligned at least
      arena_bytes_ += chunk_cap_;
      chunk_used_ = 0;
    }
    char* rec = chunks_.back().get() + chunk_used_;  // chunk_used_ stays a multiple of alignof(V)
    chunk_used_ += need;
    std::memcpy(rec, &v, sizeof(V));
    rec[sizeof(V)] = static_cast<char>(key.size());
    std::memcpy(rec + sizeof(V) + 1, key.data(), key.size());
    return rec;
  }

  size_t cap_;
  BigPtr<std::atomic<uint64_t>> slots_;
  size_t filter_mask_;
  BigPtr<std::atomic<uint64_t>> filter_;
  std::vector<BigPtr<char>> chunks_;
  size_t chunk_size_;
  size_t chunk_cap_ = 0;
  size_t chunk_used_ = 0;
  size_t arena_bytes_ = 0;
  size_t used_ = 0;  // non-empty slots (live + tombstones)
  size_t live_ = 0;
  std::atomic<size_t> live_hint_{0};  // live_, for readers (maybe_empty)
  size_t tombs_ = 0;
  size_t live_bytes_ = 0;
  size_t garbage_bytes_ = 0;
};

}  // namespace policysync::detail
