"""A student's blocks: a blocked tutor is never offered to the student again. (The admins'
review of reports is reports.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound
from app.models import Role, StudentBlock, User

AccountClosed = Callable[[int, str | None, str], Awaitable[None]]


async def block(db: AsyncSession, student: User, tutor_id: int) -> None:
    tutor = await db.get(User, tutor_id)
    if tutor is None or tutor.role != Role.TUTOR:
        raise NotFound(f"no tutor {tutor_id}")
    if await db.get(StudentBlock, (student.id, tutor_id)) is None:
        db.add(StudentBlock(student_id=student.id, tutor_id=tutor_id))
        await db.flush()


async def unblock(db: AsyncSession, student: User, tutor_id: int) -> None:
    row = await db.get(StudentBlock, (student.id, tutor_id))
    if row is not None:
        await db.delete(row)
        await db.flush()
