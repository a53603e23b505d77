"""Admins manage the accounts in their scope: find a student or tutor, reset a forgotten password
(a new one shown once), suspend an account with a reason, and reinstate it.

An admin acts on students and tutors of their schools; district and city admins on school admins
too. Nobody acts on themselves or on an admin of their own level or above.
"""

from __future__ import annotations

import secrets

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import Forbidden, InvalidState, NotFound
from app.kit.security import hash_password_off_loop
from app.models import School, User, UserStatus

from .scope import schools_in_scope, user_in_scope
from .service import sign_out_everywhere

MANAGED = {
    "school_admin": {"student", "tutor"},
    "district_admin": {"student", "tutor", "school_admin"},
    "city_admin": {"student", "tutor", "school_admin"},
}


async def find(db: AsyncSession, admin: User, q: str, role: str | None, limit: int) -> list[User]:
    """Accounts in the admin's schools whose username or name contains `q`."""
    roles = MANAGED.get(admin.role, set())
    if role is not None:
        roles = roles & {role}
    schools = schools_in_scope(admin).with_only_columns(School.id)
    query = select(User).where(User.role.in_(roles), User.school_id.in_(schools))
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.username.ilike(like, escape="\\"), User.real_name.ilike(like, escape="\\")))
    return list((await db.execute(query.order_by(User.username).limit(limit))).scalars())


async def managed(db: AsyncSession, admin: User, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound(f"no account {user_id}")
    if user.role not in MANAGED.get(admin.role, set()) or not await user_in_scope(db, admin, user) or user.id == admin.id:
        raise Forbidden("this account is not yours to manage")
    return user


async def reset_password(db: AsyncSession, admin: User, user_id: int) -> tuple[User, str]:
    """A new password, returned once to give to the user; every device is signed out."""
    user = await managed(db, admin, user_id)
    password = secrets.token_urlsafe(9)
    user.password_hash = await hash_password_off_loop(password)
    await sign_out_everywhere(db, user.id)
    await db.flush()
    return user, password


async def suspend(db: AsyncSession, admin: User, user_id: int, reason: str) -> User:
    user = await managed(db, admin, user_id)
    if user.status == UserStatus.SUSPENDED:
        raise InvalidState("the account is already suspended", status=user.status)
    user.status, user.suspended_reason = UserStatus.SUSPENDED, reason
    await sign_out_everywhere(db, user.id)
    await db.flush()
    return user


async def reinstate(db: AsyncSession, admin: User, user_id: int) -> User:
    user = await managed(db, admin, user_id)
    if user.status != UserStatus.SUSPENDED:
        raise InvalidState("the account is not suspended", status=user.status)
    user.status, user.suspended_reason = UserStatus.ACTIVE, None
    await db.flush()
    return user
