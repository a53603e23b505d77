"""What the statistics endpoints look up before a table: the district a payroll is for, the
school a weekly class report is for, the tutor an archive is for, each within the caller's scope."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import user_in_scope
from app.kit.errors import Forbidden, InvalidInput, NotFound
from app.models import District, Role, TutorProfile, User

from .scope import scoped


async def payroll_district(db: AsyncSession, admin: User, district_id: int | None) -> District:
    """The district whose payroll a district or city admin asks for (a district admin: their own)."""
    if admin.role == Role.SCHOOL_ADMIN:
        raise Forbidden("payroll is for district and city admins")
    district_id = (await scoped(db, admin, district_id)).district_id
    district = await db.get(District, district_id) if district_id is not None else None
    if district is None:
        raise InvalidInput("give the district_id of a district", field="district_id")
    return district


async def weekly_school(db: AsyncSession, admin: User, school_id: int | None) -> int:
    """The school of a weekly class report (a school admin: their own)."""
    school_id = (await scoped(db, admin, None, school_id)).school_id
    if school_id is None:
        raise InvalidInput("give the school_id", field="school_id")
    return school_id


async def archive_tutor(db: AsyncSession, user: User, tutor_id: int | None) -> User:
    """Whose archive: a tutor sees their own (no tutor_id); an admin any tutor employed in their scope."""
    if user.role == Role.TUTOR:
        if tutor_id not in (None, user.id):
            raise Forbidden("a tutor sees only their own archive")
        return user
    if tutor_id is None:
        raise InvalidInput("give the tutor_id of a tutor", field="tutor_id")
    found = await db.get(User, tutor_id)
    if found is None or found.role != Role.TUTOR or await db.get(TutorProfile, tutor_id) is None:
        raise NotFound("no such tutor")
    if not await user_in_scope(db, user, found):
        raise Forbidden("this tutor is outside your scope")
    return found
