// Parses one Kafka payload into a typed Message (SPEC §2), with simdjson
// On-Demand. The payload is (pointer, length) as Kafka hands it, not
// NUL-terminated; the parser copies it into its own padded buffer and never
// reads past `len` bytes of the caller's memory.
//
// Every violation returns a Status naming the reason and the field.
// One parser per thread (it owns reusable buffers); parse() allocates only
// when a message is larger than any before it.
//
// Example:
//   policysync::MessageParser parser;
//   policysync::Message msg;
//   policysync::Status s = parser.parse(payload, len, &msg);
//   if (!s.ok()) { /* count s.reason(); msg.group_id may name the group */ }
#pragma once

#include <cstddef>
#include <memory>

#include "policysync/message.h"
#include "policysync/status.h"

namespace policysync {

struct ParserLimits {
  size_t max_message_bytes = 64 * 1024;
};

class MessageParser {
 public:
  explicit MessageParser(ParserLimits limits = {});
  ~MessageParser();
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Parses `len` bytes at `data` into `*out`. On failure `out->group_id`
  // holds the message's group_id when it could be read (empty otherwise), so
  // that the caller can abort that group's open sync (SPEC §6).
  Status parse(const void* data, size_t len, Message* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace policysync
