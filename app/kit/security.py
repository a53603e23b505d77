"""Password hashing (argon2id via argon2-cffi) and signed access tokens (PyJWT, HS256)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
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


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """Refresh tokens are stored only as their SHA-256: a database leak signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def make_access_token(secret: str, user_id: int, role: str, sid: str, minutes: int, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
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
