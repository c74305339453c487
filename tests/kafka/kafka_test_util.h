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

#include "kafka/producer.h"

namespace policysync::testing {

// Polls `cond` until it holds or `timeout` passes: waiting on a condition,
// not sleeping in its place. Returns whether it held.
inline bool wait_until(const std::function<bool()>& cond,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

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

// kafka_consumer (or any program) as a child process; output to a file.
class Child {
 public:
  Child(const std::string& program, const std::vector<std::string>& args, const std::string& log)
      : log_(log) {
    std::remove(log.c_str());  // never read a previous run's output
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log.c_str(), "w");
      if (f) {
        dup2(fileno(f), 1);
        dup2(fileno(f), 2);
      }
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(program.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(program.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  // Threads the child runs now (/proc/PID/status), -1 once it is gone.
  int threads() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    return -1;
  }
  // Waits for the exit at most `timeout`; whether it exited.
  bool exits_within(std::chrono::milliseconds timeout) {
    return wait_until([&] { return !running(); }, timeout);
  }
  int status() const { return status_; }
  // Exit status (or 128 + signal).
  int wait() {
    int st = 0;
    waitpid(pid_, &st, 0);
    exited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  bool running() {
    if (exited_) return false;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return false;
    }
    return true;
  }
  std::string output() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string log_;
};

}  // namespace policysync::testing
