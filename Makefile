# Two commands on a fresh machine (Python 3.11 and nothing else prepared):
#   make demo   set up .venv if needed, run the whole study offline (local profile), show the results
#   make test   set up .venv if needed, lint (ruff, mypy), run the test suite, slow end-to-end tests included (what CI runs)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-slow lint bench

$(STAMP): pyproject.toml constraints-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints-dev.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rdtui config show --profile local
	$(VENV)/bin/rdtui run --all --profile local
	$(VENV)/bin/rdtui results
	@if [ -t 0 ] && [ -t 1 ]; then $(VENV)/bin/rdtui; else $(VENV)/bin/rdtui ls; fi

test: lint
	$(VENV)/bin/python -m pytest -q -m "slow or not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q

test-slow: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m slow

bench: $(STAMP)
	for script in bench/bench_*.py; do $(VENV)/bin/python $$script || exit 1; done
