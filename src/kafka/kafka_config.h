// Building librdkafka configurations from the operator's properties
// (`-X key=value`, `--config FILE` in kcat's -F format), with the seed's
// consumer settings kept (SPEC §5.1) and secrets never printed.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "policysync/status.h"

namespace policysync::kafka {

using Properties = std::vector<std::pair<std::string, std::string>>;

// Appends the `key=value` lines of a librdkafka property file (blank lines
// and '#' comments skipped). Errors name the file and line.
Status read_property_file(const std::string& path, Properties* out);

// Parses "key=value" (from -X). Error names the argument.
Status parse_property(const std::string& arg, Properties* out);

// True for properties whose values are secrets (sasl.password,
// ssl.key.password, ssl.keystore.password, sasl.oauthbearer.client.secret, ...).
bool is_secret(const std::string& key);

// "key=value" with a secret's value replaced by "[redacted]".
std::string shown(const std::string& key, const std::string& value);

// A new rd_kafka_conf_t with `props` set in order. An unknown property or a
// bad value gives a Status naming the property and librdkafka's reason.
Status make_conf(const Properties& props, rd_kafka_conf_t** out);

// Owning handles.
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};

}  // namespace policysync::kafka
