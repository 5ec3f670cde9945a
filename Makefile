# Tern — `make run` starts the app, `make test` runs the test suite. Both build .venv first if needed.
# The engine (llama-cpp-python, pinned) is compiled from its sdist with Tern's patch set applied
# (packaging/engine/patches) by packaging/engine/build_wheel.py; the wheel is cached outside the clone
# (~/.cache/tern/engine-wheels, keyed by sdist, patches and flags), so a second clone installs in seconds.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tern-installed
ENGINE_SRC := packaging/engine/build_wheel.py $(wildcard packaging/engine/patches/*.patch)
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_FLAGS ?=

.PHONY: run test bench engine-check screenshots package smoke lint clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml $(ENGINE_SRC)
	@$(PYTHON) packaging/check_tools.py build
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel setuptools
	@echo "Engine: llama-cpp-python with Tern's patches (the first build compiles llama.cpp, a few minutes)…"
	whl=$$($(PY) packaging/engine/build_wheel.py) && $(PY) -m pip install --quiet --force-reinstall --no-deps "$$whl"
	$(PY) -m pip install --quiet --progress-bar off -e ".[test]"
	$(PY) -c "import json, importlib.resources as r; m = json.loads(r.files('llama_cpp').joinpath('tern_engine.json').read_text()); print('Engine patches:', ', '.join(p['name'] for p in m['patches']))"
	@touch $(STAMP)

# Each target first checks the system has what it needs (packaging/check_tools.py names what is missing and
# the apt-get line), before any long step.
run:
	@$(PYTHON) packaging/check_tools.py run
	@$(MAKE) --no-print-directory $(STAMP)
	$(VENV)/bin/tern

test:
	@$(PYTHON) packaging/check_tools.py test
	@$(MAKE) --no-print-directory $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_FLAGS)

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests/bench -s -q -p no:cacheprovider $(PYTEST_FLAGS)

# llama.cpp's own test-backend-ops on the ternary matmuls (TQ1_0/TQ2_0, SIMD vs scalar), built from the
# pinned sdist and the patch set in a cache folder outside the clone; a few minutes the first time.
# ENGINE_CHECK_FLAGS="--variant haswell --variant skylakex" also checks portable CPU variants' code paths.
engine-check:
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) packaging/engine/engine_check.py $(ENGINE_CHECK_FLAGS)

screenshots: $(STAMP)
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(PY) -m app.screenshots assets/screenshots

package:
	@$(PYTHON) packaging/check_tools.py package
	@$(MAKE) --no-print-directory $(STAMP)
	$(MAKE) -C packaging package PY=$(abspath $(PY))

smoke:
	$(MAKE) -C packaging smoke PY=$(abspath $(PY))

lint: $(STAMP)
	$(PY) -m ruff check app backend ui tests

clean:
	rm -rf $(VENV) build dist *.egg-info
