from __future__ import annotations

from fastapi import APIRouter, Request

from app.kit.db import DB, after_commit

from . import service
from .deps import CurrentUser
from .schemas import ChangePasswordBody, RefreshBody, SignInBody, Tokens, UserOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/sign-in", response_model=Tokens)
async def sign_in(body: SignInBody, request: Request, db: DB) -> Tokens:
    return await service.sign_in(db, request.app.state.settings, body.username, body.password,
                                 _ip(request), request.headers.get("user-agent"))


@router.post("/refresh", response_model=Tokens)
async def refresh(body: RefreshBody, request: Request, db: DB) -> Tokens:
    return await service.refresh(db, request.app.state.settings, body.refresh_token, _ip(request))


def _closed(request: Request, db: DB, user_id: int, sid: str | None, reason: str) -> None:
    # After the commit: close the sockets on every instance, off duty, open requests cancelled
    # (app.match.closing, reached through app.state: accounts does not import the domains above it).
    after_commit(db, lambda: request.app.state.account_closed(user_id, sid, reason))


@router.post("/sign-out", status_code=204)
async def sign_out(user: CurrentUser, request: Request, db: DB) -> None:
    """Signs this device out: its live connection closes, a tutor goes off duty."""
    await service.sign_out(db, user, request.state.sid)
    _closed(request, db, user.id, request.state.sid, "TokenRevoked")


@router.post("/password", status_code=204)
async def change_password(body: ChangePasswordBody, user: CurrentUser, request: Request, db: DB) -> None:
    """Changing the password signs the account out on every device."""
    await service.change_password(db, user, body.old_password, body.new_password)
    _closed(request, db, user.id, None, "TokenRevoked")


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
