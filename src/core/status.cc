#include "policysync/status.h"

namespace policysync {

std::string_view reason_name(Reason r) {
  switch (r) {
    case Reason::kOk:
      return "ok";
    case Reason::kBadJson:
      return "bad_json";
    case Reason::kTooLarge:
      return "too_large";
    case Reason::kMissingField:
      return "missing_field";
    case Reason::kWrongType:
      return "wrong_type";
    case Reason::kOutOfRange:
      return "out_of_range";
    case Reason::kUnknownType:
      return "unknown_type";
    case Reason::kBadAction:
      return "bad_action";
    case Reason::kBadDomain:
      return "bad_domain";
    case Reason::kBadPattern:
      return "bad_pattern";
    case Reason::kDuplicateField:
      return "duplicate_field";
    case Reason::kLimitExceeded:
      return "limit_exceeded";
    case Reason::kConfig:
      return "config";
    case Reason::kKafka:
      return "kafka";
    case Reason::kIo:
      return "io";
  }
  return "unknown";
}

std::string Status::to_string() const {
  std::string s(reason_name(reason_));
  if (!what_.empty()) {
    s += ": ";
    s += what_;
  }
  if (!detail_.empty()) {
    s += ": ";
    s += detail_;
  }
  return s;
}

}  // namespace policysync
