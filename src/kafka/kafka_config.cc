#include "kafka/kafka_config.h"

#include <fstream>

namespace policysync::kafka {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

Status parse_property(const std::string& arg, Properties* out) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    return Status(Reason::kConfig, "property", "expected key=value, got \"" + arg + "\"");
  out->emplace_back(trim(arg.substr(0, eq)), arg.substr(eq + 1));
  return Status();
}

Status read_property_file(const std::string& path, Properties* out) {
  std::ifstream in(path);
  if (!in) return Status(Reason::kIo, "config", "cannot read " + path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    Status s = parse_property(t, out);
    if (!s.ok())
      return Status(Reason::kConfig, "config", path + ":" + std::to_string(n) + ": " + s.detail());
  }
  return Status();
}

bool is_secret(const std::string& key) {
  return key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
         key == "sasl.oauthbearer.config" || key == "ssl.key.pem" || key == "ssl_key" ||
         key == "sasl.jaas.config";
}

std::string shown(const std::string& key, const std::string& value) {
  return key + "=" + (is_secret(key) ? "[redacted]" : value);
}

Status make_conf(const Properties& props, rd_kafka_conf_t** out) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status(Reason::kConfig, "property", shown(k, v) + ": " + err);
    }
  }
  *out = conf;
  return Status();
}

}  // namespace policysync::kafka
