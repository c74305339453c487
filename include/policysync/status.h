// Error reporting for every fallible call in policysync.
//
// No exceptions cross the library. A fallible call returns a [[nodiscard]]
// `Status` (or `Result<T>`, a value or a `Status`) carrying a machine-readable
// `Reason` and the name of what was wrong (a field, a label), in the style of
// simdjson's error codes.
//
// Example:
//   policysync::Status s = parser.parse(data, len, &msg);
//   if (!s.ok()) std::fprintf(stderr, "invalid: %s\n", s.to_string().c_str());
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace policysync {

// Why an input was rejected. Stable names (reason_name) are used as metric labels.
enum class Reason : uint8_t {
  kOk = 0,
  kBadJson,         // not a JSON object, or malformed JSON
  kTooLarge,        // payload above the configured maximum size
  kMissingField,    // a required field is absent
  kWrongType,       // a field has the wrong JSON type
  kOutOfRange,      // a number outside its range, an empty or overlong group_id
  kUnknownType,     // "type" names no known message
  kBadAction,       // "action" is not whitelist / blacklist / allow
  kBadDomain,       // the domain fails SPEC §2.1
  kBadPattern,      // a pattern rule Hyperscan cannot compile
  kDuplicateField,  // the same field twice in one object
  kLimitExceeded,   // a configured limit (entries, groups, open syncs)
  // Not about a message: configuration, Kafka and I/O failures.
  kConfig,  // a bad option or librdkafka property
  kKafka,   // a Kafka client or broker error
  kIo,      // a file or socket could not be read or written
};
inline constexpr size_t kReasonCount = 15;

// Stable snake_case name of a reason, e.g. "bad_domain".
std::string_view reason_name(Reason r);

class [[nodiscard]] Status {
 public:
  Status() = default;
  // `what` names the offending field or part; it must be a string literal or
  // otherwise outlive the Status. `detail` is free text (may be empty).
  Status(Reason r, std::string_view what, std::string detail = {})
      : reason_(r), what_(what), detail_(std::move(detail)) {}

  bool ok() const { return reason_ == Reason::kOk; }
  Reason reason() const { return reason_; }
  std::string_view what() const { return what_; }
  const std::string& detail() const { return detail_; }
  // "bad_domain: domain: empty label at offset 4"
  std::string to_string() const;

 private:
  Reason reason_ = Reason::kOk;
  std::string_view what_;
  std::string detail_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return value_; }
  const T& value() const { return value_; }

 private:
  T value_{};
  Status status_;
};

}  // namespace policysync
