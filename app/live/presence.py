"""A session's side of presence: which participant is gone (and since when), kept in the
session record and driven from the shared presence state (signaling/presence.py).

Every transition is a conditional update, so when several instances look at once (the socket's
own instance at close, every instance's timer) exactly one of them records it and tells the
other participant: `peer_connection lost` once when a user's last socket anywhere is gone or
expired, `back` once when one returns. The disconnect grace runs from `*_gone_at` (service.tick).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.clock import ts
from app.kit.db import rowcount
from app.models import SessionState, TutoringSession

from .service import Outbox

WATCHED = (SessionState.CONNECTING, SessionState.LIVE)  # before that nobody is waiting for anyone; after, it is over

Present = Callable[[Iterable[int]], Awaitable[set[int]]]


async def settle(db: AsyncSession, present: Present, now: float, users: set[int] | None = None) -> Outbox:
    """Bring the gone marks of active sessions in line with presence — for `users` only (a
    socket of theirs opened or closed), or for everybody (the timer's sweep)."""
    # Whether each mark is set, not its time: the timer's sweep reads every active session each
    # second, and turning 2,000 timestamps a second into aware datetimes (and the objects that
    # made for the collector) was ~3 % of the loop's CPU at 1,000 live pairs.
    q = select(
        TutoringSession.id,
        TutoringSession.student_id,
        TutoringSession.tutor_id,
        TutoringSession.student_gone_at.is_not(None).label("student_gone"),
        TutoringSession.tutor_gone_at.is_not(None).label("tutor_gone"),
    ).where(TutoringSession.state.in_(WATCHED))
    if users is not None:
        q = q.where(or_(TutoringSession.student_id.in_(users), TutoringSession.tutor_id.in_(users)))
    rows = (await db.execute(q)).all()
    if not rows:
        return []
    everyone = {u for r in rows for u in (r.student_id, r.tutor_id)}
    here = await present(everyone if users is None else everyone & users)
    out: Outbox = []
    for r in rows:
        # A side to record: here but marked gone, or gone and not marked (True == 1 on SQLite too).
        student_moved, tutor_moved = (r.student_id in here) == bool(r.student_gone), (r.tutor_id in here) == bool(r.tutor_gone)
        if not (student_moved or tutor_moved):
            continue  # nearly every row of the sweep: nothing built for it
        for role, user, other, moved in (
            ("student", r.student_id, r.tutor_id, student_moved),
            ("tutor", r.tutor_id, r.student_id, tutor_moved),
        ):
            if not moved or (users is not None and user not in users):
                continue
            is_here = user in here
            column = getattr(TutoringSession, f"{role}_gone_at")
            cond = column.is_not(None) if is_here else column.is_(None)
            done = await db.execute(
                update(TutoringSession)
                .where(TutoringSession.id == r.id, TutoringSession.state.in_(WATCHED), cond)
                .values({column: None if is_here else ts(now)})
            )
            if rowcount(done) == 1:
                out.append((other, "peer_connection", {"session_id": r.id, "state": "back" if is_here else "lost"}))
    return out
