"""Micro-lessons (微课): recorded lessons tutors publish, their review, and who watched how much."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class MediaStatus(StrEnum):
    """The stored values of `lessons.media_status`, the file: awaiting_upload → processing →
    ready | failed (a failed or awaiting lesson takes a new upload)."""

    AWAITING_UPLOAD = "awaiting_upload"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class ReviewStatus(StrEnum):
    """The stored values of `lessons.review_status`, independent of the file: pending →
    approved | rejected; amending sends it back to pending."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


MEDIA_STATES = tuple(MediaStatus)
REVIEW_STATES = tuple(ReviewStatus)


class Lesson(Base):
    __tablename__ = "lessons"
    __table_args__ = (Index("ix_lessons_catalogue", "review_status", "media_status", "published_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The tutor's school and district when the lesson was created: who reviews it and whose it is in statistics.
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    subject_code: Mapped[str] = mapped_column(ForeignKey("subjects.code"), index=True)
    band: Mapped[str] = mapped_column(String(8))  # junior (初中) | senior (高中)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    media_status: Mapped[str] = mapped_column(String(16), default="awaiting_upload")
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    review_status: Mapped[str] = mapped_column(String(16), default="pending")
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first approval
    # What processing found and made (storage keys, see app/lessons/storage.py).
    upload_key: Mapped[str | None] = mapped_column(String(100))
    video_key: Mapped[str | None] = mapped_column(String(100))
    poster_key: Mapped[str | None] = mapped_column(String(100))
    video_bytes: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    transcoded: Mapped[bool | None] = mapped_column(Boolean)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a worker holds the processing until then
    # Denormalised counters for the catalogue's "most watched" order (the per-period figures count rows).
    clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    complete_views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LessonKnowledgePoint(Base):
    __tablename__ = "lesson_knowledge_points"
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True)
    knowledge_point_id: Mapped[int] = mapped_column(ForeignKey("knowledge_points.id"), primary_key=True, index=True)


class LessonSearchDoc(Base):
    """A lesson's words for title search: the character bigrams of its title, space separated
    (app/kit/search.py, as the Q&A centre's). Indexed by FTS5 `lesson_search_fts` on SQLite and by
    a GIN index over string_to_array(terms, ' ') on PostgreSQL (migration 0012)."""

    __tablename__ = "lesson_search_docs"
    __table_args__ = (Index("ix_lesson_search_docs_terms", text("string_to_array(terms, ' ')"), postgresql_using="gin").ddl_if(dialect="postgresql"),)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    terms: Mapped[str] = mapped_column(Text)


class LessonView(Base):
    """One student's watching of one lesson: where they are (resume), which seconds the server
    saw them watch at a plausible pace, and when that first covered enough (the complete view)."""

    __tablename__ = "lesson_views"
    __table_args__ = (UniqueConstraint("lesson_id", "student_id"), Index("ix_lesson_views_completed", "completed_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))  # the student's, at the time
    position_s: Mapped[float] = mapped_column(Float, default=0.0)  # resume here
    anchor_s: Mapped[float | None] = mapped_column(Float)  # position of the last accepted report …
    anchor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # … and when the server received it
    covered: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # bit i = second i watched
    covered_s: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LessonPlay(Base):
    """A click: a play started by a student (restarts within a short gap are the same click)."""

    __tablename__ = "lesson_plays"
    __table_args__ = (Index("ix_lesson_plays_lesson_at", "lesson_id", "at"), Index("ix_lesson_plays_at", "at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
