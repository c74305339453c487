// A query made ready for the tables: normalised into a padded buffer, split
// into suffixes, every suffix hashed. Reader side, wait-free, no allocation.
// About 1.4 KiB: lives on the worker's stack.
//
// prepare() is normalize_query_ascii() and suffix_hashes() fused: with SSE2 it
// lower-cases, validates and finds the dots 16 bytes at a time (the scalar
// normaliser costs ~35 ns on a 24-byte name, this ~10 ns). The two must agree
// exactly; tests/core/lookup_test.cc and the fuzz_domain target check it.
#pragma once

#include <cstring>
#include <string_view>

#include "core/domain_hash.h"
#include "policysync/domain_name.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace policysync::detail {

struct PreparedQuery {
  char name[kMaxDomainLength + 1 + 16 + kHashPadding];
  int n = -1;
  int labels = 0;
  uint8_t starts[kMaxLabels];
  uint64_t hashes[kMaxLabels];

  // False if the query is not a valid ASCII name (then n == -1).
  bool prepare(std::string_view qname) {
    n = -1;
    size_t len = qname.size();
    if (len != 0 && qname[len - 1] == '.') --len;
    if (len == 0 || len > kMaxDomainLength) return false;
    std::memcpy(name, qname.data(), len);
    return finish(len);
  }

  // A DNS wire-format name (domain_name.h), at most `len` bytes read:
  // 1 ready, as prepare() on the dotted form would make it; 0 well formed but
  // not a valid ASCII host name (the root, a byte outside [A-Za-z0-9_-] in a
  // label, '.' included); -1 malformed (wire_name_length() == 0).
  // The labels are copied once into `name`, each length byte after the first
  // becoming the dot it stands for; no dotted string is built first.
  int prepare_wire(const uint8_t* wire, size_t len) {
    n = -1;
    const size_t wl = wire_name_length(wire, len);
    if (wl == 0) return -1;
    if (wl == 1) return 0;    // the root
    const size_t d = wl - 2;  // the labels and one dot between each two
    std::memcpy(name, wire + 1, d);
    int wire_labels = 1;
    for (size_t q = wire[0]; q < d; q += 1u + wire[q + 1]) {
      name[q] = '.';
      ++wire_labels;
    }
    // A '.' byte inside a label reads as one more separator (or, ending the
    // name, as an empty label, which finish() refuses).
    if (!finish(d) || labels != wire_labels) {
      n = -1;
      return 0;
    }
    return 1;
  }

  std::string_view suffix(int k) const {
    return {name + starts[k], static_cast<size_t>(n - starts[k])};
  }

 private:
  // Lower-cases and validates name[0, len) in place (1 <= len <= 253, no
  // trailing dot stripped here), finds the labels and hashes every suffix.
  bool finish(size_t len) {
#if defined(__SSE2__)
    std::memset(name + len, 0, 16 + kHashPadding);
    const int total = static_cast<int>(len);
    labels = 0;
    starts[labels++] = 0;
    const __m128i a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1);
    const __m128i A1 = _mm_set1_epi8('A' - 1), Z1 = _mm_set1_epi8('Z' + 1);
    const __m128i d1 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
    const __m128i dot = _mm_set1_epi8('.'), dash = _mm_set1_epi8('-');
    const __m128i under = _mm_set1_epi8('_'), bit5 = _mm_set1_epi8(0x20);
    int prev = 0;  // start of the current label
    for (int base = 0; base < total; base += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(name + base));
      // Signed compares: bytes >= 0x80 are negative, so never in a range.
      const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, A1), _mm_cmpgt_epi8(Z1, v));
      v = _mm_or_si128(v, _mm_and_si128(upper, bit5));
      const __m128i dots = _mm_cmpeq_epi8(v, dot);
      __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, a1), _mm_cmpgt_epi8(z1, v));
      ok = _mm_or_si128(ok, _mm_and_si128(_mm_cmpgt_epi8(v, d1), _mm_cmpgt_epi8(d9, v)));
      ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, dash), _mm_cmpeq_epi8(v, under)));
      ok = _mm_or_si128(ok, dots);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(name + base), v);
      const int in_block = total - base < 16 ? total - base : 16;
      const unsigned live = in_block == 16 ? 0xffffu : (1u << in_block) - 1;
      if ((static_cast<unsigned>(_mm_movemask_epi8(ok)) & live) != live) return false;
      unsigned m = static_cast<unsigned>(_mm_movemask_epi8(dots)) & live;
      while (m) {
        const int at = base + __builtin_ctz(m);
        const int label_len = at - prev;
        if (label_len == 0 || label_len > static_cast<int>(kMaxLabelLength)) return false;
        prev = at + 1;
        starts[labels++] = static_cast<uint8_t>(prev);
        m &= m - 1;
      }
    }
    const int last = total - prev;
    if (last == 0 || last > static_cast<int>(kMaxLabelLength)) return false;
    // The padding after the name is zero again (the lower-casing stored 16
    // bytes per block, all of them zero or name bytes).
    n = total;
    hash_suffixes(name, n, labels, starts, hashes);
    return true;
#else
    if (name[len - 1] == '.') return false;  // normalize_query_ascii would drop it
    n = normalize_query_ascii(std::string_view(name, len), name);
    if (n < 0) return false;
    std::memset(name + n, 0, kHashPadding);
    labels = suffix_hashes(name, n, starts, hashes);
    return true;
#endif
  }
};

}  // namespace policysync::detail
