# artsearch: `make demo` runs the product offline on a bundled sample; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INSTALLED := $(VENV)/.installed
FRONTEND_SOURCES := $(shell find frontend -path frontend/node_modules -prune -o -path frontend/dist -prune -o -type f -print 2>/dev/null)
CHROMIUM := /usr/bin/chromium

.PHONY: setup demo test test-fast fuzz lint format frontend chromium clean

setup: $(INSTALLED) frontend/dist/index.html

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first and pinned: 2.13.0 is the CPU build on disk; an unpinned torch would pull GBs of CUDA.
$(INSTALLED): pyproject.toml | $(PY)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	touch $@

frontend/dist/index.html: $(FRONTEND_SOURCES)
	cd frontend && npm ci --no-audit --no-fund && npm run build

frontend: frontend/dist/index.html

# Browser tests drive Debian's Chromium; nothing downloads a browser.
chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

demo: setup
	$(VENV)/bin/artsearch demo

test: setup chromium lint
	$(VENV)/bin/pytest -q

# The quick loop: no browser, nothing marked slow.
test-fast: setup lint
	$(VENV)/bin/pytest -q -m "not browser and not slow"

# The slow lane of the API fuzzing: 2,000+ cases alone and 200 sequences along the schema's links.
fuzz: setup
	ARTSEARCH_FUZZ=slow $(VENV)/bin/pytest -q -s tests/test_schemathesis.py

PY_DIRS := artsearch etl backend tests benchmarks migrations

# Style, then the dependency direction (import-linter contracts in pyproject.toml).
lint: $(INSTALLED)
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)
	$(VENV)/bin/lint-imports

format: $(INSTALLED)
	$(VENV)/bin/ruff format $(PY_DIRS)
	$(VENV)/bin/ruff check --fix $(PY_DIRS)

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist .pytest_cache
