"""Leaderboards of students, tutors and classes, and the month's stars (本月之星).

Leaderboards, for a period and the admin's scope (ties share a rank: 1, 2, 2, 4):
- students: by participations (one-to-one sessions gone live + questions + class attendances);
- classes: by participation rate (participants / students of the class), then participations;
- tutors: by one-to-one sessions gone live, then live minutes.

The month's stars, for a calendar month (the rule, also in README):
- 学习之星: the 10 students with the most participations in the month (at least 3);
- 辅导之星: the 10 tutors with the most live minutes in the month among those with at least
  5 rated sessions and an average rating of 4.5 or more;
- 活跃班级: the 10 classes with the highest participation rate in the month among classes of
  at least 10 students.
Ties are broken by the smaller id (the earlier registered), so the list is stable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Subquery, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    ActivityHour,
    ClassMonth,
    Role,
    School,
    SchoolClass,
    SchoolDay,
    SchoolDayStudents,
    StudentDay,
    StudentMonth,
    StudentRegistration,
    TutorDay,
    TutoringSession,
    TutorMonth,
    User,
)
from app.schools.names import class_label

from .participation import shared_ranks
from .period import bounds
from .rollups import day_bounds, hour_bounds, single_month, split_months
from .rounding import ratio, two_places
from .scope import school_scoped, users_scoped


def _ranked(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    for r, rank in zip(rows, shared_ranks([r[key] for r in rows])):
        r["rank"] = rank
    return rows


# A student's participations in the rollup: sessions gone live + questions + class attendances.
PARTICIPATIONS = func.sum(ActivityHour.one_to_one) + func.sum(ActivityHour.questions) + func.sum(ActivityHour.attendances)


def _named(top: Subquery, id_col: Any) -> Select:
    """The rows of a leaderboard's top (a subquery with its LIMIT) with each person's name and
    school name: ten probes by key in the same query, not a second round trip."""
    return select(*top.c, User.real_name, School.name).join(User, User.id == id_col).outerjoin(School, School.id == User.school_id)


def _service_days(start: date, end: date, tz: str) -> tuple[int, int] | None:
    """[first, last) service day of a period, or None if it does not fall on whole service days
    (a service configured for a time zone other than UTC+8: the hourly rollup answers then)."""
    return day_bounds(*hour_bounds(start, end, tz))


def _months_and_days(d0: int, d1: int, month_rows: Callable[[int, int], Select], day_rows: Callable[[int, int], Select]) -> list[Select]:
    """The period as queries over a month rollup (its whole months) and a day rollup (the days at its edges)."""
    m0, m1, edges = split_months(d0, d1)
    return ([month_rows(m0, m1)] if m1 > m0 else []) + [day_rows(a, b) for a, b in edges]


def _one(parts: list[Select]) -> Subquery:
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()


async def students(
    db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str, limit: int, minimum: int = 1
) -> list[dict[str, Any]]:
    days = _service_days(start, end, tz)
    if days is None:
        h0, h1 = hour_bounds(start, end, tz)
        rows = select(
            ActivityHour.student_id.label("sid"), (ActivityHour.one_to_one + ActivityHour.questions + ActivityHour.attendances).label("n")
        ).where(ActivityHour.hour >= h0, ActivityHour.hour < h1, school_scoped(ActivityHour.school_id, city_id, district_id, school_id))
        per = rows.subquery()
    else:
        # Whole months from student_months, the days at the edges from student_days.
        def of(t: Any) -> Select:  # a month or a day rollup model
            return select(t.student_id.label("sid"), (t.one_to_one + t.questions + t.attendances).label("n"))

        per = _one(
            _months_and_days(
                *days,
                lambda m0, m1: of(StudentMonth).where(
                    StudentMonth.month >= m0, StudentMonth.month < m1, school_scoped(StudentMonth.school_id, city_id, district_id, school_id)
                ),
                lambda a, b: of(StudentDay).where(
                    StudentDay.day >= a, StudentDay.day < b, school_scoped(StudentDay.school_id, city_id, district_id, school_id)
                ),
            )
        )
    total = func.sum(per.c.n)
    top = (
        select(per.c.sid.label("sid"), total.label("n"))
        .group_by(per.c.sid)
        .having(total >= minimum)
        .order_by(total.desc(), per.c.sid)
        .limit(limit)
        .subquery()
    )
    found = (await db.execute(_named(top, top.c.sid).order_by(top.c.n.desc(), top.c.sid))).all()
    return _ranked([{"id": sid, "name": name, "school": school, "participations": int(n)} for sid, n, name, school in found], "participations")


def _enrolled_per_class(city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str) -> Select:
    """Per class in scope, the students registered before the period's end (class_id, enrolled)."""
    days = _service_days(start, end, tz)
    if days is None:
        t = bounds(start, end, tz)[1]
        return (
            select(User.class_id.label("class_id"), func.count().label("enrolled"))
            .where(
                User.role == Role.STUDENT,
                User.created_at < t,
                User.class_id.is_not(None),
                school_scoped(User.school_id, city_id, district_id, school_id),
            )
            .group_by(User.class_id)
        )
    r = StudentRegistration
    return (
        select(r.class_id.label("class_id"), func.sum(r.students).label("enrolled"))
        .where(r.day < days[1], r.class_id != 0, school_scoped(r.school_id, city_id, district_id, school_id))
        .group_by(r.class_id)
    )


