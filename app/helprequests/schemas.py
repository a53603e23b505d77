from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class HelpRequestCreate(BaseModel):
    subject: str = Field(min_length=1, max_length=16)
    text: str = Field(min_length=1, max_length=2000, description="the question, in the student's words")
    knowledge_point_ids: list[int] = Field(default_factory=list, max_length=10)
    image_ids: list[str] = Field(default_factory=list, max_length=3, description="ids from POST /api/images")
    mode: Literal["auto", "chosen"] = "auto"
    tutor_id: int | None = Field(default=None, description="the chosen tutor (择师) when mode is 'chosen'")
    fallback_to_question: bool = Field(default=False, description="outside service hours, keep it as a Q&A question")


class ImageOut(BaseModel):
    id: str
    content_type: str
    width: int
    height: int
    size: int
    url: str


class HelpRequestOut(BaseModel):
    id: int
    student_id: int
    subject: str
    text: str
    knowledge_point_ids: list[int]
    images: list[ImageOut]
    mode: str
    tutor_id: int | None
    status: str
    close_reason: str | None
    wants_question: bool
    created_at: datetime
    closed_at: datetime | None
    question_id: int | None = None  # the Q&A question it became


class ChooseBody(BaseModel):
    tutor_id: int | None = Field(default=None, description="a tutor to ring (择师), or null for automatic matching")


class RequestStatusOut(BaseModel):
    request_id: int
    status: str  # the stored status: open | matched | cancelled | expired | refused | converted
    matching: str | None  # waiting | ringing | matched | cancelled | expired
    position: int | None = None
    eta_s: float | None = None
    arrivals_per_min: float | None = None
    matches_per_min: float | None = None
    tutors_on_duty: int | None = None  # of the subject and band; 0: nobody can take it now (offer Q&A)
    session_id: int | None = None
