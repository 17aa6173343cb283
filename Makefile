# Two commands on a fresh machine:  `make serve` (the embedded service)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_CLIP ?= ../shared/data/video/single_face.mp4

.PHONY: install serve demo test test-fast lint bench

# torch is installed first and pinned: 2.13.0 is the CPU build here; an unpinned torch pulls CUDA.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

serve: install
	$(BIN)/vfer serve

demo: install
	$(BIN)/vfer predict $(DEMO_CLIP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# The unit tier: in-process, no servers or subprocesses, in seconds.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.model
	$(BIN)/python -m benchmarks.service
	$(BIN)/python -m benchmarks.grpc_stream
