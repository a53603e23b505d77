"""Sessions, Q&A, the points ledger and the service calendar: the records statistics count."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, Numeric, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class SessionState(StrEnum):
    """The stored values of `tutoring_sessions.state`: matched → connecting → live → ended."""

    MATCHED = "matched"
    CONNECTING = "connecting"
    LIVE = "live"
    ENDED = "ended"


class ReportStatus(StrEnum):
    """The stored values of `session_reports.status`."""

    OPEN = "open"
    DISMISSED = "dismissed"
    ACTIONED = "actioned"


class QuestionStatus(StrEnum):
    """The stored values of `questions.status`: open → accepted (an answer chosen) | closed."""

    OPEN = "open"
    ACCEPTED = "accepted"
    CLOSED = "closed"


class TutoringSession(Base):
    __tablename__ = "tutoring_sessions"
    __table_args__ = (
        Index("ix_tutoring_sessions_student_live", "student_id", "live_at"),
        Index("ix_tutoring_sessions_tutor_live", "tutor_id", "live_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id"), unique=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject_code: Mapped[str] = mapped_column(ForeignKey("subjects.code"))
    state: Mapped[str] = mapped_column(String(16), default="matched", index=True)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Live-session bookkeeping (signaling): who reported media up, who is disconnected since
    # when, which end-of-session warnings went out, the cap that applies (rest rule), flags.
    connecting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    student_media_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tutor_media_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    student_gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tutor_gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cap_s: Mapped[int | None] = mapped_column(Integer)
    warnings_sent: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    points_booked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # A session's last transcript seq is MAX(session_events.seq), read through the (session_id,
    # seq) key when an instance first sees the session (app/live/socket.py); it is not kept on
    # this row (migration 0021).


class SessionEvent(Base):
    """The transcript: chat, whiteboard strokes, shared images, system notes — kept for review."""

    __tablename__ = "session_events"
    # (session_id, seq) also serves every read by session: no index of session_id alone (0020)
    __table_args__ = (UniqueConstraint("session_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tutoring_sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # chat | stroke | board | image | system
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)  # JSON, as delivered (chat masked)
    raw: Mapped[str | None] = mapped_column(Text)  # the original chat text when masking changed it
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SessionReport(Base):
    __tablename__ = "session_reports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tutoring_sessions.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | dismissed | actioned
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Question(Base):
    """A Q&A centre question (app/qa): open → accepted | closed. The statistics' triggers count
    it by created_at and student_id (migration 0003); the Q&A columns come with migration 0005."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_student_created", "student_id", "created_at"),
        # the tutors' feed: open questions of a subject and band, fewest answers and oldest
        # first; partial and holding the id, so a page of the feed is an index-only range
        Index(
            "ix_questions_feed",
            "status",
            "subject_code",
            "band",
            "answer_count",
            "created_at",
            "id",
            postgresql_where=text("hidden_at IS NULL"),
            sqlite_where=text("hidden_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject_code: Mapped[str] = mapped_column(ForeignKey("subjects.code"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    source_request_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id"))
    accepted_answer_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    band: Mapped[str] = mapped_column(String(8), default="junior", server_default="junior")  # junior | senior
    raw: Mapped[str | None] = mapped_column(Text)  # the text as typed, when masking changed it (admins only)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    answer_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_by: Mapped[int | None] = mapped_column(Integer)  # "I'm answering" (until claimed_until)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by: Mapped[int | None] = mapped_column(Integer)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class Answer(Base):
    """One tutor's answer to a question (one per tutor; edited until accepted)."""

    __tablename__ = "answers"
    __table_args__ = (Index("uq_answers_question_tutor", "question_id", "tutor_id", unique=True),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by: Mapped[int | None] = mapped_column(Integer)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))


