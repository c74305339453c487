// RcuTable<V>: a single-writer, multi-reader open-addressing hash table whose
// readers are wait-free and whose writer updates entries in place, sized to
// its content. Layout and reasons: docs/store.md.
//
// Why hand-written: the lookup path needs (1) no lock, allocation or system
// call, (2) in-place O(1) upserts and removals visible to concurrent readers
// (SPEC §3, immediate operations), (3) a cost that follows the content (a
// group of ten rules must not cost 64 KiB, SPEC §3.1), and (4) lookups by
// precomputed hash so that every parent suffix of a query is hashed in one
// pass and prefetched together. liburcu's cds_lfht gives (1)-(2) but costs a
// malloc'd node and a pointer chase per entry; rte_hash gives none of (2)
// without its own RCU mode and needs ~135 bytes per entry here.
//
// Layout. Slots come in 64-byte chunks (one cache line): a control word of
// eight tag bytes (seven used: 0 empty, 1 tombstone, 0x80 | 7 hash bits
// full) and seven record pointers, so one line answers "which of these seven
// slots may hold the key" (a SwissTable/F14-style tag match, done with SWAR
// on the word). A record is [V][kind:u8][len:u8][key], aligned for V (so
// pointers in V stay visible to LeakSanitizer), in an arena: a block inline
// in the table's own allocation (header, chunks and that block are one
// malloc: a small group's table is one allocation sized to its rules), then
// blocks added as it fills. Records are immutable once published: an upsert
// writes a new record and swaps the pointer; the old one stays in the arena
// (counted as garbage) until the table is rebuilt. Chunks are probed
// linearly from the home chunk (hash * chunks >> 32) until one with an empty
// slot.
//
// Concurrency. Readers: load a chunk's control word and pointers with
// acquire (pairs with the writer's release stores: a reader that sees a tag
// sees the pointer stored before it, and one that sees a pointer sees the
// record bytes written before it). Writer: one thread only. A table never
// grows in place: when upsert() reports kFull, the owner builds rebuilt()
// and publishes it with an atomic pointer swap, retiring this one through RCU.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string_view>
#include <vector>

#include "core/big_alloc.h"

namespace policysync::detail {

// What RcuTable::upsert() did (the same for every table type).
enum class TablePut { kInserted, kUpdated, kFull, kKeyTooLong };

// Chunks visited by the writer's inserts and updates on this thread (a probe
// count: restore and growth are linear only if it grows linearly with the
// entries written; tests/consumer/restore_probe_test.cc).
inline thread_local uint64_t t_table_probes = 0;

// The default Extra: nothing beside the table.
struct NoExtra {
  void adopt(NoExtra&, const std::function<const char*(std::string_view)>&) {}
};

// Hash: a stateless type with `static uint64_t hash(std::string_view key)`,
// the same function the callers use to compute the `hash` arguments.
// Extra: what the owner keeps in the table's header (a group's policy
// generation), with adopt(old, store) to take it over from a table this one
// replaces (`store` copies bytes into this table's arena).
// alignas(64): the chunks follow the header in the same allocation, each on
// a cache line of its own.
template <typename V, typename Hash, typename Extra = NoExtra>
class alignas(64) RcuTable {
  static_assert(std::is_trivially_copyable_v<V>);

 public:
  static constexpr int kKinds = 2;
  static constexpr size_t kSlotsPerChunk = 7;
  static constexpr size_t kMaxKey = 255;  // a record stores the length in one byte
  using Put = TablePut;

  // A published record. Valid until the reader's next quiescent state.
  class Record {
   public:
    explicit Record(const char* p) : p_(p) {}
    std::string_view key() const {
      return {p_ + sizeof(V) + 2, static_cast<unsigned char>(p_[sizeof(V) + 1])};
    }
    unsigned kind() const { return static_cast<unsigned char>(p_[sizeof(V)]); }
    V value() const {
      V v;
      std::memcpy(&v, p_, sizeof(V));
      return v;
    }

   private:
    const char* p_;
  };

