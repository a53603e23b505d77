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

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ActivityBlock, ActivityHour, District, Role, School, SchoolDay, SchoolMonth, StudentRegistration, User

from . import changes
from .cache import FigureCache
from .period import bounds as bounds  # also read by app/lessons/stats.py
from .rollups import block_masks, day_bounds, hits, hour_bounds, single_month
from .rounding import ratio

# Per school: students with a one-to-one session / a question / an attendance / any of them, then
# the sessions, questions and attendances themselves.
Counts = tuple[int, int, int, int, int, int, int]
# Per school: students with a one-to-one session / a question / an attendance / any of them.
Students = dict[int, tuple[int, int, int, int]]

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


async def city_table(db: AsyncSession, city_id: int, start: date, end: date, tz: str, cache: FigureCache | None = None) -> list[Row]:
    """Every school of the city, sorted by rank."""
    return await table(db, city_id, None, None, start, end, tz, cache)


async def table(
    db: AsyncSession,
    city_id: int,
    district_id: int | None,
    school_id: int | None,
    start: date,
    end: date,
    tz: str,
    cache: FigureCache | None = None,
) -> list[Row]:
    """The rows of the scope's schools (a district, one school, by default the whole city) in rank
    order, each ranked among all the city's schools. With `cache`, the distinct students of a
    period of whole days that is not one calendar month (one row per active student and block
    to read) are kept until what they count changes (`distinct_students`); the sessions, questions,
    attendances (the scope's schools × days) and enrolments (the city's schools × registration
    days) are read every time."""
    t = bounds(start, end, tz)[1]
    schools = (
        await db.execute(
            select(School, District.name, District.id).join(District, District.id == School.district_id).where(District.city_id == city_id)
        )
    ).all()
    rows = {s.id: Row(school_id=s.id, school=s.name, district=dname, district_id=did) for s, dname, did in schools}
    if not rows:
        return []
    in_city = list(rows)
    in_scope = {sid for sid, r in rows.items() if district_id in (None, r.district_id) and school_id in (None, sid)}
    h0, h1 = hour_bounds(start, end, tz)
    days = day_bounds(h0, h1)
    if days is None:
        counted = await _counts_from_hours(db, in_city, h0, h1)  # every school's participants: the ranks
        enrolled = {
            sid: int(n)
            for sid, n in (
                await db.execute(
                    select(User.school_id, func.count())
                    .where(User.role == Role.STUDENT, User.school_id.in_(in_city), User.created_at < t)
                    .group_by(User.school_id)
                )
            ).all()
            if sid is not None
        }
    else:
        d0, d1 = days
        students = await distinct_students(db, city_id, in_city, d0, d1, cache)
        totals = await _totals(db, sorted(in_scope), d0, d1)
        counted = {sid: (*who, *totals.get(sid, (0, 0, 0))) for sid, who in students.items()}
        reg = StudentRegistration  # registrations per day, summed up to the period's end
        enrolled = {
            sid: int(n)
            for sid, n in (
                await db.execute(
                    select(reg.school_id, func.sum(reg.students)).where(reg.school_id.in_(in_city), reg.day < d1).group_by(reg.school_id)
                )
            ).all()
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
    ordered = sorted(rows.values(), key=lambda r: (-r.participation_rate, r.school_id))
    for r, rank in zip(ordered, shared_ranks([r.participation_rate for r in ordered])):
        r.city_rank = rank
    return [r for r in ordered if r.school_id in in_scope]


async def distinct_students(db: AsyncSession, city_id: int, schools: list[int], d0: int, d1: int, cache: FigureCache | None) -> Students:
    """Per school of the city with any, the distinct students who took part in days [d0, d1): with
    a one-to-one session, a question, an attendance, any of them. One calendar month is read from
    `school_months` (a row per school); any other period from `activity_blocks` (a row per active
    student and block), so with `cache` it is kept per shard of the city's schools (id % 16) under
    the shard's token of change counters (app/stats/changes.py, read before computing): only the
    shards where a student took part on a day of the period for the first time, stopped having,
    or took part in another way (a session after a question) are read again; every shard when the
    city's schools changed."""
    if cache is None or single_month(d0, d1) is not None:
        return await _students(db, schools, d0, d1)
    tokens = await changes.participants_tokens(db, d0, d1)
    out: Students = {}
    stale = []
    for shard, token in enumerate(tokens):
        kept = cache.kept_with(("distinct_students", city_id, d0, d1, shard), token)
        if kept is None:
            stale.append(shard)
        else:
            out.update(kept)
    if stale:
        part = [sid for sid in schools if sid % changes.SHARDS in stale]
        key = ("distinct_students", city_id, d0, d1, tuple((k, tokens[k]) for k in stale))
        fresh: Students = await cache.get(key, lambda: _students(db, part, d0, d1), keep=False)  # shared by concurrent requests
        for k in stale:
            cache.keep_with(("distinct_students", city_id, d0, d1, k), tokens[k], {sid: v for sid, v in fresh.items() if sid % changes.SHARDS == k})
        out.update(fresh)
    return out


async def _students(db: AsyncSession, schools: list[int], d0: int, d1: int) -> Students:
    masks = block_masks(d0, d1)
    if not masks:
        return {}
    month = single_month(d0, d1)
    if month is not None:  # one calendar month: its distinct students per school are kept in school_months
        m = SchoolMonth
        students = (
            await db.execute(
                select(m.school_id, m.o_students, m.q_students, m.a_students, m.participants).where(m.month == month, m.school_id.in_(schools))
            )
        ).all()
    else:

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
        students = (
            await db.execute(
                select(p.school_id, func.sum(p.o), func.sum(p.q), func.sum(p.a), func.count().filter((p.o + p.q + p.a) > 0)).group_by(p.school_id)
            )
        ).all()
    return {sid: (int(o), int(q), int(a), int(anyone)) for sid, o, q, a, anyone in students if anyone}


async def _totals(db: AsyncSession, schools: list[int], d0: int, d1: int) -> dict[int, tuple[int, int, int]]:
    """Per school, the sessions gone live, questions and attendances of days [d0, d1) (school_days)."""
    return {
        sid: (int(o), int(q), int(a))
        for sid, o, q, a in (
            await db.execute(
                select(SchoolDay.school_id, func.sum(SchoolDay.one_to_one), func.sum(SchoolDay.questions), func.sum(SchoolDay.attendances))
                .where(SchoolDay.day >= d0, SchoolDay.day < d1, SchoolDay.school_id.in_(schools))
                .group_by(SchoolDay.school_id)
            )
        ).all()
    }


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
