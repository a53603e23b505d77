#!/bin/sh
# Lint and type checks, run by `make test` before the suite (and so by .ci/run).
# Ruff: the rule set in pyproject.toml ([tool.ruff]); mypy: the packages and settings in
# [tool.mypy]. `ruff check --fix` repairs most of what ruff reports.
set -e
BIN="${BIN:-.venv/bin}"
"$BIN/ruff" check app matching signaling classroom tests/test_layers.py
"$BIN/ruff" format --check app matching signaling classroom
"$BIN/mypy"
