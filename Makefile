# ClusterSim — build, run, test and benchmark.
#   make run    install what is missing, build, run the showcase scenarios into results/
#   make test   install what is missing, build, run every test
#   make bench  engine benchmarks (release build)
#   make calibrate  refit the kernel model to ../shared/reference, its bootstrap ensemble
#                   (ENSEMBLE=8 members, ~15 min on 2 cores) and the model-error table
#   make docs   regenerate docs/scenario-keys.md and docs/metrics.md from the key and metric tables
SHELL := /bin/bash
SWIFT ?= swift
ENSEMBLE ?= 8
SHOWCASE ?= scenarios/showcase-transfers.yaml
RELEASE_BIN := .build/release/clustersim

.PHONY: all deps build run test bench clean calibrate sweep plots docs

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
	$(RELEASE_BIN) compare scenarios/self-optimized-inference.yaml

test: deps
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check=error
	$(SWIFT) test --skip-build --parallel

# The hold model's C++ peer (Benchmarks/hold.cpp) is built with g++ when it is installed.
bench: deps
	$(SWIFT) build -c release --product clustersim
	$(SWIFT) build -c release --product clustersim-bench
	@if command -v g++ >/dev/null; then g++ -O2 -std=c++17 -o .build/release/hold-cpp Benchmarks/hold.cpp && \
	  .build/release/clustersim-bench --cpp .build/release/hold-cpp; \
	else echo "bench: g++ not found, the C++ peer is skipped"; .build/release/clustersim-bench; fi

# make sweep SWEEP=name SCENARIO=scenarios/x.yaml PARAMS="workload.batch=1,8,64 cluster.system=h100-sxm,gb200-nvl72"
#   [ZIP="workload.parallelism.tp=1,2,4 workload.parallelism.ep=4,2,1"] [COMMAND=compare]
# One make target per point (results/NAME/<point>/status.csv), so `make -j N sweep ...` runs
# points in parallel and an interrupted sweep redoes only the missing ones; a point that does
# not fit or is invalid is a row with its status and reason, not a failed target; editing the
# scenario or rebuilding the binary reruns every point. Then results/NAME/summary.csv merges
# the points with one column per swept parameter and a status column.
sweep: build
	@test -n "$(SWEEP)" -a -n "$(SCENARIO)" -a -n "$(PARAMS)$(ZIP)" || { echo 'usage: make sweep SWEEP=name SCENARIO=file.yaml PARAMS="key=v1,v2 ..." [ZIP="k1=a,b k2=c,d"] [COMMAND=compare] [SWEEP_ENSEMBLE=0]'; exit 2; }
	@mkdir -p results/$(SWEEP)
	$(RELEASE_BIN) sweep $(SCENARIO) $(if $(PARAMS),--params '$(PARAMS)') $(if $(ZIP),--zip '$(ZIP)') $(if $(COMMAND),--command $(COMMAND)) $(if $(SWEEP_ENSEMBLE),--ensemble $(SWEEP_ENSEMBLE)) \
	  --dir results/$(SWEEP) --binary $(RELEASE_BIN) --makefile > results/$(SWEEP)/sweep.mk
	$(MAKE) -f results/$(SWEEP)/sweep.mk

