// The real broker the CTest fixture started (scripts/kafka/broker start):
// its DIR comes in POLICYSYNC_KAFKA_DIR, its addresses in DIR/env.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace policysync::testing {

struct Broker {
  std::string dir, bootstrap, secure_bootstrap, user, password, ca;

  static const Broker& get() {
    static Broker b = [] {
      Broker x;
      const char* d = std::getenv("POLICYSYNC_KAFKA_DIR");
      x.dir = d ? d : "";
      std::ifstream in(x.dir + "/env");
      std::string line;
      std::map<std::string, std::string> kv;
      while (std::getline(in, line)) {
        const size_t eq = line.find('=');
        if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
      }
      x.bootstrap = kv["BOOTSTRAP"];
      x.secure_bootstrap = kv["SECURE_BOOTSTRAP"];
      x.user = kv["SCRAM_USER"];
      x.password = kv["SCRAM_PASSWORD"];
      x.ca = kv["CA_PEM"];
      return x;
    }();
    return b;
  }
  std::string script() const {
    return std::string(POLICYSYNC_SOURCE_DIR) + "/scripts/kafka/broker";
  }
};

// Runs a shell command; its stdout.
inline std::string sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

inline std::string kafka_tool(const std::string& args) {
  const Broker& b = Broker::get();
  return sh(b.script() + " tool " + b.dir + " " + args + " 2>/dev/null");
}

inline void create_topic(const std::string& topic, int partitions) {
  kafka_tool("org.apache.kafka.tools.TopicCommand --bootstrap-server " + Broker::get().bootstrap +
             " --create --if-not-exists --topic " + topic + " --partitions " +
             std::to_string(partitions) + " --replication-factor 1");
}

// Kafka's own consumer-groups tool: partition -> (CURRENT-OFFSET, LOG-END-OFFSET);
// -1 for "-".
inline std::map<int, std::pair<long, long>> group_offsets(const std::string& group,
                                                          const std::string& topic) {
  const std::string out =
      kafka_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server " +
                 Broker::get().bootstrap + " --describe --group " + group);
  std::map<int, std::pair<long, long>> r;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string g, t, p, cur, end;
    if (!(f >> g >> t >> p >> cur >> end) || g != group || t != topic) continue;
    r[std::stoi(p)] = {cur == "-" ? -1 : std::stol(cur), end == "-" ? -1 : std::stol(end)};
  }
  return r;
}

}  // namespace policysync::testing
