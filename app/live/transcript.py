"""The transcript writer: rows queued by the relay (signaling/relay.py) go into `session_events`
in batches, one transaction per batch, instead of one transaction per message.

Cost: one INSERT … ON CONFLICT DO NOTHING of up to `batch` rows (and an UPDATE of the sessions'
`flagged` when a chat was masked), one commit, then the ack to the relay. A session's last seq
is not kept on its row: an UPDATE of every session in the batch, four times a second per live
session, was a third of SQLite's work per row (and on PostgreSQL a new row version each time,
and the order two instances' writers had to agree on to not deadlock); the relay reads
MAX(seq) through the (session_id, seq) key instead, once per session and instance.
A row is acked only after its commit; a writer that dies in between leaves it pending and
another instance's writer claims it (Redis), so the same row may be written twice: the unique
(session_id, seq) key turns the second write into nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Dialect, Table, bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import SessionEvent, TutoringSession
from signaling.relay import InProcessRelay, Relay, Row

log = logging.getLogger(__name__)
# The Core tables (typed as FromClause on the models): the batched statements below bind many rows at once.
_sessions = cast(Table, TutoringSession.__table__)
_events = cast(Table, SessionEvent.__table__)


class TranscriptWriter:
    def __init__(
        self, relay: Relay, sessionmaker: async_sessionmaker[AsyncSession], batch: int = 500, wait_s: float = 0.05, every_s: float = 0.25
    ) -> None:
        """`every_s`: at most one batch per this many seconds while the queue keeps up (a full
        batch goes at once). Under steady traffic the writer took a row or two per pass, ~20
        transactions a second: on SQLite the writer's thread was a third of the instance's
        samples at 20 pairs (py-spy). Rows wait in the relay's queue meanwhile — in Redis on
        production — and a reader of the transcript flushes first."""
        self.relay, self.sessionmaker, self.batch, self.wait_s = relay, sessionmaker, batch, wait_s
        self.every_s = every_s
        self._lock = asyncio.Lock()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping:
            try:
                started = time.monotonic()
                async with self._lock:
                    written = await self._pass(self.wait_s)
                if 0 < written < self.batch:  # kept up: let the next rows gather
                    await asyncio.sleep(max(0.0, self.every_s - (time.monotonic() - started)))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the rows stay queued (pending in Redis); try again
                log.exception("transcript batch failed; retrying")
                await asyncio.sleep(1)

    async def flush(self) -> None:
        """Write everything queued now (a reader of the transcript calls this first)."""
        async with self._lock:
            while await self._pass(0):
                pass

    async def _pass(self, wait_s: float) -> int:
        taken = await self.relay.take(self.batch, wait_s)
        if not taken:
            return 0
        rows = [row for _, row in taken]
        try:
            await self._write(rows)
        except BaseException:
            if isinstance(self.relay, InProcessRelay):
                self.relay.unack(rows)
            raise
        await self.relay.ack([token for token, _ in taken])
        return len(rows)

    async def _write(self, rows: list[Row]) -> None:
        async with self.sessionmaker() as db:
            dialect = db.get_bind().dialect
            insert = _statement(dialect)
            conn = await db.connection()
            for start in range(0, len(rows), ROWS_PER_STEP):  # in arrival order, as one executemany was
                chunk = rows[start : start + ROWS_PER_STEP]
                values = insert.rows(
                    (r.session_id, r.seq, r.kind, r.sender_id, r.body, r.raw, r.flagged, datetime.fromtimestamp(r.at, UTC)) for r in chunk
                )
                await conn.exec_driver_sql(insert.sql, values)
            flagged = {r.session_id for r in rows if r.flagged}
            if flagged:
                await db.execute(update(_sessions).where(_sessions.c.id.in_(flagged)).values(flagged=True))
            await db.commit()

    async def aclose(self) -> None:
        """Stop, then write what is still queued (in-process rows would be lost otherwise)."""
        self._stopping = True
        if self._task is not None:
            _, pending = await asyncio.wait([self._task], timeout=5)
            for task in pending:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - on Redis the rows stay pending for another instance
            log.exception("final transcript flush failed")


# Rows turned into statement parameters and sent in one step of the event loop (one executemany
# each; the batch stays one transaction). A whole batch (500 rows, the bind processors in Python)
# took one ~2-3 ms step on SQLite at 1,000 live pairs (a loop watchdog, loadtest.signaling):
# every message arriving meanwhile waited for it. Built in steps but sent as one executemany,
# asyncpg encoded all 500 rows in one step: ~2 ms (median; up to 4-5 ms) four times a second at
# 200 pairs, in a third of the production relay's slowest messages (a loop-step timer).
ROWS_PER_STEP = 100


class _Many:
    """A statement compiled once for a dialect and run as one executemany of plain tuples.

    Passing dicts to `execute` made SQLAlchemy build each row's parameters in Python (a dict per
    row, the column types' bind processors looked up and applied one by one): ~6 % of the
    event loop's CPU at 1,000 live pairs (2,000 rows a second), for rows nothing reads back.
    Here the same processors (the columns' own types, so the stored values are what the ORM
    writes) are applied in one pass and the driver gets tuples in the compiled order."""

    def __init__(self, stmt: Any, dialect: Dialect, names: list[str], types: dict[str, Any]) -> None:
        compiled = stmt.compile(dialect=dialect, for_executemany=True)  # no RETURNING of the new ids
        self.sql = str(compiled)
        order = list(compiled.positiontup or [])
        at = {name: i for i, name in enumerate(names)}
        self._pick = [at[name] for name in order]
        procs = {name: t.dialect_impl(dialect).bind_processor(dialect) for name, t in types.items()}
        self._procs = [procs.get(name) for name in order]

    def rows(self, values: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        pick, procs = self._pick, self._procs
        return [tuple(v[i] if p is None else p(v[i]) for i, p in zip(pick, procs)) for v in values]


_COLUMNS = ["session_id", "seq", "kind", "sender_id", "body", "raw", "flagged", "created_at"]
_compiled: dict[str, _Many] = {}


def _statement(dialect: Dialect) -> _Many:
    if dialect.name not in _compiled:
        insert = pg_insert if dialect.name == "postgresql" else sqlite_insert
        rows = insert(_events).values({c: bindparam(c) for c in _COLUMNS}).on_conflict_do_nothing(index_elements=["session_id", "seq"])
        _compiled[dialect.name] = _Many(rows, dialect, _COLUMNS, {c: _events.c[c].type for c in _COLUMNS})
    return _compiled[dialect.name]
