// Helpers for tests against a Kafka cluster (librdkafka's mock, or a real
// broker): producing, reading committed offsets, running kafka_consumer as a
// child process, querying its HTTP endpoints, and waiting for conditions.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../child_process.h"
#include "kafka/producer.h"

namespace policysync::testing {

inline void produce(const std::string& brokers, const std::string& topic, const std::string& key,
                    const std::vector<std::string>& values, const kafka::Properties& props = {}) {
  std::unique_ptr<kafka::Producer> p;
  Status s = kafka::Producer::create(brokers, props, &p);
  ASSERT_TRUE(s.ok()) << s.to_string();
  for (const auto& v : values) ASSERT_TRUE(p->send(topic, key, v).ok());
  s = p->flush(30000);
  ASSERT_TRUE(s.ok()) << s.to_string();
}

// The group's committed offset of topic/partition (-1001 if none).
inline int64_t committed_offset(const std::string& brokers, const std::string& group,
                                const std::string& topic, int32_t partition) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic.c_str(), partition);
  int64_t off = -1001;
  if (rd_kafka_committed(rk, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) off = l->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(rk);
  return off;
}

inline std::string http_get(int port, const std::string& path, int* status = nullptr) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2);
  auto res = cli.Get(path.c_str());
  if (status) *status = res ? res->status : -1;
  return res ? res->body : "error: " + httplib::to_string(res.error());
}

inline std::string lookup_action(int port, const std::string& group, const std::string& domain) {
  const std::string body = http_get(port, "/lookup?group=" + group + "&domain=" + domain);
  const size_t a = body.find("\"action\":\"");
  if (a == std::string::npos) return "unreachable: " + body;
  const size_t b = body.find('"', a + 10);
  return body.substr(a + 10, b - a - 10);
}

// A free TCP port on 127.0.0.1: bound to port 0, read back, closed.
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

}  // namespace policysync::testing
