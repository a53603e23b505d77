from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DutyOut(BaseModel):
    on_duty: bool
    state: str  # off_duty | available | offered | in_session
    offers: list[int] = []
    served_tonight: int = 0
    session_request_id: int | None = None
    window_open: bool
    next_opening: datetime | None = None


class OfferOut(BaseModel):
    request_id: int
    subject: str
    text: str
    grade: int | None
    knowledge_points: list[str]
    images: list[str]
    mode: str


class TutorListItem(BaseModel):
    id: int
    name: str
    school: str
    subjects: list[str]
    rating: float = Field(description="Bayesian-smoothed mean rating, 1-5")
    ratings: int
    sessions_given: int
    specialities: list[str]
    favourite: bool
    score: float


class AcceptOut(BaseModel):
    session_id: int
    request_id: int
    student_id: int
    state: str


class WindowOut(BaseModel):
    open: bool
    now: datetime
    closes_at: datetime | None
    next_opening: datetime | None
