# The two commands: `make run` sets everything up and starts the app; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	gettext poppler-utils chromium default-jre-headless

.PHONY: run setup install test lint check-system system-packages loadtest bench

run: setup  ## Set up and start the app at http://127.0.0.1:8000 (SQLite, in-process jobs).
	$(MANAGE) runserver 127.0.0.1:8000

setup: install .env check-system
	$(MANAGE) migrate --noinput
	$(MANAGE) compilemessages --ignore=.venv --ignore=node_modules -v0
	$(MANAGE) seed_demo

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

# Local development runs with DEBUG on; production sets its own environment (.env.example).
.env:
	printf 'DEBUG=true\n' > $@

node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the browser tests' axe-core and HTML checks will be skipped."; fi

check-system:
	@$(BIN)/python -c "import weasyprint" 2>/dev/null && command -v msgfmt >/dev/null || { \
	echo "System packages are missing (WeasyPrint's Pango/HarfBuzz, gettext). On Debian/Ubuntu:"; \
	echo "  sudo make system-packages"; exit 1; }

system-packages:  ## Debian/Ubuntu packages for PDFs, translations and the browser tests.
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES)

test: install check-system node_modules/.installed  ## Run every test.
	KAM_TESTING=true $(MANAGE) compilemessages --ignore=.venv --ignore=node_modules -v0
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

loadtest: install  ## The load test: 50 users for 5 minutes on 100,000 accounts (loadtest/run.sh).
	loadtest/run.sh

bench: install  ## The benchmark at 1,000, 10,000 and 100,000 accounts, one table, bench.json.
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kam_bench} \
		$(MANAGE) bench --sizes 1000 10000 100000 --json bench.json
