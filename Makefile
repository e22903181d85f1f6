# revrec: `make run` (the web app on SQLite with the demo portfolio), `make test` (every test and
# linter, browser tests included), `make bench`.
# Each target creates .venv from nothing when it is missing: only python3.11 and make are needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test test-deep lint format bench bench-web browser screenshots clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --python $(BIN)/python
	touch $@

install: $(VENV)/.synced

run: install
	$(BIN)/revrec serve --demo

# The browser tests drive Debian's chromium (Playwright's own browser downloads cannot work here):
# installed when missing (as root, or with sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

test: install lint browser
	$(BIN)/pytest

# The same with every property test at 200 examples (CI runs 20).
test-deep: install lint browser
	HYPOTHESIS_PROFILE=deep $(BIN)/pytest

# The screenshots in docs/screenshots, taken by the browser tests.
screenshots: install browser
	REVREC_SCREENSHOTS=1 $(BIN)/pytest tests/web -q -k browser

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

bench: install
	$(BIN)/revrec bench --lines $(or $(LINES),1000000)

# Every page of the web app over the demo portfolio: the time of each, in milliseconds.
bench-web: install
	$(BIN)/revrec bench --pages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The fuzzer of the shipped examples (tests/fuzz): FILES seeded mutated files (10,000 by
# default; `make test` runs 80), imported and processed in-process; one summary line.
.PHONY: fuzz
fuzz: install
	REVREC_FUZZ_FILES=$(or $(FILES),10000) $(BIN)/pytest tests/fuzz -q
