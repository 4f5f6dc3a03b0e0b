# Two commands for a fresh machine: `make run` (main job) and `make test` (test suite).
# Both first run `make setup`, which creates .venv with the pinned dependencies and
# builds FormulaBindings; a second run reuses it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done
MODULE_SO := $(wildcard FormulaBindings*.so)

.PHONY: setup build run test clean

setup: $(STAMP) build

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Rebuilds the C++ module only when a source file is newer than the module.
build: $(STAMP)
	@if [ -z "$$(ls FormulaBindings*.so 2>/dev/null)" ] || \
	    [ -n "$$(find from_neurosim setup.py -newer $$(ls FormulaBindings*.so | head -1) -type f 2>/dev/null | grep -v '/build/' | head -1)" ]; then \
	  $(PY) -m pip install --quiet --no-build-isolation --no-deps -e . ; \
	fi

run: setup
	OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 $(PY) inference_sim.py
	OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 $(PY) Chip.py

test: setup
	OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) build from_neurosim/build FormulaBindings*.so *.egg-info
