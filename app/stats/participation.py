"""The participation table (DOMAIN.md, "Participation statistics"), exactly as defined there.

Period [from, to) in days of the service's time zone (00:00 Asia/Shanghai). A one-to-one session
belongs to the period in which it went live (`live_at`); one that never went live does not
count. A question belongs to the period it was posted in, a class attendance to the period the
student joined the class in. `enrolled` is the students registered at the school before the
period's end. Counts come from the rollups (see rollups.py) that triggers keep equal to the raw
records — `school_days` and `activity_blocks` for whole service days (`school_months` for the
distinct students of exactly one calendar month), `activity_hours` otherwise; `enrolled` from
`student_registrations`. A participation counts for the school the student was in when it happened.

Ranking rule: schools of the city are ranked by participation rate as shown (two decimals),
highest first; equal rates share a rank and the next rank is skipped (1, 2, 2, 4); a school
with no students has rate 0.00.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ActivityBlock, ActivityHour, District, Role, School, SchoolDay, SchoolMonth, StudentRegistration, User

from .period import bounds as bounds  # also read by app/lessons/stats.py
from .rollups import block_masks, day_bounds, hits, hour_bounds, single_month
from .rounding import ratio

# Per school: students with a one-to-one session / a question / an attendance / any of them, then
# the sessions, questions and attendances themselves.
Counts = tuple[int, int, int, int, int, int, int]

COLUMNS = [
    ("school_id", "学校ID"),
    ("school", "学校"),
    ("district", "区"),
    ("one_to_one_students", "参与一对一辅导人数"),
    ("question_students", "学生提问人数"),
    ("one_to_many_students", "参与一对多人数"),
    ("participants", "总参与人数"),
    ("one_to_one_sessions", "发起一对一辅导次数"),
    ("questions", "问题数"),
    ("one_to_many_attendances", "参加一对多辅导次数"),
    ("participations", "参与总次数"),
    ("enrolled", "各校总人数"),
    ("participation_rate", "参与率(%)"),
    ("per_participant", "人均参与次数"),
    ("per_enrolled", "校均参与次数"),
    ("city_rank", "全市参与率排名"),
]


@dataclass
class Row:
    school_id: int
    school: str
    district: str
    one_to_one_students: int = 0
    question_students: int = 0
    one_to_many_students: int = 0
    participants: int = 0
    one_to_one_sessions: int = 0
    questions: int = 0
    one_to_many_attendances: int = 0
    participations: int = 0
    enrolled: int = 0
    participation_rate: Decimal = Decimal("0.00")
    per_participant: Decimal = Decimal("0.00")
    per_enrolled: Decimal = Decimal("0.00")
    city_rank: int = 0
    district_id: int = 0

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("district_id")
        return d


def shared_ranks(values: list[object]) -> list[int]:
    """Ranks of values already sorted best first: equal values share a rank and the next rank is
    skipped (1, 2, 2, 4). The one tie rule of every table and leaderboard."""
    ranks: list[int] = []
    for i, v in enumerate(values):
        ranks.append(ranks[-1] if i and v == values[i - 1] else i + 1)
    return ranks


async def city_table(db: AsyncSession, city_id: int, start: date, end: date, tz: str) -> list[Row]:
    """Every school of the city, sorted by rank."""
    ordered = by_rate(await scope_rows(db, city_id, None, None, start, end, tz))
    for r, rank in zip(ordered, shared_ranks([r.participation_rate for r in ordered])):
        r.city_rank = rank
    return ordered


def by_rate(rows: list[Row]) -> list[Row]:
    """The rows in the table's order: highest rate first, then by school id."""
    return sorted(rows, key=lambda r: (-r.participation_rate, r.school_id))


def ranked_among(rows: list[Row], rates: list[Decimal]) -> list[Row]:
    """The rows (schools of one city) ranked among `rates`, every school's rate of the city
    (highest first, as city_table ranks them): a rank is 1 + the schools with a higher rate, so
    equal rates share it. The rows in the table's order."""
    lower = [-r for r in rates]  # ascending
    ordered = by_rate(rows)
    for r in ordered:
        r.city_rank = bisect_left(lower, -r.participation_rate) + 1
    return ordered


