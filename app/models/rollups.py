"""The rollups the dashboard and the exports read (migration 0008), kept exact by triggers and
recomputed by app.stats.rollups.rebuild(). Days are service days (UTC+8) since the epoch; months
are counted from 1970-01 (12·(year − 1970) + month − 1). See app/stats/rollups.py for how each is kept."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId


class StudentDay(Base):
    """One student's participations on one day at one school (from activity_hours); the row
    exists exactly while there is one."""

    __tablename__ = "student_days"
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    student_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    class_id: Mapped[int | None] = mapped_column(Integer)
    one_to_one: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    attendances: Mapped[int] = mapped_column(Integer, default=0)


class SchoolDayStudents(Base):
    """Per school and day, the students who took part (the student_days rows). Beside school_days
    (migration 0004), whose triggers remove a row when its counts reach zero."""

    __tablename__ = "school_day_students"
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    participants: Mapped[int] = mapped_column(Integer, default=0)


class StudentMonth(Base):
    """One student's participations in one calendar month at one school (from student_days)."""

    __tablename__ = "student_months"
    __table_args__ = (Index("ix_student_months_month", "month", "school_id", "student_id", "one_to_one", "questions", "attendances"),)
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    student_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    class_id: Mapped[int | None] = mapped_column(Integer)
    one_to_one: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    attendances: Mapped[int] = mapped_column(Integer, default=0)


class SchoolMonth(Base):
    """Per school and month, the distinct students who took part: at all, in a one-to-one
    session, with a question, in a class (from student_months)."""

    __tablename__ = "school_months"
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    o_students: Mapped[int] = mapped_column(Integer, default=0)
    q_students: Mapped[int] = mapped_column(Integer, default=0)
    a_students: Mapped[int] = mapped_column(Integer, default=0)


class ClassMonth(Base):
    """Per class and month, the distinct students who took part and their participations."""

    __tablename__ = "class_months"
    # The month's classes of a scope (migration 0013): the class leaderboard and 活跃班级 of one
    # school or district no longer read every class of the city.
    __table_args__ = (Index("ix_class_months_month", "month", "school_id"),)
    class_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    school_id: Mapped[int] = mapped_column(Integer)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    participations: Mapped[int] = mapped_column(Integer, default=0)


class TutorDay(Base):
    """Per tutor and day: one-to-one sessions gone live, their live seconds, how many were rated
    and the sum of their ratings (from tutoring_sessions)."""

    __tablename__ = "tutor_days"
    tutor_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)


class TutorMonth(Base):
    """TutorDay summed per calendar month."""

    __tablename__ = "tutor_months"
    tutor_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)


class PointsMonth(Base):
    """The points ledger per paying district, month and tutor: entries and points in cents."""

    __tablename__ = "points_months"
    district_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tutor_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    cents: Mapped[int] = mapped_column(BigInteger, default=0)


class StudentRegistration(Base):
    """Students registered per school, class (0: none) and day of registration (from users)."""

    __tablename__ = "student_registrations"
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    class_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    students: Mapped[int] = mapped_column(Integer, default=0)


class KnowledgePointDay(Base):
    """Help requests tagged with a knowledge point, per school, class (0: none) and day of the
    request (from help_request_knowledge_points): the hot spots."""

    __tablename__ = "knowledge_point_days"
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    knowledge_point_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    class_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    asked: Mapped[int] = mapped_column(Integer, default=0)


class StatsChange(Base):
    """Change counters (migration 0019, app/stats/changes.py): per kind of input, service day (0:
    any) and shard, how many times triggers saw it change. A figure kept with the sums it was
    computed under is served again only while they are the same."""

    __tablename__ = "stats_changes"
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
