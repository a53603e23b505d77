"""A small, untimed run of `python -m loadtest.sweep` on both setups: it completes, times both
passes over the sessions it made, and leaves no database behind."""
import secrets

import asyncpg

from loadtest.http import PG_ADMIN_DSN
from loadtest.sweep import REQUIRED

from . import infra


async def test_the_sweep_benchmark_runs_on_both_setups_and_cleans_up() -> None:
    db = f"tutoring_bench_sweep_test_{secrets.token_hex(4)}"
    figures = infra.run_benchmark("sweep", ["--quick", "--pg-db", db], REQUIRED)
    for run in figures["runs"]:
        assert run["sessions"] == 200 and run["passes"] == 10
        assert run["full_cpu_ms"] > 0 and run["pass_cpu_ms"] > 0 and run["pass_longest_step_ms"] > 0
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", db) == 0
    finally:
        await conn.close()
