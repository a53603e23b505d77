"""Password hashing (argon2id via argon2-cffi) and signed access tokens (PyJWT, HS256)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.kit.errors import NotAuthenticated, TokenExpired

# OWASP's argon2id baseline (19 MiB, t=2, p=1): strong, yet a roster import of a class does
# not take minutes.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verifying against this keeps sign-in for an unknown user as slow as for a known one, so the
# timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _lower_priority() -> None:
    # Linux applies a thread id's nice value to that thread only: a burst of sign-ins then takes
    # the CPU the event loop leaves, instead of half of it.
    with contextlib.suppress(AttributeError, OSError):  # another OS: plain priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)


# argon2 costs ~40 ms of CPU by design (time_cost × memory_cost); run on the event loop, a
# burst of 200 sign-ins held every other request of the process for seconds (`/healthz` p99
# ~1 s, `python -m loadtest.http`). argon2-cffi releases the GIL while hashing, so these threads
# hash beside the loop: one core fewer than the machine has, so the loop keeps one, at a lower
# priority, so a loop woken during a burst runs first. It also bounds the memory (19 MiB a hash).
_WORKERS = max(1, (os.cpu_count() or 2) - 1)
_hashing = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="argon2", initializer=_lower_priority)
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def password_check_slot() -> asyncio.Semaphore:
    """Hold one around a whole sign-in (lookup, hash, writes): a burst then queues here, before
    it takes a database connection, not in the hashing queue while holding one each."""
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(2 * _WORKERS)
    return slot


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hashing, verify_password, password_hash, password)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """Refresh tokens are stored only as their SHA-256: a database leak signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def make_access_token(secret: str, user_id: int, role: str, sid: str, minutes: int, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {"sub": str(user_id), "role": role, "sid": sid, "iat": now, "exp": now + timedelta(minutes=minutes), "typ": "access"}
    return jwt.encode(claims, secret, algorithm="HS256")


def read_access_token(secret: str, token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]})
    except jwt.ExpiredSignatureError:
        raise TokenExpired("access token expired; refresh it") from None
    except jwt.PyJWTError:
        raise NotAuthenticated("invalid access token") from None
    if claims.get("typ") != "access":
        raise NotAuthenticated("not an access token")
    return claims
