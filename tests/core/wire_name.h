// Test helper: a dotted name in DNS wire format (length-prefixed labels and a
// final zero byte), written independently of the library's parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace policysync::testing {

// nullopt if the dotted name has an empty label or one over 255 bytes (no
// wire form); "" and "." give the root ({0}). One trailing dot is dropped.
inline std::optional<std::vector<uint8_t>> to_wire(std::string_view dotted) {
  if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
  std::vector<uint8_t> out;
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    if (label.empty() || label.size() > 255) return std::nullopt;
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
    if (dotted.empty()) return std::nullopt;  // "a..": an empty last label
  }
  out.push_back(0);
  return out;
}

}  // namespace policysync::testing
