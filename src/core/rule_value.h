// What a table stores per rule: 10 packed bytes beside the key.
#pragma once

#include <cstdint>

namespace policysync::detail {

struct __attribute__((packed)) RuleValue {
  uint32_t category = 0;
  uint32_t port_mask = 0;
  uint8_t action = 0;        // policysync::Action
  uint8_t confidence = 100;  // malicious entries
};
static_assert(sizeof(RuleValue) == 10);

}  // namespace policysync::detail
