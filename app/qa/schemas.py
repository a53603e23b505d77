from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class QuestionCreate(BaseModel):
    subject: str = Field(min_length=1, max_length=16)
    text: str = Field(min_length=1, max_length=2000)
    knowledge_point_ids: list[int] = Field(default_factory=list, max_length=10)
    image_ids: list[str] = Field(default_factory=list, max_length=3, description="ids from POST /api/images")


class AnswerCreate(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    image_ids: list[str] = Field(default_factory=list, max_length=3, description="ids from POST /api/images")


class ReplyCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class AcceptBody(BaseModel):
    rating: int | None = Field(default=None, ge=1, le=5)


class RateBody(BaseModel):
    rating: int = Field(ge=1, le=5)


class ReportCreate(BaseModel):
    reason: str = Field(min_length=2, max_length=500)
    answer_id: int | None = None
    reply_id: int | None = None


class HideBody(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class ImageRef(BaseModel):
    id: str
    url: str
    width: int
    height: int


class ReplyOut(BaseModel):
    id: int
    answer_id: int
    author_id: int
    role: str  # student (追问) | tutor (reply)
    text: str
    hidden: bool
    created_at: datetime


class AnswerOut(BaseModel):
    id: int
    question_id: int
    tutor_id: int
    tutor_name: str
    text: str
    images: list[ImageRef]
    accepted: bool
    rating: int | None
    flagged: bool
    hidden: bool
    hidden_reason: str | None
    created_at: datetime
    updated_at: datetime | None
    replies: list[ReplyOut] = Field(default_factory=list)


class QuestionOut(BaseModel):
    id: int
    subject: str
    text: str
    knowledge_point_ids: list[int]
    images: list[ImageRef]
    status: str  # open | accepted | closed
    band: str
    grade: int | None
    mine: bool
    answer_count: int
    accepted_answer_id: int | None
    claimed_by: int | None = Field(description="the tutor answering it now (claim not expired), if any")
    claimed_until: datetime | None
    escalated: bool
    flagged: bool
    hidden: bool
    hidden_reason: str | None
    source_request_id: int | None
    created_at: datetime
    closed_at: datetime | None
    answers: list[AnswerOut] | None = None


class SearchOut(BaseModel):
    query_terms: list[str]
    results: list[QuestionOut]


class ReportOut(BaseModel):
    id: int
    question_id: int
    answer_id: int | None
    reply_id: int | None
    reporter_id: int
    reason: str
    status: str
    note: str | None
    excerpt: str
    created_at: datetime


class NotificationOut(BaseModel):
    id: int
    kind: str
    question_id: int
    answer_id: int | None
    created_at: datetime
    read: bool


class NotificationsOut(BaseModel):
    unread: int
    items: list[NotificationOut]


class ReadBody(BaseModel):
    up_to_id: int | None = Field(default=None, description="mark these and older read; all when omitted")
