"""An account stops being usable — suspended, signed out, password changed: its sockets close
on every instance, a tutor goes off duty (out of every list, their ringing offers withdrawn and
passed on), a student's open requests are cancelled; a suspended user's sessions end.

Runs after the commit that revoked the sign-in, so a retry finds the account already closed;
the database is written before the pool is changed (a crash between leaves an open request
cancelled in the database, which the reconciler then removes from the pool)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from app.kit.clock import ts
from app.kit.db import rowcount
from app.live import service as live
from app.models import HelpRequest, RequestStatus, TutoringSession, request_transition

from .flows import withdraw_from_pool


async def account_closed(app: Any, user_id: int, sid: str | None, reason: str) -> None:
    """`reason` is the error the closed sockets receive: TokenRevoked or AccountSuspended.
    `sid`: one signed-in device (sign-out), or None for all of them."""
    matcher = app.state.matcher
    await app.state.live.kick(user_id, sid, reason)
    await matcher.go_off_duty(user_id)  # in a session: off duty when it ends
    now = app.state.clock.now()
    result = live.Result()
    async with app.state.sessionmaker() as db:
        open_ids = list(
            (await db.execute(select(HelpRequest.id).where(HelpRequest.student_id == user_id, HelpRequest.status == RequestStatus.OPEN))).scalars()
        )
        cancelled = []
        for rid in open_ids:
            done = await db.execute(request_transition(rid, RequestStatus.CANCELLED, close_reason="account_closed", closed_at=ts(now)))
            if rowcount(done) == 1:
                cancelled.append(rid)
        if reason == "AccountSuspended":
            for s in (
                (
                    await db.execute(
                        select(TutoringSession).where(
                            or_(TutoringSession.student_id == user_id, TutoringSession.tutor_id == user_id), TutoringSession.state.in_(live.ACTIVE)
                        )
                    )
                )
                .scalars()
                .all()
            ):
                ended = await live.end(db, s, "suspended", now)
                result.events += ended.events
                result.ended_tutors += ended.ended_tutors
        await db.commit()
    for rid in cancelled:
        await withdraw_from_pool(matcher, rid)
    await app.state.live.announce(result)
