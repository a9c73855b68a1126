# Every target works on a fresh clone: the virtualenv is created on first use.
# It needs Python 3.11 or newer with its venv module: python3 if it is new enough, else python3.11, 3.12, 3.13
# (the first that works, resolved to the real interpreter behind any pyenv shim). Override: make PYTHON=/path/to/python
PYTHON_CANDIDATES := python3 python3.11 python3.12 python3.13
PYTHON_CHECK := import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	$$p -c '$(PYTHON_CHECK)' 2>/dev/null && { $$p -c 'import sys; print(sys.executable)'; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
PO := $(wildcard pretix_shredder_api/locale/*/LC_MESSAGES/django.po)
MO := $(PO:.po=.mo)

.PHONY: install demo demo-serve demo-stop test lint format docs fuzz load bench bench-scan bench-persons bench-scope clean

$(PY):
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: no Python 3.11 or newer with its venv module found (tried: $(PYTHON_CANDIDATES))." >&2; \
		echo "Install one (Debian/Ubuntu: apt-get install python3 python3-venv, if python3 is 3.11 or newer)," >&2; \
		echo "or name it: make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)" >&2; \
		exit 1; \
	fi
	@$(PYTHON) -c '$(PYTHON_CHECK)' 2>/dev/null || { \
		echo "error: PYTHON=$(PYTHON) is not Python 3.11 or newer with its venv module:" \
			"$$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>&1)" >&2; \
		exit 1; }
	@echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) -c 'import platform; print(platform.python_version())'))"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) setup.cfg setup.py pyproject.toml tests/testplugin/setup.cfg tests/testplugin/setup.py
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q -e tests/testplugin
	touch $(STAMP)

# The editable install reads the translations from the source tree: compile them there (not committed).
$(MO): %.mo: %.po compile_catalogs.py $(STAMP)
	$(PY) compile_catalogs.py

install: $(STAMP) $(MO)

# make demo: the whole flow; on a terminal it leaves pretix running (DEMO_KEEP=0 stops it, DEMO_KEEP=1 keeps it
# without a terminal too). demo-serve starts the demo's pretix again with its data; demo-stop stops it.
demo: $(STAMP) $(MO)
	$(PY) demo/run.py $(DEMO_ARGS)

demo-serve: $(STAMP) $(MO)
	$(PY) demo/run.py --serve $(DEMO_ARGS)

demo-stop:
	@if [ -x $(PY) ]; then $(PY) demo/run.py --stop; else echo "no demo server is running"; fi

test: $(STAMP) $(MO)
	$(PY) -m pytest $(PYTEST_ARGS)

# The long fuzz run: 50,000 generated requests (make test sends 2,100); FUZZ_REQUESTS=... to change.
FUZZ_REQUESTS ?= 50000
fuzz: $(STAMP)
	SHREDDER_FUZZ_REQUESTS=$(FUZZ_REQUESTS) $(PY) -m pytest tests/test_fuzz.py -q $(PYTEST_ARGS)

# make load: the load test with a 60 s shred (make test runs it with 8 s); LOAD_SECONDS=..., LOAD_CLIENTS=...
LOAD_SECONDS ?= 60
LOAD_CLIENTS ?= 50
load: $(STAMP)
	SHREDDER_LOAD_SECONDS=$(LOAD_SECONDS) SHREDDER_LOAD_CLIENTS=$(LOAD_CLIENTS) $(PY) -m pytest \
		tests/integration/test_integration_load.py -m integration -q -rA $(PYTEST_ARGS)

# make bench: the built-in API against ours (export, download, shred, polls), then the residual scan's cost, then
# a scope export against pretix's export of the whole event (default 10,000 of 100,000 orders; BENCH_SCOPE_ARGS).
bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)
	$(PY) benchmarks/scan.py $(BENCH_SCAN_ARGS)
	$(PY) benchmarks/persons.py $(BENCH_PERSONS_ARGS)
	$(PY) benchmarks/scope.py $(BENCH_SCOPE_ARGS)

# The residual scan's cost against the shred it checks, alone.
bench-scan: $(STAMP)
	$(PY) benchmarks/scan.py $(BENCH_SCAN_ARGS)

# make bench-persons: one request of one person in an organizer of 20 events x 2,500 orders (finding, export, erasure,
# proof; queries of the finding).
bench-persons: $(STAMP)
	$(PY) benchmarks/persons.py $(BENCH_PERSONS_ARGS)

# A scope of past dates against pretix's export of the whole series, alone:
# make bench-scope BENCH_SCOPE_ARGS="--orders 20000 --scope 2000"
bench-scope: $(STAMP)
	$(PY) benchmarks/scope.py $(BENCH_SCOPE_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# make docs: the Sphinx documentation in docs/ (sphinx and sphinxcontrib-httpdomain come with the test extra);
# every warning is an error. Open docs/_build/html/index.html.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -n -q -b html docs docs/_build/html

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	@if [ -x $(PY) ]; then $(PY) demo/run.py --stop; fi
	rm -rf $(VENV) .demo build dist *.egg-info test-artifacts docs/_build $(MO)