  // A table for `capacity` slots (rounded up to whole chunks) and
  // `arena_bytes` of records before it adds an arena block. One allocation
  // unless the slots alone pass big_alloc's mmap threshold.
  static std::unique_ptr<RcuTable> create(size_t capacity, size_t arena_bytes = 0) {
    const size_t chunks = chunks_for(capacity);
    const bool inline_chunks = chunks * sizeof(Chunk) < kHugePage;
    const size_t inline_bytes = (inline_chunks ? chunks * sizeof(Chunk) : 0) + arena_bytes;
    static_assert(sizeof(RcuTable) <= 128, "a small table's header stays two cache lines");
    void* mem = std::aligned_alloc(64, round64(sizeof(RcuTable) + inline_bytes));
    if (mem == nullptr) std::abort();
    return std::unique_ptr<RcuTable>(new (mem) RcuTable(chunks, inline_chunks, arena_bytes));
  }
  // A table that holds `entries` entries of `record_bytes` in all, the
  // slots at most 3/4 used, the arena exact: what a table settles to.
  static std::unique_ptr<RcuTable> for_content(size_t entries, size_t record_bytes) {
    return create((entries * 4 + 2) / 3, record_bytes);
  }
  // A table for `entries` that keeps room to grow without a stop: at
  // `entries` its slots are 11/16 used, so a ShadowGrowth told to expect
  // that many (ShadowGrowth::expect) can still copy itself into a shadow
  // (a sixteenth of the slots per upsert) before the table fills.
  static std::unique_ptr<RcuTable> with_headroom(size_t entries, size_t record_bytes) {
    return create(entries * 16 / 11 + kSlotsPerChunk, record_bytes);
  }
  // What for_content(entries, record_bytes) allocates.
  static size_t for_content_bytes(size_t entries, size_t record_bytes) {
    const size_t chunks = chunks_for((entries * 4 + 2) / 3);
    return round64(sizeof(RcuTable) + chunks * sizeof(Chunk) + record_bytes);
  }
  static void operator delete(void* p) { std::free(p); }
  RcuTable(const RcuTable&) = delete;
  RcuTable& operator=(const RcuTable&) = delete;
  ~RcuTable() = default;

  // Reader side, wait-free. Hints the CPU to fetch the header's two lines
  // (and so the first chunk of a small table, which follows them).
  void prefetch_header() const {
    __builtin_prefetch(this);
    __builtin_prefetch(reinterpret_cast<const char*>(this) + 64);
    __builtin_prefetch(reinterpret_cast<const char*>(this) + 128);
  }

  // Reader side, wait-free. Hints the CPU to fetch the home chunk for `hash`.
  void prefetch(uint64_t hash) const { __builtin_prefetch(&chunks_[home(hash)]); }
  // Reader side, wait-free. Once the home chunk is in cache: fetches the
  // records whose tag matches `hash` (a false match costs one line).
  void prefetch_matches(uint64_t hash) const {
    const Chunk& c = chunks_[home(hash)];
    for (uint64_t m = match(c.ctrl.load(std::memory_order_acquire), tag_of(hash)); m; m &= m - 1)
      __builtin_prefetch(c.rec[slot_of(m)].load(std::memory_order_relaxed));
  }

  // Reader side, wait-free. Finds `key` of each kind in `want` (bit per kind)
  // and stores the records found in out[kind]. Returns the bits found.
  unsigned find(std::string_view key, uint64_t hash, unsigned want, const char** out) const {
    const uint64_t tag = tag_of(hash);
    unsigned found = 0;
    size_t i = home(hash);
    for (size_t n = 0; n < chunks_count_; ++n) {
      const Chunk& c = chunks_[i];
      // Acquire pairs with the release stores of publish_slot() and
      // erase(): the pointers stored before a tag are visible with it.
      const uint64_t ctrl = c.ctrl.load(std::memory_order_acquire);
      for (uint64_t m = match(ctrl, tag); m; m &= m - 1) {
        // Acquire pairs with the release store of the pointer: the
        // record's bytes are visible before the pointer.
        const char* rec = c.rec[slot_of(m)].load(std::memory_order_acquire);
        if (!same_key(rec, key)) continue;
        const unsigned kind = Record(rec).kind();
        if (!(want & (1u << kind)) || (found & (1u << kind))) continue;
        out[kind] = rec;
        found |= 1u << kind;
        if (found == want) return found;
      }
      if (has_empty(ctrl)) return found;
      i = i + 1 == chunks_count_ ? 0 : i + 1;
    }
    return found;
  }

  const char* find_one(std::string_view key, uint64_t hash, unsigned kind = 0) const {
    const char* out[kKinds] = {nullptr, nullptr};
    find(key, hash, 1u << kind, out);
    return out[kind];
  }