async def classes(
    db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str, limit: int, min_students: int = 1
) -> list[dict[str, Any]]:
    days = _service_days(start, end, tz)
    month = single_month(*days) if days else None
    if month is not None:  # one calendar month: class_months has each class's distinct students
        active = select(ClassMonth.class_id.label("class_id"), ClassMonth.participants.label("p"), ClassMonth.participations.label("n")).where(
            ClassMonth.month == month, school_scoped(ClassMonth.school_id, city_id, district_id, school_id)
        )
    else:
        # Per (class, student) first, then per class: a hash aggregation in two steps.
        if days is not None:
            t = StudentDay
            per_student = (
                select(t.class_id.label("class_id"), func.sum(t.one_to_one + t.questions + t.attendances).label("n"))
                .where(t.day >= days[0], t.day < days[1], t.class_id.is_not(None), school_scoped(t.school_id, city_id, district_id, school_id))
                .group_by(t.class_id, t.student_id)
                .subquery()
            )
        else:
            h0, h1 = hour_bounds(start, end, tz)
            per_student = (
                select(ActivityHour.class_id.label("class_id"), PARTICIPATIONS.label("n"))
                .where(
                    ActivityHour.hour >= h0,
                    ActivityHour.hour < h1,
                    ActivityHour.class_id.is_not(None),
                    school_scoped(ActivityHour.school_id, city_id, district_id, school_id),
                )
                .group_by(ActivityHour.class_id, ActivityHour.student_id)
                .subquery()
            )
        active = select(per_student.c.class_id, func.count().label("p"), func.sum(per_student.c.n).label("n")).group_by(per_student.c.class_id)
    a, e = active.subquery(), _enrolled_per_class(city_id, district_id, school_id, start, end, tz).subquery()
    p, n = func.coalesce(a.c.p, 0), func.coalesce(a.c.n, 0)
    # Ordered in the database by the rate as shown (hundredths of a percent, rounded half up, in
    # integers so both databases agree), then participations, then id; only the top rows come back.
    shown = (2 * p * 10000 + e.c.enrolled) // (2 * e.c.enrolled)
    top = (
        await db.execute(
            select(e.c.class_id, p, n, e.c.enrolled, SchoolClass.grade, SchoolClass.name, School.name)
            .outerjoin(a, a.c.class_id == e.c.class_id)
            .join(SchoolClass, SchoolClass.id == e.c.class_id)
            .join(School, School.id == SchoolClass.school_id)
            .where(e.c.enrolled >= max(min_students, 1))
            .order_by(shown.desc(), n.desc(), e.c.class_id)
            .limit(limit)
        )
    ).all()
    return _ranked(
        [
            {
                "id": cid,
                "name": class_label(grade, name),
                "school": school,
                "participants": int(pp),
                "participations": int(nn),
                "enrolled": int(enrolled),
                "rate": ratio(int(pp), int(enrolled), 100),
            }
            for cid, pp, nn, enrolled, grade, name, school in top
        ],
        "rate",
    )


