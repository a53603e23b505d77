from __future__ import annotations

from fastapi import APIRouter, Request

from app.kit.db import DB
from app.kit.errors import InvalidCredentials
from app.kit.throttle import SIGN_IN_ACCOUNT, SIGN_IN_ADDRESS, Throttled, too_many

from . import service
from .deps import CurrentUser
from .schemas import ChangePasswordBody, RefreshBody, SignInBody, Tokens, UserOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/sign-in", response_model=Tokens, responses={429: {"description": "too many failed sign-ins"}})
async def sign_in(body: SignInBody, request: Request, db: DB) -> Tokens:
    """Failed sign-ins are throttled per account and per address (app/kit/throttle.py): 429 with
    Retry-After, checked before the password is even hashed."""
    throttle, account, address = request.app.state.throttle, f"sign-in:{body.username.lower()}", f"sign-in@{_ip(request)}"
    try:
        await throttle.check(SIGN_IN_ACCOUNT, account)
        await throttle.check(SIGN_IN_ADDRESS, address)
    except Throttled as exc:
        raise too_many(exc, "sign-in") from None
    try:
        tokens = await service.sign_in(db, request.app.state.settings, body.username, body.password,
                                       _ip(request), request.headers.get("user-agent"))
    except InvalidCredentials:
        await throttle.count(SIGN_IN_ACCOUNT, account)
        await throttle.count(SIGN_IN_ADDRESS, address)
        raise
    await throttle.clear(SIGN_IN_ACCOUNT, account)
    return tokens


@router.post("/refresh", response_model=Tokens)
async def refresh(body: RefreshBody, request: Request, db: DB) -> Tokens:
    return await service.refresh(db, request.app.state.settings, body.refresh_token, _ip(request))


@router.post("/sign-out", status_code=204)
async def sign_out(user: CurrentUser, request: Request, db: DB) -> None:
    await service.sign_out(db, user, request.state.sid)


@router.post("/password", status_code=204)
async def change_password(body: ChangePasswordBody, user: CurrentUser, db: DB) -> None:
    """Changing the password signs the account out on every device."""
    await service.change_password(db, user, body.old_password, body.new_password)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
