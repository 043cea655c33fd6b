# Two commands: `make run` and `make test`.  Both install what is missing
# (scripts/install-deps.sh, idempotent), configure and build in build/.
#
#   make run  ARGS='--log.level=debug'   run the exporter on :9806
#   make test                            unit, e2e and lab tests (lab needs root)
#   make lint                            clang-format check, clang-tidy, cppcheck
#   make format                          clang-format -i on every source
#   make bench                           benchmarks (root); figures in bench/README.md
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
# Warnings are errors in CI builds (CI=true), so a warning cannot land.
WERROR ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=
ARGS ?=

SOURCES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)

.PHONY: all deps configure build run test lint format clean bench

all: build

deps:
	scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DPORTMAP_WERROR=$(WERROR) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	$(BUILD_DIR)/portmap_exporter $(ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

lint: configure
	clang-format --dry-run -Werror $(SOURCES)
	clang-tidy -p $(BUILD_DIR) --quiet $(filter %.cc,$(SOURCES))
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --library=googletest --inline-suppr --suppress=missingIncludeSystem -I . \
	  $(filter %.cc,$(SOURCES))

format:
	clang-format -i $(SOURCES)

bench: deps
	cmake -S . -B $(BUILD_DIR) -DPORTMAP_WERROR=$(WERROR) -DPORTMAP_BENCH=ON $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j$(JOBS) --target netfilter_scrape_bench forwarding_flip_bench \
	  probe_connect_bench portmap_exporter portmap_lab_tcp
	bench/netfilter_scrape.sh $(BUILD_DIR)/bench/netfilter_scrape_bench
	$(BUILD_DIR)/bench/forwarding_flip_bench --benchmark_min_time=2
	bench/probe_bench.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
