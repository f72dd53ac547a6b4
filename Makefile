# Two set-up commands on a fresh Debian machine: `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ARGS ?=

.PHONY: all deps test-deps build run test clean bench

all: build

deps:
	scripts/install-deps

test-deps:
	scripts/install-deps --test

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

bench: build
	scripts/install-deps --bench
	bench/run.sh

clean:
	rm -rf $(BUILD)
