"""Online rate (上线率) by role and stage: users who signed in during the period / users registered."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.models import ApplicationStatus, Role, SignInBlock, SignInHour, TutorProfile, User

from . import changes
from .cache import FigureCache
from .period import bounds
from .rollups import block_masks, day_bounds, hits, hour_bounds
from .rounding import ratio
from .scope import users_scoped


def _approved(teaches: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[bool]:
    """The user has an approved tutor profile that teaches the stage: a probe of tutor_profiles by
    its key for each tutor, never a join the planner could order badly (see online_rate). The
    profile is looked up by user_id alone (the other tests are on the row found), so the key is
    the only index the probe can use."""
    return (
        select(case((and_(TutorProfile.status == ApplicationStatus.APPROVED, teaches.is_(True)), 1), else_=0))
        .where(TutorProfile.user_id == User.id)
        .scalar_subquery()
        == 1
    )


GROUPS = [  # (label, role, condition on the user)
    ("初中教师", Role.TUTOR, _approved(TutorProfile.teaches_junior)),
    ("高中教师", Role.TUTOR, _approved(TutorProfile.teaches_senior)),
    ("初中学生", Role.STUDENT, User.grade.between(7, 9)),
    ("高中学生", Role.STUDENT, User.grade.between(10, 12)),
]


async def online_rate(
    db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str
) -> list[dict[str, object]]:
    """上线用户 (signed in during the period) / 平台用户 (registered before its end) = 上线率.
    One pass over the users in scope, each marked online or not by the sign-in rollups."""
    t = bounds(start, end, tz)[1]
    h0, h1 = hour_bounds(start, end, tz)
    days = day_bounds(h0, h1)
    # No joins for the planner to choose: one scan of the users in scope, each tested with index
    # probes ("signed in during the period": EXISTS on the sign-in rollup's index by user; a
    # tutor's profile: EXISTS by its key). Whatever it believes about the tables (fresh statistics
    # or none: a join of users and tutor_profiles once became a 27 s nested loop on a freshly
    # loaded, never analysed database), the work stays one pass plus a probe per user.
    if days is not None:
        masks = block_masks(*days)
        signed_in = (
            select(SignInBlock.user_id)
            .where(
                SignInBlock.user_id == User.id,
                SignInBlock.block.between(min(masks, default=0), max(masks, default=-1)),
                hits(SignInBlock.days, SignInBlock.block, masks),
            )
            .exists()
        )
    else:
        signed_in = select(SignInHour.user_id).where(SignInHour.user_id == User.id, SignInHour.hour >= h0, SignInHour.hour < h1).exists()
    members = [func.count().filter(and_(User.role == role, condition)) for _, role, condition in GROUPS]

    def of_users(query: Select) -> Select:
        return users_scoped(query.select_from(User).where(User.created_at < t), city_id, district_id, school_id)

    registered = (await db.execute(of_users(select(*members)))).one()
    online = (await db.execute(of_users(select(*members)).where(signed_in))).one()
    got = [x for pair in zip(registered, online) for x in pair]
    out = []
    for i, (label, _, _) in enumerate(GROUPS):
        registered, on = got[2 * i], got[2 * i + 1]
        out.append({"group": label, "online": on, "registered": registered, "rate": ratio(on, registered, 100)})
    return out


async def kept_online_rate(
    db: AsyncSession, cache: FigureCache, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str
) -> list[dict[str, object]]:
    """The online rate, kept while the change counters it was computed under are the same
    (app/stats/changes.py): recomputed only after someone signed in on a day of the period for the
    first time, or a user or tutor profile changed what it counts. A period that is not whole
    service days is computed every time."""
    days = day_bounds(*hour_bounds(start, end, tz))
    if days is None:
        return await online_rate(db, city_id, district_id, school_id, start, end, tz)
    token = await changes.online_token(db, *days)
    return await cache.checked(
        ("online_rate", city_id, district_id, school_id, start, end, tz),
        token,
        lambda: online_rate(db, city_id, district_id, school_id, start, end, tz),
    )
