"""Online rate (上线率) by role and stage: users who signed in during the period / users registered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

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
    return _rows((await _counts(db, city_id, district_id, school_id, start, end, tz, None))[-1])


Counts = tuple[tuple[int, ...], tuple[int, ...]]  # per group: registered, online


def _rows(counts: Counts) -> list[dict[str, object]]:
    registered, online = counts
    return [
        {"group": label, "online": online[i], "registered": registered[i], "rate": ratio(online[i], registered[i], 100)}
        for i, (label, _, _) in enumerate(GROUPS)
    ]


async def _counts(
    db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str, shards: list[int] | None
) -> dict[int, Counts]:
    """Per shard of the users (id % 16) of `shards`, or of all of them under -1 (`shards` None):
    per group, the users registered and the users online."""
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
    shard = User.id % changes.SHARDS

    def of_users(query: Select) -> Select:
        query = users_scoped(query.select_from(User).where(User.created_at < t), city_id, district_id, school_id)
        return query if shards is None else query.where(shard.in_(shards)).group_by(shard)

    def counted(rows: Sequence[Any]) -> dict[int, tuple[int, ...]]:
        return {-1: tuple(rows[0])} if shards is None else {int(r[0]): tuple(r[1:]) for r in rows}

    lead = [] if shards is None else [shard]
    registered = counted((await db.execute(of_users(select(*lead, *members)))).all())
    online = counted((await db.execute(of_users(select(*lead, *members)).where(signed_in))).all())
    none = (0,) * len(GROUPS)
    return {k: (registered.get(k, none), online.get(k, none)) for k in ([-1] if shards is None else shards)}


async def kept_online_rate(
    db: AsyncSession, cache: FigureCache, city_id: int, district_id: int | None, school_id: int | None, start: date, end: date, tz: str
) -> list[dict[str, object]]:
    """The online rate, kept per shard of the users (id % 16) while the shard's change counters
    are the same (app/stats/changes.py, read before computing): after a user signed in on a day
    of the period for the first time, or a user or tutor profile changed what it counts, only that
    user's shard is counted again. A period that is not whole service days is counted every time."""
    days = day_bounds(*hour_bounds(start, end, tz))
    if days is None:
        return await online_rate(db, city_id, district_id, school_id, start, end, tz)
    tokens = await changes.online_tokens(db, *days)
    scope = ("online_rate", city_id, district_id, school_id, start, end, tz)
    kept: dict[int, Counts] = {}
    for k, token in enumerate(tokens):
        hit = cache.kept_with((*scope, k), token)
        if hit is not None:
            kept[k] = hit
    stale = [k for k in range(changes.SHARDS) if k not in kept]
    if stale:
        key = (*scope, tuple((k, tokens[k]) for k in stale))  # shared by concurrent requests
        fresh: dict[int, Counts] = await cache.get(key, lambda: _counts(db, city_id, district_id, school_id, start, end, tz, stale), keep=False)
        for k in stale:
            cache.keep_with((*scope, k), tokens[k], fresh[k])
        kept.update(fresh)
    return _rows(
        (
            tuple(sum(kept[k][0][i] for k in kept) for i in range(len(GROUPS))),
            tuple(sum(kept[k][1][i] for k in kept) for i in range(len(GROUPS))),
        )
    )
