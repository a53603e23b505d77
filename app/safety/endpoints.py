"""Minors' safety: students block tutors; admins review every report — sessions with their
transcript, Q&A items as typed — in one list and decide (app/safety/reports.py)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request

from app.accounts.deps import Admin, Student
from app.kit.db import DB, after_commit
from app.kit.errors import NotFound
from app.live.service import ts
from app.models import StudentBlock, User

from . import reports as service
from .reports import Decision, Kind, ReportOut

router = APIRouter(tags=["safety"])


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
async def reports(admin: Admin, db: DB, status: str = Query("open", max_length=16),
                  kind: Kind | None = Query(None, description="only sessions, or only the Q&A centre"),
                  limit: int = Query(500, ge=1, le=500)) -> list[ReportOut]:
    """Every report an admin reviews, in one list, oldest first: reported sessions whose student
    is in the admin's scope (read the transcript at `GET /api/sessions/{id}/transcript`: admins
    see chat as typed, before masking), and reports on Q&A questions, answers and replies whose
    asker is (the excerpt is the text as typed). `actions` says which decisions are open."""
    return await service.listing(db, admin, status, kind, limit)


@router.post("/api/reports/{kind}/{report_id}/decision", response_model=ReportOut)
async def decide(kind: Kind, report_id: int, body: Decision, request: Request, admin: Admin, db: DB) -> ReportOut:
    out = await service.decide(db, admin, kind, report_id, body, ts(request.app.state.matcher.clock.now()))
    if body.action == "suspend":
        after_commit(db, lambda: request.app.state.account_closed(out.reported_id, None, "AccountSuspended"))
    return out


@router.post("/api/reports/{report_id}/decision", response_model=ReportOut)
async def decide_on_session(report_id: int, body: Decision, request: Request, admin: Admin, db: DB) -> ReportOut:
    """A session report (the path before Q&A reports joined the list; the same as `/api/reports/session/{id}/decision`)."""
    return await decide("session", report_id, body, request, admin, db)
