// group_id validation (SPEC §2): 1-255 bytes of printable UTF-8.
//
// The general category of a code point (Cf: format characters such as
// U+200B ZERO WIDTH SPACE) comes from GNU libunistring, Debian's Unicode
// library (libidn2 already depends on it): a hand-kept table would go stale
// with each Unicode release.
#include <unictype.h>
#include <unistr.h>

#include <cstdio>
#include <string>

#include "policysync/message.h"

namespace policysync {

namespace {

Status refuse(size_t offset, ucs4_t c, const char* what) {
  char cp[16];
  std::snprintf(cp, sizeof(cp), "U+%04X", static_cast<unsigned>(c));
  return Status(Reason::kOutOfRange, "group_id",
                std::string(what) + " " + cp + " at offset " + std::to_string(offset));
}

bool is_noncharacter(ucs4_t c) { return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE; }

}  // namespace

Status check_group_id(std::string_view g) {
  if (g.empty() || g.size() > 255)
    return Status(Reason::kOutOfRange, "group_id",
                  "length " + std::to_string(g.size()) + ", must be 1-255 bytes");
  const auto* s = reinterpret_cast<const uint8_t*>(g.data());
  size_t i = 0;
  ucs4_t first = 0, last = 0;
  while (i < g.size()) {
    ucs4_t c;
    // The strict decoder: negative for an ill-formed or incomplete sequence
    // (overlong forms, encoded surrogates, bytes past U+10FFFF).
    const int n = u8_mbtoucr(&c, s + i, g.size() - i);
    if (n < 0 || (c >= 0xD800 && c <= 0xDFFF))
      return Status(Reason::kOutOfRange, "group_id",
                    "invalid UTF-8 at offset " + std::to_string(i));
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return refuse(i, c, "control character");
    if (c == 0x2028 || c == 0x2029) return refuse(i, c, "line or paragraph separator");
    if (is_noncharacter(c)) return refuse(i, c, "noncharacter");
    if (uc_is_general_category(c, UC_CATEGORY_Cf)) return refuse(i, c, "format character");
    if (i == 0) first = c;
    last = c;
    i += static_cast<size_t>(n);
  }
  // Leading or trailing white space (a lone " " above all) is invisible in a
  // log line or a metrics label.
  if (uc_is_property_white_space(first) || uc_is_property_white_space(last))
    return Status(Reason::kOutOfRange, "group_id", "begins or ends with white space");
  return Status();
}

}  // namespace policysync
