# Two commands matter: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(CURDIR)/.tools/bin/uv
VENV := $(CURDIR)/.venv
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_PYTHON_DOWNLOADS := never
# pgserver (through platformdirs) wants a private runtime folder; give it one.
export XDG_RUNTIME_DIR ?= /tmp/runtime-$(shell id -u)

.PHONY: test-deps run test test-faults lint typecheck check schema bench install clean runtime-dir clamav chromium nginx

$(UV):
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

runtime-dir:
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)

clamav:
	@bash scripts/install-clamav.sh || echo "ClamAV not installed: uploads will stay quarantined" >&2

## The browser tests need Chromium: `make test` installs it, or fails. (GraphiQL's files ship in
## assets/graphiql/; scripts/fetch-graphiql-assets.sh only refreshes them.)
chromium:
	@bash scripts/install-chromium.sh

## The deployment tests (tests/deploy/) start Debian's nginx: `make test` installs it, or fails.
nginx:
	@bash scripts/install-nginx.sh

install: $(VENV)/.synced runtime-dir clamav

## `make test` also needs the headless browser for tests/browser/ and nginx for tests/deploy/.
test-deps: install chromium nginx

## Start the service at http://$${HOST:-127.0.0.1}:$${PORT:-8000}/graphql (embedded servers unless configured).
run: install
	$(VENV)/bin/dvc serve

## Run the whole test suite against real PostgreSQL and S3 (started by the tests).
test: test-deps
	@$(VENV)/bin/python -m pytest $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$code

## The fault tests (tests/faults/, marker `faults`, skipped by `make test`): a private PostgreSQL,
## S3 and app processes stopped, killed and started again; about 5 minutes.
test-faults: install
	@$(VENV)/bin/python -m pytest tests/faults -m faults $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$code

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy .

check: lint typecheck
	$(VENV)/bin/dvc export-schema --check

## Write schema.graphql from the code.
schema: install
	$(VENV)/bin/dvc export-schema

## `make bench` runs every benchmark; `make bench BENCH="lookup catalog inbox"` the ones named.
bench: install
	$(VENV)/bin/python -m bench $(BENCH)

clean:
	rm -rf .venv .tools var .pytest_cache .mypy_cache .ruff_cache
