from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

Band = Literal["junior", "senior"]
Title = Literal["senior", "intermediate", "junior"]


class ProfileFields(BaseModel):
    title: Title = Field(description="职称: senior 高级, intermediate 中级, junior 初级")
    subjects: list[str] = Field(min_length=1, max_length=9)
    grade_bands: list[Band] = Field(min_length=1, max_length=2, description="初中 junior, 高中 senior")
    expertise: list[int] = Field(default_factory=list, max_length=30, description="knowledge point ids")
    fields: str = Field(default="", max_length=500, description="fields of expertise, free text")
    bio: str = Field(default="", max_length=2000)

    @field_validator("subjects", "grade_bands")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class ApplicationCreate(ProfileFields):
    """The applicant does not choose a username: one is assigned and returned (`username` in the
    answer), so this anonymous endpoint cannot be asked whether an account exists."""

    password: str = Field(min_length=8, max_length=128)
    real_name: str = Field(min_length=2, max_length=64)
    school_code: str = Field(min_length=1, max_length=32, description="the employer school")


class ApplicationUpdate(ProfileFields):
    real_name: str | None = Field(default=None, min_length=2, max_length=64)


class ReviewDecision(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class RejectBody(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class ReviewOut(BaseModel):
    action: str
    level: str | None
    reason: str | None
    actor_id: int
    at: datetime


class ApplicationOut(BaseModel):
    tutor_id: int
    username: str
    real_name: str
    school_id: int | None
    status: str
    title: str
    subjects: list[str]
    grade_bands: list[str]
    expertise: list[int]
    fields: str
    bio: str
    rejected_level: str | None
    rejected_reason: str | None
    submitted_at: datetime
    approved_at: datetime | None
    history: list[ReviewOut] = []


class ProfileEdit(BaseModel):
    """What an approved tutor changes without a new review: how they describe themselves and the
    knowledge points they know best (within their approved subjects). Title, subjects and stages
    go through the review again (PUT /api/tutors/me/application)."""

    fields: str = Field(default="", max_length=500)
    bio: str = Field(default="", max_length=2000)
    expertise: list[int] = Field(default_factory=list, max_length=30)
