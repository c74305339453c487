// UTF-8 at the edges of text that travels on (log lines, reasons in status
// records): a prefix that does not end inside a character, and a copy with
// every invalid sequence replaced by U+FFFD. Validation is simdjson's (the
// library that parsed the text); only the walk over sequences is here.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

namespace policysync::detail {

// At most `max` bytes of `s`, cut before a character rather than inside one
// (for valid UTF-8; other bytes count as one character each).
inline std::string_view utf8_prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  // Back off over continuation bytes (10xxxxxx) to the start of the character.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Appends `s` to *out with every byte that does not start a valid UTF-8
// sequence replaced by U+FFFD, so that a JSON reader (simdjson validates
// UTF-8) never refuses the whole document for one bad byte.
inline void append_valid_utf8(std::string* out, std::string_view s) {
  if (simdjson::validate_utf8(s.data(), s.size())) {
    out->append(s);
    return;
  }
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80                 ? 1
                       : b >= 0xC2 && b <= 0xDF ? 2
                       : b >= 0xE0 && b <= 0xEF ? 3
                       : b >= 0xF0 && b <= 0xF4 ? 4
                                                : 0;
    if (len != 0 && i + len <= s.size() && simdjson::validate_utf8(s.data() + i, len)) {
      out->append(s.substr(i, len));
      i += len;
    } else {
      out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    }
  }
}

}  // namespace policysync::detail