  // Writer side. Inserts or replaces (key, kind). kFull: nothing changed; the
  // owner must publish rebuilt(size() + 1) and retry there (the slots are at
  // their load limit, or the garbage of rewritten records outweighs the live
  // ones). kKeyTooLong: nothing changed (callers validate first; this is the
  // table's own guard).
  Put upsert(std::string_view key, uint64_t hash, unsigned kind, const V& v) {
    assert(kind < kKinds);
    if (key.size() > kMaxKey) return Put::kKeyTooLong;
    if (garbage_bytes_ > 4096 && garbage_bytes_ > live_bytes_) return Put::kFull;  // compact
    size_t first_free = SIZE_MAX;
    const size_t slot = locate(key, hash, kind, &first_free);
    if (slot != SIZE_MAX) {
      std::atomic<const char*>& p = ptr(slot);
      const char* old = p.load(std::memory_order_relaxed);
      // Release pairs with the readers' acquire load of the pointer.
      p.store(write_record(key, kind, v), std::memory_order_release);
      garbage_bytes_ += record_size(key_len(old));
      return Put::kUpdated;
    }
    const bool reuses_tomb = tag_at(first_free) == kTomb;
    if (!reuses_tomb && used_ + 1 > max_used()) return Put::kFull;
    publish_slot(first_free, tag_of(hash), write_record(key, kind, v));
    if (reuses_tomb)
      --tombs_;
    else
      ++used_;
    ++live_;
    // Relaxed: a reader that sees 0 skips the table (maybe_empty), as one
    // ordered before this insert would; one that sees it non-zero searches
    // with acquire loads as always.
    live_hint_.store(live_, std::memory_order_relaxed);
    live_bytes_ += record_size(key.size());
    return Put::kInserted;
  }

  // Writer side. Removes (key, kind); returns whether it was present.
  bool erase(std::string_view key, uint64_t hash, unsigned kind) {
    size_t first_free;
    const size_t slot = locate(key, hash, kind, &first_free);
    if (slot == SIZE_MAX) return false;
    const size_t sz = record_size(key_len(ptr(slot).load(std::memory_order_relaxed)));
    // Release: orders nothing new, but keeps every control store a release
    // store so readers' acquire loads always pair with one.
    set_tag(slot, kTomb);
    garbage_bytes_ += sz;
    live_bytes_ -= sz;
    --live_;
    live_hint_.store(live_, std::memory_order_relaxed);  // as in upsert()
    ++tombs_;
    return true;
  }

  // Writer side. A fresh table holding this one's live records, sized for at
  // least `min_entries` at load <= 1/2 and its records with room for half as
  // many again. O(size()).
  std::unique_ptr<RcuTable> rebuilt(size_t min_entries) const {
    const size_t n = min_entries > live_ ? min_entries : live_;
    auto t = create(n * 2 + 8, live_bytes_ + live_bytes_ / 2 + 64);
    copy_all(*t);
    return t;
  }

  // Writer side. A fresh table holding this one's live records in as little
  // memory as for_content() gives them, and `reserve` more arena bytes (for
  // store_bytes()). O(size()).
  std::unique_ptr<RcuTable> compacted(size_t reserve = 0) const {
    auto t = for_content(live_, live_bytes_ + reserve);
    copy_all(*t);
    return t;
  }

  // Writer side. Copies the live records of slots [from, from + max) into
  // `to` unless `to` already holds the key (a newer write went there too).
  // Returns the slot after the last one looked at (capacity() at the end),
  // or SIZE_MAX if `to` refused a record (full: the copy cannot go on).
  size_t copy_into(RcuTable& to, size_t from, size_t max) const {
    size_t i = from;
    const size_t cap = capacity();
    for (; i < cap && i - from < max; ++i) {
      if (tag_at(i) < kFullBit) continue;
      const Record r(ptr(i).load(std::memory_order_relaxed));
      const std::string_view key = r.key();
      const uint64_t hash = Hash::hash(key);
      if (to.find_one(key, hash, r.kind())) continue;
      if (to.upsert(key, hash, r.kind(), r.value()) != Put::kInserted) return SIZE_MAX;
    }
    return i;
  }

