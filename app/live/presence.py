"""A session's side of presence: which participant is gone (and since when), kept in the
session record and driven from the shared presence state (signaling/presence.py).

Every transition is a conditional update, so when several instances look at once (the socket's
own instance at close, every instance's timer) exactly one of them records it and tells the
other participant: `peer_connection lost` once when a user's last socket anywhere is gone or
expired, `back` once when one returns. The disconnect grace runs from `*_gone_at` (service.tick).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.clock import ts
from app.kit.db import rowcount
from app.models import SessionState, TutoringSession

from .service import Outbox

WATCHED = (SessionState.CONNECTING, SessionState.LIVE)  # before that nobody is waiting for anyone; after, it is over
SWEEP_STEP = 200  # sessions compared with presence in one step of the loop (and read by one step of the timer's round)

Present = Callable[[Iterable[int]], Awaitable[set[int]]]


async def settle(db: AsyncSession, present: Present, now: float, users: set[int] | None = None) -> Outbox:
    """Bring the gone marks of active sessions in line with presence — for `users` only (a
    socket of theirs opened, closed or lapsed), or for everybody."""
    q = _watched()
    if users is not None:
        q = q.where(or_(TutoringSession.student_id.in_(users), TutoringSession.tutor_id.in_(users)))
    rows = (await (await db.connection()).execute(q)).all()
    return await _settle_rows(db, present, now, rows, users)


async def settle_next(db: AsyncSession, present: Present, now: float, after: int) -> tuple[Outbox, int]:
    """One step of the timer's round through every active session: the next SWEEP_STEP of them
    with an id above `after`, in id order. Returns what to announce and where the next step
    starts (0: the round is complete, the next starts over)."""
    limit = SWEEP_STEP
    q = _watched().where(TutoringSession.id > after).order_by(TutoringSession.id).limit(limit)
    rows = (await (await db.connection()).execute(q)).all()
    out = await _settle_rows(db, present, now, rows, None)
    return out, (int(rows[-1].id) if len(rows) == limit else 0)


def _watched() -> Select[int, int, int, bool, bool]:
    # Whether each mark is set, not its time: turning every swept session's timestamps into
    # aware datetimes (and the objects that made for the collector) was ~3 % of the loop's CPU
    # at 1,000 live pairs when the sweep read them all each second.
    return select(
        TutoringSession.id,
        TutoringSession.student_id,
        TutoringSession.tutor_id,
        TutoringSession.student_gone_at.is_not(None).label("student_gone"),
        TutoringSession.tutor_gone_at.is_not(None).label("tutor_gone"),
    ).where(TutoringSession.state.in_(WATCHED))


async def _settle_rows(db: AsyncSession, present: Present, now: float, rows: Sequence[Any], users: set[int] | None) -> Outbox:
    # Rows read through Core, not the ORM's execution (a select of columns reads back the same
    # tuples), unpacked as tuples (a Row's named attributes cost ~1 µs each).
    out: Outbox = []
    # The sweep in steps of SWEEP_STEP sessions, the loop free in between: in one step (the
    # rows, the presence of 2,000 users, the comparison) it held the loop for 3-7 ms once a
    # second at 1,000 live pairs, and the messages arriving meanwhile were the slowest percent
    # of the relay (loadtest.signaling; the step timed by wrapping the timer's coroutine).
    for start in range(0, len(rows), SWEEP_STEP):
        if start:
            await asyncio.sleep(0)
        chunk = rows[start : start + SWEEP_STEP]
        everyone = {u for _, student, tutor, _, _ in chunk for u in (student, tutor)}
        here = await present(everyone if users is None else everyone & users)
        for session_id, student, tutor, student_gone, tutor_gone in chunk:
            # A side to record: here but marked gone, or gone and not marked (True == 1 on SQLite too).
            student_moved, tutor_moved = (student in here) == bool(student_gone), (tutor in here) == bool(tutor_gone)
            if not (student_moved or tutor_moved):
                continue  # nearly every row of the sweep: nothing built for it
            for role, user, other, moved in (("student", student, tutor, student_moved), ("tutor", tutor, student, tutor_moved)):
                if not moved or (users is not None and user not in users):
                    continue
                is_here = user in here
                column = getattr(TutoringSession, f"{role}_gone_at")
                cond = column.is_not(None) if is_here else column.is_(None)
                done = await db.execute(
                    update(TutoringSession)
                    .where(TutoringSession.id == session_id, TutoringSession.state.in_(WATCHED), cond)
                    .values({column: None if is_here else ts(now)})
                )
                if rowcount(done) == 1:
                    out.append((other, "peer_connection", {"session_id": session_id, "state": "back" if is_here else "lost"}))
    return out
