# Kotha's set-up, run and test commands. `make run` and `make test` are the quick start.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test catalogs console-assets browser lint bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

catalogs: $(STAMP)
	$(BIN)/pybabel compile -d locales -D messages --statistics

# GOV.UK Frontend's CSS, JavaScript, fonts and images for the console, served at
# /console/static/govuk/. 6.3.0 is the release govuk-frontend-jinja 4.1 is tested against; its
# CSS asks for /assets/, rewritten to where the console serves them.
GOVUK_FRONTEND := 6.3.0
GOVUK_DIST := console/static-src/node_modules/govuk-frontend/dist/govuk
console/static/govuk/.version-$(GOVUK_FRONTEND):
	npm install --no-audit --no-fund --silent --prefix console/static-src govuk-frontend@$(GOVUK_FRONTEND)
	rm -rf console/static/govuk && mkdir -p console/static/govuk
	cp -R $(GOVUK_DIST)/assets $(GOVUK_DIST)/govuk-frontend.min.js console/static/govuk/
	sed 's#url(/assets/#url(/console/static/govuk/assets/#g' $(GOVUK_DIST)/govuk-frontend.min.css \
	  > console/static/govuk/govuk-frontend.min.css
	touch $@

# Noto fonts for Bengali and Syloti Nagri text in the console, from Debian's fonts-noto-core
# (console/static/kotha.css declares them, each limited to its script's characters).
NOTO := /usr/share/fonts/truetype/noto
CONSOLE_FONTS := NotoSansBengali-Regular.ttf NotoSansBengali-Bold.ttf NotoSansSylotiNagri-Regular.ttf
console/static/fonts/.installed:
	@test -f $(NOTO)/NotoSansSylotiNagri-Regular.ttf || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq fonts-noto-core >/dev/null; \
	  else echo "the console's fonts need Debian's fonts-noto-core: sudo apt-get install fonts-noto-core"; exit 1; fi; }
	mkdir -p console/static/fonts
	cp $(addprefix $(NOTO)/,$(CONSOLE_FONTS)) console/static/fonts/
	touch $@

console-assets: console/static/govuk/.version-$(GOVUK_FRONTEND) console/static/fonts/.installed

setup: $(STAMP) catalogs console-assets

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
