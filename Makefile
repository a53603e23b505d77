# The two commands a newcomer needs:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint install services clean

$(STAMP): pyproject.toml constraints.txt
	@echo "Installing the service and its dependencies into $(VENV) (first time: a minute or two)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the service on the embedded default (SQLite in ./data, in-process state, demo data).
run: $(STAMP)
	$(BIN)/tutoring run

## Run the whole suite: embedded (SQLite) and production (PostgreSQL + Redis) setups.
test: $(STAMP)
	BIN=$(BIN) scripts/lint.sh
	scripts/ensure-services.sh
	scripts/ensure-browser.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Ruff and mypy alone (the first step of `make test`).
lint: $(STAMP)
	BIN=$(BIN) scripts/lint.sh

clean:
	rm -rf $(VENV) data test-artifacts
