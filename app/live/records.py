"""Session records as their participants and the admins in scope read them: one session, the
own list, the transcript; a participant's report. (The lifecycle itself is service.py.)"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.accounts.deps import with_caller
from app.accounts.scope import user_in_scope
from app.kit.errors import Forbidden, NotFound
from app.kit.safety import screen
from app.models import SessionEvent, SessionReport, TutoringSession, User

from .schemas import SessionOut, SessionReportOut, TranscriptItem


async def session_out(db: AsyncSession, s: TutoringSession) -> SessionOut:
    tutor = await db.get(User, s.tutor_id)
    return SessionOut(
        id=s.id,
        request_id=s.request_id,
        student_id=s.student_id,
        tutor_id=s.tutor_id,
        subject=s.subject_code,
        state=s.state,
        matched_at=s.matched_at,
        live_at=s.live_at,
        ended_at=s.ended_at,
        duration_s=s.duration_s,
        end_reason=s.end_reason,
        cap_s=s.cap_s,
        rating=s.rating,
        rating_comment=s.rating_comment,
        flagged=s.flagged,
        tutor_name=tutor.real_name if tutor else None,
    )


async def readable(db: AsyncSession, user: User, session_id: int) -> TutoringSession:
    """A participant, or an admin whose scope includes the student."""
    s = await db.get(TutoringSession, session_id)
    if s is None:
        raise NotFound(f"no session {session_id}")
    if user.id in (s.student_id, s.tutor_id):
        return s
    student = await db.get(User, s.student_id)
    if user.is_admin and student is not None and await user_in_scope(db, user, student):
        return s
    raise Forbidden("this session is not yours")


async def participant(db: AsyncSession, user: User, session_id: int, action: str) -> TutoringSession:
    s = await readable(db, user, session_id)
    if user.id not in (s.student_id, s.tutor_id):
        raise Forbidden(f"only a participant {action} a session")
    return s


_TUTOR = aliased(User)
# The listing reads only what SessionOut shows, as plain rows (no ORM identity map), with the
# statement built once: per request this is one round trip and no statement construction.
# Typed loosely so MINE is a statement of any columns, what app.kit.reads.HotReads takes.
_LISTED: tuple[Any, ...] = (
    TutoringSession.id,
    TutoringSession.request_id,
    TutoringSession.student_id,
    TutoringSession.tutor_id,
    TutoringSession.subject_code.label("subject"),
    TutoringSession.state,
    TutoringSession.matched_at,
    TutoringSession.live_at,
    TutoringSession.ended_at,
    TutoringSession.duration_s,
    TutoringSession.end_reason,
    TutoringSession.cap_s,
    TutoringSession.rating,
    TutoringSession.rating_comment,
    TutoringSession.flagged,
    _TUTOR.real_name.label("tutor_name"),
)
MINE = (
    select(*_LISTED)
    .join(_TUTOR, _TUTOR.id == TutoringSession.tutor_id)
    .where(or_(TutoringSession.student_id == bindparam("uid"), TutoringSession.tutor_id == bindparam("uid")))
    .order_by(TutoringSession.id.desc())
    .limit(bindparam("limit"))
)
MINE_BEFORE = MINE.where(TutoringSession.id < bindparam("before"))
# The same with the caller check, one round trip per page load (app.accounts.deps.with_caller).
MINE_AS_CALLER = with_caller(MINE, lambda c: c.id.desc())
MINE_BEFORE_AS_CALLER = with_caller(MINE_BEFORE, lambda c: c.id.desc())


async def transcript(db: AsyncSession, user: User, session_id: int) -> list[TranscriptItem]:
    """Participants see what was delivered; admins also see the chat text as typed."""
    s = await readable(db, user, session_id)
    admin = user.id not in (s.student_id, s.tutor_id)
    rows = (await db.execute(select(SessionEvent).where(SessionEvent.session_id == s.id).order_by(SessionEvent.seq))).scalars()
    return [
        TranscriptItem(
            seq=r.seq, kind=r.kind, sender_id=r.sender_id, body=json.loads(r.body), raw=r.raw if admin else None, flagged=r.flagged, at=r.created_at
        )
        for r in rows
    ]


async def report(db: AsyncSession, user: User, session_id: int, reason: str, now: datetime) -> SessionReportOut:
    s = await participant(db, user, session_id, "reports")
    # The service clock, as for Q&A reports: the admins' one list orders both kinds by this time.
    r = SessionReport(session_id=s.id, reporter_id=user.id, reason=screen(reason).text, created_at=now)
    s.flagged = True
    db.add(r)
    await db.flush()
    return SessionReportOut(id=r.id, session_id=s.id, status=r.status)
