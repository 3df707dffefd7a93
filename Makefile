# Kasane: make run (serve with demo data and the timer worker) and make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PY_STAMP := $(VENV)/.installed
JS_STAMP := node_modules/.installed
BUNDLE := app/static/build/kasane.js
CATALOG := app/translations/en/LC_MESSAGES/messages

.PHONY: install run serve test lint bench worker messages clean

install: $(PY_STAMP) $(BUNDLE) $(CATALOG).mo

$(PY_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 以上が必要です")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(JS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(BUNDLE): $(JS_STAMP) $(shell find app/assets -type f 2>/dev/null)
	npm run --silent build

# The English catalogue compiled for Flask-Babel; the .mo is build output, never committed.
$(CATALOG).mo: $(CATALOG).po | $(PY_STAMP)
	$(BIN)/pybabel compile -d app/translations

# After marking new strings for translation: bring them into the .po, then translate what is empty.
messages: $(PY_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --project=Kasane -o messages.pot .
	$(BIN)/pybabel update -i messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete

run: install
	$(FLASK) db upgrade
	$(FLASK) kasane deploy
	$(FLASK) kasane demo
	@echo "http://127.0.0.1:5000/ で起動します（Ctrl+C で終了）"
	@$(FLASK) kasane worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port 5000

# Production-like: gunicorn (2 workers) and the timer worker on the PostgreSQL of DATABASE_URL.
serve: install
	@case "$$DATABASE_URL" in postgresql*) ;; *) echo "DATABASE_URL を PostgreSQL に向けてください（例: postgresql+psycopg://postgres@127.0.0.1:5432/kasane）"; exit 1;; esac
	$(FLASK) db upgrade
	$(FLASK) kasane deploy
	@echo "http://127.0.0.1:8000/ で起動します（Ctrl+C で終了）"
	@$(FLASK) kasane worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/gunicorn -c python:app.gunicorn_conf --workers 2 --bind 127.0.0.1:8000 --access-logfile - 'app:create_app()'

worker: install
	$(FLASK) kasane worker

test: install
	$(BIN)/pytest

screenshots: install
	mkdir -p build/screenshots
	KASANE_SCREENSHOTS_DIR=$(CURDIR)/build/screenshots $(BIN)/pytest -q tests/browser/test_screenshots.py tests/browser/test_diagrams.py tests/browser/test_api_reference.py $(wildcard tests/browser/test_journeys_*.py)
	@ls build/screenshots

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/engine_bench.py

clean:
	rm -rf $(VENV) node_modules app/static/build build .pytest_cache