  // Reader side, wait-free. Visits the live records in slots [from, from +
  // max): fn(record), the record's address (Record(rec) reads it). Returns
  // the slot after the last one looked at (capacity() once the end is
  // reached).
  template <typename Fn>
  size_t scan(size_t from, size_t max, Fn&& fn) const {
    size_t i = from;
    const size_t cap = capacity();
    for (; i < cap && i - from < max; ++i) {
      // Acquire pairs with publish_slot()'s release stores, as in find().
      const uint64_t ctrl = chunks_[i / kSlotsPerChunk].ctrl.load(std::memory_order_acquire);
      if (byte(ctrl, i % kSlotsPerChunk) < kFullBit) continue;
      fn(ptr(i).load(std::memory_order_acquire));
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
  // are read in order but the records they point to are scattered, so the
  // records of the chunk two ahead are fetched before this one's are read.
  template <typename Fn>
  void for_each_record(Fn&& fn) const {
    constexpr size_t kAhead = 2;
    for (size_t c = 0; c < chunks_count_; ++c) {
      if (c + kAhead < chunks_count_) {
        const Chunk& a = chunks_[c + kAhead];
        const uint64_t ctrl = a.ctrl.load(std::memory_order_relaxed);
        for (size_t j = 0; j < kSlotsPerChunk; ++j)
          if (byte(ctrl, j) >= kFullBit)
            __builtin_prefetch(a.rec[j].load(std::memory_order_relaxed));
      }
      const Chunk& k = chunks_[c];
      const uint64_t ctrl = k.ctrl.load(std::memory_order_relaxed);
      for (size_t j = 0; j < kSlotsPerChunk; ++j) {
        if (byte(ctrl, j) < kFullBit) continue;
        Record r(k.rec[j].load(std::memory_order_relaxed));
        fn(r.key(), r.kind(), r.value());
      }
    }
  }

  // What the owner keeps in the header. Readers may read what the writer
  // published before the table itself.
  Extra& extra() { return extra_; }
  const Extra& extra() const { return extra_; }

  // Writer side. Copies `bytes` into the arena (not a record: kept as long as
  // the table, never counted as live or garbage) and returns where.
  // If the arena has no room left, a block of exactly that size is added (a
  // table sized to its content keeps room for its origin; see Pending).
  const char* store_bytes(std::string_view bytes) {
    const size_t need = stored_size(bytes.size());
    if (!has_room_for_bytes(bytes.size())) add_block(need, /*exact=*/true);
    char* p = cur_;
    cur_ += need;
    std::memcpy(p, bytes.data(), bytes.size());
    return p;
  }

  // Writer side. Whether store_bytes() of `n` bytes fits the arena as it is
  // (else it adds a block of its own).
  bool has_room_for_bytes(size_t n) const {
    return static_cast<size_t>(cur_end_ - cur_) >= stored_size(n);
  }

  // Writer side. This table takes over `old`'s Extra (it replaces `old`).
  void adopt_extra(RcuTable& old) {
    extra_.adopt(old.extra_, [this](std::string_view b) { return store_bytes(b); });
  }

  // Reader side, wait-free. True: the table held nothing a moment ago, so a
  // lookup may skip it (an empty malicious feed then costs nothing).
  bool maybe_empty() const { return live_hint_.load(std::memory_order_relaxed) == 0; }

  size_t size() const { return live_; }
  size_t live_bytes() const { return live_bytes_; }  // records: value, kind, length, key
  size_t used_slots() const { return used_; }        // live + tombstones
  size_t capacity() const { return chunks_count_ * kSlotsPerChunk; }
  // upsert() reports kFull once used_slots() would pass this: 3/4 of the slots.
  size_t max_used() const { return capacity() * 3 / 4; }
  // Everything this table allocated: its own block, outside chunks, arena blocks.
  // Whether everything lies in the table's own allocation (no arena block
  // added, no chunks apart).
  bool within_own_allocation() const { return outside_ == nullptr; }
  size_t memory_bytes() const {
    return size_t{own_lines_} * 64 + (outside_ ? sizeof(Outside) + outside_->bytes : 0);
  }
  // What a record of a key of `key_len` bytes takes in the arena.
  static size_t record_size(size_t key_len) {
    const size_t a = alignof(V);
    return (sizeof(V) + 2 + key_len + a - 1) / a * a;
  }

 private:
  struct alignas(64) Chunk {
    std::atomic<uint64_t> ctrl;  // byte j < 7: slot j's tag; byte 7 unused (0)
    std::atomic<const char*> rec[kSlotsPerChunk];
  };
  static_assert(sizeof(Chunk) == 64);

  static constexpr uint8_t kEmpty = 0;
  static constexpr uint8_t kTomb = 1;
  static constexpr uint8_t kFullBit = 0x80;
  static constexpr uint64_t kLow = 0x0101010101010101ull;
  static constexpr uint64_t kHigh = 0x8080808080808080ull;
  static constexpr uint64_t kSlotBytes = 0x0080808080808080ull;  // the seven slot tags' high bits

  RcuTable(size_t chunks, bool inline_chunks, size_t arena_bytes)
      : chunks_count_(static_cast<uint32_t>(chunks)) {
    char* tail = reinterpret_cast<char*>(this) + sizeof(RcuTable);
    own_lines_ = static_cast<uint32_t>(
        round64(sizeof(RcuTable) + (inline_chunks ? chunks * sizeof(Chunk) : 0) + arena_bytes) /
        64);
    if (inline_chunks) {
      chunks_ = reinterpret_cast<Chunk*>(tail);
      std::memset(static_cast<void*>(chunks_), 0, chunks * sizeof(Chunk));  // every tag kEmpty
      tail += chunks * sizeof(Chunk);
    } else {
      outside_ = std::make_unique<Outside>();
      outside_->chunks = big_alloc<Chunk>(chunks);  // zero-filled
      outside_->bytes = outside_->chunks.get_deleter().bytes;
      chunks_ = outside_->chunks.get();
    }
    cur_ = tail;
    cur_end_ = tail + arena_bytes;
  }

  static size_t round64(size_t n) { return (n + 63) / 64 * 64; }
  static size_t stored_size(size_t n) { return (n + alignof(V) - 1) / alignof(V) * alignof(V); }
  static size_t chunks_for(size_t capacity) {
    return capacity <= kSlotsPerChunk ? 1 : (capacity + kSlotsPerChunk - 1) / kSlotsPerChunk;
  }
  static size_t key_len(const char* rec) { return static_cast<unsigned char>(rec[sizeof(V) + 1]); }
  static bool same_key(const char* rec, std::string_view key) {
    return key_len(rec) == key.size() &&
           std::memcmp(rec + sizeof(V) + 2, key.data(), key.size()) == 0;
  }
  // Multiply-shift on the low 32 bits (any chunk count, no modulo): entries
  // inserted in hash order, as a restore of a snapshot in slot order does,
  // land front to back.
  size_t home(uint64_t hash) const {
    return static_cast<size_t>(
        (static_cast<uint64_t>(static_cast<uint32_t>(hash)) * chunks_count_) >> 32);
  }
  // The tag: 7 hash bits independent of the chunk index (bits 57..63).
  static uint8_t tag_of(uint64_t hash) { return static_cast<uint8_t>(kFullBit | (hash >> 57)); }
  static uint8_t byte(uint64_t ctrl, size_t j) { return static_cast<uint8_t>(ctrl >> (8 * j)); }
  // 0x80 in each of the seven slot bytes of `ctrl` equal to `b`, exactly
  // (no false positives: the high bit is tested after masking it off).
  static uint64_t bytes_equal(uint64_t ctrl, uint8_t b) {
    const uint64_t x = ctrl ^ (kLow * b);
    return ~(((x & ~kHigh) + ~kHigh) | x | ~kHigh) & kSlotBytes;
  }
  static uint64_t match(uint64_t ctrl, uint8_t tag) { return bytes_equal(ctrl, tag); }
  static bool has_empty(uint64_t ctrl) { return bytes_equal(ctrl, kEmpty) != 0; }
  static size_t slot_of(uint64_t match_bits) {
    return static_cast<size_t>(__builtin_ctzll(match_bits)) / 8;
  }

  std::atomic<const char*>& ptr(size_t slot) const {
    return chunks_[slot / kSlotsPerChunk].rec[slot % kSlotsPerChunk];
  }
  uint8_t tag_at(size_t slot) const {
    return byte(chunks_[slot / kSlotsPerChunk].ctrl.load(std::memory_order_relaxed),
                slot % kSlotsPerChunk);
  }
  void set_tag(size_t slot, uint8_t tag) {
    std::atomic<uint64_t>& c = chunks_[slot / kSlotsPerChunk].ctrl;
    const size_t shift = 8 * (slot % kSlotsPerChunk);
    const uint64_t old = c.load(std::memory_order_relaxed);
    // Release pairs with the readers' acquire load of the control word.
    c.store((old & ~(uint64_t{0xff} << shift)) | (uint64_t{tag} << shift),
            std::memory_order_release);
  }
  void publish_slot(size_t slot, uint8_t tag, const char* rec) {
    // The pointer first, then the tag that makes readers look at it (both
    // release: see find()).
    ptr(slot).store(rec, std::memory_order_release);
    set_tag(slot, tag);
  }

  // Slot holding (key, kind), or SIZE_MAX; *first_free = first empty or tomb.
  size_t locate(std::string_view key, uint64_t hash, unsigned kind, size_t* first_free) const {
    const uint8_t tag = tag_of(hash);
    *first_free = SIZE_MAX;
    size_t i = home(hash);
    for (size_t n = 0; n < chunks_count_; ++n) {
      ++t_table_probes;
      const Chunk& c = chunks_[i];
      const uint64_t ctrl = c.ctrl.load(std::memory_order_relaxed);
      for (uint64_t m = match(ctrl, tag); m; m &= m - 1) {
        const size_t j = slot_of(m);
        const char* rec = c.rec[j].load(std::memory_order_relaxed);
        if (Record(rec).kind() == kind && same_key(rec, key)) return i * kSlotsPerChunk + j;
      }
      if (*first_free == SIZE_MAX) {
        const uint64_t free = bytes_equal(ctrl, kEmpty) | bytes_equal(ctrl, kTomb);
        if (free) *first_free = i * kSlotsPerChunk + slot_of(free);
      }
      if (has_empty(ctrl)) return SIZE_MAX;
      i = i + 1 == chunks_count_ ? 0 : i + 1;
    }
    return SIZE_MAX;  // every chunk full of live or tombstoned slots: the load limit prevents it
  }

  void copy_all(RcuTable& t) const {
    for_each_record([&](std::string_view key, unsigned kind, const V& v) {
      // A fresh table sized for every entry takes each one: nothing to refuse.
      [[maybe_unused]] const Put p = t.upsert(key, Hash::hash(key), kind, v);
      assert(p == Put::kInserted);
    });
  }

  const char* write_record(std::string_view key, unsigned kind, const V& v) {
    const size_t need = record_size(key.size());
    if (static_cast<size_t>(cur_end_ - cur_) < need) add_block(need);
    char* rec = cur_;  // stays a multiple of alignof(V) from an aligned start
    cur_ += need;
    std::memcpy(rec, &v, sizeof(V));
    rec[sizeof(V)] = static_cast<char>(kind);
    rec[sizeof(V) + 1] = static_cast<char>(key.size());
    std::memcpy(rec + sizeof(V) + 2, key.data(), key.size());
    return rec;
  }

  // A new arena block: half of what the arena holds so far (the arena grows
  // geometrically, as the slots do), at least 256 bytes, at most 1 MiB (so
  // a large table's unused tail stays under 1 MiB).
  void add_block(size_t need, bool exact = false) {
    size_t size = (live_bytes_ + garbage_bytes_) / 2;
    if (size < 256) size = 256;
    if (size > (1u << 20)) size = 1u << 20;
    if (size < need || exact) size = need;
    if (!outside_) outside_ = std::make_unique<Outside>();
    outside_->blocks.push_back(big_alloc<char>(size));  // 16-byte aligned at least
    const size_t bytes = outside_->blocks.back().get_deleter().bytes;
    outside_->bytes += bytes >= kHugePage ? bytes : (size + 63) / 64 * 64;
    cur_ = outside_->blocks.back().get();
    cur_end_ = cur_ + size;
  }

  // What a table keeps outside its own allocation (a large table's chunks,
  // arena blocks added as it fills); none for a table sized to its content.
  struct Outside {
    BigPtr<Chunk> chunks;
    std::vector<BigPtr<char>> blocks;
    size_t bytes = 0;
  };

  Chunk* chunks_ = nullptr;
  Extra extra_;
  uint32_t chunks_count_;
  uint32_t own_lines_ = 0;  // this allocation (header, inline chunks and arena), in 64 B
  char* cur_ = nullptr;     // arena: next record
  char* cur_end_ = nullptr;
  std::unique_ptr<Outside> outside_;
  uint32_t used_ = 0;  // non-empty slots (live + tombstones)
  uint32_t live_ = 0;
  uint32_t tombs_ = 0;
  std::atomic<uint32_t> live_hint_{0};  // live_, for readers (maybe_empty)
  size_t live_bytes_ = 0;
  size_t garbage_bytes_ = 0;
};

}  // namespace policysync::detail
