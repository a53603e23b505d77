"""What runs before the server starts: wait for the database, migrate, seed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from app.calendar.window import ServiceWindow
from app.config import Settings
from app.kit.db import make_engine, make_sessionmaker
from app.seed.demo import demo_seeded, seed_demo
from app.seed.reference import seed_reference

# From a checkout the migrations sit beside the package; in the image they are in the workdir.
_SOURCE = Path(__file__).resolve().parent.parent
ROOT = _SOURCE if (_SOURCE / "alembic.ini").exists() else Path.cwd()


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


async def wait_for_database(url: str, timeout: float = 60) -> None:
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)
    finally:
        await engine.dispose()


async def _revisions(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            try:
                return {r[0] for r in (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()}
            except Exception:  # noqa: BLE001 - no alembic_version yet: an empty database
                return set()
    finally:
        await engine.dispose()


async def _analyze(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    finally:
        await engine.dispose()


def migrate(url: str) -> None:
    """Runs Alembic (which drives its own event loop), so call it outside a running loop.

    When a revision was applied, PostgreSQL's planner statistics are refreshed at once (ANALYZE):
    a migration that adds or fills tables leaves them with none, and autovacuum may take minutes
    to come by — the statistics queries once took 27 s on a database never analysed. (SQLite's
    planner works without statistics: it is not analysed.)"""
    before = asyncio.run(_revisions(url))
    command.upgrade(alembic_config(url), "head")
    if url.startswith("postgresql") and asyncio.run(_revisions(url)) != before:
        asyncio.run(_analyze(url))


async def service_window_now(settings: Settings) -> ServiceWindow:
    """The service window as the service will apply it: the weekly window with the admins' calendar."""
    from app.calendar.service import service_window

    engine = make_engine(settings.sqlalchemy_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return await service_window(db, settings, time.time())
    finally:
        await engine.dispose()


async def seed(settings: Settings, demo: bool | None = None) -> bool:
    """Seed reference data always and the demo city when asked. Returns whether demo data was added."""
    engine = make_engine(settings.sqlalchemy_url)
    try:
        async with make_sessionmaker(engine)() as db:
            await seed_reference(db)
            added = False
            if (settings.should_seed_demo if demo is None else demo) and not await demo_seeded(db):
                await seed_demo(db, settings)
                added = True
            await db.commit()
            return added
    finally:
        await engine.dispose()


def prestart(settings: Settings, progress: Callable[[str], None] = lambda line: None) -> None:
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    progress("  waiting for the database…")
    asyncio.run(wait_for_database(settings.sqlalchemy_url))
    progress("  migrating the database…")
    migrate(settings.sqlalchemy_url)
    if settings.should_seed_demo:
        progress("  seeding (on a first start: the demo city with six weeks of history, ~10 s)…")
    added = asyncio.run(seed(settings))
    progress("  demo city added" if added else "  database ready")
