"""Who is calling, and may they? Role checks here; object-level checks in app.accounts.scope."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, bindparam, select, true

from app.config import Settings
from app.kit.db import DB
from app.kit.deps import ReadsDep, SettingsDep
from app.kit.errors import AccountSuspended, Forbidden, NotAuthenticated, TokenRevoked
from app.kit.reads import HotReads
from app.kit.security import read_access_token
from app.models import AuthSession, User, UserStatus

_bearer = HTTPBearer(auto_error=False)

# Built once: constructing the statement and its cache key on every request cost 7 % of
# `GET /api/auth/me` (py-spy, `python -m loadtest.http`). One round trip checks the account and
# that the token's sign-in is not revoked; on GET it runs without a transaction (app.kit.db).
_WHO = (
    select(User, AuthSession.revoked_at)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(User.id == bindparam("uid"), AuthSession.id == bindparam("sid"))
)


def _claims(settings: Settings, creds: HTTPAuthorizationCredentials | None) -> dict[str, Any]:
    if creds is None or creds.scheme.lower() != "bearer":
        raise NotAuthenticated("sign in first: send 'Authorization: Bearer <access token>'")
    return read_access_token(settings.secret(), creds.credentials)


def _admit(revoked_at: datetime | None, status: str, suspended_reason: str | None) -> None:
    """The one rule both checks apply to the account and sign-in found: this sign-in is not
    revoked (sign-out, password change, reset and suspension revoke: app.match.closing) and the
    account is not suspended. Read from the database on every request, so it holds at once on
    every instance."""
    if revoked_at is not None:
        raise TokenRevoked("signed out; sign in again")
    if status == UserStatus.SUSPENDED:
        raise AccountSuspended("this account is suspended", reason=suspended_reason)


async def current_user(
    request: Request, db: DB, settings: SettingsDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The caller as an ORM object in the request's session (for requests that change things)."""
    claims = _claims(settings, creds)
    row = (await db.execute(_WHO, {"uid": int(claims["sub"]), "sid": claims["sid"]})).first()
    if row is None:
        raise NotAuthenticated("unknown account")
    user, revoked_at = row
    _admit(revoked_at, user.status, user.suspended_reason)
    request.state.sid = claims["sid"]
    return user


CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller for hot reads: the account's columns, no ORM object, no database session."""

    id: int
    username: str
    role: str
    real_name: str
    city_id: int | None
    district_id: int | None
    school_id: int | None
    class_id: int | None
    grade: int | None
    status: str
    created_at: datetime
    sid: str


CALLER_FIELDS = tuple(f for f in Caller.__dataclass_fields__ if f != "sid")
# The same check as _WHO, as plain columns, run by app.kit.reads (an asyncpg pool on PostgreSQL):
# ~55 µs of CPU instead of ~280 µs for the ORM session, statement and commit.
_WHO_LEAN = (
    select(*(getattr(User, f) for f in CALLER_FIELDS), User.suspended_reason, AuthSession.revoked_at)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(User.id == bindparam("uid"), AuthSession.id == bindparam("sid"))
)


async def current_caller(
    request: Request, settings: SettingsDep, reads: ReadsDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The caller for GET endpoints on every page's path (`/api/auth/me`, `/api/sessions`):
    JWT decode and one lean query, the same rule as current_user."""
    claims = _claims(settings, creds)
    row = await reads.one(_WHO_LEAN, {"uid": int(claims["sub"]), "sid": claims["sid"]})
    if row is None:
        raise NotAuthenticated("unknown account")
    return _caller(request, claims, row)


def _caller(request: Request, claims: dict[str, Any], row: Mapping[str, Any], prefix: str = "") -> Caller:
    _admit(row[prefix + "revoked_at"], row[prefix + "status"], row[prefix + "suspended_reason"])
    request.state.sid = claims["sid"]
    return Caller(**{f: row[prefix + f] for f in CALLER_FIELDS}, sid=claims["sid"])


WHO = "who_"  # the caller's columns in a statement from with_caller


def with_caller(rows: Select[Any], order: Callable[[Any], Any]) -> Select[Any]:
    """`rows` — a SELECT of the caller's own records, bound to the caller by `:uid` — joined to
    the caller check (`_WHO_LEAN`, its columns prefixed `who_`), so that a hot read costs one
    round trip, not two: no row at all means no such sign-in; a row whose record columns are
    NULL, a caller with no records. `order(columns)`: the order of `rows`, again outside (a
    join keeps no order). Built once per statement, at import, like the statements it joins."""
    who = _WHO_LEAN.subquery("who")
    mine = rows.subquery("mine")
    return select(*(c.label(WHO + c.key) for c in who.c), *mine.c).select_from(who.outerjoin(mine, true())).order_by(order(mine.c))


async def caller_and_rows(
    request: Request,
    settings: Settings,
    reads: HotReads,
    creds: HTTPAuthorizationCredentials | None,
    stmt: Select[Any],
    params: Mapping[str, Any],
    key: str,
) -> tuple[Caller, list[Mapping[str, Any]]]:
    """`stmt` from with_caller, run once: the caller (the same rule as current_caller) and the
    caller's records (`key`: a column that is never NULL in a record)."""
    claims = _claims(settings, creds)
    found = await reads.all(stmt, {**params, "uid": int(claims["sub"]), "sid": claims["sid"]})
    if not found:
        raise NotAuthenticated("unknown account")
    return _caller(request, claims, found[0], WHO), [r for r in found if r[key] is not None]


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require(*roles: str) -> Any:  # a Depends(...) marker, used as a parameter's default
    async def _dep(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return user

    return Depends(_dep)


Student = Annotated[User, require("student")]
Tutor = Annotated[User, require("tutor")]
Admin = Annotated[User, require("school_admin", "district_admin", "city_admin")]
