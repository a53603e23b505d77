from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.kit.db import rowcount
from app.kit.errors import AccountSuspended, InvalidCredentials, TokenRevoked
from app.kit.security import digest, hash_password_off_loop, make_access_token, new_refresh_token, verify_password_off_loop
from app.models import AuthSession, SignIn, User, UserStatus, utcnow

from .schemas import Tokens


def _tokens(settings: Settings, user: User, sid: str, refresh: str) -> Tokens:
    access = make_access_token(settings.secret(), user.id, user.role, sid, settings.access_token_minutes)
    return Tokens(access_token=access, refresh_token=refresh, expires_in=settings.access_token_minutes * 60)


async def sign_in(db: AsyncSession, settings: Settings, username: str, password: str, ip: str | None, user_agent: str | None) -> Tokens:
    user = (await db.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if not await verify_password_off_loop(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials("wrong username or password")
    if user.status == UserStatus.SUSPENDED:
        raise AccountSuspended("this account is suspended", reason=user.suspended_reason)
    refresh = new_refresh_token()
    sid = secrets.token_hex(16)
    db.add(
        AuthSession(
            id=sid,
            user_id=user.id,
            refresh_hash=digest(refresh),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    db.add(SignIn(user_id=user.id, method="password", ip=ip))
    await db.flush()
    return _tokens(settings, user, sid, refresh)


async def refresh(db: AsyncSession, settings: Settings, token: str, ip: str | None) -> Tokens:
    """Rotate: the old refresh token stops working the moment a new one is handed out."""
    auth = (await db.execute(select(AuthSession).where(AuthSession.refresh_hash == digest(token)))).scalar_one_or_none()
    if auth is None or auth.revoked_at is not None or auth.expires_at <= utcnow():
        raise TokenRevoked("refresh token is not valid any more; sign in again")
    user = await db.get(User, auth.user_id)
    assert user is not None
    if user.status == UserStatus.SUSPENDED:
        raise AccountSuspended("this account is suspended", reason=user.suspended_reason)
    new = new_refresh_token()
    # Conditional update: two concurrent refreshes with the same token cannot both win.
    result = await db.execute(
        update(AuthSession)
        .where(AuthSession.id == auth.id, AuthSession.refresh_hash == digest(token))
        .values(refresh_hash=digest(new), expires_at=utcnow() + timedelta(days=settings.refresh_token_days))
    )
    if rowcount(result) != 1:
        raise TokenRevoked("refresh token was already used")
    db.add(SignIn(user_id=user.id, method="refresh", ip=ip))
    await db.flush()
    return _tokens(settings, user, auth.id, new)


async def sign_out(db: AsyncSession, user: User, sid: str) -> None:
    await db.execute(update(AuthSession).where(AuthSession.id == sid, AuthSession.user_id == user.id).values(revoked_at=utcnow()))


async def sign_out_everywhere(db: AsyncSession, user_id: int) -> None:
    await db.execute(update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


async def change_password(db: AsyncSession, user: User, old: str, new: str) -> None:
    if not await verify_password_off_loop(user.password_hash, old):
        raise InvalidCredentials("the current password is wrong")
    user.password_hash = await hash_password_off_loop(new)
    await sign_out_everywhere(db, user.id)
    await db.flush()
