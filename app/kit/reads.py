"""Hot reads: the statements that every page load runs (who is calling, my sessions), run
without the ORM and, on PostgreSQL, without SQLAlchemy's connection pool.

Per `GET /api/auth/me` on PostgreSQL, the CPU of one such query was (process time, in the
service process, `python -m loadtest.http` and an in-process loop on the same database):

    ORM session + select + commit ......... ~280 µs
    Core statement on an engine connection  ~200 µs
    SQLAlchemy pool checkout + raw driver ..  ~140 µs
    asyncpg pool, prepared statement ......   ~55 µs

so on PostgreSQL these statements run on a small asyncpg pool of their own (besides the
engine's 20 connections; it opens connections only when reads need them). The statements are
still written once as SQLAlchemy Core (one source of truth for table and column names) and
compiled for the dialect at first use; asyncpg prepares and caches them per connection. On
SQLite (embedded: one process, no throughput target) the same Core statement runs through the
engine, so the result types are the same on both: ids and counts as int, timestamps aware UTC.

Statements here are single SELECTs (one snapshot each), never writes. A PostgreSQL that
stops answering is a 503, as it is on the ORM path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.kit.errors import error_type

DatabaseUnavailable = error_type("ServiceUnavailable", 503)
_DOWN = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
)


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """asyncpg's default reset sends `RESET ALL; CLOSE ALL; UNLISTEN *; …` on every release (a round
    trip per read). The connections here only ever run single SELECTs outside a transaction, so
    there is no session state to reset; asyncpg still aborts a transaction left open."""


class HotReads:
    def __init__(self, engine: AsyncEngine, connect_args: Mapping[str, Any] | None = None, size: int = 10) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._connect_args = dict(connect_args or {})
        self._size = size
        self._pool: asyncpg.Pool | None = None
        # Keyed by the statement itself: statements given here are built once, at import.
        self._compiled: dict[Select[Any], tuple[str, list[str]]] = {}

    async def start(self) -> None:
        if not self.postgres:
            return
        # The engine's own URL → asyncpg's arguments, as SQLAlchemy itself would connect.
        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            kwargs.pop(sqlalchemy_only, None)
        kwargs = {**kwargs, **self._connect_args}
        # min_size 0: nothing is opened until a read needs it (many test apps share one server);
        # idle connections close after a minute.
        self._pool = await asyncpg.create_pool(
            *args, min_size=0, max_size=self._size, reset=_nothing_to_reset, max_inactive_connection_lifetime=60.0, **kwargs
        )

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    def _sql(self, stmt: Select[Any]) -> tuple[str, list[str]]:
        """Module-level statements only: each is compiled once and kept."""
        compiled = self._compiled.get(stmt)
        if compiled is None:
            c = stmt.compile(dialect=self.engine.dialect)
            names = list(c.positiontup or [])
            # `$n` may repeat a name (`student_id = $1 OR tutor_id = $1`): one argument per name.
            compiled = self._compiled[stmt] = (str(c), list(dict.fromkeys(names)))
        return compiled

    async def all(self, stmt: Select[Any], params: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        """Rows as mappings (column label → value)."""
        if self._pool is None:
            async with self.engine.connect() as conn:
                return list((await conn.execute(stmt, dict(params))).mappings())
        sql, names = self._sql(stmt)
        try:
            return await self._pool.fetch(sql, *(params[n] for n in names))
        except _DOWN:
            raise DatabaseUnavailable("the database is not answering; try again shortly", retry_after=5) from None

    async def one(self, stmt: Select[Any], params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        rows = await self.all(stmt, params)
        return rows[0] if rows else None
