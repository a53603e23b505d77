"""Per-run databases: one migrated SQLite template and one PostgreSQL database per test run,
named after the run so that concurrent runs never collide. Redis keys get a per-run prefix."""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from datetime import datetime
from zoneinfo import ZoneInfo
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import text

from app.config import Settings
from app.kit.db import make_engine, make_sessionmaker
from app.prestart import migrate
from app.seed.reference import seed_reference

RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"
PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_DB = f"tutoring_test_{RUN_ID}"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_PREFIX = f"test:{RUN_ID}:"
KEEP = ("alembic_version", "subjects", "knowledge_points")
# Tests run "on a Wednesday evening in the service window" (2026-11-25 19:00 Asia/Shanghai).
EVENING = datetime(2026, 11, 25, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def pg_url(db: str = PG_DB) -> str:
    host = PG_ADMIN_DSN.split("@", 1)[1].rsplit("/", 1)[0]
    user = PG_ADMIN_DSN.split("//", 1)[1].split("@", 1)[0]
    return f"postgresql+asyncpg://{user}@{host}/{db}"


async def _seed(url: str) -> None:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as db:
        await seed_reference(db)
        await db.commit()
    await engine.dispose()


async def create_pg() -> str:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    url = pg_url()
    await asyncio.to_thread(migrate, url)
    await _seed(url)
    return url


async def drop_pg() -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_sqlite_template(folder: Path) -> Path:
    path = folder / "template.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrate, url)
    await _seed(url)
    # Fold the write-ahead log into the file so that a plain copy carries the whole database.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return path


def fresh_sqlite(template: Path, folder: Path) -> str:
    path = folder / f"t_{secrets.token_hex(4)}.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


async def truncate_pg(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        names = (await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars().all()
        wipe = [f'"{n}"' for n in names if n not in KEEP]
        await conn.execute(text(f"TRUNCATE {', '.join(wipe)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def clear_redis(prefix: str = REDIS_PREFIX) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def settings_for(backend: str, url: str, data_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = dict(data_dir=data_dir, jwt_secret="test-secret-for-this-run-only-" + RUN_ID,
                                     seed_demo=False, match_reaper=False, tune_gc=False)
    values.update(extra)
    if backend == "postgres":
        return Settings(DATABASE_URL=url, REDIS_URL=REDIS_URL, redis_prefix=REDIS_PREFIX, **values)
    return Settings(DATABASE_URL=url, REDIS_URL=None, **values)


def run_benchmark(module: str, args: list[str], required: list[str]) -> dict[str, Any]:
    """`python -m loadtest.<module> <args>` on both setups, as a newcomer runs it: it must exit
    cleanly, and its last line is the JSON of its figures, every required field in the summary
    and in each setup's run (embedded, then production)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", f"loadtest.{module}", *args], cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    runs = figures["runs"]
    assert isinstance(runs, list) and [r["setup"] for r in runs] == ["embedded", "production"]
    for run in [figures, *runs]:
        assert set(required) <= set(run)
    return figures
