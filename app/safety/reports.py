"""The admins' one review desk: reports on tutoring sessions and on the Q&A centre (a question,
or an answer or reply under it) in one list, each scoped by the student it concerns (the
session's student, the question's asker) as before, with the decisions its kind allows:

- a session: dismiss, or suspend the reported account (the other party of the session); the
  transcript is read beside it (`GET /api/sessions/{id}/transcript`);
- Q&A: dismiss, hide the reported item, or hide it and suspend its author; and restore — a
  report acted on whose item is hidden is reconsidered, the item is shown again (app/qa/moderation.py).

The Q&A rules stay in app/qa; this module reads both kinds and routes a decision to its owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import schools_in_scope, user_in_scope
from app.accounts.service import sign_out_everywhere
from app.kit.errors import Forbidden, InvalidInput, InvalidState, NotFound
from app.models import QaReport, ReportStatus, Role, School, SessionReport, TutoringSession, User
from app.qa import moderation

from .schemas import Decision, ReportOut

ACTIONS: dict[str, tuple[str, ...]] = {"session": ("dismiss", "suspend"), "qa": ("dismiss", "hide", "suspend")}


def _session_out(r: SessionReport, s: TutoringSession) -> ReportOut:
    reported = s.tutor_id if r.reporter_id == s.student_id else s.student_id
    return ReportOut(
        id=r.id,
        kind="session",
        status=r.status,
        reason=r.reason,
        reporter_id=r.reporter_id,
        reported_id=reported,
        created_at=r.created_at,
        actions=list(ACTIONS["session"]) if r.status == ReportStatus.OPEN else [],
        session_id=s.id,
        target="session",
    )


async def _qa_out(db: AsyncSession, r: QaReport) -> ReportOut:
    item, author = await moderation.target_of(db, r)
    hidden = item.hidden_at is not None
    actions: list[Any] = list(ACTIONS["qa"]) if r.status == ReportStatus.OPEN else ["restore"] if r.status == ReportStatus.ACTIONED and hidden else []
    return ReportOut(
        id=r.id,
        kind="qa",
        status=r.status,
        reason=r.reason,
        reporter_id=r.reporter_id,
        reported_id=author,
        created_at=r.created_at,
        note=r.note,
        actions=actions,
        question_id=r.question_id,
        answer_id=r.answer_id,
        reply_id=r.reply_id,
        target="reply" if r.reply_id else "answer" if r.answer_id else "question",
        excerpt=(item.raw or item.text)[:200],
        hidden=hidden,
    )


def _students_in_scope(admin: User) -> Any:
    """The SQL form of accounts.scope.user_in_scope for students (User): their school is in the
    admin's scope, or, without a school, they are of a city admin's city."""
    inside = User.school_id.in_(schools_in_scope(admin).with_only_columns(School.id))
    if admin.role == Role.CITY_ADMIN:
        return or_(inside, and_(User.school_id.is_(None), User.city_id == admin.city_id))
    return inside


async def listing(db: AsyncSession, admin: User, status: str, kind: str | None, limit: int) -> list[ReportOut]:
    """Both kinds (or one), oldest first. Cost: one query per kind, plus the reported item of
    each Q&A report (two primary-key reads)."""
    out: list[ReportOut] = []
    if kind in (None, "session"):
        rows = (
            await db.execute(
                select(SessionReport, TutoringSession)
                .join(TutoringSession, TutoringSession.id == SessionReport.session_id)
                .join(User, User.id == TutoringSession.student_id)
                .where(SessionReport.status == status, _students_in_scope(admin))
                .order_by(SessionReport.id)
                .limit(limit)
            )
        ).all()
        out += [_session_out(r, s) for r, s in rows]
    if kind in (None, "qa"):
        out += [await _qa_out(db, r) for r in await moderation.reports(db, admin, status, limit)]
    return sorted(out, key=lambda r: (r.created_at, r.kind, r.id))[:limit]


async def decide(db: AsyncSession, admin: User, kind: str, report_id: int, body: Decision, now: datetime) -> ReportOut:
    """Apply a decision; the caller closes a suspended account's live connections after commit."""
    if body.action not in ACTIONS[kind] and not (kind == "qa" and body.action == "restore"):
        raise InvalidInput(f"a {kind} report takes one of {', '.join(ACTIONS[kind])}", field="action")
    if kind == "qa":
        return await _qa_out(db, await moderation.decide(db, admin, report_id, body.action, body.note, now))
    report = await db.get(SessionReport, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}")
    session = await db.get(TutoringSession, report.session_id)
    assert session is not None
    student = await db.get(User, session.student_id)
    if student is None or not await user_in_scope(db, admin, student):
        raise Forbidden("this report is outside your scope")
    if report.status != ReportStatus.OPEN:
        raise InvalidState(f"the report is already {report.status}", status=report.status)
    if body.action == "suspend":
        reported = await db.get(User, _session_out(report, session).reported_id)
        assert reported is not None
        reported.status, reported.suspended_reason = "suspended", body.note
        await sign_out_everywhere(db, reported.id)
        report.status = "actioned"
    else:
        report.status = "dismissed"
    await db.flush()
    return _session_out(report, session)
