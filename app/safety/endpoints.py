"""Minors' safety: students block tutors; admins review reported sessions with their transcript
and can suspend an account (which signs it out everywhere)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request

from app.accounts.deps import Admin, Student
from app.kit.db import DB

from . import service
from .schemas import Decision, ReportOut

router = APIRouter(tags=["safety"])


@router.post("/api/tutors/{tutor_id}/block", status_code=204)
async def block(tutor_id: int, student: Student, db: DB) -> None:
    """The student is never matched with this tutor again (nor shown them in 择师)."""
    await service.block(db, student, tutor_id)


@router.delete("/api/tutors/{tutor_id}/block", status_code=204)
async def unblock(tutor_id: int, student: Student, db: DB) -> None:
    await service.unblock(db, student, tutor_id)


@router.get("/api/reports", response_model=list[ReportOut])
async def reports(admin: Admin, db: DB, status: str = Query("open", max_length=16)) -> list[ReportOut]:
    """Reported sessions whose student is in the admin's scope; read the transcript at
    `GET /api/sessions/{id}/transcript` (admins see chat as typed, before masking)."""
    return await service.reports(db, admin, status)


@router.post("/api/reports/{report_id}/decision", response_model=ReportOut)
async def decide(report_id: int, body: Decision, request: Request, admin: Admin, db: DB) -> ReportOut:
    return await service.decide(db, admin, report_id, body, request.app.state.account_closed)
