// Operator properties: -X parsing, property files, secret redaction.
#include "kafka/kafka_config.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <fstream>

namespace policysync::kafka {
namespace {

// Regression: Debian 12's librdkafka 2.0.2 fails SASL/SCRAM against Kafka 4.x
// (client-final nonce, fixed in 2.6.1). The build must link the newer one
// (scripts/librdkafka/build), and headers and library must agree.
TEST(KafkaConfigTest, LinkedLibrdkafkaIsAtLeast2_6_1) {
  EXPECT_GE(rd_kafka_version(), 0x020601ff) << rd_kafka_version_str();
  EXPECT_EQ(rd_kafka_version(), RD_KAFKA_VERSION) << rd_kafka_version_str();
}

TEST(KafkaConfigTest, PropertyFileSkipsCommentsAndBlankLines) {
  const std::string path = ::testing::TempDir() + "/client.properties";
  {
    std::ofstream f(path);
    f << "# security\n\nsecurity.protocol=SASL_SSL\n  sasl.mechanisms = "
         "SCRAM-SHA-512\nsasl.password=a=b\n";
  }
  Properties p;
  ASSERT_TRUE(read_property_file(path, &p).ok());
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"security.protocol", "SASL_SSL"}));
  EXPECT_EQ(p[1].first, "sasl.mechanisms");
  EXPECT_EQ(p[2].second, "a=b") << "only the first '=' splits";
}

TEST(KafkaConfigTest, BadLineNamesFileAndLine) {
  const std::string path = ::testing::TempDir() + "/bad.properties";
  {
    std::ofstream f(path);
    f << "ok=1\nnot a property\n";
  }
  Properties p;
  Status s = read_property_file(path, &p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.reason(), Reason::kConfig);
  EXPECT_NE(s.detail().find(path + ":2"), std::string::npos) << s.to_string();
}

TEST(KafkaConfigTest, SecretsAreRedacted) {
  for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                          "sasl.oauthbearer.client.secret", "sasl.jaas.config"}) {
    EXPECT_TRUE(is_secret(key)) << key;
    EXPECT_EQ(shown(key, "hunter2"), std::string(key) + "=[redacted]");
  }
  EXPECT_EQ(shown("bootstrap.servers", "b:9092"), "bootstrap.servers=b:9092");
}

TEST(KafkaConfigTest, UnknownPropertyIsRejectedWithoutItsSecretValue) {
  rd_kafka_conf_t* conf = nullptr;
  Status s = make_conf({{"sasl.password", "hunter2"}, {"no.such.thing", "1"}}, &conf);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.detail().find("no.such.thing"), std::string::npos);
  EXPECT_EQ(s.detail().find("hunter2"), std::string::npos);
  ASSERT_TRUE(make_conf({{"client.id", "x"}}, &conf).ok());
  rd_kafka_conf_destroy(conf);
}

}  // namespace
}  // namespace policysync::kafka
