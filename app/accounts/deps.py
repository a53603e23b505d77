"""Who is calling, and may they? Role checks here; object-level checks in app.accounts.scope."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select

from app.kit.db import DB
from app.kit.errors import AccountSuspended, Forbidden, NotAuthenticated, TokenRevoked
from app.kit.security import read_access_token
from app.models import AuthSession, User, UserStatus

_bearer = HTTPBearer(auto_error=False)

# Built once: constructing the statement and its cache key on every request cost 7 % of
# `GET /api/auth/me` (py-spy, `python -m loadtest.http`). One round trip checks the account and
# that the token's sign-in is not revoked; on GET it runs without a transaction (app.kit.db).
_WHO = (select(User, AuthSession.revoked_at)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(User.id == bindparam("uid"), AuthSession.id == bindparam("sid")))


async def current_user(
    request: Request, db: DB, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    if creds is None or creds.scheme.lower() != "bearer":
        raise NotAuthenticated("sign in first: send 'Authorization: Bearer <access token>'")
    claims = read_access_token(request.app.state.settings.secret(), creds.credentials)
    row = (await db.execute(_WHO, {"uid": int(claims["sub"]), "sid": claims["sid"]})).first()
    if row is None:
        raise NotAuthenticated("unknown account")
    user, revoked_at = row
    if revoked_at is not None:
        raise TokenRevoked("signed out; sign in again")
    if user.status == UserStatus.SUSPENDED:
        raise AccountSuspended("this account is suspended", reason=user.suspended_reason)
    request.state.sid = claims["sid"]
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: str) -> Any:  # a Depends(...) marker, used as a parameter's default
    async def _dep(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return user

    return Depends(_dep)


Student = Annotated[User, require("student")]
Tutor = Annotated[User, require("tutor")]
Admin = Annotated[User, require("school_admin", "district_admin", "city_admin")]
