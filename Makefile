# ClusterSim — build, run, test and benchmark.
#   make run    install what is missing, build, run the showcase scenario into results/
#   make test   install what is missing, build, run every test
#   make bench  engine benchmarks (release build)
#   make calibrate  refit the kernel model to ../shared/reference and print its errors
SHELL := /bin/bash
SWIFT ?= swift
SHOWCASE ?= scenarios/showcase-transfers.yaml
RELEASE_BIN := .build/release/clustersim

.PHONY: all deps build run test bench clean calibrate sweep

all: build

# GSL is the one system library ClusterSim needs; pkg-config finds it.
deps:
	@if pkg-config --exists gsl 2>/dev/null; then \
	  echo "deps: gsl $$(pkg-config --modversion gsl) found"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing libgsl-dev and pkg-config with apt-get"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q libgsl-dev pkg-config; \
	else \
	  echo "deps: GSL is missing. Install it with:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y libgsl-dev pkg-config"; \
	  exit 1; \
	fi

build: deps
	$(SWIFT) build -c release --product clustersim

run: build
	$(RELEASE_BIN) run $(SHOWCASE)

test: deps
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check=error
	$(SWIFT) test --skip-build --parallel

bench: deps
	$(SWIFT) build -c release --product clustersim-bench
	.build/release/clustersim-bench

# make sweep SWEEP=name SCENARIO=scenarios/x.yaml PARAMS="workload.batch=1,8,64 cluster.system=h100-sxm,gb200-nvl72"
# One make target per point (results/NAME/<point>/summary.csv), so `make -j N sweep ...` runs
# points in parallel and an interrupted sweep redoes only the missing ones; then
# results/NAME/summary.csv merges them with one column per swept parameter.
sweep: build
	@test -n "$(SWEEP)" -a -n "$(SCENARIO)" -a -n "$(PARAMS)" || { echo 'usage: make sweep SWEEP=name SCENARIO=file.yaml PARAMS="key=v1,v2 ..."'; exit 2; }
	@mkdir -p results/$(SWEEP)
	$(RELEASE_BIN) sweep $(SCENARIO) --params "$(PARAMS)" --dir results/$(SWEEP) --binary $(RELEASE_BIN) --makefile > results/$(SWEEP)/sweep.mk
	$(MAKE) -f results/$(SWEEP)/sweep.mk

clean:
	rm -rf .build
calibrate: build
	.build/release/clustersim calibrate --write Sources/Hardware/KernelFactors+Calibrated.swift \
	  --write-collectives Sources/Cluster/CollectiveTiming+Calibrated.swift
	$(SWIFT) build -c release --product clustersim
	.build/release/clustersim calibrate
