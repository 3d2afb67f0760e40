# Deskapp: `make run` starts the app, `make test` runs every check. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UI_SOURCES := $(wildcard ui/*.ui)
UI_MODULES := $(patsubst ui/%.ui,deskapp/qt/generated/%_ui.py,$(UI_SOURCES))

.PHONY: run test lint typecheck pytest ui bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Deskapp needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Designer files are compiled at build time, never edited by hand.
deskapp/qt/generated/%_ui.py: ui/%.ui $(STAMP)
	$(BIN)/pyside6-uic --from-imports $< -o $@

ui: $(UI_MODULES)

run: $(STAMP) ui
	$(BIN)/deskapp

lint: $(STAMP) ui
	$(BIN)/ruff check deskapp tests
	$(BIN)/lint-imports

typecheck: $(STAMP) ui
	$(BIN)/mypy

pytest: $(STAMP) ui
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -q

test: lint typecheck pytest

# The PyInstaller bundle (dist/deskapp/) and the .deb (dist/deskapp_*.deb): installer/README.md.
INSTALLER_STAMP := $(VENV)/.installer-installed
$(INSTALLER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,installer]'
	touch $(INSTALLER_STAMP)

.PHONY: installer
installer: $(INSTALLER_STAMP) ui
	$(BIN)/python installer/build.py $(INSTALLER_ARGS)

bench: $(STAMP) ui
	$(BIN)/python -m tests.bench.queues $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.startup

clean:
	rm -rf $(VENV) build dist *.egg-info deskapp/qt/generated/*_ui.py
