"""Benchmarks: `python -m loadtest.NAME [--quick]`. Each prints its figures, ends with one JSON
line, and writes the same JSON to loadtest/results/NAME.json."""
