#include "policysync/message_parser.h"

#include <simdjson.h>

#include <cstring>
#include <optional>
#include <string>

#include "core/utf8.h"

namespace policysync {

namespace od = simdjson::ondemand;

std::string_view message_type_name(MessageType t) {
  switch (t) {
    case MessageType::kBeginSync:
      return "BEGIN_SYNC";
    case MessageType::kAddDomain:
      return "ADD_DOMAIN";
    case MessageType::kRemoveDomain:
      return "REMOVE_DOMAIN";
    case MessageType::kSyncComplete:
      return "SYNC_COMPLETE";
    case MessageType::kAddMalicious:
      return "ADD_MALICIOUS";
    case MessageType::kRemoveMalicious:
      return "REMOVE_MALICIOUS";
    case MessageType::kAddGroup:
      return "ADD_GROUP";
    case MessageType::kRemoveGroup:
      return "REMOVE_GROUP";
  }
  return "?";
}

std::string_view action_name(Action a) {
  switch (a) {
    case Action::kNone:
      return "none";
    case Action::kWhitelist:
      return "whitelist";
    case Action::kBlacklist:
      return "blacklist";
    case Action::kAllow:
      return "allow";
    case Action::kMalicious:
      return "malicious";
  }
  return "?";
}

namespace {

std::optional<MessageType> type_from_name(std::string_view s) {
  static constexpr std::pair<std::string_view, MessageType> kTypes[] = {
      {"BEGIN_SYNC", MessageType::kBeginSync},
      {"ADD_DOMAIN", MessageType::kAddDomain},
      {"REMOVE_DOMAIN", MessageType::kRemoveDomain},
      {"SYNC_COMPLETE", MessageType::kSyncComplete},
      {"ADD_MALICIOUS", MessageType::kAddMalicious},
      {"REMOVE_MALICIOUS", MessageType::kRemoveMalicious},
      {"ADD_GROUP", MessageType::kAddGroup},
      {"REMOVE_GROUP", MessageType::kRemoveGroup},
  };
  for (const auto& [name, type] : kTypes)
    if (name == s) return type;
  return std::nullopt;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != b[i]) return false;
  }
  return true;
}

std::optional<Action> action_from_name(std::string_view s) {
  if (iequals(s, "whitelist")) return Action::kWhitelist;
  if (iequals(s, "blacklist")) return Action::kBlacklist;
  if (iequals(s, "allow")) return Action::kAllow;
  return std::nullopt;
}

// Parses "123" or "0x7b" (SPEC §2: numbers may be decimal or hex strings).
Status number_from_string(std::string_view s, const char* field, uint64_t max, uint64_t* out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return Status(Reason::kWrongType, field, "not a decimal or 0x-hex number");
  // Leading zeros change nothing ("000...01" is 1); the overflow check below
  // bounds the rest.
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  uint64_t v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return Status(Reason::kWrongType, field, "not a decimal or 0x-hex number");
    if (v > (UINT64_MAX - d) / static_cast<unsigned>(base))
      return Status(Reason::kOutOfRange, field, "number too large");
    v = v * static_cast<unsigned>(base) + d;
  }
  if (v > max)
    return Status(Reason::kOutOfRange, field, std::to_string(v) + " > " + std::to_string(max));
  *out = v;
  return Status();
}

