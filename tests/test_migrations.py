"""Migrations run up, down and up again on both databases, and match the models exactly."""
import asyncio

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.kit.db import make_engine
from app.models import Base
from app.prestart import alembic_config

from . import infra

FTS = "qa_search_fts"  # SQLite's FTS5 index and its shadow tables (migration 0005): no model of their own


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
