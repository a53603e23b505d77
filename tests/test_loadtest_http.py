"""The HTTP benchmark (loadtest.http) reads its figures from the line its wrk script writes; a
full run needs wrk and a minute, so the suite checks the parts that could silently go wrong."""
from __future__ import annotations

import pytest

from loadtest.http import WRK_SCRIPT, parse_wrk

WRK_OUTPUT = """Running 8s test @ http://127.0.0.1:41234/api/auth/me
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    95.01ms   20.12ms 301.00ms   80.00%
  4000 requests in 8.00s, 1.91MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    500.00
Transfer/sec:    244.14KB
WRK {"requests": 4000, "duration_us": 8000000, "connect": 0, "read": 1, "write": 0, "status": 3, "timeout": 0, "p50_us": 90500, "p99_us": 250250}
"""


def test_figures_come_from_the_scripts_line():
    w = parse_wrk(WRK_OUTPUT)
    assert w["requests"] == 4000 and w["rps"] == 500.0 and w["seconds"] == 8.0
    assert w["p50_ms"] == 90.5 and w["p99_ms"] == 250.25
    assert w["errors"] == 4 and w["non_2xx"] == 3  # a refused request is an error, not throughput


def test_a_run_without_the_line_is_an_error_not_zeros():
    with pytest.raises(ValueError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_script_sends_each_token_in_turn():
    lua = WRK_SCRIPT % {"tokens": '"a.b.c", "d.e.f"', "path": "/api/sessions"}
    assert 'local tokens = {"a.b.c", "d.e.f"}' in lua
    assert '"Bearer " .. tokens[(i % #tokens) + 1]' in lua
    assert 'wrk.format("GET", "/api/sessions"' in lua
    assert '"p99_us": %d' in lua  # the format string survives the template's own %-escaping
