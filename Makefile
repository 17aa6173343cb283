# Two commands on a fresh machine:  `make serve` (the embedded service)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_CLIP ?= ../shared/data/video/single_face.mp4
PORT ?=

DEPLOY_VENV ?= .venv-deploy

.PHONY: install serve demo test test-fast lint browser bench deploy-tools deploy-check deploy-test

# torch is installed first and pinned: 2.13.0 is the CPU build here; an unpinned torch pulls CUDA.
$(VENV)/.installed: pyproject.toml
	@echo "make: creating $(VENV) and installing vfer (torch 2.13.0 CPU first: a few minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# `make serve PORT=8001` when 8000 (or VFER_PORT) is taken.
serve: install
	$(BIN)/vfer serve $(if $(PORT),--port $(PORT))

demo: install
	$(BIN)/vfer predict $(DEMO_CLIP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The web-page test drives Chromium: installed from Debian's packages when missing (as root),
# otherwise the command to run is printed at once.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  { echo "make test needs Chromium for the web-page test: sudo apt-get install chromium" >&2; exit 1; }

test: lint browser
	$(BIN)/python -m pytest

# The unit tier: in-process, no servers or subprocesses: a few minutes on 2 cores (the whole suite: 20-30).
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.model
	$(BIN)/python -m benchmarks.service
	$(BIN)/python -m benchmarks.live_stream
	$(BIN)/python -m benchmarks.load_faults
	$(BIN)/python -m benchmarks.long_video

# The deployment tools in an environment of their own (checkov's pins fight the project's).
$(DEPLOY_VENV)/.installed: tests/deploy/requirements.txt
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install -q -r tests/deploy/requirements.txt
	touch $@

# promtool (alert rules) and prometheus (the dashboard's queries against a running stack, in
# deploy-test) from Debian's prometheus package, unpacked: no service is installed or started.
$(DEPLOY_VENV)/bin/prometheus: | $(DEPLOY_VENV)/.installed
	rm -rf $(DEPLOY_VENV)/prometheus && mkdir -p $(DEPLOY_VENV)/prometheus
	cd $(DEPLOY_VENV)/prometheus && { apt-get download -qq prometheus 2>/dev/null || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get download -qq prometheus; }; } && \
	  dpkg -x prometheus_*.deb root
	cp $(DEPLOY_VENV)/prometheus/root/usr/bin/promtool $(DEPLOY_VENV)/bin/promtool
	cp $(DEPLOY_VENV)/prometheus/root/usr/bin/prometheus $@ && rm -rf $(DEPLOY_VENV)/prometheus

deploy-tools: $(DEPLOY_VENV)/.installed $(DEPLOY_VENV)/bin/prometheus

# Offline: compose schema and config, every Kubernetes overlay validated, hadolint, checkov, the
# alert rules checked and unit-tested with promtool.
deploy-check: deploy-tools
	DEPLOY_VENV=$(DEPLOY_VENV) scripts/deploy_check.sh

# A real Docker engine (as root): builds the images, brings docker-compose.yml up, tests it,
# removes everything. Installs Debian's docker.io and debootstrap when missing.
deploy-test: install deploy-tools
	@command -v dockerd >/dev/null && command -v debootstrap >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null)
	VFER_LAB_PROMETHEUS=$(DEPLOY_VENV)/bin/prometheus VFER_LAB_COMPOSE=$$($(DEPLOY_VENV)/bin/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))') \
	  timeout --kill-after=60 1200 $(BIN)/python -m pytest -m deploy tests/deploy -v -p no:cacheprovider
	@cat out/deploy-figures.json
