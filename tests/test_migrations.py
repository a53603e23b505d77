"""Migrations run up, down and up again on both databases, and match the models exactly."""
import ast
import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from app.kit.db import make_engine
from app.models import Base
from app.prestart import alembic_config
from app.stats import rollup_triggers, rollups

from . import infra

FTS = ("qa_search_fts", "lesson_search_fts")  # SQLite's FTS5 indexes and their shadow tables (0005, 0012): no models


@pytest.fixture
async def empty_database(backend, tmp_path):  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    name = f"{infra.PG_DB}_mig"
    conn = await asyncpg.connect(infra.PG_ADMIN_DSN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield infra.pg_url(name)
    finally:
        conn = await asyncpg.connect(infra.PG_ADMIN_DSN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return {n for n in names if not n.startswith(FTS)} - {"alembic_version"}


async def _diff(url: str) -> list:  # type: ignore[type-arg]
    engine = make_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    await engine.dispose()
    return [d for d in diff if not (d[0] == "remove_table" and d[1].name.startswith(FTS))]


async def test_upgrade_downgrade_upgrade(empty_database):
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await _tables(empty_database) == set(Base.metadata.tables)
    await asyncio.to_thread(command.downgrade, cfg, "base")
    assert await _tables(empty_database) == set()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await _tables(empty_database) == set(Base.metadata.tables)
    assert await _diff(empty_database) == []


def _revision(rev: str) -> ModuleType:
    """Load a revision file as a module (the versions folder is not a package)."""
    path = next((Path(__file__).parent.parent / "migrations" / "versions").glob(f"*-{rev}_*.py"))
    spec = importlib.util.spec_from_file_location(f"revision_{rev}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_revisions_import_nothing_from_the_application() -> None:
    # Migrations are history: what an old revision builds must not change when app code does.
    for path in (Path(__file__).parent.parent / "migrations" / "versions").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in {"app", "matching", "signaling"}, f"{path.name} imports {name}"


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_frozen_rollup_sql_equals_the_generators(dialect: str) -> None:
    # If this fails, the rollup generators changed: add a revision that installs the new SQL
    # (with its own frozen copy) and compare the generators with that revision here instead.
    r3, r4 = _revision("0003"), _revision("0004")
    assert r3.TRIGGERS[dialect] == rollup_triggers.hour_triggers(dialect)
    assert r3.BACKFILL[dialect] == rollups.hour_rebuild_sql(dialect)
    assert r4.TRIGGERS[dialect] == rollup_triggers.derived_triggers(dialect)
    assert r4.BACKFILL[dialect] == rollups.derived_rebuild_sql(dialect)


async def test_a_start_up_migration_leaves_postgresql_analysed(empty_database):
    # The statistics queries' plans depend on planner statistics: migrating refreshes them at once.
    from app.prestart import migrate
    await asyncio.to_thread(migrate, empty_database)
    if not empty_database.startswith("postgresql"):
        return
    conn = await asyncpg.connect(empty_database.replace("postgresql+asyncpg", "postgresql"))
    try:
        analysed = await conn.fetchval("SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
                                       "AND relname IN ('users', 'lessons', 'student_months')")
    finally:
        await conn.close()
    assert analysed == 3


async def test_lesson_search_documents_are_backfilled(empty_database, backend):  # type: ignore[no-untyped-def]
    """Lessons made before revision 0012 are found by title search once it has run."""
    from sqlalchemy import text

    from app.kit import search
    from app.lessons.service import SEARCH

    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0007")
    engine = make_engine(empty_database)
    async with engine.connect() as conn:
        # Only the lessons table matters here: no users, schools or subjects behind its keys.
        await conn.execute(text("SET session_replication_role = replica" if backend == "postgres" else "PRAGMA foreign_keys = OFF"))
        for i, title in ((1, "焦耳定律的实验"), (2, "凸透镜成像")):
            await conn.execute(text(
                "INSERT INTO lessons (id, tutor_id, school_id, district_id, subject_code, band, title, description, media_status,"
                " review_status, clicks, complete_views, created_at, updated_at) VALUES (:i, 1, 1, 1, 'physics', 'junior',"
                " :title, '', 'ready', 'approved', 0, 0, '2026-11-26 10:00:00+00', '2026-11-26 10:00:00+00')"), {"i": i, "title": title})
        await conn.commit()
    await asyncio.to_thread(command.upgrade, cfg, "head")
    async with engine.connect() as conn:
        async def found(q: str) -> list[int]:
            m = search.matching(SEARCH, engine.dialect.name, search.query_terms(q))
            return sorted((await conn.execute(select(m.c.lesson_id))).scalars())
        assert await found("定律") == [1]
        assert await found("透镜") == [2]
        assert await found("欧姆") == []
    await engine.dispose()
    # The revision's frozen split is the application's.
    title = "电功率 P=UI 的计算（第2课）"
    assert _revision("0012")._document(title) == search.document(title)
