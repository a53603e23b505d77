"""Tutor profiles, their three-level review and students' blocks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


# The review moves pending_school → pending_district → pending_city → approved; any level may
# send it to rejected, from where the tutor amends and resubmits (back to pending_school).
class ApplicationStatus(StrEnum):
    """The stored values of `tutor_profiles.status`."""

    PENDING_SCHOOL = "pending_school"
    PENDING_DISTRICT = "pending_district"
    PENDING_CITY = "pending_city"
    APPROVED = "approved"
    REJECTED = "rejected"


APPLICATION_STATES = tuple(ApplicationStatus)
REVIEW_LEVELS = ("school", "district", "city")
TITLES = ("senior", "intermediate", "junior")  # 高级 / 中级 / 初级职称


class TutorProfile(Base):
    __tablename__ = "tutor_profiles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(16))
    teaches_junior: Mapped[bool] = mapped_column(Boolean, default=False)
    teaches_senior: Mapped[bool] = mapped_column(Boolean, default=False)
    fields: Mapped[str] = mapped_column(String(500), default="")  # free-text expertise
    bio: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending_school")
    rejected_level: Mapped[str | None] = mapped_column(String(16))
    rejected_reason: Mapped[str | None] = mapped_column(String(500))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TutorSubject(Base):
    __tablename__ = "tutor_subjects"
    user_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.user_id"), primary_key=True)
    subject_code: Mapped[str] = mapped_column(ForeignKey("subjects.code"), primary_key=True, index=True)


class TutorExpertise(Base):
    __tablename__ = "tutor_expertise"
    user_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.user_id"), primary_key=True)
    knowledge_point_id: Mapped[int] = mapped_column(ForeignKey("knowledge_points.id"), primary_key=True)


class TutorReview(Base):
    """Append-only history of an application: every submission and every decision."""

    __tablename__ = "tutor_reviews"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # submitted | resubmitted | approved | rejected
    level: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StudentBlock(Base):
    """A student never wants to be matched with this tutor again."""

    __tablename__ = "student_blocks"
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
