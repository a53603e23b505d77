"""Engine and the one-session-per-request dependency (commit at the boundary, never in services)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy import CursorResult, Result, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # the driver's connection (DB-API, untyped)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:  # the driver's connection (DB-API, untyped)
            # A writing request takes the write lock when it begins, waiting its turn (busy
            # timeout) behind other writers. Begun deferred, a transaction that read and then
            # wrote after another writer had committed failed at once with "database is locked"
            # (SQLite cannot move a read snapshot forward inside a transaction and does not wait
            # for it): 500s under concurrent POSTs (tests/test_sqlite_writers.py).
            if conn.get_execution_options().get(IMMEDIATE):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # asyncpg prepares every statement; after five runs PostgreSQL may switch a statement to a
    # generic plan, which for range scans over skewed data (the statistics over a semester) is
    # several times slower than a plan made for the actual bounds (1.2 s → 8.4 s measured on the
    # city table). Planning each run costs well under a millisecond here.
    # JIT off: the statistics queries cost enough to trigger JIT compilation, which took ~450 ms
    # of a 1.2 s online-rate query on this machine and saved less than it cost.
    #
    # The pool is what an authenticated read costs most of (py-spy, `python -m loadtest.http`):
    # - No pre-ping: it is one more round trip on every checkout (16 % of `GET /api/auth/me`'s
    #   CPU). A connection the server dropped is found by the query that uses it; SQLAlchemy
    #   then invalidates the whole pool, so a database restart costs one failed request, not one
    #   per pooled connection.
    # - No overflow: overflow connections are closed when they come back, so any concurrency
    #   above `pool_size` opened a new connection (TLS negotiation, re-preparing every statement)
    #   per request — 6 % of the CPU at 50 concurrent requests. A request beyond the pool waits
    #   for a connection instead; on a saturated CPU more connections add no throughput.
    # work_mem 32 MB: a city month's student leaderboard groups ~140,000 students; with the default
    # 4 MB the hash aggregation spilled to disk in five batches (1.4 s → 0.9 s in memory on the
    # benchmark city, measured on a loaded machine). At most 20 connections × a few such nodes.
    # random_page_cost 1.1 (the default 4 prices a disk seek): the rollups are read through covering
    # indexes that sit in memory or on SSD. With 4 the planner hashed the semester's 440,000
    # activity_blocks rows per student instead of walking ix_activity_blocks_student in order —
    # 430–630 ms against 170–235 ms for the same query (EXPLAIN ANALYZE on the benchmark city).
    return create_async_engine(url, pool_size=20, max_overflow=0, pool_pre_ping=False, connect_args=PG_CONNECT_ARGS)


# Every PostgreSQL connection of the service (the engine's and app.kit.reads'): see make_engine.
PG_CONNECT_ARGS = {
    "timeout": 5,  # an unreachable database is a 503 within seconds
    "server_settings": {"plan_cache_mode": "force_custom_plan", "jit": "off", "work_mem": "32MB", "random_page_cost": "1.1"},
}


IMMEDIATE = "tutoring_sqlite_immediate"  # execution option: SQLite transactions begin with the write lock


def writer_for(maker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that may write (not GET/HEAD): on SQLite their transaction begins
    IMMEDIATE (see make_engine); elsewhere the same sessions as `maker`."""
    engine: AsyncEngine = maker.kw["bind"]
    if engine.dialect.name != "sqlite":
        return maker
    return async_sessionmaker(engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False, autoflush=False)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadOnlyRequest(RuntimeError):
    """A GET or HEAD request tried to write: it runs without a transaction (see get_db)."""


class _ReadSession(Session):
    pass


@event.listens_for(_ReadSession, "do_orm_execute")
def _no_statement_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyRequest("a GET request must not write; make it a POST")


@event.listens_for(_ReadSession, "before_flush")
def _no_flushed_writes(session: Session, _context: object, _instances: object) -> None:
    raise ReadOnlyRequest("a GET request must not write; make it a POST")


def reader_for(maker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions for GET and HEAD on PostgreSQL: same pool, no BEGIN/COMMIT. Under READ COMMITTED
    every statement takes a fresh snapshot with or without a transaction, so a read sees the
    same data either way; the transaction only cost two round trips per request (25 % of the
    CPU of `GET /api/auth/me`: `python -m loadtest.http`). Writes in such a session raise
    ReadOnlyRequest. SQLite keeps its transaction: there it is what gives a request one
    snapshot across statements."""
    engine: AsyncEngine = maker.kw["bind"]
    if engine.dialect.name != "postgresql":
        return maker
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False, autoflush=False, sync_session_class=_ReadSession
    )


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request. The boundary commits; any exception rolls everything back, so
    a failed request leaves no half-written records. Events gathered during the request are
    handed out only after the commit succeeded (`after_commit` below). GET and HEAD only read
    (see reader_for)."""
    state = request.app.state
    maker: async_sessionmaker[AsyncSession] = state.sessionmaker
    cached = getattr(state, "request_sessionmakers", None)
    if cached is None or cached[0] is not maker:
        cached = state.request_sessionmakers = (maker, reader_for(maker), writer_for(maker))
    maker = cached[1] if request.method in ("GET", "HEAD") else cached[2]
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
        except Exception:  # noqa: BLE001 - committed is committed (above)
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


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched: what a guarded transition checks (`== 1`: this
    caller won the race). `AsyncSession.execute` is typed as returning `Result`; for DML it is
    the `CursorResult` that carries the count."""
    return cast("CursorResult[Any]", result).rowcount
