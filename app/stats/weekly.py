"""The weekly class feedback: each class's participants, sessions, questions and attendances per week."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ClassAttendance, Question, SchoolClass, StudentDay, TutoringSession, User
from app.schools.names import class_label

from .period import bounds
from .rollups import day_bounds, day_number, hour_bounds


async def class_weekly(db: AsyncSession, school_id: int, start: date, end: date, tz: str) -> list[dict[str, object]]:
    """Per class and week (weeks start on Monday; [from, to) cut into 7-day steps from the
    Monday on or before `from`): participants (students of the class with a session gone live, a
    question or a class attendance), one-to-one sessions that went live, questions, attendances.
    A record counts for the class the student was in when it happened (student_days)."""
    monday = start - timedelta(days=start.weekday())
    zone = ZoneInfo(tz)
    f, t = bounds(start, end, tz)
    classes = (
        (await db.execute(select(SchoolClass).where(SchoolClass.school_id == school_id).order_by(SchoolClass.grade, SchoolClass.name)))
        .scalars()
        .all()
    )
    kinds = ("sessions", "questions", "attendances")
    # Per week, class and kind: the students, once per record (days from student_days; in a time
    # zone other than UTC+8, the records themselves).
    found: dict[tuple[int, int | None, str], list[int]] = {}
    days = day_bounds(*hour_bounds(start, end, tz))
    if days is not None:
        d = StudentDay
        for class_id, day, student, *counts in (
            await db.execute(
                select(d.class_id, d.day, d.student_id, d.one_to_one, d.questions, d.attendances).where(
                    d.school_id == school_id, d.day >= days[0], d.day < days[1]
                )
            )
        ).all():
            week = (day - day_number(monday)) // 7
            for kind, n in zip(kinds, counts):
                found.setdefault((week, class_id, kind), []).extend([student] * n)
    else:
        sources = {
            "sessions": (TutoringSession.student_id, TutoringSession.live_at),
            "questions": (Question.student_id, Question.created_at),
            "attendances": (ClassAttendance.student_id, ClassAttendance.joined_at),
        }
        for kind, (student_col, at_col) in sources.items():
            for class_id, student, at in (
                await db.execute(
                    select(User.class_id, student_col, at_col)
                    .join(User, User.id == student_col)
                    .where(User.school_id == school_id, at_col >= f, at_col < t)
                )
            ).all():
                if at is None:  # never: the period's bounds select it
                    continue
                week = (at.astimezone(zone).date() - monday).days // 7
                found.setdefault((week, class_id, kind), []).append(student)
    out = []
    for week in (offset // 7 for offset in range(0, (end - monday).days, 7)):
        for c in classes:
            sessions, questions, attended = (found.get((week, c.id, kind), []) for kind in kinds)
            out.append(
                {
                    "week_of": monday + timedelta(days=7 * week),
                    "class_id": c.id,
                    "class": class_label(c.grade, c.name),
                    "participants": len(set(sessions) | set(questions) | set(attended)),
                    "sessions": len(sessions),
                    "questions": len(questions),
                    "attendances": len(attended),
                }
            )
    return out
