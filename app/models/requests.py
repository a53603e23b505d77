"""Help requests (one-to-one asks) and the images attached to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, Update, text, update
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class RequestStatus(StrEnum):
    """The stored values of `help_requests.status` (unchanged strings: the API shows them)."""

    OPEN = "open"
    MATCHED = "matched"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUSED = "refused"  # asked outside the service window
    CONVERTED = "converted"  # kept as a Q&A question


# open → matched | cancelled | expired | refused; a refused, expired or cancelled request may
# become a Q&A question (converted, once).
_FROM: dict[RequestStatus, tuple[RequestStatus, ...]] = {
    RequestStatus.MATCHED: (RequestStatus.OPEN,),
    RequestStatus.CANCELLED: (RequestStatus.OPEN,),
    RequestStatus.EXPIRED: (RequestStatus.OPEN,),
    RequestStatus.REFUSED: (RequestStatus.OPEN,),
    RequestStatus.CONVERTED: (RequestStatus.REFUSED, RequestStatus.EXPIRED, RequestStatus.CANCELLED),
}


class Image(Base):
    """An uploaded picture, re-encoded without metadata. Kept in the database so that every
    instance behind the load balancer can serve it."""

    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    help_request_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HelpRequest(Base):
    __tablename__ = "help_requests"
    __table_args__ = (
        Index("ix_help_requests_student_created", "student_id", "created_at"),
        # One open request per student, even under concurrent requests (migration 0010).
        Index("uq_help_requests_one_open", "student_id", unique=True, postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject_code: Mapped[str] = mapped_column(ForeignKey("subjects.code"))
    text: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16), default="auto")  # auto | chosen
    chosen_tutor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    close_reason: Mapped[str | None] = mapped_column(String(64))
    wants_question: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HelpRequestKnowledgePoint(Base):
    __tablename__ = "help_request_knowledge_points"
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id"), primary_key=True)
    knowledge_point_id: Mapped[int] = mapped_column(ForeignKey("knowledge_points.id"), primary_key=True, index=True)


def request_transition(request_id: int, to: RequestStatus, **values: Any) -> Update:
    """The one guarded change of a help request's status: a conditional UPDATE that matches
    only from a state the change is allowed from, so two racing writers (a cancel and a tutor's
    accept, an accept and the expiry timer) cannot both win. Callers execute it and check
    `rowcount == 1`. Here, beside the model, because three domains close requests (helprequests
    files and cancels, match accepts and expires, qa converts) and none may import the others
    the wrong way."""
    return update(HelpRequest).where(HelpRequest.id == request_id, HelpRequest.status.in_(_FROM[to])).values(status=to, **values)
