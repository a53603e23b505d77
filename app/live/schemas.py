from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TicketOut(BaseModel):
    ticket: str
    expires_in: int
    url: str


class SessionOut(BaseModel):
    id: int
    request_id: int
    student_id: int
    tutor_id: int
    subject: str
    state: str
    matched_at: datetime
    live_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    end_reason: str | None
    cap_s: int | None
    rating: int | None
    rating_comment: str | None
    flagged: bool
    tutor_name: str | None = None  # tutors are adults and named; students (minors) are not


class RatingIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)


class ReportIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class TranscriptItem(BaseModel):
    seq: int
    kind: str
    sender_id: int | None
    body: dict[str, Any]
    raw: str | None = None  # admins only: the chat text before masking
    flagged: bool
    at: datetime


class SessionReportOut(BaseModel):
    id: int
    session_id: int
    status: str
