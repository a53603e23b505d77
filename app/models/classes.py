"""One-to-many classes beside LiveClass and ClassAttendance (which the statistics read, in
records.py): enrolments, the class's knowledge points, and its transcript (chat and board)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class EnrolmentState(StrEnum):
    """The stored values of `class_enrolments.state`: enrolled ⇄ withdrawn (by the student);
    removed (by the tutor) is final."""

    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"
    REMOVED = "removed"


class ClassEnrolment(Base):
    __tablename__ = "class_enrolments"
    live_class_id: Mapped[int] = mapped_column(ForeignKey("live_classes.id"), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    state: Mapped[str] = mapped_column(String(16), default="enrolled")  # enrolled | withdrawn | removed
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())  # the chat
    audio_muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())  # the voice
    hand_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # hand raised since
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClassKnowledgePoint(Base):
    __tablename__ = "class_knowledge_points"
    live_class_id: Mapped[int] = mapped_column(ForeignKey("live_classes.id"), primary_key=True)
    knowledge_point_id: Mapped[int] = mapped_column(ForeignKey("knowledge_points.id"), primary_key=True)


class ClassEvent(Base):
    """The class's transcript: chat (masked as delivered, the raw text kept for review), board
    strokes and board actions. Late joiners get the board replayed from it."""

    __tablename__ = "class_events"
    __table_args__ = (UniqueConstraint("live_class_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    live_class_id: Mapped[int] = mapped_column(ForeignKey("live_classes.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # chat | stroke | board
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
