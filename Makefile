# Two commands: `make run` serves the app with the demo study (and runs the workers that write
# reports and exports, and fit the code suggestions, in the background); `make test` runs every test
# on SQLite and on a throwaway PostgreSQL. Both set up everything they need first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-sqlite test-postgres venv dev-venv chromium libreoffice postgres-server bench check-deploy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "Serving on http://127.0.0.1:$(PORT)/ with two background workers, for reports and for suggestions (Ctrl+C stops all three)"
	@$(BIN)/python manage.py db_worker --verbosity 0 & worker=$$!; \
	  $(BIN)/python manage.py db_worker --queue-name suggestions --verbosity 0 & suggestions=$$!; \
	  trap 'kill $$worker $$suggestions 2>/dev/null; wait $$worker $$suggestions 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Debian's Chromium drives the browser tests; install it when we may, else say what is missing.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install chromium'."; exit 1; \
	  fi; \
	fi

# The throwaway cluster needs PostgreSQL's server programs (initdb, pg_ctl).
postgres-server:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's postgresql for the PostgreSQL test run..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "The PostgreSQL test run needs initdb and pg_ctl: run 'sudo apt-get install postgresql'."; exit 1; \
	  fi; \
	fi

# LibreOffice converts the exported codebook .docx to PDF in the tests; poppler's pdfinfo counts its pages.
libreoffice:
	@if ! command -v soffice >/dev/null || ! command -v pdfinfo >/dev/null; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's libreoffice-writer-nogui and poppler-utils for the export tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui poppler-utils >/dev/null; \
	  else \
	    echo "The export tests need soffice and pdfinfo: run 'sudo apt-get install libreoffice-writer-nogui poppler-utils'."; exit 1; \
	  fi; \
	fi

test: dev-venv chromium libreoffice postgres-server
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: dev-venv
	@echo "== Test suite on SQLite"
	env -u DATABASE_URL $(BIN)/python -m pytest

test-postgres: dev-venv postgres-server
	@echo "== Test suite on a throwaway PostgreSQL"
	$(BIN)/python tests/with_postgres.py -- $(BIN)/python -m pytest

# The benchmark (bench/README.md): study and 5x scale on SQLite, then on a throwaway
# PostgreSQL (and institution scale) with 20 concurrent coders for 60 s, then the in-browser
# timing. Prints tables; not part of `make test`.
bench: dev-venv postgres-server
	$(BIN)/python bench/run.py --scales study,5x
	$(BIN)/python tests/with_postgres.py -- $(BIN)/python bench/run.py --scales study,5x,institution --postgres --load 60 --two-servers
	$(BIN)/python bench/browser.py
	$(BIN)/python bench/side_by_side.py

check-deploy: venv
	PRODUCTION=1 SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))') \
	  ALLOWED_HOSTS=peercoding.example.org $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var/staticfiles
