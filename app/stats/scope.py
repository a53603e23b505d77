"""The one scope rule of every statistics table and export.

An admin's scope is where they work: a school admin their school, a district admin their
district, a city admin their city. A request may narrow it (`district_id`, `school_id`,
`class_id`); what it asks for is intersected with the caller's scope, and asking for anything
outside it — another district's school, another city's district, a class of another school — is
`403 Forbidden`, never an empty or (worse) a foreign table. An id that does not exist is refused
the same way, so the answer does not tell whether another city's school exists.

Every statistics endpoint resolves its filters through `scoped()` before running a query
(app/stats/deps.py), and the queries then filter on all of the returned levels with the filters
below, the only ones: `school_scoped` (a school id column), `users_scoped` (rows of `User`: the
people of the scope) and `rows_scoped` (a table already computed for the whole city).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import AppError, Forbidden
from app.models import District, Role, School, SchoolClass, User


@dataclass(frozen=True)
class Scope:
    """The part of a city a statistics request covers; `None` at a level means "all of it"."""

    city_id: int
    district_id: int | None = None
    school_id: int | None = None
    class_id: int | None = None


def own_scope(admin: User) -> Scope:
    """Where the admin works (the widest they may see)."""
    if admin.role == Role.SCHOOL_ADMIN:
        return Scope(admin.city_id or 0, admin.district_id, admin.school_id)
    if admin.role == Role.DISTRICT_ADMIN:
        return Scope(admin.city_id or 0, admin.district_id)
    if admin.role == Role.CITY_ADMIN:
        return Scope(admin.city_id or 0)
    raise Forbidden("statistics are for school, district and city admins")


def _outside(what: str) -> AppError:
    return Forbidden(f"this {what} is outside your scope")


async def scoped(db: AsyncSession, admin: User, district_id: int | None = None, school_id: int | None = None, class_id: int | None = None) -> Scope:
    """The caller's scope narrowed to what the request asks for; 403 for anything outside it.

    Costs at most three primary-key reads (class, school, district), each in the session's
    identity map after the first request of a page."""
    own = own_scope(admin)
    if class_id is not None:
        klass = await db.get(SchoolClass, class_id)
        if klass is None or school_id not in (None, klass.school_id):
            raise _outside("class")
        school_id = klass.school_id
    if school_id is not None:
        school = await db.get(School, school_id)
        if (
            school is None
            or own.school_id not in (None, school.id)
            or own.district_id not in (None, school.district_id)
            or district_id not in (None, school.district_id)
        ):
            raise _outside("class" if class_id is not None else "school")
        district_id = school.district_id
    if district_id is not None:
        district = await db.get(District, district_id)
        if district is None or district.city_id != own.city_id or own.district_id not in (None, district.id):
            raise _outside("district")
    return Scope(
        own.city_id, district_id if district_id is not None else own.district_id, school_id if school_id is not None else own.school_id, class_id
    )


def users_scoped(query: Select, city_id: int, district_id: int | None, school_id: int | None) -> Select:
    """A query over `User` limited to the users of the scope (their city, district, school now)."""
    query = query.where(User.city_id == city_id)
    if district_id is not None:
        query = query.where(User.district_id == district_id)
    if school_id is not None:
        query = query.where(User.school_id == school_id)
    return query


def school_scoped(school_col: Any, city_id: int, district_id: int | None, school_id: int | None) -> ColumnElement[bool]:
    """The condition on a school id column for the scope. A school narrows the district and city,
    never replaces them: `scoped()` has already refused a school outside the caller's scope, and
    this keeps every level in the query too (the school is one primary-key probe into the city's
    schools)."""
    schools = select(School.id).join(District, District.id == School.district_id).where(District.city_id == city_id)
    if district_id is not None:
        schools = schools.where(School.district_id == district_id)
    return school_col.in_(schools.where(School.id == school_id) if school_id is not None else schools)


class _SchoolRow(Protocol):
    district_id: int
    school_id: int


R = TypeVar("R", bound=_SchoolRow)


def rows_scoped(rows: list[R], district_id: int | None, school_id: int | None) -> list[R]:
    """The rows of a city-wide table (one per school) that lie in the scope."""
    return [r for r in rows if (district_id is None or r.district_id == district_id) and (school_id is None or r.school_id == school_id)]
