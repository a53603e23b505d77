"""Reading the org tree within an admin's scope (rosters are written by roster.py)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import require_school, schools_in_scope
from app.models import District, Role, SchoolClass, User

from .schemas import ClassOut, SchoolOut


async def list_schools(db: AsyncSession, admin: User) -> list[SchoolOut]:
    query = schools_in_scope(admin).subquery()
    rows = (
        await db.execute(
            select(query.c.id, query.c.code, query.c.name, query.c.stage, query.c.district_id, District.name.label("district_name"))
            .join(District, District.id == query.c.district_id)
            .order_by(query.c.code)
        )
    ).mappings()
    return [SchoolOut(**r) for r in rows]


async def list_classes(db: AsyncSession, admin: User, school_id: int) -> list[ClassOut]:
    await require_school(db, admin, school_id)
    counts = select(User.class_id, func.count().label("n")).where(User.role == Role.STUDENT).group_by(User.class_id).subquery()
    rows = (
        await db.execute(
            select(SchoolClass, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.class_id == SchoolClass.id)
            .where(SchoolClass.school_id == school_id)
            .order_by(SchoolClass.grade, SchoolClass.name)
        )
    ).all()
    return [ClassOut(id=c.id, grade=c.grade, name=c.name, students=n) for c, n in rows]
