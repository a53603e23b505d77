"""Online rate by role and stage, and a district's payroll from the points ledger."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import District, PointsEntry, SignIn, TutorProfile, User

from .participation import bounds, ratio

GROUPS = [  # (label, role, condition on the user)
    ("初中教师", "tutor", TutorProfile.teaches_junior.is_(True)),
    ("高中教师", "tutor", TutorProfile.teaches_senior.is_(True)),
    ("初中学生", "student", User.grade.between(7, 9)),
    ("高中学生", "student", User.grade.between(10, 12)),
]


def _scoped(query: Select, city_id: int, district_id: int | None, school_id: int | None) -> Select:  # type: ignore[type-arg]
    query = query.where(User.city_id == city_id)
    if district_id is not None:
        query = query.where(User.district_id == district_id)
    if school_id is not None:
        query = query.where(User.school_id == school_id)
    return query


async def online_rate(db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None,
                      start: date, end: date, tz: str) -> list[dict[str, object]]:
    """上线用户 (signed in during the period) / 平台用户 (registered before its end) = 上线率."""
    f, t = bounds(start, end, tz)
    out = []
    for label, role, condition in GROUPS:
        base = select(User.id).where(User.role == role, User.created_at < t, condition)
        if role == "tutor":
            base = base.join(TutorProfile, TutorProfile.user_id == User.id).where(TutorProfile.status == "approved")
        base = _scoped(base, city_id, district_id, school_id)
        registered = (await db.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
        online = (await db.execute(select(func.count(func.distinct(SignIn.user_id))).where(
            SignIn.at >= f, SignIn.at < t, SignIn.user_id.in_(base)))).scalar_one()
        out.append({"group": label, "online": online, "registered": registered, "rate": ratio(online, registered, 100)})
    return out


async def payroll(db: AsyncSession, district_id: int, start: date, end: date, tz: str,
                  point_value: float) -> dict[str, object]:
    """Points booked to the district's tutors in [from, to), and what the district pays: a sum
    over the append-only ledger, so it reconciles with it exactly."""
    f, t = bounds(start, end, tz)
    district = await db.get(District, district_id)
    rows = (await db.execute(
        select(PointsEntry.tutor_id, User.real_name, func.count(), func.sum(PointsEntry.points))
        .join(User, User.id == PointsEntry.tutor_id)
        .where(PointsEntry.district_id == district_id, PointsEntry.created_at >= f, PointsEntry.created_at < t)
        .group_by(PointsEntry.tutor_id, User.real_name).order_by(PointsEntry.tutor_id))).all()
    value = Decimal(str(point_value))
    tutors = [{"tutor_id": tid, "name": name, "entries": n, "points": Decimal(points).quantize(Decimal("0.01")),
               "amount_cny": (Decimal(points) * value).quantize(Decimal("0.01"))} for tid, name, n, points in rows]
    total = sum((r["points"] for r in tutors), Decimal("0.00"))
    return {"district_id": district_id, "district": district.name if district else None, "point_value_cny": value,
            "tutors": tutors, "total_points": total, "total_cny": (total * value).quantize(Decimal("0.01"))}


