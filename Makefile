# Tern — `make run` starts the app, `make test` runs the test suite. Both build .venv first if needed.
# llama-cpp-python is compiled from source on first install (~15 min on 2 cores; needs a C/C++
# compiler and CMake). pip caches the wheel, so later installs on the same machine are quick.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tern-installed
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_FLAGS ?=

.PHONY: run test bench screenshots package smoke lint clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel setuptools
	@echo "Installing Tern and its dependencies (the first time compiles llama.cpp: ~15 minutes)…"
	$(PY) -m pip install --quiet --progress-bar off -e ".[test]"
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tern

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_FLAGS)

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests/bench -s -q -p no:cacheprovider $(PYTEST_FLAGS)

screenshots: $(STAMP)
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(PY) -m app.screenshots assets/screenshots

package: $(STAMP)
	$(MAKE) -C packaging package PY=$(abspath $(PY))

smoke:
	$(MAKE) -C packaging smoke PY=$(abspath $(PY))

lint: $(STAMP)
	$(PY) -m ruff check app backend ui tests

clean:
	rm -rf $(VENV) build dist *.egg-info