// Nesting deeper than this inside a message is refused as bad_json (the
// validator recurses; no policy message needs more than 2 levels).
constexpr int kMaxDepth = 64;

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// Walks a value whole, so that malformed JSON anywhere in it is an error:
// On-Demand alone would skip an unread value without validating it, and
// SPEC §2 requires the whole message to be valid JSON (RFC 8259).
simdjson::error_code validate(od::value v, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      for (auto field : o) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        od::value fv;
        if (auto e = field.value().get(fv)) return e;
        if (auto e = validate(fv, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto el : a) {
        od::value ev;
        if (auto e = el.get(ev)) return e;
        if (auto e = validate(ev, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      // By grammar, not by value: 1e400 is valid JSON that no double holds.
      std::string_view raw = v.raw_json_token();
      while (!raw.empty() &&
             (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r'))
        raw.remove_suffix(1);
      return is_json_number(raw) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    }
    case od::json_type::string: {
      std::string_view str;
      return v.get_string().get(str);
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool null = false;
      if (auto e = v.is_null().get(null)) return e;
      return null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

// A field holds a value of the wrong type: wrong_type if that value is valid
// JSON, bad_json if it is not (e.g. "domain":nul).
Status wrong_type(od::value v, const char* field, const char* expected) {
  if (auto e = validate(v, 1)) return Status(Reason::kBadJson, field, simdjson::error_message(e));
  return Status(Reason::kWrongType, field, expected);
}

Status read_number(od::value v, const char* field, uint64_t max, uint64_t* out) {
  od::json_type t;
  if (v.type().get(t)) return Status(Reason::kBadJson, field);
  if (t == od::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) return Status(Reason::kBadJson, field);
    return number_from_string(s, field, max, out);
  }
  if (t != od::json_type::number) return wrong_type(v, field, "expected a number");
  od::number_type nt;
  if (v.get_number_type().get(nt)) return Status(Reason::kBadJson, field, "malformed number");
  if (nt == od::number_type::signed_integer) {
    int64_t i;
    if (v.get_int64().get(i)) return Status(Reason::kBadJson, field, "malformed number");
    if (i < 0) return Status(Reason::kOutOfRange, field, "negative");
    if (static_cast<uint64_t>(i) > max)
      return Status(Reason::kOutOfRange, field, std::to_string(i) + " > " + std::to_string(max));
    *out = static_cast<uint64_t>(i);
    return Status();
  }
  if (nt == od::number_type::unsigned_integer) {
    uint64_t u;
    if (v.get_uint64().get(u)) return Status(Reason::kBadJson, field, "malformed number");
    if (u > max)
      return Status(Reason::kOutOfRange, field, std::to_string(u) + " > " + std::to_string(max));
    *out = u;
    return Status();
  }
  // A float or an integer beyond 64 bits: still check that it is a number.
  return wrong_type(v, field, "expected an integer");
}

Status read_string(od::value v, const char* field, std::string_view* out) {
  od::json_type t;
  if (v.type().get(t)) return Status(Reason::kBadJson, field);
  if (t != od::json_type::string) return wrong_type(v, field, "expected a string");
  if (v.get_string().get(*out)) return Status(Reason::kBadJson, field, "malformed string");
  return Status();
}

enum Field : unsigned {
  kFType = 1u << 0,
  kFGroup = 1u << 1,
  kFDomain = 1u << 2,
  kFAction = 1u << 3,
  kFCategory = 1u << 4,
  kFPortMask = 1u << 5,
  kFConfidence = 1u << 6,
  kFCount = 1u << 7,
};

// Fields each type requires (SPEC §2's table).
unsigned required_fields(MessageType t) {
  switch (t) {
    case MessageType::kBeginSync:
    case MessageType::kSyncComplete:
    case MessageType::kAddGroup:
    case MessageType::kRemoveGroup:
      return kFGroup;
    case MessageType::kAddDomain:
      return kFGroup | kFDomain | kFAction;
    case MessageType::kRemoveDomain:
      return kFGroup | kFDomain;
    case MessageType::kAddMalicious:
      return kFDomain | kFCategory;
    case MessageType::kRemoveMalicious:
      return kFDomain;
  }
  return 0;
}

const char* field_name(unsigned bit) {
  switch (bit) {
    case kFType:
      return "type";
    case kFGroup:
      return "group_id";
    case kFDomain:
      return "domain";
    case kFAction:
      return "action";
    case kFCategory:
      return "category";
    case kFPortMask:
      return "port_mask";
    case kFConfidence:
      return "confidence";
    case kFCount:
      return "count";
  }
  return "field";
}

const char* first_missing(unsigned missing) {
  if (missing & kFGroup) return "group_id";
  if (missing & kFDomain) return "domain";
  if (missing & kFAction) return "action";
  if (missing & kFCategory) return "category";
  return "field";
}

}  // namespace

struct MessageParser::Impl {
  ParserLimits limits;
  od::parser parser;
  std::unique_ptr<char[]> buf;
  size_t cap = 0;

  Status parse_object(od::object obj, Message* out, std::string_view* domain_raw, unsigned* seen);
  // Best effort: the group_id and type of a message that failed validation.
  void recover_identity(size_t len, Message* out);
};

MessageParser::MessageParser(ParserLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}
MessageParser::~MessageParser() = default;

Status MessageParser::Impl::parse_object(od::object obj, Message* out, std::string_view* domain_raw,
                                         unsigned* seen) {
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key))
      return Status(Reason::kBadJson, "message", "malformed member");
    od::value v;
    if (field.value().get(v)) return Status(Reason::kBadJson, "message", "malformed member");
    unsigned bit = 0;
    Status s;
    uint64_t n = 0;
    std::string_view str;
    if (key == "type") {
      bit = kFType;
      s = read_string(v, "type", &str);
      if (s.ok()) {
        auto t = type_from_name(str);
        if (!t) {
          std::string shown(detail::utf8_prefix(str, 40));
          return Status(Reason::kUnknownType, "type", "\"" + shown + "\"");
        }
        out->type = *t;
        out->type_known = true;
      }
    } else if (key == "group_id") {
      bit = kFGroup;
      s = read_string(v, "group_id", &str);
      if (s.ok()) s = check_group_id(str);
      if (s.ok()) out->group_id.assign(str);
    } else if (key == "domain") {
      bit = kFDomain;
      s = read_string(v, "domain", domain_raw);
    } else if (key == "action") {
      bit = kFAction;
      s = read_string(v, "action", &str);
      if (s.ok()) {
        auto a = action_from_name(str);
        if (!a)
          return Status(Reason::kBadAction, "action",
                        "\"" + std::string(detail::utf8_prefix(str, 40)) + "\"");
        out->action = *a;
      }
    } else if (key == "category") {
      bit = kFCategory;
      s = read_number(v, "category", UINT32_MAX, &n);
      out->category = static_cast<uint32_t>(n);
    } else if (key == "port_mask") {
      bit = kFPortMask;
      s = read_number(v, "port_mask", UINT32_MAX, &n);
      out->port_mask = static_cast<uint32_t>(n);
    } else if (key == "confidence") {
      bit = kFConfidence;
      s = read_number(v, "confidence", 100, &n);
      out->confidence = static_cast<uint8_t>(n);
    } else if (key == "count") {
      bit = kFCount;
      s = read_number(v, "count", UINT64_MAX, &n);  // SPEC §2: count is a u64
      out->count = n;
      out->has_count = true;
    } else {
      // Unknown fields are ignored (SPEC §2), but must be valid JSON.
      if (auto e = validate(v, 1))
        return Status(Reason::kBadJson, "message",
                      "in field \"" + std::string(detail::utf8_prefix(key, 40)) +
                          "\": " + simdjson::error_message(e));
      continue;
    }
    if (!s.ok()) return s;
    if (*seen & bit) return Status(Reason::kDuplicateField, field_name(bit));
    *seen |= bit;
  }
  return Status();
}

void MessageParser::Impl::recover_identity(size_t len, Message* out) {
  od::document doc;
  if (parser.iterate(buf.get(), len, cap).get(doc)) return;
  od::object obj;
  if (doc.get_object().get(obj)) return;
  // Keys compared unescaped ("\u0067roup_id" is group_id); the walk stops at
  // the first malformed member, keeping what it found before it.
  bool have_group = false, have_type = false;
  for (auto field : obj) {
    std::string_view key, str;
    if (field.unescaped_key().get(key)) return;
    od::value v;
    if (field.value().get(v)) return;
    if (!have_group && key == "group_id") {
      have_group = true;
      if (!v.get_string().get(str) && check_group_id(str).ok()) out->group_id.assign(str);
    } else if (!have_type && key == "type") {
      have_type = true;
      if (!v.get_string().get(str)) {
        auto t = type_from_name(str);
        if (t) {
          out->type = *t;
          out->type_known = true;
        }
      }
    }
    if (have_group && have_type) return;
  }
}

Status MessageParser::parse(const void* data, size_t len, Message* out) {
  Impl& m = *impl_;
  *out = Message{};
  if (len > m.limits.max_message_bytes)
    return Status(
        Reason::kTooLarge, "message",
        std::to_string(len) + " bytes > limit " + std::to_string(m.limits.max_message_bytes));
  if (len + simdjson::SIMDJSON_PADDING > m.cap) {
    m.cap = len + simdjson::SIMDJSON_PADDING;
    m.buf = std::make_unique<char[]>(m.cap);
  }
  if (len > 0) std::memcpy(m.buf.get(), data, len);
  std::memset(m.buf.get() + len, 0, simdjson::SIMDJSON_PADDING);

  od::document doc;
  if (m.parser.iterate(m.buf.get(), len, m.cap).get(doc))
    return Status(Reason::kBadJson, "message", "not JSON");
  od::object obj;
  if (doc.get_object().get(obj)) return Status(Reason::kBadJson, "message", "not a JSON object");

  std::string_view domain_raw;
  unsigned seen = 0;
  Status s = m.parse_object(obj, out, &domain_raw, &seen);
  if (s.ok() && doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
    s = Status(Reason::kBadJson, "message", "trailing content after object");
  if (s.ok() && !(seen & kFType)) s = Status(Reason::kMissingField, "type");
  if (s.ok()) {
    unsigned missing = required_fields(out->type) & ~seen;
    if (missing) s = Status(Reason::kMissingField, first_missing(missing));
  }
  if (s.ok() && (seen & kFDomain)) {
    const bool malicious =
        out->type == MessageType::kAddMalicious || out->type == MessageType::kRemoveMalicious;
    if (malicious) {
      s = normalize_query(domain_raw, &out->domain.name);
      out->domain.kind = RuleKind::kPlain;
    } else {
      s = normalize_policy_domain(domain_raw, &out->domain);
    }
  }
  if (out->type == MessageType::kAddMalicious) out->action = Action::kMalicious;
  if (!s.ok()) {
    if (out->group_id.empty() || !out->type_known) m.recover_identity(len, out);
    // The malicious types name no group: nothing of theirs to abort.
    if (out->type_known &&
        (out->type == MessageType::kAddMalicious || out->type == MessageType::kRemoveMalicious))
      out->group_id.clear();
  }
  return s;
}

}  // namespace policysync
