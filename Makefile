# Meridian: `make demo` runs the whole pipeline on generated data; `make test` runs the tests.
# Both create .venv and install everything on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.meridian-installed

.PHONY: install demo test bench ui lint warehouse-start warehouse-stop warehouse-status clean system-deps

$(STAMP): requirements.txt include/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e include
	touch $(STAMP)

install: $(STAMP)
	@$(BIN)/meridian dbt-parse >/dev/null

# poppler-utils (pdftoppm) lets the report tests look at rendered PDF pages; Debian's chromium (with
# fonts) is the browser the browser tests drive through Playwright (Playwright's own download is not used)
SYSTEM_PACKAGES := poppler-utils chromium fonts-dejavu-core
system-deps:
	@if ! command -v pdftoppm >/dev/null 2>&1 || ! test -x /usr/bin/chromium; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "pdftoppm or /usr/bin/chromium not found: install $(SYSTEM_PACKAGES) (the PDF page checks and the browser tests need them)"; exit 1; fi; fi

demo: install
	$(BIN)/meridian demo

test: install system-deps
	$(BIN)/pytest

bench: install
	$(BIN)/meridian bench

ui: install
	$(BIN)/meridian ui

# the same checks as tests/test_lint.py (part of `make test`)
lint: install
	$(BIN)/ruff check dags include plugins tests
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests dbt_project/snapshots --processes 2 --disable-progress-bar

warehouse-start: install
	$(BIN)/meridian warehouse start
warehouse-stop: install
	$(BIN)/meridian warehouse stop
warehouse-status: install
	$(BIN)/meridian warehouse status

clean:
	-$(BIN)/meridian warehouse stop
	rm -rf .meridian out data dbt_project/target dbt_project/logs
