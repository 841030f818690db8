# Kotha's set-up, run and test commands. `make run` and `make test` are the quick start.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test catalogs browser lint bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

catalogs: $(STAMP)
	$(BIN)/pybabel compile -d locales -D messages --statistics

setup: $(STAMP) catalogs

run: setup
	$(BIN)/kotha run

# Browser tests drive Debian's chromium (Playwright's own browser download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-core >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium fonts-noto-core"; fi; }

test: setup browser
	$(BIN)/pytest -n 2 -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/runner.py