# make plots: runs small example scenarios and renders results/plots/*.png with gnuplot
# (Debian's gnuplot-nox, installed when missing and root).
plots: build
	@command -v gnuplot >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q gnuplot-nox >/dev/null; } || { echo "plots: install gnuplot-nox"; exit 1; }
	@mkdir -p results/plots
	$(RELEASE_BIN) run scenarios/nccl-allreduce-h100-hgx.yaml --quiet --out results/plots/nccl-h100 --replications 1
	$(RELEASE_BIN) run scenarios/nccl-allreduce-gb200-nvl72.yaml --quiet --out results/plots/nccl-gb200 --replications 1
	awk -F, 'FNR > 1 && $$2 == "auto" { s = (FILENAME ~ /h100/) ? "8xH100" : "72xGB200"; print s, $$6, $$9 }' \
	  results/plots/nccl-h100/collective.csv results/plots/nccl-gb200/collective.csv > results/plots/busbw.dat
	gnuplot -e 'SYSTEMS="8xH100 72xGB200"' plots/busbw.gp
	$(RELEASE_BIN) compare scenarios/llama3-70b-decode.yaml --quiet --out results/plots/decode --replications 5 --set noise.kernel_cv=0.02 >/dev/null
	awk -F, 'NR > 1 && ($$4 == "tpot_s" || $$4 == "ttft_s" || $$4 == "tokens_per_s_per_gpu") { n++; print n, $$3 ":" $$4, $$5, $$6, $$7 }' \
	  results/plots/decode/comparison.csv > results/plots/speedup.dat
	gnuplot plots/speedup.gp
	rm -f results/plots/latency.dat
	for sys in h100-sxm gb200-nvl72; do for rate in 5 10 20 40 60 80; do \
	  $(RELEASE_BIN) run scenarios/llama3-70b-serving.yaml --quiet --replications 1 --out results/plots/serve-$$sys-$$rate \
	    --set cluster.system=$$sys --set 'variants=[{name: base}]' --set workload.arrival_rate=$$rate --set workload.duration=300 >/dev/null && \
	  awk -F, -v s=$$sys -v r=$$rate '$$3 == "tokens_per_s_per_gpu" { t = $$6 } $$3 == "tpot_p99_s" { p = $$6 } END { print s, r, t, p }' \
	    results/plots/serve-$$sys-$$rate/summary.csv >> results/plots/latency.dat; done; done
	gnuplot -e 'SYSTEMS="h100-sxm gb200-nvl72"' plots/latency.gp
	$(RELEASE_BIN) run scenarios/llama3-70b-serving.yaml --quiet --replications 1 --ensemble 0 --out results/plots/serve-records \
	  --requests --timeline --set workload.arrival_rate=24 --set workload.duration=300 >/dev/null
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$$i] = i; next } $$c["ttft_s"] != "" { print $$c["variant"], $$c["ttft_s"] }' \
	  results/plots/serve-records/requests.csv > results/plots/ttft.dat
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$$i] = i; next } { print $$c["variant"], $$c["time_s"], $$c["waiting"], $$c["running"] }' \
	  results/plots/serve-records/timeline.csv > results/plots/timeline.dat
	gnuplot -e 'SYSTEMS="h100 gb200 gb300"' plots/ttft-cdf.gp
	gnuplot -e 'SYSTEMS="h100 gb200 gb300"' plots/timeline.gp
	$(RELEASE_BIN) run scenarios/llama3-405b-training.yaml --quiet --out results/plots/training --replications 1 >/dev/null
	awk -F, 'NR > 1 { v[$$2] = 1; m[$$2, $$3] = $$6 } END { n = split("h100 gb200-nvl72 gb300-nvl72", o, " "); for (i = 1; i <= n; i++) \
	  print o[i], m[o[i], "compute_time_s"], m[o[i], "layer_comm_time_s"], m[o[i], "step_time_s"] - m[o[i], "compute_time_s"] - m[o[i], "layer_comm_time_s"] }' \
	  results/plots/training/summary.csv > results/plots/breakdown.dat
	gnuplot plots/breakdown.gp
	$(RELEASE_BIN) search scenarios/llama3-70b-serving-search.yaml --quiet --ensemble 0 --out results/plots/search --set 'search.constraints={}' >/dev/null
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$$i] = i; next } \
	  { print $$1, $$c["tokens_per_s_per_user"], $$c["tokens_per_s_per_gpu"], $$c["workload.parallelism.tp"], $$c["workload.concurrency"] }' \
	  results/plots/search/pareto.csv | sort -k1,1 -k2,2g > results/plots/pareto.dat
	gnuplot -e 'SYSTEMS="h100 b200 gb200-nvl72"' plots/pareto.gp
	@echo "plots: results/plots/busbw.png speedup.png latency.png ttft-cdf.png timeline.png breakdown.png pareto.png"

# The generated reference pages (a test fails when the committed ones differ).
docs: build
	$(RELEASE_BIN) schema --markdown > docs/scenario-keys.md
	$(RELEASE_BIN) metrics --markdown > docs/metrics.md

clean:
	rm -rf .build
calibrate: build
	.build/release/clustersim calibrate --write Sources/Hardware/KernelFactors+Calibrated.swift \
	  --write-collectives Sources/Cluster/CollectiveTiming+Calibrated.swift
	$(SWIFT) build -c release --product clustersim
	.build/release/clustersim calibrate --ensemble $(ENSEMBLE) \
	  --write-kernel-ensemble Sources/Hardware/KernelFactors+Ensemble.swift \
	  --write-collective-ensemble Sources/Cluster/CollectiveTiming+Ensemble.swift
	$(SWIFT) build -c release --product clustersim
	.build/release/clustersim calibrate --write-model-error Sources/Experiments/ModelError+Calibrated.swift
	$(SWIFT) build -c release --product clustersim
	.build/release/clustersim calibrate
