// Hashes of a domain name and of all its parent suffixes in one pass.
//
// Why hand-written: a lookup of "a.b.example.com" needs the hash of the name
// and of every parent ("b.example.com", "example.com", "com"). Hashing each
// suffix with a library hash costs a call and a branchy length dispatch per
// suffix (measured: ~10 ns each with XXH3). Here the labels are found with one
// SSE2 scan for dots and hashed right to left, each label's 8-byte words
// folded into the hash of the suffix to its right with a 64x64->128-bit
// multiply (the "mum" mix of wyhash), so each byte is read once and the hash
// of every suffix falls out on the way:
//   h(com) = F(seed, "com"),  h(example.com) = F(h(com), "example"), ...
// The seed is random per process: table layouts are not predictable from
// outside, and no hash is ever stored or sent anywhere.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <wmmintrin.h>
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace policysync::detail {

// Labels of a valid name (1-63 bytes each, 253 bytes in all): at most 127.
inline constexpr int kMaxLabels = 128;
// Longest name suffix_hashes() accepts: 253 bytes keep every label start in a
// uint8_t, whatever the bytes are.
inline constexpr int kMaxHashedName = 253;
// Labels suffix_hashes() may find in any kMaxHashedName bytes: all dots make
// 254 empty ones. Its starts/hashes arrays must hold this many.
inline constexpr int kMaxSplitLabels = kMaxHashedName + 1;
// Bytes a caller's name buffer must have readable (zeroed) past the name.
inline constexpr int kHashPadding = 16;

// Random per process unless a snapshot's seed is adopted first (below).
// Relaxed: the seed is the only datum; every thread reads the one value the
// first compare-exchange stored (a single modification order), and a reader
// that sees 0 takes part in that compare-exchange itself.
inline std::atomic<uint64_t> g_process_hash_seed{0};
uint64_t init_process_hash_seed();  // stores a random seed unless one is set
inline uint64_t process_hash_seed() {
  const uint64_t s = g_process_hash_seed.load(std::memory_order_relaxed);
  return s != 0 ? s : init_process_hash_seed();
}
// Makes `seed` (a snapshot's) this process's seed if nothing has been hashed
// yet. Returns whether the process now hashes with it. Why: a snapshot lists
// each table in slot order, which under the same seed is the order of the
// slots the entries land in again, so a restore writes the table front to
// back instead of at random (issue 12). Only speed depends on it.
bool adopt_process_hash_seed(uint64_t seed);

inline uint64_t mum(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Low `nbytes` bytes set, nbytes in [-15, 8] (no branch: conditional moves).
inline uint64_t low_bytes_mask(int nbytes) {
  const int b = nbytes < 0 ? 0 : nbytes;
  return b >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * b)) - 1;
}

// Hash of one label [p, p+len), independent of the other labels (so the
// labels of a name hash in parallel): one 64x64 multiply for a label of up to
// 16 bytes. The constants have the top bit of every byte set, which label
// bytes never have, so neither multiplier can be zero. p + len + 15 must be
// readable.
inline uint64_t hash_label(const char* p, int len) {
  constexpr uint64_t kK0 = 0xa0f61de478bd842full, kK1 = 0xe78bfed1a0b4a8dbull;
  uint64_t acc = 0;
  int i = 0;
  for (; len - i > 16; i += 16) {  // labels over 16 bytes only
    uint64_t w0, w1;
    std::memcpy(&w0, p + i, 8);
    std::memcpy(&w1, p + i + 8, 8);
    acc ^= mum(w0 ^ kK0, w1 ^ kK1);
  }
  const int r = len - i;  // 1..16
  uint64_t w0, w1;
  std::memcpy(&w0, p + i, 8);
  std::memcpy(&w1, p + i + 8, 8);
  w0 &= low_bytes_mask(r);
  w1 &= low_bytes_mask(r - 8);
  // The length goes into the top byte: "ab"+"c" and "a"+"bc" differ.
  return acc ^ mum(w0 ^ kK0, w1 ^ kK1 ^ (static_cast<uint64_t>(len) << 56));
}

// Hash of a suffix: its first label's hash folded into the hash of the
// suffix to its right. One multiply per label on the dependency chain.
inline uint64_t chain_label(uint64_t right, uint64_t label_hash) {
  constexpr uint64_t kK2 = 0x8ebc6af09c88c6e3ull;
  return mum(right ^ label_hash, kK2);
}

// The portable hash of every suffix (any CPU): mum-chained label words, as
// above. Given a name's label starts (starts[0] = 0), the hash of every
// suffix, right to left. `name` must have kHashPadding readable bytes after n.
inline void hash_suffixes_portable(const char* name, int n, int labels, const uint8_t* starts,
                                   uint64_t* hashes) {
  uint64_t h = process_hash_seed();
  int end = n;
  for (int k = labels - 1; k >= 0; --k) {
    h = chain_label(h, hash_label(name + starts[k], end - starts[k]));
    hashes[k] = h;
    end = starts[k] - 1;
  }
}