async def scope_rows(db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str) -> list[Row]:
    """The rows of the schools in the scope (a city, a district, one school), unranked: their cost
    follows the schools in the scope."""
    t = bounds(start, end, tz)[1]
    query = select(School, District.name, District.id).join(District, District.id == School.district_id).where(District.city_id == city_id)
    if district_id is not None:
        query = query.where(School.district_id == district_id)
    if school_id is not None:
        query = query.where(School.id == school_id)
    schools = (await db.execute(query)).all()
    rows = {s.id: Row(school_id=s.id, school=s.name, district=dname, district_id=did) for s, dname, did in schools}
    if not rows:
        return []
    in_scope = list(rows)
    h0, h1 = hour_bounds(start, end, tz)
    counted = await school_counts(db, in_scope, h0, h1)
    days = day_bounds(h0, h1)
    if days is not None:  # registrations per day (student_registrations), summed up to the period's end
        reg = StudentRegistration
        enrolled = {
            sid: int(n)
            for sid, n in (
                await db.execute(
                    select(reg.school_id, func.sum(reg.students)).where(reg.school_id.in_(in_scope), reg.day < days[1]).group_by(reg.school_id)
                )
            ).all()
        }
    else:
        enrolled = {
            sid: int(n)
            for sid, n in (
                await db.execute(
                    select(User.school_id, func.count())
                    .where(User.role == Role.STUDENT, User.school_id.in_(in_scope), User.created_at < t)
                    .group_by(User.school_id)
                )
            ).all()
            if sid is not None
        }
    for sid, (o_students, q_students, a_students, anyone, o, q, a) in counted.items():
        r = rows[sid]
        r.one_to_one_students, r.question_students, r.one_to_many_students, r.participants = o_students, q_students, a_students, anyone
        r.one_to_one_sessions, r.questions, r.one_to_many_attendances = o, q, a

    for sid, r in rows.items():
        r.enrolled = enrolled.get(sid, 0)
        r.participations = r.one_to_one_sessions + r.questions + r.one_to_many_attendances
        r.participation_rate = ratio(r.participants, r.enrolled, 100)
        r.per_participant = ratio(r.participations, r.participants)
        r.per_enrolled = ratio(r.participations, r.enrolled)
    return list(rows.values())


async def school_counts(db: AsyncSession, schools: list[int], h0: int, h1: int) -> dict[int, Counts]:
    """The count columns of the schools that had any participation in hours [h0, h1)."""
    days = day_bounds(h0, h1)
    if days is None:
        return await _counts_from_hours(db, schools, h0, h1)
    d0, d1 = days
    masks = block_masks(d0, d1)
    if not masks:
        return {}
    month = single_month(d0, d1)

    def took_part(col: Any) -> ColumnElement[int]:
        return func.max(case((hits(col, ActivityBlock.block, masks), 1), else_=0))

    # Per student: did they take part in the period (any of their block rows hits its days)?
    per_student = (
        select(
            ActivityBlock.school_id.label("school_id"),
            took_part(ActivityBlock.o_days).label("o"),
            took_part(ActivityBlock.q_days).label("q"),
            took_part(ActivityBlock.a_days).label("a"),
        )
        .where(ActivityBlock.block.between(min(masks), max(masks)), ActivityBlock.school_id.in_(schools))
        .group_by(ActivityBlock.school_id, ActivityBlock.student_id)
    ).subquery()
    p = per_student.c
    if month is not None:  # one calendar month: its distinct students per school are kept in school_months
        m = SchoolMonth
        students = (
            await db.execute(
                select(m.school_id, m.o_students, m.q_students, m.a_students, m.participants).where(m.month == month, m.school_id.in_(schools))
            )
        ).all()
    else:
        students = (
            await db.execute(
                select(p.school_id, func.sum(p.o), func.sum(p.q), func.sum(p.a), func.count().filter((p.o + p.q + p.a) > 0)).group_by(p.school_id)
            )
        ).all()
    totals = {
        sid: (int(o), int(q), int(a))
        for sid, o, q, a in (
            await db.execute(
                select(SchoolDay.school_id, func.sum(SchoolDay.one_to_one), func.sum(SchoolDay.questions), func.sum(SchoolDay.attendances))
                .where(SchoolDay.day >= d0, SchoolDay.day < d1, SchoolDay.school_id.in_(schools))
                .group_by(SchoolDay.school_id)
            )
        ).all()
    }
    return {sid: (int(o), int(q), int(a), int(anyone), *totals.get(sid, (0, 0, 0))) for sid, o, q, a, anyone in students if anyone}


async def _counts_from_hours(db: AsyncSession, schools: list[int], h0: int, h1: int) -> dict[int, Counts]:
    # One pass over the hourly rollup: per student, their counts in the period; then per school.
    per_student = (
        select(
            ActivityHour.school_id.label("school_id"),
            ActivityHour.student_id,
            func.sum(ActivityHour.one_to_one).label("o"),
            func.sum(ActivityHour.questions).label("q"),
            func.sum(ActivityHour.attendances).label("a"),
        )
        .where(ActivityHour.hour >= h0, ActivityHour.hour < h1, ActivityHour.school_id.in_(schools))
        .group_by(ActivityHour.school_id, ActivityHour.student_id)
    ).subquery()
    p = per_student.c
    rows = (
        await db.execute(
            select(
                p.school_id,
                func.count().filter(p.o > 0),
                func.count().filter(p.q > 0),
                func.count().filter(p.a > 0),
                func.count().filter((p.o > 0) | (p.q > 0) | (p.a > 0)),
                func.sum(p.o),
                func.sum(p.q),
                func.sum(p.a),
            ).group_by(p.school_id)
        )
    ).all()
    return {sid: (os, qs, as_, anyone, int(o or 0), int(q or 0), int(a or 0)) for sid, os, qs, as_, anyone, o, q, a in rows}
