#pragma once
namespace policysync::apps {
// `kafka_consumer --demo`: the seed's scenario on the embedded mock cluster,
// through the real producer and consumer code. Returns the exit code.
int run_demo(bool verbose);
}  // namespace policysync::apps
