"""Object-level authorisation: which schools and users an account may see.

A school admin sees their school; a district admin the schools of their district; a city
admin every school of their city. Each rule is one function so that every endpoint asks the
same question the same way.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy import false as sa_false
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import Forbidden, NotFound
from app.models import District, Role, School, User


async def school_in_scope(db: AsyncSession, admin: User, school: School) -> bool:
    if admin.role == Role.SCHOOL_ADMIN:
        return admin.school_id == school.id
    if admin.role == Role.DISTRICT_ADMIN:
        return admin.district_id == school.district_id
    if admin.role == Role.CITY_ADMIN:
        district = await db.get(District, school.district_id)
        return district is not None and district.city_id == admin.city_id
    return False


async def district_in_scope(admin: User, district: District) -> bool:
    if admin.role == Role.DISTRICT_ADMIN:
        return admin.district_id == district.id
    if admin.role == Role.CITY_ADMIN:
        return admin.city_id == district.city_id
    return False


async def require_school(db: AsyncSession, admin: User, school_id: int) -> School:
    school = await db.get(School, school_id)
    if school is None:
        raise NotFound(f"no school {school_id}")
    if not await school_in_scope(db, admin, school):
        raise Forbidden("this school is outside your scope")
    return school


def schools_in_scope(admin: User) -> Select[School]:
    query = select(School)
    if admin.role == Role.SCHOOL_ADMIN:
        return query.where(School.id == admin.school_id)
    if admin.role == Role.DISTRICT_ADMIN:
        return query.where(School.district_id == admin.district_id)
    if admin.role == Role.CITY_ADMIN:
        return query.join(District, District.id == School.district_id).where(District.city_id == admin.city_id)
    return query.where(sa_false())


async def user_in_scope(db: AsyncSession, viewer: User, target: User) -> bool:
    """May `viewer` see `target`'s records? Oneself always; admins within their scope."""
    if viewer.id == target.id:
        return True
    if target.school_id is None:
        return viewer.role == Role.CITY_ADMIN and viewer.city_id == target.city_id
    school = await db.get(School, target.school_id)
    return school is not None and await school_in_scope(db, viewer, school)
