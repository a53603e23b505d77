"""The Q&A centre's own tables (questions and answers themselves live in records.py, where the
statistics have always read them): knowledge points and photos of questions and answers,
follow-ups and replies, reports, notifications and the search documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class QuestionKnowledgePoint(Base):
    __tablename__ = "question_knowledge_points"
    # The tutors' feed filtered by a knowledge point reads its questions from this index alone
    # (migration 0011; it replaced an index of the knowledge point only).
    __table_args__ = (Index("ix_question_knowledge_points_kp_question", "knowledge_point_id", "question_id"),)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    knowledge_point_id: Mapped[int] = mapped_column(ForeignKey("knowledge_points.id", name="fk_question_kps_knowledge_point_id"), primary_key=True)


class QaImage(Base):
    """A picture (from POST /api/images) attached to a question, or to an answer of it."""

    __tablename__ = "qa_images"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id"), index=True)


class QaReply(Base):
    """A follow-up (追问) by the asker under an answer, or the answering tutor's reply."""

    __tablename__ = "qa_replies"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class QaReport(Base):
    """A report on a question, answer or reply; admins of the asker's school review it."""

    __tablename__ = "qa_reports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id"))
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("qa_replies.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | dismissed | actioned
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QaNotification(Base):
    """What a user has not read yet (the unread count); each is also sent on the event stream."""

    __tablename__ = "qa_notifications"
    __table_args__ = (Index("ix_qa_notifications_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))  # qa_question | qa_answer | qa_reply | qa_accepted | qa_escalated
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    answer_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QaSearchDoc(Base):
    """A question's words for search: character bigrams of its text, answers, knowledge points
    and subject, space separated (app/qa/search.py). Indexed by FTS5 on SQLite and by a GIN
    index over string_to_array(terms, ' ') on PostgreSQL (migration 0005)."""

    __tablename__ = "qa_search_docs"
    __table_args__ = (Index("ix_qa_search_docs_terms", text("string_to_array(terms, ' ')"), postgresql_using="gin").ddl_if(dialect="postgresql"),)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True, autoincrement=False)
    terms: Mapped[str] = mapped_column(Text)
