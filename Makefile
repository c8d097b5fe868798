# Each target creates or updates .venv (Python 3.10) first.
VENV := .venv
PY := $(VENV)/bin/python
STEPS ?=
SEED ?= 0
OUT ?= out/demo

.PHONY: setup demo test test-slow lint format bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/glia verify astro-sequence --seed $(SEED) --out $(OUT) $(if $(STEPS),--steps $(STEPS))

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
