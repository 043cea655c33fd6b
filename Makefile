# Two commands: `make run` and `make test`.  Both install what is missing
# (scripts/install-deps.sh, idempotent), configure and build in build/.
#
#   make run  ARGS='--log.level=debug'   run the exporter on :9806
#   make test                            unit, e2e and lab tests (lab needs root)
#   make lint                            clang-format check, clang-tidy, cppcheck
#   make format                          clang-format -i on every source
#   make bench                           benchmarks (root); figures in bench/README.md
#   make test-sanitize                   every test on an ASan+UBSan+LSan build in build-asan/;
#                                        fails on any sanitizer report (tests/sanitizers/run.sh)
#   make fuzz FUZZ_TIME=60               each libFuzzer target for FUZZ_TIME s (clang, build-fuzz/);
#                                        new inputs stay in build-fuzz/, seeds in tests/fuzz/corpus
#   make test-image                      build the Dockerfile for real and run the image (root;
#                                        debootstrapped base, private dockerd; tests/image/)
BUILD_DIR ?= build
SANITIZE_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_TIME ?= 60
JOBS ?= $(shell nproc)
# Warnings are errors in CI builds (CI=true), so a warning cannot land.
WERROR ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=
ARGS ?=

SOURCES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)

.PHONY: all deps configure build run test lint format clean bench test-sanitize fuzz test-image

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
	  probe_connect_bench trace_bench portmap_exporter portmap_lab_tcp
	bench/netfilter_scrape.sh $(BUILD_DIR)/bench/netfilter_scrape_bench
	bench/trace.sh $(BUILD_DIR)/bench/trace_bench
	$(BUILD_DIR)/bench/forwarding_flip_bench --benchmark_min_time=2
	bench/probe_bench.sh $(BUILD_DIR)
	bench/load.sh $(BUILD_DIR)
	bench/compare.sh $(BUILD_DIR)

test-sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD_DIR) -DPORTMAP_WERROR=$(WERROR) -DPORTMAP_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(SANITIZE_BUILD_DIR) -j$(JOBS)
	tests/sanitizers/run.sh $(SANITIZE_BUILD_DIR) -j$(JOBS)

# The fuzzers are tests labelled fuzz-run (tests/fuzz/CMakeLists.txt), so every
# portmap_fuzzer() there is run; a hang or crash fails, naming its input.
fuzz:
	scripts/install-deps.sh build test fuzz
	cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DPORTMAP_WERROR=$(WERROR) -DPORTMAP_FUZZ=ON $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD_DIR) -j$(JOBS) --target portmap_fuzzers
	cd $(FUZZ_BUILD_DIR) && FUZZ_TIME=$(FUZZ_TIME) ctest -L fuzz-run --output-on-failure \
	  -j$(JOBS) --timeout $$(($(FUZZ_TIME) + 120))

# No registry needed: the base image is debootstrapped (cached in
# /var/tmp/portmap-image-cache), a dockerd of the test's own builds and runs it.
test-image:
	scripts/install-deps.sh image
	tests/image/test_image.sh

clean:
	rm -rf $(BUILD_DIR)
