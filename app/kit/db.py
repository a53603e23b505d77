"""Engine and the one-session-per-request dependency (commit at the boundary, never in services)."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # asyncpg prepares every statement; after five runs PostgreSQL may switch a statement to a
    # generic plan, which for range scans over skewed data (the statistics over a semester) is
    # several times slower than a plan made for the actual bounds (1.2 s → 8.4 s measured on the
    # city table). Planning each run costs well under a millisecond here.
    # JIT off: the statistics queries cost enough to trigger JIT compilation, which took ~450 ms
    # of a 1.2 s online-rate query on this machine and saved less than it cost.
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                               connect_args={"timeout": 5,  # an unreachable database is a 503 within seconds
                                             "server_settings": {"plan_cache_mode": "force_custom_plan", "jit": "off"}})


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request. The boundary commits; any exception rolls everything back, so
    a failed request leaves no half-written records. Events gathered during the request are
    handed out only after the commit succeeded (see app.kit.events)."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            for undo in session.info.pop("on_rollback", []):
                await undo()
            raise
        after = session.info.pop("after_commit", [])
    for callback in after:
        # Committed is committed: a dependency failing now (Redis down while announcing) must
        # not turn the stored result into a 500. What the callback did not do, the timers and
        # the reconciler (app/match/reconcile.py) catch up on.
        try:
            await callback()
        except Exception:  # noqa: BLE001
            logging.getLogger(__name__).exception("after-commit step failed; left to reconciliation")


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` once the request's transaction has committed (events go out only then)."""
    session.info.setdefault("after_commit", []).append(callback)


def on_rollback(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Undo state kept outside the database (e.g. a claim in the matching pool) if the
    request's transaction does not commit."""
    session.info.setdefault("on_rollback", []).append(callback)


# scope="function": commit before the response leaves, so a 2xx means the data is stored.
DB = Annotated[AsyncSession, Depends(get_db, scope="function")]
