# Two set-up commands on a fresh Debian machine: `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ARGS ?=
# The sanitizer build: clang with ASan + UBSan (UB aborts) and libFuzzer coverage on every
# library, -O1. It builds the fuzz targets and the loopback integration tests.
SAN_BUILD ?= build-sanitize
SAN_CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 25
# ASan/UBSan settings for every sanitized process (tests, the authscope binary they start, and
# the fuzzers): any report fails the run, with a stack trace.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all deps test-deps fuzz-deps build run test clean bench test-sanitize fuzz-smoke

all: build

deps:
	scripts/install-deps

test-deps:
	scripts/install-deps --test

fuzz-deps:
	scripts/install-deps --test --fuzz

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Builds and starts the proxy on 127.0.0.1:8080 with the default store ($AUTHSCOPE_HOME/flows.db).
run: build
	$(BUILD)/authscope proxy $(ARGS)

# Builds and runs every test (unit, loopback integration, CLI end-to-end) through ctest.
test: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(SAN_BUILD)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 \
	  -DCMAKE_CXX_FLAGS=-O1 -DAUTHSCOPE_FUZZ=ON $(SAN_CMAKE_FLAGS)

# The sanitizer build compiles only what its runs need: the integration executables (with the
# authscope binary and fake-entra they start) and the fuzzers; no unit tests, no bench tools.
# The loopback integration suites (proxy, hardening, store crash, rules e2e, CLI) under ASan +
# UBSan. RSS bounds are not checked there (ASan's quarantine and shadow memory), all else is.
test-sanitize: fuzz-deps $(SAN_BUILD)/CMakeCache.txt
	$(SAN_ENV) cmake --build $(SAN_BUILD) -j $(JOBS) --target integration_tests
	cd $(SAN_BUILD) && $(SAN_ENV) ctest -L integration --output-on-failure -j $(JOBS)

# Each libFuzzer target over its checked-in seeds, then FUZZ_SECONDS of fuzzing; any crash or
# sanitizer report fails (inputs in $(SAN_BUILD)/fuzz/artifacts-<target>/).
fuzz-smoke: fuzz-deps $(SAN_BUILD)/CMakeCache.txt
	cmake -S . -B $(SAN_BUILD) -DAUTHSCOPE_FUZZ_SECONDS=$(FUZZ_SECONDS) > /dev/null
	$(SAN_ENV) cmake --build $(SAN_BUILD) -j $(JOBS) --target fuzz_targets
	$(SAN_ENV) cmake --build $(SAN_BUILD) -j 1 --target fuzz_smoke

bench: build
	scripts/install-deps --bench
	bench/run.sh

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