#if defined(__x86_64__)
#define POLICYSYNC_AES_HASH 1
// The same contract with the AES-NI round instruction, for CPUs that have it
// (chosen once per process by CPUID, so binaries still run on any x86-64):
// a label of up to 16 bytes is one 16-byte block (bytes past it masked to
// zero, its length XORed into the last byte) folded into the suffix state
// with one keyed AES round; each suffix's hash is one more round of that
// state. Two rounds mix every input byte into every output byte; the keys
// come from the per-process random seed, so which names collide cannot be
// worked out offline. Measured (docs/PERFORMANCE.md, issue 12, same binary
// with POLICYSYNC_PORTABLE_HASH=1 as the baseline): a single exact lookup
// 166-168 ns -> 143-149 ns; full verdicts, single or in bursts, unchanged
// within noise (their time goes to the tables, not the hash).
struct AesHashKeys {
  __m128i chain, out;
};
AesHashKeys make_aes_hash_keys();
inline const AesHashKeys& aes_hash_keys() {
  static const AesHashKeys k = make_aes_hash_keys();
  return k;
}
bool cpu_has_aes();

__attribute__((target("aes"))) inline void hash_suffixes_aes(const char* name, int n, int labels,
                                                             const uint8_t* starts,
                                                             uint64_t* hashes) {
  const AesHashKeys& keys = aes_hash_keys();
  const __m128i iota = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m128i h = keys.out;
  int end = n;
  for (int k = labels - 1; k >= 0; --k) {
    const char* p = name + starts[k];
    const int len = end - starts[k];
    int i = 0;
    for (; len - i > 16; i += 16)  // labels over 16 bytes only
      h = _mm_aesenc_si128(
          _mm_xor_si128(h, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))), keys.chain);
    __m128i last = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    last = _mm_and_si128(last, _mm_cmpgt_epi8(_mm_set1_epi8(static_cast<char>(len - i)), iota));
    // The length goes into the last byte: "abcdefgh" and "abcdefgh\0" differ.
    last = _mm_xor_si128(last, _mm_slli_si128(_mm_cvtsi32_si128(len & 0xff), 15));
    h = _mm_aesenc_si128(_mm_xor_si128(h, last), keys.chain);
    hashes[k] = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_aesenc_si128(h, keys.out)));
    end = starts[k] - 1;
  }
}
#endif

// Whether hash_suffixes() uses hash_suffixes_aes(); fixed for the process.
inline bool aes_hash_enabled() {
#if defined(POLICYSYNC_AES_HASH)
  static const bool yes = cpu_has_aes();
  return yes;
#else
  return false;
#endif
}

// Given a name's label starts (starts[0] = 0), the hash of every suffix,
// right to left. `name` must have kHashPadding readable bytes after n.
inline void hash_suffixes(const char* name, int n, int labels, const uint8_t* starts,
                          uint64_t* hashes) {
#if defined(POLICYSYNC_AES_HASH)
  if (aes_hash_enabled()) return hash_suffixes_aes(name, n, labels, starts, hashes);
#endif
  hash_suffixes_portable(name, n, labels, starts, hashes);
}

// Splits a normalised name into suffixes and hashes each. starts[k] is the
// offset of suffix k (k = 0: the whole name; k = labels-1: the last label),
// hashes[k] its hash. `name` must have kHashPadding readable bytes after n,
// and n <= kMaxHashedName (asserted; domain_hash() clamps); starts and
// hashes hold kMaxSplitLabels entries (kMaxLabels do for a valid name).
// Returns the number of labels.
inline int suffix_hashes(const char* name, int n, uint8_t* starts, uint64_t* hashes) {
  assert(n >= 0 && n <= kMaxHashedName);
  int labels = 0;
  starts[labels++] = 0;
#if defined(__SSE2__)
  const __m128i dot = _mm_set1_epi8('.');
  for (int base = 0; base < n; base += 16) {
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(name + base)), dot)));
    if (n - base < 16) mask &= (1u << (n - base)) - 1;
    while (mask) {
      starts[labels++] = static_cast<uint8_t>(base + __builtin_ctz(mask) + 1);
      mask &= mask - 1;
    }
  }
#else
  for (int i = 0; i < n; ++i)
    if (name[i] == '.') starts[labels++] = static_cast<uint8_t>(i + 1);
#endif
  hash_suffixes(name, n, labels, starts, hashes);
  return labels;
}

// Hash of a whole name given without padding (writer side: copies it).
// Safe for any input: a name over kMaxHashedName bytes (never a valid one)
// hashes as its first kMaxHashedName bytes; tables still compare whole keys.
inline uint64_t domain_hash(std::string_view name) {
  char buf[kMaxHashedName + 1 + kHashPadding];  // not zeroed whole: 270 bytes per call
  const size_t n = name.size() < kMaxHashedName ? name.size() : kMaxHashedName;
  std::memcpy(buf, name.data(), n);
  std::memset(buf + n, 0, kHashPadding);
  uint8_t starts[kMaxSplitLabels];
  uint64_t hashes[kMaxSplitLabels];
  suffix_hashes(buf, static_cast<int>(n), starts, hashes);
  return hashes[0];
}

inline uint64_t plain_hash(std::string_view s) {
  return XXH3_64bits_withSeed(s.data(), s.size(), process_hash_seed());
}

struct DomainHash {
  static uint64_t hash(std::string_view key) { return domain_hash(key); }
};
struct PlainHash {
  static uint64_t hash(std::string_view key) { return plain_hash(key); }
};

}  // namespace policysync::detail
