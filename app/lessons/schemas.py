from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Band = Literal["junior", "senior"]


class LessonCreate(BaseModel):
    title: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=4000)
    subject: str = Field(max_length=16)
    band: Band
    knowledge_point_ids: list[int] = Field(min_length=1, max_length=10)


class LessonUpdate(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=4000)
    subject: str | None = Field(None, max_length=16)
    band: Band | None = None
    knowledge_point_ids: list[int] | None = Field(None, min_length=1, max_length=10)


class Reject(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class KnowledgePointRef(BaseModel):
    id: int
    name: str


class LessonOut(BaseModel):
    id: int
    title: str
    description: str
    subject: str
    band: Band
    knowledge_points: list[KnowledgePointRef]
    tutor_id: int
    tutor_name: str
    school: str
    media_status: str
    failure_reason: str | None
    review_status: str
    reject_reason: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    clicks: int
    complete_views: int
    published_at: datetime | None
    created_at: datetime
    poster_url: str | None = None  # a signed link (no header needed in <img>)
    video_url: str | None = None  # a signed link, in the answer for one lesson that is ready


class LessonPage(BaseModel):
    total: int
    rows: list[LessonOut]


class PlayStart(BaseModel):
    from_s: float | None = Field(None, ge=0)  # where the player starts; default: the resume position


class Play(BaseModel):
    lesson_id: int
    video_url: str
    poster_url: str | None
    resume_s: float
    duration_s: float
    counted_click: bool
    report_every_s: float


class Progress(BaseModel):
    position_s: float = Field(ge=0)


class ProgressOut(BaseModel):
    position_s: float
    covered_s: int
    needed_s: int
    credited: bool
    completed: bool
