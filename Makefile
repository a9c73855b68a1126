# Every target works on a fresh clone: the virtualenv is created on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: install demo test fuzz lint format bench clean

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

# The long fuzz run: 50,000 generated requests (make test sends 2,100); FUZZ_REQUESTS=... to change.
FUZZ_REQUESTS ?= 50000
fuzz: $(STAMP)
	SHREDDER_FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(PY) -m pytest tests/test_fuzz.py -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .demo build dist *.egg-info
