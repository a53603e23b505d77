"""Minors' safety: students block tutors; admins review every report — sessions with their
transcript, Q&A items as typed — in one list and decide (app/safety/reports.py)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.accounts.deps import Admin, Student
from app.kit.clock import ClockDep, ts
from app.kit.db import DB, after_commit
from app.kit.deps import AccountClosedDep

from . import reports as desk
from . import service
from .schemas import Decision, Kind, ReportOut

router = APIRouter(tags=["safety"])


@router.post("/api/tutors/{tutor_id}/block", status_code=204)
async def block(tutor_id: int, student: Student, db: DB) -> None:
    """The student is never matched with this tutor again (nor shown them in 择师)."""
    await service.block(db, student, tutor_id)


@router.delete("/api/tutors/{tutor_id}/block", status_code=204)
async def unblock(tutor_id: int, student: Student, db: DB) -> None:
    await service.unblock(db, student, tutor_id)


@router.get("/api/reports", response_model=list[ReportOut])
async def reports(
    admin: Admin,
    db: DB,
    status: str = Query("open", max_length=16),
    kind: Kind | None = Query(None, description="only sessions, or only the Q&A centre"),
    limit: int = Query(500, ge=1, le=500),
) -> list[ReportOut]:
    """Every report an admin reviews, in one list, oldest first: reported sessions whose student
    is in the admin's scope (read the transcript at `GET /api/sessions/{id}/transcript`: admins
    see chat as typed, before masking), and reports on Q&A questions, answers and replies whose
    asker is (the excerpt is the text as typed). `actions` says which decisions are open."""
    return await desk.listing(db, admin, status, kind, limit)


@router.post("/api/reports/{kind}/{report_id}/decision", response_model=ReportOut)
async def decide(kind: Kind, report_id: int, body: Decision, admin: Admin, db: DB, clock: ClockDep, closed: AccountClosedDep) -> ReportOut:
    out = await desk.decide(db, admin, kind, report_id, body, ts(clock.now()))
    if body.action == "suspend":
        after_commit(db, lambda: closed(out.reported_id, None, "AccountSuspended"))
    return out


@router.post("/api/reports/{report_id}/decision", response_model=ReportOut)
async def decide_on_session(report_id: int, body: Decision, admin: Admin, db: DB, clock: ClockDep, closed: AccountClosedDep) -> ReportOut:
    """A session report (the path before Q&A reports joined the list; the same as `/api/reports/session/{id}/decision`)."""
    return await decide("session", report_id, body, admin, db, clock, closed)
