# Every target works on a fresh clone: the virtualenv is created on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: install demo test lint format bench bench-scan clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) setup.cfg setup.py pyproject.toml tests/testplugin/setup.cfg tests/testplugin/setup.py
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q -e tests/testplugin
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) demo/run.py $(DEMO_ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# The residual scan's cost against the shred it checks (to be folded into `make bench`).
bench-scan: $(STAMP)
	$(PY) benchmarks/scan.py $(BENCH_SCAN_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .demo build dist *.egg-info
