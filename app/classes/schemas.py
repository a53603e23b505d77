"""Classes over HTTP: what a tutor schedules, what a student sees, who enrolled and attended."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class ClassCreate(BaseModel):
    subject: str = Field(min_length=1, max_length=16)
    band: str = Field(pattern=r"^(junior|senior)$", description="junior = grades 7–9 (初中), senior = 10–12 (高中)")
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=2000)
    knowledge_point_ids: list[int] = Field(default_factory=list, max_length=20)
    starts_at: datetime = Field(description="inside the service window; the whole class must fit in it")
    minutes: int = Field(ge=5, le=180, description="at most the configured class cap (30)")
    capacity: int = Field(ge=1, le=10_000)
    recording: bool = False


class ClassOut(BaseModel):
    id: int
    tutor_id: int
    tutor_name: str
    subject: str
    band: str
    title: str
    description: str
    knowledge_point_ids: list[int]
    knowledge_points: list[str]
    starts_at: datetime
    minutes: int
    capacity: int
    enrolled: int
    state: str
    recording: bool
    live_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    me_enrolled: bool = False


class EnrolmentOut(BaseModel):
    student_id: int
    name: str
    grade: int | None
    state: str
    enrolled_at: datetime


class AttendanceOut(BaseModel):
    student_id: int
    name: str
    joined_at: datetime
    left_at: datetime | None
    present: bool
    minutes: Decimal


class ClassDetail(ClassOut):
    enrolments: list[EnrolmentOut] = []
    attendances: list[AttendanceOut] = []
    points: Decimal | None = None
