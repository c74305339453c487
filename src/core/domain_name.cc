#include "policysync/domain_name.h"

#include <idn2.h>

#include <array>
#include <cstdlib>
#include <string>

namespace policysync {
namespace {

// Character classes of a normalised name. Built once at compile time.
enum : unsigned char { kInvalid = 0, kLabelChar = 1, kDot = 2, kUpper = 3, kStar = 4 };

constexpr std::array<unsigned char, 256> make_classes() {
  std::array<unsigned char, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLabelChar;
  for (int c = '0'; c <= '9'; ++c) t[c] = kLabelChar;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kUpper;
  t['-'] = kLabelChar;
  t['_'] = kLabelChar;
  t['.'] = kDot;
  t['*'] = kStar;
  return t;
}
constexpr std::array<unsigned char, 256> kClass = make_classes();

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

std::string describe_char(unsigned char c, size_t offset) {
  static const char kHex[] = "0123456789abcdef";
  std::string d = "character ";
  if (c >= 0x20 && c < 0x7f) {
    d += '\'';
    d += static_cast<char>(c);
    d += "' ";
  }
  d += "(0x";
  d += kHex[c >> 4];
  d += kHex[c & 15];
  d += ") at offset " + std::to_string(offset);
  return d;
}

// Lower-cases ASCII, converts non-ASCII with IDNA, removes one trailing dot.
Status to_ascii(std::string_view in, std::string* out) {
  if (!in.empty() && in.back() == '.') in.remove_suffix(1);
  if (has_non_ascii(in)) {
    std::string z(in);  // libidn2 wants a NUL-terminated string
    if (z.find('\0') != std::string::npos)
      return Status(Reason::kBadDomain, "domain", "NUL byte in name");
    char* ascii = nullptr;
    int rc = idn2_to_ascii_8z(z.c_str(), &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      return Status(Reason::kBadDomain, "domain", std::string("IDNA: ") + idn2_strerror(rc));
    }
    out->assign(ascii);
    idn2_free(ascii);
  } else {
    out->assign(in);
  }
  for (char& c : *out)
    if (kClass[static_cast<unsigned char>(c)] == kUpper) c = static_cast<char>(c + ('a' - 'A'));
  return Status();
}

// Checks the length and character rules; `allow_star` admits `*` in labels.
Status validate(std::string_view name, bool allow_star, bool* has_star) {
  if (name.empty()) return Status(Reason::kBadDomain, "domain", "empty name");
  if (name.size() > kMaxDomainLength)
    return Status(Reason::kBadDomain, "domain",
                  "name is " + std::to_string(name.size()) + " bytes, more than 253");
  size_t label_start = 0;
  *has_star = false;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      size_t len = i - label_start;
      if (len == 0)
        return Status(Reason::kBadDomain, "domain",
                      "empty label at offset " + std::to_string(label_start));
      if (len > kMaxLabelLength)
        return Status(Reason::kBadDomain, "domain",
                      "label of " + std::to_string(len) + " bytes at offset " +
                          std::to_string(label_start) + ", more than 63");
      label_start = i + 1;
      continue;
    }
    unsigned char cls = kClass[static_cast<unsigned char>(name[i])];
    if (cls == kLabelChar) continue;
    if (cls == kStar && allow_star) {
      *has_star = true;
      continue;
    }
    return Status(Reason::kBadDomain, "domain",
                  describe_char(static_cast<unsigned char>(name[i]), i));
  }
  return Status();
}

}  // namespace

Status normalize_policy_domain(std::string_view in, PolicyName* out) {
  RuleKind kind = RuleKind::kPlain;
  if (in.size() >= 2 && in[0] == '*' && in[1] == '.') {
    kind = RuleKind::kWildcard;
    in.remove_prefix(2);
  }
  Status s = to_ascii(in, &out->name);
  if (!s.ok()) return s;
  bool has_star = false;
  s = validate(out->name, /*allow_star=*/true, &has_star);
  if (!s.ok()) return s;
  if (has_star) {
    // A pattern keeps its "*." prefix: it is part of what the pattern matches.
    if (kind == RuleKind::kWildcard) out->name.insert(0, "*.");
    if (out->name.size() > kMaxDomainLength)
      return Status(Reason::kBadDomain, "domain", "name longer than 253 bytes");
    kind = RuleKind::kPattern;
  }
  out->kind = kind;
  return Status();
}

Status normalize_query(std::string_view in, std::string* out) {
  Status s = to_ascii(in, out);
  if (!s.ok()) return s;
  bool has_star = false;
  return validate(*out, /*allow_star=*/false, &has_star);
}

int normalize_query_ascii(std::string_view in, char* buf) {
  if (!in.empty() && in.back() == '.') in.remove_suffix(1);
  const size_t n = in.size();
  if (n == 0 || n > kMaxDomainLength) return -1;
  size_t label_len = 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    unsigned char cls = kClass[c];
    if (cls == kLabelChar) {
      buf[i] = static_cast<char>(c);
      ++label_len;
    } else if (cls == kUpper) {
      buf[i] = static_cast<char>(c + ('a' - 'A'));
      ++label_len;
    } else if (cls == kDot) {
      if (label_len == 0) return -1;
      buf[i] = '.';
      label_len = 0;
      continue;
    } else {
      return -1;
    }
    if (label_len > kMaxLabelLength) return -1;
  }
  if (label_len == 0) return -1;
  buf[n] = '\0';
  return static_cast<int>(n);
}

size_t wire_name_length(const uint8_t* wire, size_t len) {
  size_t pos = 0;
  for (;;) {
    if (pos >= len) return 0;  // the next length byte is past the buffer
    const uint8_t b = wire[pos];
    if (b == 0) return pos + 1;
    if (b > kMaxLabelLength) return 0;  // 0xc0 pointer, 0x40/0x80 reserved, or too long
    pos += 1u + b;
    if (pos + 1 > kMaxWireNameLength) return 0;  // no room left for the final zero byte
  }
}

}  // namespace policysync
