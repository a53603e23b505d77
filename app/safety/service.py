"""Minors' safety rules: a student's blocks, the admins' review of reported sessions, and
suspension (which signs the account out everywhere; the sockets close after the commit)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import user_in_scope
from app.accounts.service import sign_out_everywhere
from app.kit.db import after_commit
from app.kit.errors import Forbidden, InvalidState, NotFound
from app.models import ReportStatus, Role, SessionReport, StudentBlock, TutoringSession, User, UserStatus

from .schemas import Decision, ReportOut

AccountClosed = Callable[[int, str | None, str], Awaitable[None]]


def report_out(r: SessionReport, s: TutoringSession) -> ReportOut:
    reported = s.tutor_id if r.reporter_id == s.student_id else s.student_id
    return ReportOut(id=r.id, session_id=s.id, reporter_id=r.reporter_id, reported_id=reported, reason=r.reason,
                     status=r.status, created_at=r.created_at)


async def block(db: AsyncSession, student: User, tutor_id: int) -> None:
    tutor = await db.get(User, tutor_id)
    if tutor is None or tutor.role != Role.TUTOR:
        raise NotFound(f"no tutor {tutor_id}")
    if await db.get(StudentBlock, (student.id, tutor_id)) is None:
        db.add(StudentBlock(student_id=student.id, tutor_id=tutor_id))
        await db.flush()


async def unblock(db: AsyncSession, student: User, tutor_id: int) -> None:
    row = await db.get(StudentBlock, (student.id, tutor_id))
    if row is not None:
        await db.delete(row)
        await db.flush()


async def reports(db: AsyncSession, admin: User, status: str) -> list[ReportOut]:
    rows = (await db.execute(select(SessionReport, TutoringSession, User)
                             .join(TutoringSession, TutoringSession.id == SessionReport.session_id)
                             .join(User, User.id == TutoringSession.student_id)
                             .where(SessionReport.status == status).order_by(SessionReport.id).limit(500))).all()
    return [report_out(r, s) for r, s, student in rows if await user_in_scope(db, admin, student)]


async def decide(db: AsyncSession, admin: User, report_id: int, body: Decision, account_closed: AccountClosed) -> ReportOut:
    """Dismiss the report, or suspend the reported account; `account_closed` runs after the
    commit (it closes the account's sockets on every instance and ends its sessions)."""
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
    out = report_out(report, session)
    if body.action == "suspend":
        reported = await db.get(User, out.reported_id)
        assert reported is not None
        reported.status, reported.suspended_reason = UserStatus.SUSPENDED, body.note
        await sign_out_everywhere(db, reported.id)
        after_commit(db, lambda: account_closed(reported.id, None, "AccountSuspended"))
        report.status = ReportStatus.ACTIONED
    else:
        report.status = ReportStatus.DISMISSED
    await db.flush()
    return report_out(report, session)