async def tutors(
    db: AsyncSession,
    city_id: int,
    district_id: int | None,
    school_id: int | None,
    start: date,
    end: date,
    tz: str,
    limit: int,
    min_rated: int = 0,
    min_rating: float = 0,
) -> list[dict[str, Any]]:
    days = _service_days(start, end, tz)
    if days is None:
        f, t = bounds(start, end, tz)
        s = TutoringSession
        per = (
            select(
                s.tutor_id.label("tid"),
                func.count().label("sessions"),
                func.coalesce(func.sum(s.duration_s), 0).label("seconds"),
                func.count(s.rating).label("rated"),
                func.coalesce(func.sum(s.rating), 0).label("rating_sum"),
            )
            .where(s.live_at >= f, s.live_at < t)
            .group_by(s.tutor_id)
            .subquery()
        )
    else:
        # A district's or a school's tutors are found first (users by district or school) and their
        # rows probed by key; the city's are all of the month's rows anyway.
        mine = (
            users_scoped(select(User.id).where(User.role == Role.TUTOR), city_id, district_id, school_id)
            if district_id is not None or school_id is not None
            else None
        )

        def of(t: Any) -> Select:  # a month or a day rollup model
            q = select(t.tutor_id.label("tid"), t.sessions, t.seconds, t.rated, t.rating_sum)
            return q.where(t.tutor_id.in_(mine)) if mine is not None else q

        per = _one(
            _months_and_days(
                *days,
                lambda m0, m1: of(TutorMonth).where(TutorMonth.month >= m0, TutorMonth.month < m1),
                lambda a, b: of(TutorDay).where(TutorDay.day >= a, TutorDay.day < b),
            )
        )
    n, seconds, rated, rating_sum = (func.sum(per.c.sessions), func.sum(per.c.seconds), func.sum(per.c.rated), func.sum(per.c.rating_sum))
    agg = select(per.c.tid.label("tid"), n.label("n"), seconds.label("seconds"), rated.label("rated"), rating_sum.label("rating_sum")).group_by(
        per.c.tid
    )
    if min_rated:
        agg = agg.having(rated >= min_rated, rating_sum >= rated * min_rating)
    a = agg.subquery()
    # Summed per tutor first (the stars' rule leaves a few dozen), then each tested for the scope by
    # a probe of users by key: never a join the planner could turn into a scan of every user
    # (a hash join over all 345,000 users took 180 ms of the stars on the benchmark city).
    employed = users_scoped(select(literal(1)).where(User.id == a.c.tid), city_id, district_id, school_id).scalar_subquery()
    order = [a.c.seconds.desc(), a.c.tid] if min_rated else [a.c.n.desc(), a.c.seconds.desc(), a.c.tid]
    top = select(a.c.tid, a.c.n, a.c.seconds, a.c.rated, a.c.rating_sum).where(employed.is_not(None)).order_by(*order).limit(limit).subquery()
    again = [top.c.seconds.desc(), top.c.tid] if min_rated else [top.c.n.desc(), top.c.seconds.desc(), top.c.tid]
    found = (await db.execute(_named(top, top.c.tid).order_by(*again))).all()
    rows = [
        {
            "id": tid,
            "name": name,
            "school": school,
            "sessions": int(sessions),
            "live_minutes": ratio(int(secs), 60),
            "ratings": int(r),
            "average_rating": two_places(Decimal(int(total)) / Decimal(int(r))) if r else None,
        }
        for tid, sessions, secs, r, total, name, school in found
    ]
    return _ranked(rows, "live_minutes" if min_rated else "sessions")


STAR_MIN_PARTICIPATIONS = 3


