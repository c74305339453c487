# policysync — the two set-up commands:
#   make demo   install dependencies, build, run the demo
#   make test   install dependencies, build, run every test (plain, installed examples,
#               TSan, ASan+UBSan, fuzz)
# Other targets: demo-dpdk (the DPDK DNS filter), demo-fleet (SPEC 9: three data planes
# and the PM's status table), build, test-kafka (KAFKA_VERSION=3.9.1 for 3.x), bench, bench-e2e (on a real broker), bench-dpdk, format, clean.

JOBS      ?= $(shell nproc)
BUILD     ?= build
FUZZ_SECS ?= 100
CMAKE_GEN := -G Ninja
# librdkafka 2.8.0 is built by scripts/librdkafka/build (run by `deps`); a
# plain `cmake` finds it there by itself (cmake/rdkafka.cmake), and the
# installed package ships its archive: nothing to pass here.

.PHONY: deps build demo demo-dpdk demo-fleet package test-package test test-kafka test-plain test-examples test-tsan test-asan test-fuzz bench bench-e2e bench-dpdk format format-check clean

deps:
	@scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/apps/kafka_consumer --demo

# Debian packages policysync and libpolicysync-dev (CPack), in $(BUILD).
package: build
	cd $(BUILD) && cpack -G DEB >/dev/null
	@ls $(BUILD)/*.deb

# The packages as a new host gets them: unpacked (dpkg-deb -x, nothing
# installed here), Depends checked, examples built against the dev package,
# the unpacked kafka_consumer --demo run.
test-package: package
	packaging/check $(BUILD)

# SPEC 9 in one process: three data planes on the embedded cluster (one
# refusing), a sync published with --wait, the status table.
demo-fleet: build
	$(BUILD)/apps/policyctl demo-fleet

# The DPDK DNS filter, built against the installed package, on the embedded
# cluster and a generated pcap (its output pcaps land in $(BUILD)/demo-dpdk).
demo-dpdk: build
	examples/check $(BUILD) demo-dpdk $(BUILD)/demo-dpdk

test: deps format-check test-plain test-examples test-package test-tsan test-asan test-fuzz
	@echo "make test: all suites passed"

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The real-broker suite alone, on the newest Kafka 4.x or on another release:
#   KAFKA_VERSION=3.9.1 make test-kafka
test-kafka: build
	ctest --test-dir $(BUILD) --output-on-failure -L '^kafka$$'

# Installs into a temporary prefix and builds examples/ against it, with the
# CMake package and with pkg-config alone, then runs them.
test-examples: build
	examples/check $(BUILD)

# librdkafka built with -fsanitize=thread too (scripts/librdkafka/build --tsan),
# so TSan sees its locks and atomics: every test runs, Kafka ones included
# (the 3.9 subset runs in the plain build only).
test-tsan: deps
	scripts/librdkafka/build --tsan >/dev/null
	cmake -S . -B $(BUILD)-tsan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DPOLICYSYNC_SANITIZE=thread \
	  -DPOLICYSYNC_RDKAFKA_PREFIX=$(shell scripts/librdkafka/build --tsan --prefix) >/dev/null
	cmake --build $(BUILD)-tsan -j $(JOBS)
	ctest --test-dir $(BUILD)-tsan --output-on-failure -j $(JOBS) -LE kafka3

test-asan: deps
	cmake -S . -B $(BUILD)-asan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DPOLICYSYNC_SANITIZE=address >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	ctest --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS) -LE kafka3

test-fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz $(CMAKE_GEN) -DPOLICYSYNC_FUZZ=ON \
	  -DPOLICYSYNC_BENCH=OFF -DBUILD_TESTING=OFF >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_message fuzz_domain fuzz_snapshot fuzz_wire fuzz_dns_packet
	fuzz/run $(BUILD)-fuzz $(FUZZ_SECS)

bench: deps
	cmake -S . -B $(BUILD)-bench $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build $(BUILD)-bench -j $(JOBS)
	bench/run $(BUILD)-bench

bench-e2e: bench
	bench/e2e $(BUILD)-bench

# The DPDK DNS filter per worker lcore against the seed's pipeline (2 CPUs).
bench-dpdk: deps
	cmake -S . -B $(BUILD)-bench $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build $(BUILD)-bench -j $(JOBS) --target dpdk_filter_bench
	$(BUILD)-bench/bench/dpdk_filter_bench

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

format-check: deps
	clang-format --dry-run --Werror $$(git ls-files '*.h' '*.cc')
	@echo "format-check: clang-format clean"

clean:
	rm -rf $(BUILD) $(BUILD)-tsan $(BUILD)-asan $(BUILD)-fuzz $(BUILD)-bench
