# Every target works on a fresh clone: the virtualenv is created on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
PO := $(wildcard pretix_shredder_api/locale/*/LC_MESSAGES/django.po)
MO := $(PO:.po=.mo)

.PHONY: install demo test lint format bench clean

$(PY):
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

demo: $(STAMP) $(MO)
	$(PY) demo/run.py $(DEMO_ARGS)

test: $(STAMP) $(MO)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .demo build dist *.egg-info test-artifacts $(MO)
