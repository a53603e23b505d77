"""The transcript writer: rows queued by the relay (signaling/relay.py) go into `session_events`
in batches, one transaction per batch, instead of one transaction per message.

Cost: one INSERT … ON CONFLICT DO NOTHING of up to `batch` rows, one UPDATE of the sessions'
`transcript_seq` (and `flagged` when a chat was masked), one commit, then the ack to the relay.
A row is acked only after its commit; a writer that dies in between leaves it pending and
another instance's writer claims it (Redis), so the same row may be written twice: the unique
(session_id, seq) key turns the second write into nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, update
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
            insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
            # The table, not the ORM entity: the ORM's bulk-insert path (per-row state, mapper
            # bookkeeping) showed in the profile for rows nothing reads back.
            await db.execute(
                insert(_events).on_conflict_do_nothing(index_elements=["session_id", "seq"]),
                [
                    {
                        "session_id": r.session_id,
                        "seq": r.seq,
                        "kind": r.kind,
                        "sender_id": r.sender_id,
                        "body": r.body,
                        "raw": r.raw,
                        "flagged": r.flagged,
                        "created_at": datetime.fromtimestamp(r.at, UTC),
                    }
                    for r in rows
                ],
            )
            last: dict[int, int] = {}
            for r in rows:
                last[r.session_id] = max(last.get(r.session_id, 0), r.seq)
            await db.execute(
                update(_sessions)
                .where(_sessions.c.id == bindparam("sid"), _sessions.c.transcript_seq < bindparam("last"))
                .values(transcript_seq=bindparam("last")),
                # in session order: two instances' writers lock the same sessions'
                # rows in the same order (in arrival order they deadlocked at 1,000
                # pairs on two instances)
                [{"sid": sid, "last": seq} for sid, seq in sorted(last.items())],
            )
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
