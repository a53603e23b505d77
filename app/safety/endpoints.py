"""Minors' safety: students block tutors; admins review reported sessions with their transcript
and can suspend an account (which signs it out everywhere)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.accounts.deps import Admin, Student
from app.accounts.scope import user_in_scope
from app.accounts.service import sign_out_everywhere
from app.kit.db import DB, after_commit
from app.kit.errors import Forbidden, InvalidState, NotFound
from app.models import SessionReport, StudentBlock, TutoringSession, User

router = APIRouter(tags=["safety"])


class ReportOut(BaseModel):
    id: int
    session_id: int
    reporter_id: int
    reported_id: int
    reason: str
    status: str
    created_at: datetime


class Decision(BaseModel):
    action: str = Field(pattern="^(dismiss|suspend)$", description="dismiss the report, or suspend the reported account")
    note: str = Field(min_length=2, max_length=500)


def _out(r: SessionReport, s: TutoringSession) -> ReportOut:
    reported = s.tutor_id if r.reporter_id == s.student_id else s.student_id
    return ReportOut(id=r.id, session_id=s.id, reporter_id=r.reporter_id, reported_id=reported, reason=r.reason,
                     status=r.status, created_at=r.created_at)


@router.post("/api/tutors/{tutor_id}/block", status_code=204)
async def block(tutor_id: int, student: Student, db: DB) -> None:
    """The student is never matched with this tutor again (nor shown them in 择师)."""
    tutor = await db.get(User, tutor_id)
    if tutor is None or tutor.role != "tutor":
        raise NotFound(f"no tutor {tutor_id}")
    if await db.get(StudentBlock, (student.id, tutor_id)) is None:
        db.add(StudentBlock(student_id=student.id, tutor_id=tutor_id))


@router.delete("/api/tutors/{tutor_id}/block", status_code=204)
async def unblock(tutor_id: int, student: Student, db: DB) -> None:
    row = await db.get(StudentBlock, (student.id, tutor_id))
    if row is not None:
        await db.delete(row)


@router.get("/api/reports", response_model=list[ReportOut])
async def reports(admin: Admin, db: DB, status: str = Query("open", max_length=16)) -> list[ReportOut]:
    """Reported sessions whose student is in the admin's scope; read the transcript at
    `GET /api/sessions/{id}/transcript` (admins see chat as typed, before masking)."""
    rows = (await db.execute(select(SessionReport, TutoringSession, User)
                             .join(TutoringSession, TutoringSession.id == SessionReport.session_id)
                             .join(User, User.id == TutoringSession.student_id)
                             .where(SessionReport.status == status).order_by(SessionReport.id).limit(500))).all()
    return [_out(r, s) for r, s, student in rows if await user_in_scope(db, admin, student)]


@router.post("/api/reports/{report_id}/decision", response_model=ReportOut)
async def decide(report_id: int, body: Decision, request: Request, admin: Admin, db: DB) -> ReportOut:
    report = await db.get(SessionReport, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}")
    session = await db.get(TutoringSession, report.session_id)
    assert session is not None
    student = await db.get(User, session.student_id)
    if student is None or not await user_in_scope(db, admin, student):
        raise Forbidden("this report is outside your scope")
    if report.status != "open":
        raise InvalidState(f"the report is already {report.status}", status=report.status)
    out = _out(report, session)
    if body.action == "suspend":
        reported = await db.get(User, out.reported_id)
        assert reported is not None
        reported.status, reported.suspended_reason = "suspended", body.note
        await sign_out_everywhere(db, reported.id)
        after_commit(db, lambda: request.app.state.account_closed(reported.id, None, "AccountSuspended"))
        report.status = "actioned"
    else:
        report.status = "dismissed"
    await db.flush()
    return _out(report, session)