async def stars(
    db: AsyncSession,
    city_id: int,
    district_id: int | None,
    school_id: int | None,
    start: date,
    end: date,
    tz: str,
    top_students: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """`top_students`: the month's student leaderboard (its top 10 at least) when the caller already
    has it: the 学习之星 are then its rows with enough participations (it is sorted by them, so
    those are a prefix and keep their ranks), and it is not queried again."""
    out: list[dict[str, Any]] = []
    learners = (
        [r for r in top_students[:10] if r["participations"] >= STAR_MIN_PARTICIPATIONS]
        if top_students is not None
        else await students(db, city_id, district_id, school_id, start, end, tz, 10, minimum=STAR_MIN_PARTICIPATIONS)
    )
    for r in learners:
        out.append(
            {
                "award": "学习之星",
                "rank": r["rank"],
                "id": r["id"],
                "name": r["name"],
                "school": r["school"],
                "figure": f"参与 {r['participations']} 次",
            }
        )
    for r in await tutors(db, city_id, district_id, school_id, start, end, tz, 10, min_rated=5, min_rating=4.5):
        out.append(
            {
                "award": "辅导之星",
                "rank": r["rank"],
                "id": r["id"],
                "name": r["name"],
                "school": r["school"],
                "figure": f"辅导 {r['live_minutes']} 分钟，平均 {r['average_rating']} 分",
            }
        )
    for r in await classes(db, city_id, district_id, school_id, start, end, tz, 10, min_students=10):
        out.append(
            {"award": "活跃班级", "rank": r["rank"], "id": r["id"], "name": r["name"], "school": r["school"], "figure": f"参与率 {r['rate']}%"}
        )
    return out


async def trend(
    db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str
) -> list[dict[str, Any]]:
    """Participations and participants per day of the period (days in `tz`): from school_days and
    school_day_students (a row per school and day), or from the hourly rollup for a time zone
    other than UTC+8. (A student who changed school during a day counts once per school.)"""
    days = _service_days(start, end, tz)
    if days is not None:
        d0, d1 = days
        # One query: the day's participations and its participants side by side, summed per day.
        both = union_all(
            select(
                SchoolDay.day.label("d"), (SchoolDay.one_to_one + SchoolDay.questions + SchoolDay.attendances).label("n"), literal(0).label("p")
            ).where(SchoolDay.day >= d0, SchoolDay.day < d1, school_scoped(SchoolDay.school_id, city_id, district_id, school_id)),
            select(SchoolDayStudents.day.label("d"), literal(0).label("n"), SchoolDayStudents.participants.label("p")).where(
                SchoolDayStudents.day >= d0, SchoolDayStudents.day < d1, school_scoped(SchoolDayStudents.school_id, city_id, district_id, school_id)
            ),
        ).subquery()
        got = {
            int(d): (int(n), int(p))
            for d, n, p in (await db.execute(select(both.c.d, func.sum(both.c.n), func.sum(both.c.p)).group_by(both.c.d))).all()
        }
        first = d0
    else:
        h0, h1 = hour_bounds(start, end, tz)
        offset = int(datetime.combine(start, time(0), ZoneInfo(tz)).utcoffset().total_seconds() // 3600)  # type: ignore[union-attr]  # an aware datetime always has an offset
        day = (ActivityHour.hour + offset) // 24  # integer division (SQLAlchemy 2 makes `/` true division)
        per_student = (
            select(day.label("d"), PARTICIPATIONS.label("n"))
            .where(ActivityHour.hour >= h0, ActivityHour.hour < h1, school_scoped(ActivityHour.school_id, city_id, district_id, school_id))
            .group_by(day, ActivityHour.student_id)
            .subquery()
        )
        q = select(per_student.c.d, func.sum(per_student.c.n), func.count()).group_by(per_student.c.d)
        got = {int(d): (int(n), int(p)) for d, n, p in (await db.execute(q)).all()}
        first = (h0 + offset) // 24
    out = []
    for i in range((end - start).days):
        n, p = got.get(first + i, (0, 0))
        out.append({"day": start + timedelta(days=i), "participations": n, "participants": p})
    return out