class PointsEntry(Base):
    """Append-only: balances and payrolls are sums over it; a correction is a new entry."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id", "tutor_id"),
        Index("ix_points_ledger_district_created", "district_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))  # one_to_one | class | answer | adjustment
    source_id: Mapped[int] = mapped_column(Integer)
    points: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CalendarDay(Base):
    """An exception to the weekly service window: a holiday or vacation day closed
    (is_service_day false) or a weekend make-up school day (调休) opened."""

    __tablename__ = "service_calendar"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_service_day: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")


class ClassState(StrEnum):
    """The stored values of `live_classes.state`: scheduled → live → ended, or cancelled (by the
    tutor, before it starts) or lapsed (the tutor never started it)."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"


CLASS_STATES = tuple(ClassState)
NOT_HELD_CLASS_STATES = (ClassState.CANCELLED, ClassState.LAPSED)  # what the archive and workload leave out


class LiveClass(Base):
    """A one-to-many live class (互动课堂) given by a tutor; students' attendances are recorded.
    See app/classes for its rules (scheduling, enrolment, the live room)."""

    __tablename__ = "live_classes"
    __table_args__ = (Index("ix_live_classes_state_starts", "state", "starts_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject_code: Mapped[str] = mapped_column(ForeignKey("subjects.code"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    band: Mapped[str] = mapped_column(String(8), default="junior", server_default="junior")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    length_s: Mapped[int] = mapped_column(Integer, default=1800, server_default="1800")
    capacity: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    state: Mapped[str] = mapped_column(String(16), default="scheduled", server_default="scheduled")
    recording: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    chat_muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    floor_id: Mapped[int | None] = mapped_column(BigId)  # the student holding the floor, if any
    reminded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    points_booked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    transcript_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ClassAttendance(Base):
    """One student's attendance of a live class: one of DOMAIN.md's one-to-many attendances.
    One row per student and class (the statistics count rows, keyed on `joined_at`, the first
    join); leaving and rejoining adds to `seconds`."""

    __tablename__ = "class_attendances"
    __table_args__ = (UniqueConstraint("live_class_id", "student_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    live_class_id: Mapped[int] = mapped_column(ForeignKey("live_classes.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    present_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # in the room now, since then
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ActivityHour(Base):
    """Rollup: one student's participations in one UTC hour (hours since the epoch), kept exact by
    database triggers on tutoring_sessions (live_at), questions and class_attendances
    (migration 0003). The participation table reads this instead of the raw records."""

    __tablename__ = "activity_hours"
    __table_args__ = (Index("ix_activity_hours_student_hour", "student_id", "hour"),)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    student_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    school_id: Mapped[int | None] = mapped_column(Integer)
    class_id: Mapped[int | None] = mapped_column(Integer)
    one_to_one: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    attendances: Mapped[int] = mapped_column(Integer, default=0)


class SignInHour(Base):
    """Rollup: the users who signed in during each UTC hour (kept by a trigger on sign_ins)."""

    __tablename__ = "sign_in_hours"
    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)


class SchoolDay(Base):
    """Rollup derived from activity_hours (trigger, migration 0004): per school and service day
    (days of UTC+8 since the epoch), the sessions gone live, questions and class attendances."""

    __tablename__ = "school_days"
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    one_to_one: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    attendances: Mapped[int] = mapped_column(Integer, default=0)


class ActivityBlock(Base):
    """Rollup derived from activity_hours (trigger, migration 0004): per student, school and block
    of 63 service days, bitmasks of the days with a one-to-one session / a question / a class
    attendance (bit d = day 63·block + d). See app/stats/rollups.py."""

    __tablename__ = "activity_blocks"
    __table_args__ = (Index("ix_activity_blocks_student", "school_id", "student_id", "block", "o_days", "q_days", "a_days"),)
    block: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    student_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    o_days: Mapped[int] = mapped_column(BigInteger, default=0)
    q_days: Mapped[int] = mapped_column(BigInteger, default=0)
    a_days: Mapped[int] = mapped_column(BigInteger, default=0)


class SignInBlock(Base):
    """Rollup derived from sign_in_hours (trigger, migration 0004): per user and block of 63
    service days, a bitmask of the days the user signed in."""

    __tablename__ = "sign_in_blocks"
    __table_args__ = (Index("ix_sign_in_blocks_user", "user_id", "block", "days"),)
    block: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    days: Mapped[int] = mapped_column(BigInteger, default=0)
