from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from app.kit.db import DB, after_commit
from app.kit.deps import AccountClosed, AccountClosedDep, SettingsDep, ThrottleDep
from app.kit.errors import InvalidCredentials
from app.kit.jsonout import model_response
from app.kit.security import password_check_slot
from app.kit.throttle import SIGN_IN_ACCOUNT, SIGN_IN_ADDRESS, Throttled, too_many

from . import manage, service
from .deps import Admin, CurrentCaller, CurrentUser
from .schemas import ChangePasswordBody, ManagedAccount, PasswordReset, RefreshBody, SignInBody, SuspendBody, Tokens, UserOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/sign-in", response_model=Tokens, responses={429: {"description": "too many failed sign-ins"}})
async def sign_in(body: SignInBody, request: Request, db: DB, settings: SettingsDep, throttle: ThrottleDep) -> Tokens:
    """Failed sign-ins are throttled per account and per address (app/kit/throttle.py): 429 with
    Retry-After, checked before the password is even hashed."""
    account, address = f"sign-in:{body.username.lower()}", f"sign-in@{_ip(request)}"
    try:
        await throttle.check(SIGN_IN_ACCOUNT, account)
        await throttle.check(SIGN_IN_ADDRESS, address)
    except Throttled as exc:
        raise too_many(exc, "sign-in") from None
    try:
        async with password_check_slot():  # a burst waits here, holding no database connection
            tokens = await service.sign_in(db, settings, body.username, body.password, _ip(request), request.headers.get("user-agent"))
    except InvalidCredentials:
        await throttle.count(SIGN_IN_ACCOUNT, account)
        await throttle.count(SIGN_IN_ADDRESS, address)
        raise
    await throttle.clear(SIGN_IN_ACCOUNT, account)
    return tokens


@router.post("/refresh", response_model=Tokens)
async def refresh(body: RefreshBody, request: Request, db: DB, settings: SettingsDep) -> Tokens:
    return await service.refresh(db, settings, body.refresh_token, _ip(request))


def _closed(closed: AccountClosed, db: DB, user_id: int, sid: str | None, reason: str) -> None:
    # After the commit: close the sockets on every instance, off duty, open requests cancelled
    # (app.match.closing, reached through a dependency: accounts does not import the domains above it).
    after_commit(db, lambda: closed(user_id, sid, reason))


@router.post("/sign-out", status_code=204)
async def sign_out(user: CurrentUser, request: Request, db: DB, closed: AccountClosedDep) -> None:
    """Signs this device out: its live connection closes, a tutor goes off duty."""
    await service.sign_out(db, user, request.state.sid)
    _closed(closed, db, user.id, request.state.sid, "TokenRevoked")


@router.post("/password", status_code=204)
async def change_password(body: ChangePasswordBody, user: CurrentUser, db: DB, closed: AccountClosedDep) -> None:
    """Changing the password signs the account out on every device."""
    await service.change_password(db, user, body.old_password, body.new_password)
    _closed(closed, db, user.id, None, "TokenRevoked")


_USER_OUT = TypeAdapter(UserOut)


@router.get("/me", response_model=UserOut)
async def me(caller: CurrentCaller) -> Response:
    """Every page asks this first: the lean check (app.accounts.deps.current_caller) and the
    answer validated and written once (app.kit.jsonout)."""
    return model_response(_USER_OUT, caller, from_attributes=True)


manage_router = APIRouter(prefix="/api/accounts", tags=["accounts"])


@manage_router.get("", response_model=list[ManagedAccount])
async def find_accounts(
    admin: Admin,
    db: DB,
    q: str = Query("", max_length=64),
    role: Literal["student", "tutor", "school_admin"] | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> list[ManagedAccount]:
    """Students, tutors (and, for district and city admins, school admins) of the caller's schools
    whose username or real name contains `q`."""
    return [ManagedAccount.model_validate(u) for u in await manage.find(db, admin, q.strip(), role, limit)]


@manage_router.post("/{user_id}/password-reset", response_model=PasswordReset)
async def reset_password(user_id: int, admin: Admin, db: DB, closed: AccountClosedDep) -> PasswordReset:
    """For a user who forgot their password: a new one, shown once; every device is signed out."""
    user, password = await manage.reset_password(db, admin, user_id)
    _closed(closed, db, user.id, None, "TokenRevoked")
    return PasswordReset(username=user.username, password=password)


@manage_router.post("/{user_id}/suspend", response_model=ManagedAccount)
async def suspend(user_id: int, body: SuspendBody, admin: Admin, db: DB, closed: AccountClosedDep) -> ManagedAccount:
    """The account can no longer sign in; its devices are signed out and its live connections closed."""
    user = await manage.suspend(db, admin, user_id, body.reason)
    _closed(closed, db, user.id, None, "AccountSuspended")
    return ManagedAccount.model_validate(user)


@manage_router.post("/{user_id}/reinstate", response_model=ManagedAccount)
async def reinstate(user_id: int, admin: Admin, db: DB) -> ManagedAccount:
    return ManagedAccount.model_validate(await manage.reinstate(db, admin, user_id))
